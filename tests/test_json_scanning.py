"""The scanner's search for the end of a JSON string, against a character-by-character reading."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

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
