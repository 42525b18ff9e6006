"""Cut text into token-like pieces, the way a model server streams it.

Sans-IO and deterministic: the same :class:`Chunking` and text always give the
same pieces, and the pieces always join back to the text. Used by the test
server, benchmarks and property tests to exercise every way a delta boundary
can fall.
"""

from __future__ import annotations

import random
import re

import msgspec

__all__ = ["Chunking"]

# Special tokens of the model formats: ``<tool_call>``, ``</think>``,
# ``<|python_tag|>``, ``<function=f>``, ``<｜tool▁sep｜>``, ``[TOOL_CALLS]``.
# Tokenizers emit most of them as one token; some servers split them anyway.
_TAG = re.compile(r"</?[A-Za-z_|｜][^<>\s]{0,63}>|\[[A-Z][A-Z_]+\]")


class Chunking(msgspec.Struct, frozen=True, kw_only=True):
    """How to cut text into deltas.

    Most pieces are ``min_piece``–``max_piece`` characters. A tag is sent
    whole as its own piece with probability ``whole_tag``, else cut like
    plain text (so a piece can end inside it or straddle it). With
    probability ``multi`` a piece is a multi-token run of up to
    ``max_multi`` characters; with probability ``empty`` an extra empty
    piece is inserted (servers really send ``"content":""``).
    """

    seed: int = 0
    min_piece: int = 1
    max_piece: int = 6
    whole_tag: float = 0.5
    multi: float = 0.05
    max_multi: int = 24
    empty: float = 0.02

    def __post_init__(self) -> None:
        if not 1 <= self.min_piece <= self.max_piece <= self.max_multi:
            raise ValueError("need 1 <= min_piece <= max_piece <= max_multi")
        if not (0 <= self.multi < 1 and 0 <= self.empty < 1 and 0 <= self.whole_tag <= 1):
            raise ValueError("need 0 <= multi < 1, 0 <= empty < 1 and 0 <= whole_tag <= 1")

    def split(self, text: str) -> list[str]:
        """The pieces of ``text``, in order; ``"".join(pieces) == text``."""
        rng = random.Random(self.seed)
        pieces: list[str] = []
        start = 0
        for match in _TAG.finditer(text):
            if rng.random() < self.whole_tag:
                self._cut(text, start, match.start(), rng, pieces)
                pieces.append(match.group())
                start = match.end()
        self._cut(text, start, len(text), rng, pieces)
        return pieces

    def _cut(self, text: str, start: int, end: int, rng: random.Random, out: list[str]) -> None:
        # One uniform draw per piece picks both the kind and the size: this
        # loop runs once per streamed delta, up to millions in benchmarks.
        draw = rng.random
        lo, hi, multi, empty = self.min_piece, self.max_piece, self.multi, self.empty
        span = (hi - lo + 1) / (1.0 - multi)
        rest = 1.0 - empty
        multi_span = (self.max_multi - hi) / multi if multi else 0.0
        append = out.append
        pos = start
        while pos < end:
            r = draw()
            if r < empty:
                append("")
                r = draw()
            else:
                r = (r - empty) / rest  # uniform again, for the size
            if r < multi:
                size = hi + 1 + int(r * multi_span) if multi_span else hi
            else:
                size = lo + int((r - multi) * span)
            stop = pos + size
            append(text[pos:stop] if stop < end else text[pos:end])
            pos = stop
