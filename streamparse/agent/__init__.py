"""The agent runner: tools declared from Python functions, each run the moment its call is complete.

See :mod:`.runner` for the loop and how each call ends, :mod:`.tools` for
declaring tools, :mod:`.events` for the events a run adds to the stream's.
Importing this package does not import aiohttp: the runner uses the
:class:`~streamparse.client.Client` it is given.
"""

from .events import AgentEvent, AnyAgentEvent, ToolFinished, ToolStarted, ToolStatus, TurnEnd, TurnStart
from .runner import Agent, AgentRun
from .tools import Tool, tool

__all__ = [
    "Agent",
    "AgentEvent",
    "AgentRun",
    "AnyAgentEvent",
    "Tool",
    "ToolFinished",
    "ToolStarted",
    "ToolStatus",
    "TurnEnd",
    "TurnStart",
    "tool",
]
