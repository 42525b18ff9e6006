"""Visible text, reasoning text, and the whitespace between a block's literals."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..events import Event, ReasoningDelta, TextDelta
from .base import Context, Reader, holds_none

if TYPE_CHECKING:
    from ..formats import Mode


class _PlainReader(Reader):
    """Text or reasoning: a piece holding none of the literals' first characters is all content.

    (Where the literals all start with one character the parser checks that
    itself; this is the check for several.)
    """

    __slots__ = ()
    any_text = True

    plain: ClassVar[type[TextDelta] | type[ReasoningDelta]]

    def quick(self, piece: str) -> list[Event] | None:  # type: ignore[override]
        if not holds_none(piece, self.mode.firsts):
            return None
        if not piece:
            return []
        self.content = True
        return [self.plain(text=piece)]

    def take(self, text: str, out: list[Event]) -> None:
        self.content = True
        out.append(self.plain(text=text))


class TextReader(_PlainReader):
    """Visible text: ``TextDelta``."""

    __slots__ = ()
    event = plain = TextDelta
    visible = True


class ReasoningReader(_PlainReader):
    """Reasoning text: ``ReasoningDelta``."""

    __slots__ = ()
    event = plain = ReasoningDelta
    reasoning = True


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
        # Text after the whitespace ends the block, and the whitespace goes with that text.
        stop, literal, end = self.between(s, pos, True)
        if stop > pos:
            self.take(s[pos:stop], out)
        return stop, literal, end


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
