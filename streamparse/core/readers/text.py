"""Visible text, reasoning text, and the whitespace between a block's literals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..events import Event, ReasoningDelta, TextDelta
from .base import Context, Reader, first_non_space

if TYPE_CHECKING:
    from ..formats import Mode


class TextReader(Reader):
    """Visible text: ``TextDelta``."""

    __slots__ = ()
    any_text = True
    event = TextDelta

    def take(self, text: str, out: list[Event]) -> None:
        self.content = True
        out.append(TextDelta(text=text))


class ReasoningReader(Reader):
    """Reasoning text: ``ReasoningDelta``."""

    __slots__ = ()
    any_text = True
    event = ReasoningDelta

    def take(self, text: str, out: list[Event]) -> None:
        self.content = True
        out.append(ReasoningDelta(text=text))


class SeparatorReader(Reader):
    """Whitespace between the literals of a block: markup, dropped.

    Where other content may follow with no literal between (the optional
    closing tag of a block), text after the whitespace ends the block and
    the whitespace goes with that text.  Elsewhere, text is what the model
    wrote where the format has none: the open call, or the text since the
    last call, is reported invalid.
    """

    __slots__ = ("_junk", "_self_end")
    self_ending = True
    spaces = True
    confirms = False

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        super().__init__(mode, ctx, opening)
        self._junk = False
        self._self_end = mode.self_end() is not None

    @classmethod
    def opens(cls, s: str, i: int, at_end: bool) -> bool | None:
        return False  # only whitespace, which the caller skips before asking

    def scan(self, s: str, pos: int, out: list[Event]) -> tuple[int, str | None, int]:
        if self._junk or not self._self_end:
            return super().scan(s, pos, out)
        i = first_non_space(s, pos)
        if i == len(s):
            return pos, None, len(s)  # whose whitespace this is depends on what follows
        m = self.mode.match(s, i)
        if m is None:
            return pos, "", pos  # text: the block ended, and the whitespace goes with the text
        if i > pos:
            self.take(s[pos:i], out)
        if m.lastgroup == "part":
            return i, None, i
        return i, m.group(), m.end()


    def take(self, text: str, out: list[Event]) -> None:
        self.content = True
        self.ctx.raw.append(text)
        if not self._junk and not text.isspace():
            self._junk = True

    def end(self, out: list[Event]) -> None:
        if self._junk:
            calls = self.ctx.calls
            if calls.call is not None:
                calls.taint("unexpected text in a tool call")
            else:
                calls.fail("unexpected text between tool calls", out)
