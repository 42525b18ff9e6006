"""SSE framing shared by the relay's two protocols."""

from __future__ import annotations

from typing import Any

import msgspec

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "x-accel-buffering": "no",  # nginx would otherwise hold the events back
}

_encode = msgspec.json.Encoder().encode


def sse(payload: Any) -> bytes:
    """One SSE event carrying ``payload`` as JSON (whose text has no raw newline)."""
    return b"data: " + _encode(payload) + b"\n\n"


def error_message(exc: Exception) -> str:
    """What a browser is told of a failure by default: the error's message."""
    return str(exc) or type(exc).__name__
