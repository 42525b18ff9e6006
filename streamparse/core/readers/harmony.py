"""Harmony (gpt-oss): messages whose header decides what their body is.

A message is ``<|start|>assistant<|channel|>commentary to=functions.NAME
<|constrain|>json<|message|>BODY<|call|>``; the header (the text from the
message's first literal to ``<|message|>``) is read by :class:`HeaderReader`,
and :class:`BodyReader` routes the body by the format's options: a header
matching ``HEADER_CALL`` (its group ``name``) makes the body a call's JSON
arguments, one matching ``HEADER_REASONING`` makes it reasoning, any other
makes it visible text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..events import Event
from .base import Context, Reader, holds_none
from .fields import name_error
from .json_args import JsonArgsReader
from .text import ReasoningReader, TextReader

if TYPE_CHECKING:
    from ..formats import Mode


class HeaderReader(Reader):
    """A message header, in as many pieces as the literals inside it cut it into."""

    __slots__ = ()
    any_text = True
    confirms = False

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        super().__init__(mode, ctx, opening)
        ctx.header.append(opening)

    def take(self, text: str, out: list[Event]) -> None:
        super().take(text, out)
        self.ctx.header.append(text)


class BodyReader(Reader):
    """A message body, read as its header says: call arguments, reasoning or text."""

    __slots__ = ("_inner",)
    any_text = True

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        super().__init__(mode, ctx, opening)
        header = "".join(ctx.header)
        ctx.header.clear()
        inner: type[Reader] = TextReader
        call = ctx.options.get("HEADER_CALL")
        reasoning = ctx.options.get("HEADER_REASONING")
        found = call.search(header) if call is not None and not isinstance(call, str) else None
        if found is not None:
            name = found.group("name")
            ctx.calls.current()
            ctx.calls.name(name, name_error(name))
            inner = JsonArgsReader
        elif reasoning is not None and not isinstance(reasoning, str) and reasoning.search(header):
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
