"""The output record: one JSON line per request, written as the request ends.

Times in ``t`` (and ``itl_ms``) are milliseconds from ``mono_send_ns``, the
moment the request body went to the socket on the ``time.perf_counter_ns()``
clock; a request that never reached the socket has ``mono_send_ns`` null and
its times count from ``mono_start_ns`` (when it got its concurrency slot).
``perf_counter_ns`` is CLOCK_MONOTONIC on Linux, one clock for every process
of a host; records of Ray actors on other hosts have their ``mono_*`` stamps
moved onto the driver's clock by an offset measured at start-up (see
:mod:`.dealer`), while their durations stay those measured on their ``host``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from ..core.events import InvalidToolCall, Usage
from ..core.message import ToolCall

__all__ = ["CallTiming", "ErrorInfo", "Record", "Score", "Timings", "decode_record", "encode_record", "is_settled", "latest"]

Status = Literal["ok", "error", "truncated", "cancelled"]
# Statuses the Client retries before the first byte; the same are worth a rerun.
_TRANSIENT_STATUSES = frozenset({408, 429})


class CallTiming(msgspec.Struct, frozen=True):
    """When a tool call's name became known, and when its arguments closed (null: never)."""

    index: int
    start_ms: float | None
    end_ms: float | None


class Timings(msgspec.Struct, frozen=True, kw_only=True):
    """Milliseconds from the send; null when the moment never came."""

    scheduled_ms: float | None = None
    """When the load shape said the request arrives (negative: before the send)."""
    start_ms: float | None = None
    """When it got its concurrency slot; start − scheduled is the client queue time."""
    first_byte_ms: float | None = None
    ttfe_ms: float | None = None
    """First event with ``choices`` (what vLLM calls TTFT: a role-only chunk counts)."""
    ttft_ms: float | None = None
    """First token-bearing event."""
    ttfot_ms: float | None = None
    """First token-bearing event with content or a tool-call fragment (not reasoning)."""
    tpot_ms: float | None = None
    e2e_ms: float | None = None
    """The event that carried ``finish_reason`` (else the last ``choices`` event)."""
    done_ms: float | None = None
    end_ms: float | None = None
    """The request was over for the client (stream closed, error or cancel)."""
    tool_calls: list[CallTiming] = []


class ErrorInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Why a request failed: ``kind`` is http, timeout, connection, disconnected, stream or cancelled."""

    kind: str
    message: str
    status: int | None = None
    timeout: str | None = None
    type: str | None = None
    code: int | str | None = None


class Score(msgspec.Struct, frozen=True, kw_only=True):
    """``valid``: the strict rule; ``bfcl_valid``: BFCL's AST rules. Error types use BFCL's names."""

    valid: bool
    error_type: str | None = None
    error: str | None = None
    bfcl_valid: bool
    bfcl_error_type: str | None = None


class Record(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    phase: Literal["warmup", "measure"] = "measure"
    status: Status
    attempts: int = 0
    run: str = ""
    """The invocation that made it: stamps of different runs are not comparable."""
    host: str = ""
    """The host that sent the request: its durations (``t``, ``itl_ms``) were measured there."""
    category: str | None = None
    mono_start_ns: int = 0
    mono_send_ns: int | None = None
    wall_start: float = 0.0
    """Unix time of the start, to order records of several hosts."""
    t: Timings = Timings()
    itl_ms: list[float] = []
    itl_tokens: list[int] | None = None
    """Tokens of the event closing each ITL gap (from continuous usage stats), when known."""
    output_tokens: int = 0
    output_tokens_source: Literal["usage", "events"] = "events"
    usage: Usage | None = None
    finish_reason: str | None = None
    content: str | None = None
    reasoning: str | None = None
    calls: list[ToolCall] = []
    invalid_calls: list[InvalidToolCall] = []
    score: Score | None = None
    error: ErrorInfo | None = None
    meta: dict[str, Any] | None = None

    @property
    def origin_ns(self) -> int:
        """What the ``t`` times count from."""
        return self.mono_send_ns if self.mono_send_ns is not None else self.mono_start_ns


def is_settled(record: Record) -> bool:
    """Done for good: a rerun would skip it (ok, or an error that would come back: a 4xx other than 408/429)."""
    if record.status == "ok":
        return True
    error = record.error
    return (
        record.status == "error"
        and error is not None
        and error.kind == "http"
        and error.status is not None
        and 400 <= error.status < 500
        and error.status not in _TRANSIENT_STATUSES
    )


def latest(records: Iterable[Record]) -> list[Record]:
    """The last measured record of each id, in the order ids first appeared: a file
    a resumed run appended to counts each id once."""
    last: dict[str, Record] = {}
    for record in records:
        if record.phase == "measure":
            last[record.id] = record
    return list(last.values())


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Record)


def encode_record(record: Record) -> bytes:
    return _encoder.encode(record)


def decode_record(line: bytes | str) -> Record:
    """Raises :class:`msgspec.DecodeError` for a line that is not a record."""
    return _decoder.decode(line)
