"""Sans-IO folding of a chat-completions response: chunks in, events out.

What a streaming client does with each SSE ``data`` payload, without the
network, so a recorded stream (``streamparse parse --sse``) gives exactly the
events a live one does: ``content`` goes through the
:class:`~streamparse.core.parser.Parser`, ``delta.tool_calls`` through the
:class:`~streamparse.wire.server_calls.ToolCallAccumulator`, ``delta.reasoning`` (or
``reasoning_content``) becomes :class:`~streamparse.core.events.ReasoningDelta`, and
the response ends with a :class:`~streamparse.core.events.Finish`::

    folder = ChunkFolder("hermes")
    for payload in sse_decoder.feed_data(data):
        handle(folder.feed(payload))
    handle(folder.eof())  # at end of input, unless folder.done

A non-streaming response's message has the shape of one delta: it goes
through :meth:`ChunkFolder.chunk` as a single chunk.
"""

from __future__ import annotations

import itertools

import msgspec

from ..errors import LLMDisconnectedError, LLMStreamError, UsageError
from ..core.events import Event, Finish, ReasoningDelta, Usage
from ..core.formats import Format
from ..core.message import Message, MessageBuilder
from ..core.parser import Parser, Tools
from ..core.schema import tool_schemas
from ..core.values import ValueEvents
from .server_calls import ToolCallAccumulator
from .payloads import DONE, ErrorDetail, StreamPayload, ToolCallPart, decode_payload

__all__ = ["ChunkFolder"]


def _call_fragment(calls: list[ToolCallPart]) -> bool:
    """Whether server-parsed call fragments carry model output: a name or argument text (an id alone does not)."""
    for call in calls:
        function = call.function
        if function is not None and (function.name or function.arguments):
            return True
    return False


class ChunkFolder:
    """One response's chunks folded into events and a :class:`Message`.

    ``finish_reason`` and ``usage`` hold the last ones seen; ``done`` turns
    True once the response ended (``[DONE]``, or :meth:`end`), after which
    payloads are ignored.
    """

    __slots__ = ("parser", "calls", "builder", "finish_reason", "usage", "done", "tokens", "output", "_closed", "_values")

    def __init__(
        self,
        format: str | Format = "hermes",
        *,
        tools: Tools | None = None,
        in_reasoning: bool = False,
        values: bool = False,
        message: bool = True,
    ) -> None:
        """``tools``: the request's tool definitions; ``in_reasoning``: the content starts inside a
        reasoning block (both as for :class:`Parser`).  ``values``: the values inside each call's
        arguments as they stream, for calls in content and server-parsed ones alike (see
        :mod:`streamparse.core.values`).  ``message=False`` keeps no message (constant memory:
        events are only handed out).
        """
        # One numbering for calls from tags in content and calls the server parsed.
        indexes = itertools.count()
        schemas = tool_schemas(tools) if tools is not None else None
        self.parser = Parser(format, tools=schemas, indexes=indexes, in_reasoning=in_reasoning)
        self.calls = ToolCallAccumulator(indexes=indexes, tools=schemas)
        self.builder = MessageBuilder() if message else None
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.done = False
        self.tokens = 0  # chunks that carried model output
        self.output = 0  # what the last chunk carried: 0 no model output, 1 reasoning only, 2 content or a call fragment
        self._closed = False
        self._values = ValueEvents() if values else None

    @property
    def message(self) -> Message:
        """Everything folded so far, as one message."""
        if self.builder is None:
            raise UsageError("this ChunkFolder keeps no message (message=False)")
        return self.builder.build()

    def feed(self, payload: str) -> list[Event]:
        """The events of one SSE ``data`` payload; ``[DONE]`` ends the response.

        Raises :class:`~streamparse.errors.LLMStreamError` for a payload that
        is not a chunk and for an in-band error event.
        """
        if self.done:
            return []
        chunk = self.decode(payload)
        return self.end() if chunk is None else self.chunk(chunk)

    @staticmethod
    def decode(payload: str) -> StreamPayload | None:
        """One SSE ``data`` payload as a chunk; None for ``[DONE]``. Raises
        :class:`~streamparse.errors.LLMStreamError` for a payload that is not JSON."""
        if payload == DONE:
            return None
        try:
            return decode_payload(payload)
        except msgspec.DecodeError as exc:
            raise LLMStreamError(f"undecodable event: {exc}: {payload[:200]!r}") from exc

    def chunk(self, chunk: StreamPayload) -> list[Event]:
        """The events of one decoded chunk (see :meth:`feed`)."""
        # This runs once per streamed event: the hot path of a client.
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.error is not None or chunk.object == "error":
            error = chunk.error_detail() or ErrorDetail()
            raise LLMStreamError(error.message or "error event", error_type=error.type, code=error.code)
        out: list[Event] = []
        output = 0
        for choice in chunk.choices or ():
            if choice.index:
                # Mixing choices would splice their texts into one message (n > 1 is refused).
                if self.builder is not None:
                    self.builder.extend(out)
                raise LLMStreamError(f"a second choice (index {choice.index}): only n=1 responses can be parsed")
            delta = choice.delta
            if delta is not None:
                reasoning = delta.reasoning_text
                if reasoning:
                    output = output or 1
                    out.append(ReasoningDelta(text=reasoning))
                if delta.content:
                    output = 2
                    out += self.parser.feed(delta.content)
                if delta.tool_calls:
                    if output < 2 and _call_fragment(delta.tool_calls):
                        output = 2
                    out += self.calls.feed(delta.tool_calls)
            if choice.finish_reason:  # SGLang-based servers send "" on every chunk: not a finish
                self.finish_reason = choice.finish_reason
        self.output = output
        if output:
            self.tokens += 1
        if out:
            if self._values is not None:
                out = self._values.insert(out)
            if self.builder is not None:
                self.builder.extend(out)
        return out

    def close(self) -> list[Event]:
        """Flush the parsers: held-back text, and calls left open. Only the first call does anything."""
        if self._closed:
            return []
        self._closed = True
        events = self.parser.close() + self.calls.close()
        if self._values is not None:
            events = self._values.insert(events)
        if self.builder is not None:
            self.builder.extend(events)
        return events

    def end(self) -> list[Event]:
        """The response is complete: :meth:`close`, then a :class:`Finish`."""
        self.done = True
        return [*self.close(), Finish(finish_reason=self.finish_reason, usage=self.usage)]

    def eof(self) -> list[Event]:
        """The input ended. Without ``[DONE]`` a ``finish_reason`` must have
        come (some servers omit ``[DONE]``); otherwise the stream was cut and
        :class:`~streamparse.errors.LLMStreamError` is raised."""
        if self.done:
            return []
        if self.finish_reason is None:
            raise LLMDisconnectedError("stream ended without [DONE] and without a finish_reason")
        return self.end()
