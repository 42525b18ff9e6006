"""The incremental parser: model text in, events out, as soon as they complete.

The machine walks its format's graph (:mod:`streamparse.core.formats`): at
each place a reader reads the content (text, reasoning, a call's pieces)
and finds where a literal may end it; the literal moves the machine on.  A
literal counts only where what follows it can continue the grammar
(a call's opening tag followed by prose is prose), and text that could still
become a literal is held back until that is decided; everything else is
emitted by the ``feed`` that received it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Union

from ..errors import UsageError
from .assembler import Assembler
from .events import Event, TextDelta, ToolCallDelta
from .formats import DROP, Format, Mode, Node, Transition, load_format
from .jsontext import RawText
from .message import Message, MessageBuilder
from .schema import ToolSchemas, tool_schemas
from .readers import Context, Reader
from .readers.base import KEEP, MAX_HOLD, Lane, first_non_space
from .values import ValueEvents

Tools = Union[Sequence[Mapping[str, Any]], ToolSchemas]
"""OpenAI tool definitions, ``[{"type": "function", "function": {"name", "parameters"}}]`` (or their
:class:`~streamparse.core.schema.ToolSchemas`)."""


def default_id(index: int) -> str:
    """Call ids when no ``id_factory`` is given: deterministic, so any chunking gives the same events."""
    return f"call_{index}"


class Parser:
    """Turns a stream of model text into events.

    ``feed(text)`` returns the events the text completed; ``close()`` ends the
    stream, flushing held-back text and reporting a call left open.  Memory
    is bounded by the current block (a call's text is kept until the call
    completes) plus the text held back while a literal is undecided.
    """

    __slots__ = (
        "_format", "_ctx", "_node", "_mode", "_reader", "_opening", "_strict", "_held", "_plain", "_first", "_quick",
        "_fast", "_fast_quick", "_lane", "_lane_of", "_drop", "_lead", "_closed", "_values",
    )

    def __init__(
        self,
        format: str | Format = "hermes",
        *,
        tools: Tools | None = None,
        id_factory: Callable[[int], str] | None = None,
        indexes: Iterator[int] | None = None,
        in_reasoning: bool = False,
        values: bool = False,
        check_tools: bool = True,
    ) -> None:
        """``tools`` (the request's tool definitions) type raw argument values by their schemas; a call to
        another tool, or whose arguments do not fit its schema, is an :class:`InvalidToolCall` (unless
        ``check_tools`` is false, as for a server's own parser, which leaves that to its clients).  ``indexes`` numbers the calls (default 0, 1, ...); share one
        iterator to number the calls of one response across several sources.

        ``in_reasoning`` starts inside a reasoning block, for models whose chat
        template already opened it (Qwen3 thinking models write only its end).

        ``values`` adds the values inside each call's arguments as they stream
        (see :mod:`streamparse.core.values`).
        """
        fmt = format if isinstance(format, Format) else load_format(format)
        self._format = fmt
        raw = RawText()
        allocate = (indexes or itertools.count()).__next__
        schemas = tool_schemas(tools) if tools is not None else None
        calls = Assembler(allocate, id_factory or default_id, schemas, raw, check=check_tools)
        self._ctx = Context(calls, raw, fmt.options)
        self._held = ""
        self._drop: frozenset[str] = frozenset()  # closers of a reasoning block a call ended: markup
        self._lead: str | None = None  # in_reasoning: an opener the model may still write, dropped
        self._closed = False
        self._values = ValueEvents() if values else None
        self._plain: type[Event] | None = None
        # _plain (or _quick) once it took a piece and nothing is held back: the shortest paths.
        self._fast: type[Event] | None = None
        self._fast_quick: Callable[[str], list[Event] | None] | None = None
        self._first: str | None = None
        self._quick: Callable[[str], list[Event] | None] | None = None
        self._lane: Lane | None = None  # the reader's lane, once its quick path took a piece
        self._lane_of: Callable[[], Lane | None] | None = None
        self._mode: Mode | None = None
        self._reader: Reader
        self._enter(fmt.initial, "", strict=True)
        if in_reasoning:
            opener = fmt.reasoning_opener()
            mode = self._mode or fmt.initial.mode(fmt.initial.contents[-1])
            transition = mode.transition(opener, False)
            assert transition is not None  # reasoning_opener() found it acceptable here
            self._shift(mode, transition, opener, [])
            self._lead = opener
            self._plain = self._quick = self._lane_of = None  # until the lead is decided, every piece goes through _run

    # -- the two entry points ------------------------------------------------

    def feed(self, text: str) -> list[Event]:
        """Parse the next piece of the stream; returns the events it completed."""
        fast = self._fast
        if fast is not None:
            if self._first not in text and text:  # type: ignore[operator]
                return [fast(text=text)]
        else:
            lane = self._lane
            if lane is not None and text:
                # (stop, last, keep, index), indexed: more locals would make every call's frame dearer
                if lane[0] not in text and (lane[1] not in text or text[-1] != lane[1]) and len(lane[2]) < KEEP:
                    lane[2].append(text)
                    return [ToolCallDelta(lane[3], text)]
            quick = self._fast_quick
            if quick is not None and text:
                events = quick(text)
                if events is not None:
                    if self._lane_of is not None:
                        self._lane = self._lane_of()
                    return events
        if self._closed:
            raise UsageError("feed() after close()")
        if not text:
            return []  # servers do send empty deltas
        if not self._held:
            plain = self._plain
            if plain is not None:
                if self._first not in text:  # type: ignore[operator]
                    # Plain text with no literal's first character: the whole piece is content.
                    self._reader.content = True
                    self._fast = plain
                    return [plain(text=text)]
            else:
                quick = self._quick
                if quick is not None:
                    events = quick(text)  # e.g. a piece wholly inside a JSON string
                    if events is not None:
                        if self._values is None:
                            self._fast_quick = quick  # and the lane from its second piece: most strings are short
                            return events
                        return self._values.insert(events)
        self._fast = self._fast_quick = self._lane = None  # the machine may change mode or hold text back
        out: list[Event] = []
        self._run(text, out, False)
        return out if self._values is None else self._values.insert(out)

    def close(self) -> list[Event]:
        """End the stream: flush held-back text and report a call still open."""
        if self._closed:
            raise UsageError("close() called twice")
        self._closed = True
        self._fast = self._fast_quick = self._lane = None
        out: list[Event] = []
        held, self._held = self._held, ""
        if held:
            self._run(held, out, True)
            held, self._held = self._held, ""
        calls = self._ctx.calls
        after = ""
        if self._mode is not None:
            after = self._reader.close(held, out)
        calls.close(out)
        mode = self._mode
        if mode is not None and self._reader.content:  # content was read here: it must be able to end the input
            complete = not mode.structure or mode.end_ok
        else:
            complete = self._node.end_ok or (mode is not None and (not mode.structure or mode.end_ok))
        if not complete and calls.call is None and self._ctx.raw.since_mark().strip():
            # A block cut off before any call in it took shape (e.g. an opening tag at the very end).
            calls.fail("tool call cut off by the end of the stream", out, "truncated")
        if after:
            out.append(TextDelta(text=after))
        return out if self._values is None else self._values.insert(out)

    # -- the machine ---------------------------------------------------------

    def _run(self, text: str, out: list[Event], at_end: bool) -> None:
        s = self._held + text if self._held else text
        self._held = ""
        n = len(s)
        pos = 0
        while True:
            mode = self._mode
            if mode is None:  # several content kinds may come here: the text decides
                mode = self._node.choose(s, pos, at_end, self._strict)
                if mode is None:
                    self._held = s[pos:]
                    return
                mode = self._set_mode(mode, self._opening)
            if self._lead is not None:
                j = first_non_space(s, pos)
                rest = s[j:]
                if rest.startswith(self._lead):
                    pos = j + len(self._lead)
                elif self._lead.startswith(rest) and not at_end and j - pos <= MAX_HOLD:
                    self._held = s[pos:]
                    return
                self._lead = None
                mode = self._set_mode(mode, self._opening)
            reader = self._reader
            stop, literal, end = reader.scan(s, pos, out)
            if literal is None:
                if stop < n:
                    self._held = s[stop:]
                return
            if not literal:  # the content ended by itself
                transition = mode.self_end()
                assert transition is not None
                self._shift(mode, transition, "", out)
                pos = stop
                continue
            transition = mode.transition(literal, reader.content)
            if transition is None:  # a literal that cannot come after content: content too
                reader.take(literal, out)
                pos = end
                continue
            if transition is DROP:
                self._drop = frozenset()
                self._set_mode(self._node.mode(mode.terminal), self._opening)
                pos = end
                continue
            confirm = transition.confirm
            if confirm is not None:
                if transition.strict:
                    verdict = confirm.structure_follows(s, end, at_end, self._ctx)
                else:
                    verdict = confirm.opens(s, end, at_end)
                if verdict is None:
                    self._held = s[stop:]
                    return
                if not verdict:  # not followed by what it would open: it is content
                    reader.take(literal, out)
                    pos = end
                    continue
            if mode.structure and not transition.opener:
                self._ctx.raw.append(literal)  # the closing literal is part of the block's text
            reader.end(out)
            self._shift(mode, transition, literal, out)
            pos = end

    def _shift(self, mode: Mode, transition: Transition, literal: str, out: list[Event]) -> None:
        """Move on through ``transition`` (after ``literal``, which may be empty)."""
        calls = self._ctx.calls
        if transition.malformed:
            calls.taint(f"tool call is malformed: {literal!r} came before the rest of the call's syntax")
        if transition.ends_call:
            calls.end(out)
        node = transition.target
        if mode.reader.reasoning:
            # A reasoning block left through a literal that opens something else (a call) is over;
            # its own closer, if it still comes, is markup.
            self._drop = mode.closers if transition.opener else frozenset()
        raw = self._ctx.raw
        if literal and (transition.opener or not mode.structure):
            raw.reset()
            raw.append(literal)
        self._enter(node, literal, strict=not literal)
        if calls.waiting and not node.expects_id:
            calls.start(out)

    def _enter(self, node: Node, opening: str, strict: bool) -> None:
        self._node = node
        self._opening = opening
        self._strict = strict
        single = node.single
        if single is None:
            self._mode = None
            self._plain = self._quick = self._lane_of = None
        else:
            self._set_mode(single, opening)

    def _set_mode(self, mode: Mode, opening: str) -> Mode:
        """Read ``mode``'s content from here (the mode as it is used: dropping closers where due)."""
        if self._drop and mode.reader.visible:
            mode = mode.dropping(self._drop)
        self._mode = mode
        self._reader = reader = mode.reader(mode, self._ctx, opening)
        # The fast paths skip _run: not while a leading opener is being watched for.
        fast = self._lead is None
        self._quick = reader.quick if fast else None
        self._lane_of = reader.lane if fast else None
        if mode.structure:
            self._plain = None
        else:
            self._ctx.raw.reset()
            self._plain = mode.plain if fast else None
            self._first = mode.first
        return mode


def parse(
    text: str,
    format: str | Format = "hermes",
    *,
    tools: Tools | None = None,
    id_factory: Callable[[int], str] | None = None,
    in_reasoning: bool = False,
) -> Message:
    """Parse a whole model output: the same machine as streaming, fed once."""
    parser = Parser(format, tools=tools, id_factory=id_factory, in_reasoning=in_reasoning)
    builder = MessageBuilder()
    builder.extend(parser.feed(text))
    builder.extend(parser.close())
    return builder.build()
