"""streamparse: typed tool-call events from a live stream of LLM output."""

from ._version import __version__
from .errors import (
    EventTooLargeError,
    FormatError,
    LLMConnectionError,
    LLMError,
    LLMResponseError,
    LLMStreamError,
    LLMTimeoutError,
    SSEError,
    StreamParseError,
    UsageError,
)
from .events import (
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
from .formats import Format, available_formats, load_format
from .message import Message, MessageBuilder, ToolCall
from .parser import Parser, parse

__all__ = [
    "__version__",
    "Event",
    "EventTooLargeError",
    "Finish",
    "Format",
    "FormatError",
    "InvalidToolCall",
    "LLMConnectionError",
    "LLMError",
    "LLMResponseError",
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
