"""The token-like chunker: lossless, deterministic, and varied where it matters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamparse.server.pieces import Chunking

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


@given(st.text(), st.integers(min_value=0, max_value=2**32))
def test_pieces_join_back_to_the_text(text: str, seed: int) -> None:
    assert "".join(Chunking(seed=seed).split(text)) == text


def test_same_seed_same_pieces_other_seed_other_pieces() -> None:
    text = "Sure. " * 50 + CALL
    assert Chunking(seed=1).split(text) == Chunking(seed=1).split(text)
    assert Chunking(seed=1).split(text) != Chunking(seed=2).split(text)


def test_piece_sizes() -> None:
    pieces = Chunking(empty=0.05).split("abcdefghij" * 2000)
    sizes = {len(p) for p in pieces}
    assert {0, 1, 2, 3, 4, 5, 6} <= sizes  # empty deltas and 1-6 char tokens
    assert max(sizes) <= 24 and any(7 <= s for s in sizes)  # some multi-token runs
    assert sum(1 for p in pieces if len(p) <= 6) > 0.9 * len(pieces)


@pytest.mark.parametrize(
    "tag", ["<tool_call>", "</tool_call>", "<|python_tag|>", "[TOOL_CALLS]", "<｜tool▁sep｜>", "<function=f>"]
)
def test_tags_are_sometimes_whole_and_sometimes_split(tag: str) -> None:
    whole = split = 0
    for seed in range(40):
        pieces = Chunking(seed=seed).split("text " + tag + " more")
        if tag in pieces:
            whole += 1
        elif not any(tag in p for p in pieces):
            split += 1
    assert whole > 5 and split > 5


def test_whole_tag_probability_extremes() -> None:
    text = ("hi " + CALL) * 5
    assert Chunking(whole_tag=1).split(text).count("<tool_call>") == 5
    assert "<tool_call>" not in Chunking(whole_tag=0, multi=0).split(text)


@pytest.mark.parametrize(
    "options",
    [{"min_piece": 0}, {"min_piece": 5, "max_piece": 4}, {"max_multi": 3}, {"multi": 1.0}, {"empty": -0.1}],
)
def test_bad_options_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Chunking(**options)  # type: ignore[arg-type]
