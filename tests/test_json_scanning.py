"""The scanner's search for the end of a JSON string, against a character-by-character reading."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamparse import Event, InvalidToolCall, Parser, ToolCallDelta, ToolCallEnd
from streamparse.core.readers.json_calls import string_end
from streamparse.core.render import render

from .helpers import merge, run


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


def test_a_long_string_argument_in_small_pieces_keeps_every_character_of_the_call() -> None:
    # The quick path keeps its pieces apart and hands them to the block's text in batches:
    # the whole call, complete or cut off, must still be there character for character.
    value = "".join(f"line {i}: \\\"quoted\\\" \u00e9\\n" for i in range(300))
    head = '<tool_call>{"name": "f", "arguments": {"s": "' + value
    whole = head + '"}}</tool_call>'
    for text, complete in ((whole, True), (head, False)):
        parser = Parser("hermes")
        events = [e for i in range(0, len(text), 3) for e in parser.feed(text[i : i + 3])] + parser.close()
        if complete:
            assert [e.arguments for e in events if isinstance(e, ToolCallEnd)] == [{"s": json.loads(f'"{value}"')}]
        else:
            (invalid,) = [e for e in events if isinstance(e, InvalidToolCall)]
            assert invalid.kind == "truncated"
            assert invalid.raw == head


def _fed(pieces: list[str], fmt: str = "hermes") -> tuple[list[Event], str]:
    """The events that are not argument pieces, and the argument pieces joined."""
    events = run(pieces, fmt)
    return [e for e in events if not isinstance(e, ToolCallDelta)], "".join(
        e.arguments for e in events if isinstance(e, ToolCallDelta)
    )


def test_pieces_that_skip_the_reader_keep_its_string_state() -> None:
    # Once a piece inside an argument string took the quick path, later pieces with no quote that
    # do not end on a backslash go straight to a delta without the reader; a piece that ends on a
    # backslash must stop that, or the next quote would be read with a stale escape.
    pieces = ['<tool_call>{"name": "f", "arguments": {"s": "ab', "cd", "ef\\", "nx", "y\\", '"z', "w\\", "\\", "v\\n", "u", '"}}', "</tool_call>"]
    whole = "".join(pieces)
    others, deltas = _fed(pieces)
    assert others == _fed([whole])[0]
    assert [e.arguments for e in others if isinstance(e, ToolCallEnd)] == [{"s": 'abcdef\nxy"zw\\v\nu'}]
    assert json.loads(deltas) == {"s": 'abcdef\nxy"zw\\v\nu'}


def test_a_long_run_of_plain_pieces_in_a_string_argument_keeps_every_character() -> None:
    # Thousands of pieces in a row that skip the reader: they are kept in batches of a bounded
    # size; complete or cut off, the call's text is whole.
    value = "".join(f"w{i % 10}é " for i in range(3000))
    head = '<tool_call>{"name": "f", "arguments": {"s": "' + value
    for text, complete in ((head + '"}}</tool_call>', True), (head, False)):
        others, deltas = _fed([text[i : i + 4] for i in range(0, len(text), 4)])
        if complete:
            assert [e.arguments for e in others if isinstance(e, ToolCallEnd)] == [{"s": value}]
            assert json.loads(deltas) == {"s": value}
        else:
            (invalid,) = [e for e in others if isinstance(e, InvalidToolCall)]
            assert invalid.raw == head
            assert deltas == '{"s": "' + value


_JSON_FORMATS = ["hermes", "kimi_k2", "deepseek_v3", "mistral", "harmony"]


@pytest.mark.parametrize("fmt", _JSON_FORMATS)
@given(st.text(alphabet='ab\\"\n', max_size=10), st.lists(st.integers(1, 4), min_size=1, max_size=8))
def test_a_string_argument_of_backslashes_and_quotes_streams_the_same_in_any_pieces(
    fmt: str, value: str, sizes: list[int]
) -> None:
    # Pieces wholly inside the string take the quick path, or the parser's lane past it, which track
    # a trailing backslash on their own when the piece holds no quote.
    text = render(fmt, text="hi", calls=[("f", {"s": value})])
    pieces, at = [], 0
    while at < len(text):
        size = sizes[len(pieces) % len(sizes)]
        pieces.append(text[at : at + size])
        at += size
    others, deltas = _fed(pieces, fmt)
    assert [e.arguments for e in others if isinstance(e, ToolCallEnd)] == [{"s": value}]
    assert json.loads(deltas) == {"s": value}


@pytest.mark.parametrize("fmt", _JSON_FORMATS)
def test_arguments_cut_anywhere_stream_the_same_in_every_json_format(fmt: str) -> None:
    # The parser's lane for argument text serves both JSON readers (call objects, bare arguments):
    # escapes cut at every place, and a long plain run past the readers' batch size, must come out
    # as they do when the text is fed whole.
    value = 'a\\b "q" \\\\ é\n' * 3 + "plain text " * 120 + '\\"end'
    text = render(fmt, text="hi", calls=[("f", {"s": value, "n": 3})])
    expected = merge(run([text], fmt))
    for size in range(1, 6):
        events = run([text[i : i + size] for i in range(0, len(text), size)], fmt)
        assert [e.arguments for e in events if isinstance(e, ToolCallEnd)] == [{"s": value, "n": 3}]
        assert json.loads("".join(e.arguments for e in events if isinstance(e, ToolCallDelta))) == {"s": value, "n": 3}
        assert merge(events) == expected
