"""Harmony (gpt-oss): messages whose header decides what their body is.

A message is ``<|start|>assistant<|channel|>commentary to=functions.NAME
<|constrain|>json<|message|>BODY<|call|>``; the header (the text from the
message's first literal to ``<|message|>``) is read by :class:`HeaderReader`,
and :class:`BodyReader` routes the body by the format's options: a header
matching ``HEADER_CALL`` (its group ``name``) makes the body a call's JSON
arguments; one matching ``HEADER_REFUSED`` (a recipient that is no function,
its group ``name``) makes it an invalid call to that tool; one matching
``HEADER_REASONING`` makes it reasoning; any other makes it visible text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..events import Event
from .base import Context, Lane, Reader, holds_none
from .fields import name_error
from .json_args import JsonArgsReader
from .text import ReasoningReader, TextReader

if TYPE_CHECKING:
    from ..formats import Mode

_RECIPIENT = re.compile(r"\s*(?:t(?:o(?:=.*)?)?)?\Z", re.S)  # text that may still become ` to=...`


class HeaderReader(Reader):
    """A message header, in as many pieces as the literals inside it cut it into.

    With no literal before it (the reply starts inside the first message's
    header), only a recipient, ``to=...``, is taken as a header.
    """

    __slots__ = ()
    confirms = False

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        super().__init__(mode, ctx, opening)
        ctx.header.append(opening)

    @classmethod
    def claims(cls, s: str, i: int, at_end: bool) -> bool | None:
        rest = s[i:].lstrip()
        if rest.startswith("to="):
            return True
        return None if not at_end and _RECIPIENT.match(s, i) else False

    def take(self, text: str, out: list[Event]) -> None:
        super().take(text, out)
        self.ctx.header.append(text)


class _Refused(Reader):
    """The body of a message to a tool that is no function (a built-in): an invalid call, raw text kept."""

    __slots__ = ()

    def end(self, out: list[Event]) -> None:
        self.ctx.calls.end(out)


class BodyReader(Reader):
    """A message body, read as its header says: call arguments, a refused call, reasoning or text."""

    __slots__ = ("_inner",)
    any_text = True

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        super().__init__(mode, ctx, opening)
        header = "".join(ctx.header)
        ctx.header.clear()
        inner: type[Reader] = TextReader
        found = _search(ctx, "HEADER_CALL", header)
        refused = None if found is not None else _search(ctx, "HEADER_REFUSED", header)
        if found is not None:
            name = found.group("name")
            ctx.calls.current()
            ctx.calls.name(name, name_error(name))
            inner = JsonArgsReader
        elif refused is not None:
            name = refused.group("name")
            ctx.calls.name(name)
            ctx.calls.taint(f"message to {name!r}, which is not a function", "unknown_tool")
            inner = _Refused
        else:
            # Reasoning or text: the header was markup, and no call is open.
            ctx.raw.reset()
            if _search(ctx, "HEADER_REASONING", header) is not None:
                inner = ReasoningReader
        self._inner = inner(mode, ctx, opening)

    def quick(self, piece: str) -> list[Event] | None:  # type: ignore[override]
        inner = self._inner
        event = inner.event
        if event is None:
            return inner.quick(piece) if inner.quick is not None else None
        if not holds_none(piece, self.mode.firsts):
            return None
        self.content = True
        return [event(text=piece)]

    def lane(self) -> Lane | None:  # type: ignore[override]
        inner = self._inner
        return inner.lane() if inner.lane is not None else None

    def scan(self, s: str, pos: int, out: list[Event]) -> tuple[int, str | None, int]:
        found = self._inner.scan(s, pos, out)
        self.content = self._inner.content
        return found

    def take(self, text: str, out: list[Event]) -> None:
        self._inner.take(text, out)
        self.content = True

    def end(self, out: list[Event]) -> None:
        self._inner.end(out)

    def close(self, held: str, out: list[Event]) -> str:
        return self._inner.close(held, out)


def _search(ctx: Context, option: str, header: str) -> re.Match[str] | None:
    pattern = ctx.options.get(option)
    return pattern.search(header) if pattern is not None and not isinstance(pattern, str) else None
