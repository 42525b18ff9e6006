"""streamparse: typed tool-call events from a live stream of LLM output."""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    ClientClosedError,
    EventTooLargeError,
    FormatError,
    LLMConnectionError,
    LLMDisconnectedError,
    LLMError,
    LLMResponseError,
    LLMResponseTooLargeError,
    LLMStreamError,
    LLMTimeoutError,
    SSEError,
    StreamParseError,
    UsageError,
)
from .core.events import (
    Event,
    Finish,
    InvalidToolCall,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)
from .core.formats import Format, available_formats, load_format
from .core.message import Message, MessageBuilder, ToolCall
from .core.parser import Parser, parse

if TYPE_CHECKING:
    from .client import Client, Response, Retries, Stream, Timeouts

# The client needs aiohttp; importing it lazily keeps `import streamparse` (the sans-IO core) free of it.
_CLIENT_NAMES = frozenset({"Client", "Response", "Retries", "Stream", "Timeouts"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'streamparse' has no attribute {name!r}")


__all__ = [
    "__version__",
    "Client",
    "Response",
    "Retries",
    "Stream",
    "Timeouts",
    "ClientClosedError",
    "Event",
    "EventTooLargeError",
    "Finish",
    "Format",
    "FormatError",
    "InvalidToolCall",
    "LLMConnectionError",
    "LLMDisconnectedError",
    "LLMError",
    "LLMResponseError",
    "LLMResponseTooLargeError",
    "LLMStreamError",
    "LLMTimeoutError",
    "Message",
    "MessageBuilder",
    "Parser",
    "ReasoningDelta",
    "SSEError",
    "StreamParseError",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallStart",
    "UsageError",
    "Usage",
    "available_formats",
    "load_format",
    "parse",
]
