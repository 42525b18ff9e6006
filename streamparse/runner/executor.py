"""The request executor: one request through :class:`~streamparse.client.Client`, stamped on the wire.

An :class:`Execution` is the stream's :class:`~streamparse.client.Recorder`:
it keeps the send stamp and, per network read, the arrival stamp and the SSE
payloads of that read. While the stream runs it only appends; the timeline
(which events bear tokens, TTFT, ITL, E2EL...) is worked out once the request
is over, so the read path stays short. Tool-call stamps are the arrivals of
the reads that produced :class:`~streamparse.core.events.ToolCallStart` and
:class:`~streamparse.core.events.ToolCallEnd`.

A token-bearing event is a chunk whose delta has non-empty ``content``,
``reasoning`` / ``reasoning_content``, or a ``tool_calls`` entry with a name or
non-empty arguments, decided on the payload itself: a ``<tool_call>`` tag is a
token yet makes no parser event.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import TYPE_CHECKING, Any, Literal

import msgspec

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
from ..wire.payloads import DONE, MessagePart, decode_payload
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
    return None if ns is None else round((ns - origin) / 1e6, 3)


def _output_kind(delta: MessagePart) -> int:
    """0: no token; 1: reasoning only; 2: content or a tool-call fragment."""
    if delta.content:
        return 2
    for call in delta.tool_calls or ():
        function = call.function
        if function is not None and (function.name or function.arguments):
            return 2
    return 1 if delta.reasoning or delta.reasoning_content else 0


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
        "first_read_ns",
        "stamps",
        "payloads",
        "now_ns",
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
        # Flat, one entry per payload, so a read adds no object the garbage collector must track.
        self.first_read_ns: int | None = None
        self.stamps: list[int] = []  # the arrival of the read each payload came in
        self.payloads: list[str] = []
        self.now_ns = 0  # the arrival of the read the stream's events now come from
        self.calls: dict[int, list[int | None]] = {}
        self.stopping = False  # the engine cancels it: a cancel is a record, not an error

    # -- the client's Recorder ----------------------------------------------

    def attempt(self) -> None:
        self.attempts += 1

    def sent(self, stamp_ns: int) -> None:
        self.send_ns = stamp_ns

    def read(self, stamp_ns: int, payloads: list[str]) -> None:
        self.now_ns = stamp_ns
        if self.first_read_ns is None:
            self.first_read_ns = stamp_ns
        if payloads:
            self.payloads += payloads
            self.stamps += [stamp_ns] * len(payloads)

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
        first_byte = self.first_read_ns
        ttfe = ttft = ttfot = finish = last_choice = done = None
        tokens: list[int] = []  # arrival of each token-bearing event
        counts: list[int] | None = []  # its tokens, from cumulative usage on every chunk
        usage: Usage | None = None
        finish_reason: str | None = None
        completed = 0  # completion tokens the usage so far reported
        for stamp, payload in zip(self.stamps, self.payloads):
            if payload == DONE:
                done = stamp
                continue
            try:
                chunk = decode_payload(payload)
            except msgspec.DecodeError:
                continue  # the stream failed on it: the record's error says so
            if chunk.usage is not None:
                usage = chunk.usage
            choices = chunk.choices
            if not choices:
                continue
            if ttfe is None:
                ttfe = stamp
            last_choice = stamp
            kind = 0
            for choice in choices:
                delta = choice.delta
                if delta is not None:
                    if delta.content:  # the common case, without a call
                        kind = 2
                    elif kind < 2:
                        kind = max(kind, _output_kind(delta))
                if choice.finish_reason is not None:
                    finish_reason = choice.finish_reason
                    finish = stamp
            if kind:
                if ttft is None:
                    ttft = stamp
                if ttfot is None and kind == 2:
                    ttfot = stamp
                tokens.append(stamp)
                cumulative = chunk.usage.completion_tokens if chunk.usage is not None else None
                if counts is not None:
                    if cumulative is None:
                        counts = None
                    else:
                        counts.append(max(1, cumulative - completed))
            if chunk.usage is not None and chunk.usage.completion_tokens is not None:
                completed = chunk.usage.completion_tokens
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
            first_byte_ms=_ms(first_byte, origin),
            ttfe_ms=_ms(ttfe, origin),
            ttft_ms=_ms(ttft, origin),
            ttfot_ms=_ms(ttfot, origin),
            tpot_ms=tpot,
            e2e_ms=_ms(finish if finish is not None else last_choice, origin),
            done_ms=_ms(done, origin),
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
            itl_ms=[round((b - a) / 1e6, 3) for a, b in zip(tokens, tokens[1:])],
            itl_tokens=counts[1:] if counts else None,
            output_tokens=output_tokens,
            output_tokens_source=source,
            usage=usage,
            finish_reason=finish_reason,
            content=message.content,
            reasoning=message.reasoning,
            calls=message.tool_calls,
            invalid_calls=message.invalid_tool_calls,
            error=error,
            meta=request.meta,
        )
