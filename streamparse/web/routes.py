"""The relay's aiohttp handlers: a browser's chat request in, a live SSE stream out.

::

    async with Client(base_url) as client:
        app = web.Application()
        app.router.add_post("/api/chat", chat_handler(lambda messages: client.stream(messages, tools=TOOLS)))

``run`` turns the request's messages into events: one ``Client.stream``, or an
agent run that also calls tools. :func:`add_routes` adds the live page too.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from importlib.resources import files
from typing import Any, Literal

import msgspec
from aiohttp import web

from ..errors import ChatRequestError, LLMError
from .chat_request import chat_messages
from .event_stream import EVENT_STREAM_HEADERS, event_stream
from .framing import error_message
from .ui_stream import UI_MESSAGE_STREAM_HEADERS, ui_message_stream

__all__ = ["Handler", "Run", "add_routes", "chat_handler", "page_handler"]

Run = Callable[[list[dict[str, Any]]], AsyncIterable[object]]
"""The events answering a conversation (OpenAI messages)."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PROTOCOLS = {
    "ui": (ui_message_stream, UI_MESSAGE_STREAM_HEADERS),
    "events": (event_stream, EVENT_STREAM_HEADERS),
}


def chat_handler(
    run: Run,
    *,
    protocol: Literal["ui", "events"] = "ui",
    on_error: Callable[[Exception], str] = error_message,
) -> Handler:
    """A POST handler streaming ``run(messages)`` back as the AI SDK's UI message stream (``ui``) or streamparse's own events.

    The body is any shape :func:`~streamparse.web.chat_request.chat_messages`
    accepts; a bad one gets HTTP 400. An :class:`~streamparse.errors.LLMError`
    before the first event (the LLM server refused or cannot be reached) gets
    HTTP 502 with ``{"error": on_error(exc)}``; once streaming, a failure is the
    protocol's error event. A browser that leaves stops the run.
    """
    encode, headers = _PROTOCOLS[protocol]

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            messages = chat_messages(await request.read())
        except ChatRequestError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        events = aiter(run(messages))
        try:
            try:
                first: list[object] = [await anext(events)]
            except StopAsyncIteration:
                first = []
            except LLMError as exc:
                return web.json_response({"error": on_error(exc)}, status=502)
            resp = web.StreamResponse(headers=headers)
            await resp.prepare(request)
            try:
                async with aclosing(encode(_chain(first, events), on_error=on_error)) as stream:
                    async for data in stream:
                        await resp.write(data)
                await resp.write_eof()
            except ConnectionResetError:
                pass  # the browser left: nothing to tell it; `finally` stops the run
            return resp
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()

    return handle


async def _chain(first: list[object], rest: AsyncIterator[object]) -> AsyncIterator[object]:
    for event in first:
        yield event
    async for event in rest:
        yield event


_PAGE = "page.html"
_CONFIG_MARK = "/*CONFIG*/{}"


def page_handler(config: dict[str, Any] | None = None) -> Handler:
    """A GET handler for the live page; ``config`` (JSON) reaches its script: ``endpoint``, ``prompt``, ``title``."""
    html = files(__package__).joinpath(_PAGE).read_text(encoding="utf-8")
    # No "<" at all in the inline script, so no "</script>" or "<!--" in a value can end it early.
    blob = msgspec.json.encode(config or {}).decode().replace("<", "\\u003c")
    body = html.replace(_CONFIG_MARK, blob).encode()

    async def handle(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    return handle


def add_routes(
    app: web.Application,
    run: Run,
    *,
    prefix: str = "",
    page: dict[str, Any] | None = None,
    on_error: Callable[[Exception], str] = error_message,
) -> None:
    """The live page at ``{prefix}/``, and ``run`` at ``{prefix}/api/chat`` (AI SDK) and ``{prefix}/api/events`` (own events)."""
    app.router.add_get(f"{prefix}/", page_handler({"endpoint": f"{prefix}/api/events", **(page or {})}))
    app.router.add_post(f"{prefix}/api/chat", chat_handler(run, protocol="ui", on_error=on_error))
    app.router.add_post(f"{prefix}/api/events", chat_handler(run, protocol="events", on_error=on_error))
