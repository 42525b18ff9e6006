"""The incremental parser: model text in, events out, as soon as they complete.

A chunk-aware lexer finds the format's literals in the text; Lark's LALR
parser, fed only those structural tokens, says which literals may come next
and what the text between them is (see :mod:`streamparse.core.formats`).  Text
that could still become a literal is held back until decided; everything
else is emitted by the ``feed`` that received it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import lark
from lark.parsers.lalr_interactive_parser import InteractiveParser

from .json_calls import CallsScanner
from ..errors import UsageError
from .events import Event, ReasoningDelta, TextDelta
from .formats import Format, Kind, Mode, choices_of, load_format
from .message import Message, MessageBuilder
from .values import ValueEvents

_END = "$END"


def default_id(index: int) -> str:
    """Call ids when no ``id_factory`` is given: deterministic, so any chunking gives the same events."""
    return f"call_{index}"


class Parser:
    """Turns a stream of model text into events.

    ``feed(text)`` returns the events the text completed; ``close()`` ends the
    stream, flushing held-back text and reporting a block left open.
    Memory is bounded by the current block (a call's text is kept until the
    call completes) plus at most one literal's length of held-back text.
    """

    __slots__ = ("_format", "_ids", "_lark", "_mode", "_held", "_body", "_content", "_allocate", "_closed", "_values")

    def __init__(
        self,
        format: str | Format = "hermes",
        *,
        id_factory: Callable[[int], str] | None = None,
        indexes: Iterator[int] | None = None,
        in_reasoning: bool = False,
        values: bool = False,
    ) -> None:
        """``indexes`` numbers the calls (default 0, 1, ...); share one iterator to number the calls
        of one response across several sources (e.g. tags in content and server-parsed calls).

        ``in_reasoning`` starts inside a reasoning block, for models whose chat
        template already opened it (Qwen3 thinking models write only its end).

        ``values`` adds the values inside each call's arguments as they stream
        (see :mod:`streamparse.core.values`).
        """
        self._format = format if isinstance(format, Format) else load_format(format)
        self._ids = id_factory or default_id
        self._lark: InteractiveParser | None = None  # None: at the grammar's start (made on demand)
        self._mode: Mode = self._format.initial_mode
        self._held = ""
        self._body: CallsScanner | None = None
        self._content = False  # the current content token has text
        self._allocate = (indexes or itertools.count()).__next__
        self._closed = False
        self._values = ValueEvents() if values else None
        if in_reasoning:
            self._shift(self._format.reasoning_opener(), "")

    def feed(self, text: str) -> list[Event]:
        """Parse the next piece of the stream; returns the events it completed."""
        if self._closed:
            raise UsageError("feed() after close()")
        if not text:
            return []
        out: list[Event] = []
        s = self._held + text if self._held else text
        self._held = ""
        pos = 0
        while True:
            mode = self._mode
            if mode.kind is Kind.CALLS:
                body = self._body
                assert body is not None
                stop, literal, end = body.scan(s, pos, out)
                if literal is None:
                    self._held = s[stop:]
                    break
                self._body = None
                self._content = True  # the body token is always fed, even empty
                self._shift(literal, s[stop:end])
                pos = end
                continue
            m = mode.search.search(s, pos)
            if m is None:
                self._emit(mode, s[pos:], out)
                break
            start = m.start()
            if start > pos:
                self._emit(mode, s[pos:start], out)
            if m.lastgroup != "lit":
                self._held = s[start:]
                break
            pos = m.end()
            self._shift(mode.literals[m.group()], s[start:pos])
        return out if self._values is None else self._values.insert(out)

    def close(self) -> list[Event]:
        """End the stream: flush held-back text and report a block still open."""
        if self._closed:
            raise UsageError("close() called twice")
        self._closed = True
        out: list[Event] = []
        held, self._held = self._held, ""
        if self._body is not None:
            after = self._body.close(held, out)
            self._body = None
            if after:  # the cut-off start of a tag that would have opened the next item
                self._emit(self._format.initial_mode, after, out)
        elif held:
            self._emit(self._mode, held, out)
        return out if self._values is None else self._values.insert(out)

    def _emit(self, mode: Mode, text: str, out: list[Event]) -> None:
        if text:
            self._content = True
            out.append(TextDelta(text=text) if mode.kind is Kind.TEXT else ReasoningDelta(text=text))

    def _shift(self, terminal: str, literal: str) -> None:
        """Feed Lark the content token (when due) and the literal; switch mode."""
        parser = self._lark
        if parser is None:
            parser = self._lark = self._format.interactive()
        mode = self._mode
        if self._content or terminal not in mode.direct:
            parser.feed_token(lark.Token(mode.terminal, ""))
        parser.feed_token(lark.Token(terminal, ""))
        self._content = False
        if _END in choices_of(parser):
            # The input so far is a whole `start`: begin afresh so Lark's stacks stay flat.
            self._lark = None
            self._mode = self._format.initial_mode
        else:
            self._mode = self._format.mode(parser)
        if self._mode.kind is Kind.CALLS:
            self._body = CallsScanner(self._mode, literal, self._allocate, self._ids)


def parse(
    text: str,
    format: str | Format = "hermes",
    *,
    id_factory: Callable[[int], str] | None = None,
    in_reasoning: bool = False,
    values: bool = False,
) -> Message:
    """Parse a whole model output: the same machine as streaming, fed once.

    ``values`` is accepted for symmetry with ``Parser``: a message keeps no
    value events, so it does not change the result.
    """
    parser = Parser(format, id_factory=id_factory, in_reasoning=in_reasoning, values=values)
    builder = MessageBuilder()
    builder.extend(parser.feed(text))
    builder.extend(parser.close())
    return builder.build()
