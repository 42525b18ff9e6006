"""The browser relay: streamparse events to a web page, live.

- :func:`event_stream` and :func:`ui_message_stream`: plain async generators
  turning events (a ``Client.stream``, an agent run) into SSE bytes, as
  streamparse's own JSON events or as the Vercel AI SDK's UI message stream,
  for any web framework.
- :func:`chat_messages`: a browser's request body (``useChat``'s, or
  ``{"prompt"}`` / ``{"messages"}``) as OpenAI messages.
- :func:`chat_handler`, :func:`page_handler`, :func:`add_routes`: ready aiohttp
  handlers, and the live page.
"""

from .chat_request import chat_messages
from .event_stream import EVENT_STREAM_HEADERS, StreamFailed, event_stream
from .routes import Handler, Run, add_routes, chat_handler, page_handler
from .ui_stream import UI_MESSAGE_STREAM_HEADERS, UIMessageChunks, ui_message_stream

__all__ = [
    "EVENT_STREAM_HEADERS",
    "UI_MESSAGE_STREAM_HEADERS",
    "Handler",
    "Run",
    "StreamFailed",
    "UIMessageChunks",
    "add_routes",
    "chat_handler",
    "chat_messages",
    "event_stream",
    "page_handler",
    "ui_message_stream",
]
