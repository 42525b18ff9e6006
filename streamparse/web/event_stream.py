"""streamparse's own events as server-sent events, one JSON object each.

``data: {"type": "text_delta", "text": "Hi"}``: each event exactly as
``msgspec.json.encode`` writes it (the same lines as ``streamparse parse``), so
a browser reads them with one ``JSON.parse`` per event. Anything the events
iterator yields that msgspec can encode goes out as it is (an agent's tool
events too). The body's end is the stream's end; a failure is one last
``{"type": "error", "error": "<class>", "message": "..."}``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Callable

import msgspec

from ..errors import StreamParseError
from .framing import SSE_HEADERS, error_message, sse

__all__ = ["EVENT_STREAM_HEADERS", "StreamFailed", "event_stream"]

EVENT_STREAM_HEADERS = SSE_HEADERS


class StreamFailed(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="error"):
    """The last event of a stream that failed: the error's class name and a message for the user."""

    error: str
    message: str


async def event_stream(
    events: AsyncIterable[object], *, on_error: Callable[[Exception], str] = error_message
) -> AsyncGenerator[bytes, None]:
    """SSE bytes for ``events`` (a ``Client.stream``, an agent run...).

    A :class:`~streamparse.errors.StreamParseError` raised by ``events`` ends
    the stream with a :class:`StreamFailed` event whose message is
    ``on_error(exc)`` (pass one that hides details from a public page).
    """
    try:
        async for event in events:
            yield sse(event)
    except StreamParseError as exc:
        yield sse(StreamFailed(error=type(exc).__name__, message=on_error(exc)))
