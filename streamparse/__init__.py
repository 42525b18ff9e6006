"""streamparse: typed tool-call events from a live stream of LLM output."""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    AgentError,
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
    ToolArgumentsError,
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
    ToolCallValue,
    ToolCallValueDelta,
    Usage,
)
from .core.formats import Format, available_formats, load_format
from .core.message import Message, MessageBuilder, ToolCall
from .core.parser import Parser, parse
from .core.schema import SchemaProblem, ToolSchemas

if TYPE_CHECKING:
    from .agent import Agent, AgentRun, Tool, ToolFinished, ToolStarted, TurnEnd, TurnStart, tool
    from .client import Client, Response, Retries, Stream, Timeouts

# The client needs aiohttp; importing it lazily keeps `import streamparse` (the sans-IO core) free of it.
_CLIENT_NAMES = frozenset({"Client", "Response", "Retries", "Stream", "Timeouts"})
# The agent runner (asyncio, no aiohttp) loads on first use as well.
_AGENT_NAMES = frozenset({"Agent", "AgentRun", "Tool", "ToolFinished", "ToolStarted", "TurnEnd", "TurnStart", "tool"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from . import client

        return getattr(client, name)
    if name in _AGENT_NAMES:
        from . import agent

        return getattr(agent, name)
    raise AttributeError(f"module 'streamparse' has no attribute {name!r}")


__all__ = [
    "__version__",
    "Agent",
    "AgentError",
    "AgentRun",
    "Tool",
    "ToolArgumentsError",
    "ToolFinished",
    "ToolStarted",
    "TurnEnd",
    "TurnStart",
    "tool",
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
    "SchemaProblem",
    "SSEError",
    "StreamParseError",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallStart",
    "ToolCallValue",
    "ToolCallValueDelta",
    "ToolSchemas",
    "UsageError",
    "Usage",
    "available_formats",
    "load_format",
    "parse",
]
