"""The request executor: one request through :class:`~streamparse.client.Client`, stamped on the wire.

An :class:`Execution` is the stream's :class:`~streamparse.client.Recorder`:
it keeps the send stamp, the arrival stamp of each network read, and from
each chunk the stream decoded its part in the timeline (which chunks bear
tokens, TTFT, ITL, E2EL...), without decoding it again or keeping it.
Tool-call stamps are the arrivals of the reads that produced :class:`~streamparse.core.events.ToolCallStart` and
:class:`~streamparse.core.events.ToolCallEnd`.

A token-bearing event is a chunk whose delta has non-empty ``content``,
``reasoning`` / ``reasoning_content``, or a ``tool_calls`` entry with a name or
non-empty arguments, decided on the payload itself (the folder's ``output``):
a ``<tool_call>`` tag is a token yet makes no parser event.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import TYPE_CHECKING, Any, Literal

from ..core.events import InvalidToolCall, ToolCallEnd, ToolCallStart, Usage
from ..core.message import Message
from ..errors import (
    LLMConnectionError,
    LLMDisconnectedError,
    LLMError,
    LLMResponseError,
    LLMStreamError,
    LLMTimeoutError,
)
from ..wire.payloads import StreamPayload
from .inputs import Request
from .records import CallTiming, ErrorInfo, Record, Status, Timings

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["HOST", "Execution", "request_params"]

HOST = socket.gethostname()
"""This host's name, in every record it makes."""


def request_params(request: Request, defaults: dict[str, Any]) -> dict[str, Any]:
    """The body options of ``request``: its ``params`` over ``defaults``, its tool choice and extra body."""
    params = {**defaults, **request.params}
    if request.tool_choice is not None:
        params["tool_choice"] = request.tool_choice
    if request.extra_body:
        params["extra_body"] = {**params.get("extra_body", {}), **request.extra_body}
    return params


def _ms(ns: int | None, origin: int) -> float | None:
    return None if ns is None else _to_ms(ns - origin)


def _to_ms(ns: int) -> float:
    """Milliseconds to the nearest microsecond: integer steps, as ``round(x, 3)`` costs 0.8 µs a call."""
    return (ns + 500) // 1000 / 1000


def _error_info(exc: LLMError) -> ErrorInfo:
    if isinstance(exc, LLMResponseError):
        return ErrorInfo(
            kind="http", message=exc.server_message, status=exc.status, type=exc.error_type, code=exc.code
        )
    if isinstance(exc, LLMTimeoutError):
        return ErrorInfo(kind="timeout", message=str(exc), timeout=exc.timeout)
    if isinstance(exc, LLMDisconnectedError):
        return ErrorInfo(kind="disconnected", message=str(exc))
    if isinstance(exc, LLMConnectionError):
        return ErrorInfo(kind="connection", message=str(exc))
    if isinstance(exc, LLMStreamError):
        return ErrorInfo(kind="stream", message=str(exc), type=exc.error_type, code=exc.code)
    return ErrorInfo(kind="error", message=str(exc))


