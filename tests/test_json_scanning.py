"""The scanner's search for the end of a JSON string, against a character-by-character reading."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from streamparse import Parser, ToolCallDelta, ToolCallEnd
from streamparse.core.readers.json_calls import string_end


def _by_characters(s: str, i: int, escape: bool) -> tuple[int, bool]:
    if escape:
        i += 1
    while i < len(s):
        if s[i] == "\\":
            if i + 1 == len(s):
                return -1, True
            i += 2
        elif s[i] == '"':
            return i, False
        else:
            i += 1
    return -1, False


@given(st.text(alphabet='ab\\"\n\u00e9', max_size=12), st.data())
def test_string_end_agrees_with_a_character_reading(s: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(s)))
    escape = data.draw(st.booleans()) and i < len(s)  # an escape always has its character to come
    assert string_end(s, i, escape) == _by_characters(s, i, escape)


@given(st.text(alphabet='ab\\"\n', max_size=10), st.lists(st.integers(1, 4), min_size=1, max_size=8))
def test_a_string_argument_of_backslashes_and_quotes_streams_the_same_in_any_pieces(
    value: str, sizes: list[int]
) -> None:
    # Pieces wholly inside the string take the parser's quick path, which tracks a trailing
    # backslash on its own when the piece holds no quote.
    text = '<tool_call>{"name": "f", "arguments": {"s": ' + json.dumps(value) + "}}</tool_call>"
    pieces, at = [], 0
    while at < len(text):
        size = sizes[len(pieces) % len(sizes)]
        pieces.append(text[at : at + size])
        at += size
    parser = Parser("hermes")
    streamed = [e for piece in pieces for e in parser.feed(piece)] + parser.close()
    ends = [e for e in streamed if isinstance(e, ToolCallEnd)]
    assert [e.arguments for e in ends] == [{"s": value}]
    deltas = "".join(e.arguments for e in streamed if isinstance(e, ToolCallDelta))
    assert json.loads(deltas) == {"s": value}
