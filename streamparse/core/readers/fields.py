"""Pieces of a call written outside JSON: its name, its id, argument keys and raw argument values."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..events import Event, ToolCallDelta
from ..jsontext import escape
from ..raw_values import Policy
from .base import Context, Reader, first_non_space

if TYPE_CHECKING:
    from ..formats import Mode

_NOT_IN_NAME = frozenset(" \t\r\n{}[]\"'<>")
_PIECE_MAX = 256  # a name or key longer than this is text, not markup (bounds what confirming holds back)


def _well_formed(text: str, complete: bool) -> bool:
    """Could ``text`` (trimmed) be a name or a key, or, not ``complete``, the start of one?"""
    core = text.strip()
    if len(core) > _PIECE_MAX or not _NOT_IN_NAME.isdisjoint(core):
        return False
    return bool(core) or not complete


def name_error(name: str) -> str | None:
    """Why ``name`` cannot be a tool's name (unrendered template placeholders and stray markup do occur)."""
    if not name:
        return "tool call has an empty name"
    if not _NOT_IN_NAME.isdisjoint(name):
        return f"tool call name {name!r} holds whitespace, a bracket, a quote or an angle bracket"
    return None


class _Piece(Reader):
    """A piece of text kept whole until its literal ends it (in the block's raw text, from ``_start``)."""

    __slots__ = ("_raw", "_start", "_end")
    confirms = False

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        super().__init__(mode, ctx, opening)
        self._raw = ctx.raw
        self._start = self._end = ctx.raw.length  # the literal that ends it follows in the raw text

    def take(self, text: str, out: list[Event]) -> None:
        self.content = True
        raw = self._raw
        raw.append(text)
        self._end = raw.length

    @property
    def text(self) -> str:
        return self._raw.slice(self._start, self._end)


class NameReader(_Piece):
    """A call's name (trimmed); the call is announced once it is complete."""

    __slots__ = ()
    piece = True

    @classmethod
    def accepts(cls, text: str, ctx: Context | None, complete: bool) -> bool:
        return _well_formed(text, complete)

    @classmethod
    def opens(cls, s: str, i: int, at_end: bool) -> bool | None:
        j = first_non_space(s, i)
        if j == len(s):
            return True if at_end else None
        return s[j] not in _NOT_IN_NAME

    def end(self, out: list[Event]) -> None:
        name = self.text.strip()
        self.ctx.calls.name(name, name_error(name))

    def cut_off(self, out: list[Event]) -> None:
        # The call is cut off, not malformed: keep what reads as its name so far; but text that can
        # be no name, whatever would have followed it (a space inside), makes the call malformed.
        name = self.text.strip()
        error = name_error(name)
        if error is None or name:
            self.ctx.calls.name(name, error)


class IdReader(_Piece):
    """A call's id, kept as written (trimmed).

    With the option ``NAME_FROM_ID`` (a pattern with a group ``name``) the
    id also names the call, e.g. ``functions.get_weather:0``.
    """

    __slots__ = ()
    gives_id = True

    @classmethod
    def opens(cls, s: str, i: int, at_end: bool) -> bool | None:
        j = first_non_space(s, i)
        return (True if at_end else None) if j == len(s) else s[j] not in "<>{}[]"

    def end(self, out: list[Event]) -> None:
        ident = self.text.strip()
        calls = self.ctx.calls
        calls.id(ident)
        pattern = self.ctx.options.get("NAME_FROM_ID")
        if pattern is not None and not isinstance(pattern, str):
            m = pattern.fullmatch(ident)
            if m is None:
                calls.name("", f"tool call id {ident!r} does not name a tool")
            else:
                name = m.group("name").strip()
                calls.name(name, name_error(name))


class KeyReader(_Piece):
    """An argument's name (trimmed)."""

    __slots__ = ()
    piece = True

    @classmethod
    def accepts(cls, text: str, ctx: Context | None, complete: bool) -> bool:
        # Inside a value, a key tag is markup only for an argument this call may still take.
        return _well_formed(text, complete) and (not complete or ctx is None or ctx.calls.fresh_key(text.strip()))

    @classmethod
    def opens(cls, s: str, i: int, at_end: bool) -> bool | None:
        return NameReader.opens(s, i, at_end)

    def end(self, out: list[Event]) -> None:
        key = self.text.strip()
        if not key:
            self.ctx.calls.taint("an argument has an empty name")
        self.ctx.calls.key(key)


class ValueReader(_Piece):
    """An argument's raw value, typed by the tool's schema at its close.

    A value that is a string whatever its text streams as it arrives.
    """

    __slots__ = ("_streams", "_firsts")
    any_text = True
    confirms = True
    data = True
    policy: ClassVar[Policy] = "schema"

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        super().__init__(mode, ctx, opening)
        self._streams = ctx.calls.streams(self.policy)
        self._firsts = mode.firsts

    def take(self, text: str, out: list[Event]) -> None:
        super().take(text, out)
        if self._streams:
            self.ctx.calls.value_piece(text, out)

    def quick(self, piece: str) -> list[Event] | None:  # type: ignore[override]
        """A piece that cannot hold (the start of) a literal: all of it is value text."""
        for c in self._firsts:
            if c in piece:
                return None
        self.content = True
        raw = self._raw  # RawText.append, inlined: this runs once per piece
        small = raw._small
        small.append(piece)
        raw.length += len(piece)
        self._end = raw.length
        if len(small) >= 256:
            raw._merge()
        if not self._streams:
            return []
        call = self.ctx.calls.call
        if call is not None and call.streaming and call.started:  # the common case, inlined
            return [ToolCallDelta(index=call.index, arguments=escape(piece))]
        out: list[Event] = []
        self.ctx.calls.value_piece(piece, out)
        return out

    def end(self, out: list[Event]) -> None:
        self.ctx.calls.value(self.text, self.policy, out)


class TextValueReader(ValueReader):
    """A value its format marks as text (DSML's ``string="true"``)."""

    __slots__ = ()
    policy = "text"


class JsonValueReader(ValueReader):
    """A value its format marks as JSON (DSML's ``string="false"``)."""

    __slots__ = ()
    policy = "json"