class Execution:
    """One request in flight: the stream's recorder, then its :class:`Record`."""

    __slots__ = (
        "request",
        "phase",
        "run",
        "scheduled_ns",
        "start_ns",
        "wall_start",
        "attempts",
        "send_ns",
        "now_ns",
        "first_read_ns",
        "first_event_ns",
        "first_token_ns",
        "first_output_ns",
        "last_choice_ns",
        "finish_ns",
        "done_ns",
        "tokens",
        "counts",
        "completed",
        "usage",
        "finish_reason",
        "calls",
        "stopping",
    )

    def __init__(self, request: Request, *, phase: str = "measure", run: str = "", scheduled_ns: int | None = None) -> None:
        self.request = request
        self.phase = phase
        self.run = run
        self.scheduled_ns = scheduled_ns
        self.start_ns = 0
        self.wall_start = 0.0
        self.attempts = 0
        self.send_ns: int | None = None
        self.now_ns = 0  # the arrival of the read the stream's chunks and events now come from
        self.first_read_ns: int | None = None
        self.first_event_ns: int | None = None  # the first chunk with a choice
        self.first_token_ns: int | None = None
        self.first_output_ns: int | None = None  # the first token that is not reasoning
        self.last_choice_ns: int | None = None
        self.finish_ns: int | None = None
        self.done_ns: int | None = None
        self.tokens: list[int] = []  # the arrival of each token-bearing chunk
        self.counts: list[int] | None = []  # its tokens, from cumulative usage on every chunk
        self.completed = 0  # completion tokens the usage so far reported
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.calls: dict[int, list[int | None]] = {}
        self.stopping = False  # the engine cancels it: a cancel is a record, not an error

    # -- the client's Recorder ----------------------------------------------

    def attempt(self) -> None:
        self.attempts += 1

    def sent(self, stamp_ns: int) -> None:
        self.send_ns = stamp_ns

    def read(self, stamp_ns: int) -> None:
        self.now_ns = stamp_ns
        if self.first_read_ns is None:
            self.first_read_ns = stamp_ns

    def chunk(self, chunk: StreamPayload | None, output: int) -> None:
        stamp = self.now_ns
        if chunk is None:
            self.done_ns = stamp
            return
        usage = chunk.usage
        if usage is not None:
            self.usage = usage
        choices = chunk.choices
        if not choices:
            return
        if self.first_event_ns is None:
            self.first_event_ns = stamp
        self.last_choice_ns = stamp
        for choice in choices:
            if choice.finish_reason:  # SGLang-based servers send "" on every chunk: not a finish
                self.finish_reason = choice.finish_reason
                self.finish_ns = stamp
        cumulative = usage.completion_tokens if usage is not None else None
        if output:
            if self.first_token_ns is None:
                self.first_token_ns = stamp
            if self.first_output_ns is None and output == 2:
                self.first_output_ns = stamp
            self.tokens.append(stamp)
            counts = self.counts
            if counts is not None:
                if cumulative is None:
                    self.counts = None
                else:
                    counts.append(max(1, cumulative - self.completed))
        if cumulative is not None:
            self.completed = cumulative

    def begin(self, start_ns: int | None = None) -> None:
        """It has its concurrency slot (at ``start_ns``, default now)."""
        now = time.perf_counter_ns()
        self.start_ns = now if start_ns is None else start_ns
        self.wall_start = time.time() + (self.start_ns - now) / 1e9

    # -- running -------------------------------------------------------------

    async def execute(self, client: Client, params: dict[str, Any]) -> Record:
        """Stream the request; its record, also for a failure or (when the engine stops it) a cancel."""
        self.begin()
        request = self.request
        prefix = "" if self.phase == "measure" else f"{self.phase}-"
        stream = client.stream(
            request.messages,
            tools=request.tools,
            headers={"X-Request-Id": prefix + request.id},
            recorder=self,
            **params,
        )
        calls = self.calls
        try:
            async for event in stream:
                if isinstance(event, ToolCallStart):
                    calls[event.index] = [self.now_ns, None]
                elif isinstance(event, ToolCallEnd):
                    calls.setdefault(event.index, [None, None])[1] = self.now_ns
                elif isinstance(event, InvalidToolCall):
                    calls.setdefault(event.index, [None, None])
        except LLMError as exc:
            status: Status = "truncated" if isinstance(exc, LLMDisconnectedError) else "error"
            return self.record(status, exc.partial or stream.message, _error_info(exc))
        except asyncio.CancelledError:
            await stream.aclose()
            if not self.stopping:
                raise
            return self.record("cancelled", stream.message, ErrorInfo(kind="cancelled", message="run stopped"))
        return self.record("ok", stream.message, None)

    def record(self, status: Status, message: Message, error: ErrorInfo | None) -> Record:
        """The record of what happened so far."""
        end_ns = time.perf_counter_ns()
        if not self.start_ns:  # stopped before it began: it starts and ends now
            self.begin(end_ns)
        origin = self.send_ns if self.send_ns is not None else self.start_ns
        tokens = self.tokens
        counts = self.counts
        usage = self.usage
        source: Literal["usage", "events"] = "events"
        output_tokens = len(tokens)
        if usage is not None and usage.completion_tokens is not None:
            output_tokens, source = usage.completion_tokens, "usage"
        tpot = None
        if output_tokens > 1 and tokens:
            tpot = round((tokens[-1] - tokens[0]) / 1e6 / (output_tokens - 1), 3)
        request = self.request
        timings = Timings(
            scheduled_ms=_ms(self.scheduled_ns, origin),
            start_ms=_ms(self.start_ns, origin),
            first_byte_ms=_ms(self.first_read_ns, origin),
            ttfe_ms=_ms(self.first_event_ns, origin),
            ttft_ms=_ms(self.first_token_ns, origin),
            ttfot_ms=_ms(self.first_output_ns, origin),
            tpot_ms=tpot,
            e2e_ms=_ms(self.finish_ns if self.finish_ns is not None else self.last_choice_ns, origin),
            done_ms=_ms(self.done_ns, origin),
            end_ms=_ms(end_ns, origin),
            tool_calls=[
                CallTiming(index, _ms(start, origin), _ms(end, origin)) for index, (start, end) in sorted(self.calls.items())
            ],
        )
        return Record(
            id=request.id,
            phase="warmup" if self.phase == "warmup" else "measure",
            status=status,
            attempts=self.attempts,
            run=self.run,
            host=HOST,
            category=request.category,
            mono_start_ns=self.start_ns,
            mono_send_ns=self.send_ns,
            wall_start=round(self.wall_start, 6),
            t=timings,
            itl_ms=[_to_ms(b - a) for a, b in zip(tokens, tokens[1:])],
            itl_tokens=counts[1:] if counts else None,
            output_tokens=output_tokens,
            output_tokens_source=source,
            usage=usage,
            finish_reason=self.finish_reason,
            content=message.content,
            reasoning=message.reasoning,
            calls=message.tool_calls,
            invalid_calls=message.invalid_tool_calls,
            error=error,
            meta=request.meta,
        )
