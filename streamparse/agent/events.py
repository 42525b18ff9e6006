"""The runner's own events, yielded between the stream's: frozen, tagged msgspec Structs.

Times are seconds since the turn's request was sent (``time.perf_counter``),
so they sit on one axis with the stream's events.
"""

from __future__ import annotations

from typing import Literal, Union

from ..core.events import AnyEvent, Event

__all__ = ["AgentEvent", "AnyAgentEvent", "ToolFinished", "ToolStarted", "ToolStatus", "TurnEnd", "TurnStart"]

ToolStatus = Literal["ok", "error", "timeout", "unknown_tool", "invalid_arguments"]
"""How a call ended: ``ok``; the tool raised (``error``); it ran past its
timeout (``timeout``, then cancelled); no tool has the call's name
(``unknown_tool``); the arguments did not fit its parameters
(``invalid_arguments``). The last two never start the tool."""


class AgentEvent(Event, frozen=True):
    """Base of the runner's events."""


class TurnStart(AgentEvent, frozen=True):
    """A request is being sent: turn ``turn`` (from 1) of the run."""

    turn: int


class ToolStarted(AgentEvent, frozen=True):
    """A tool began running (later than its call's end only when ``max_concurrency`` made it wait)."""

    index: int
    id: str
    name: str
    at: float


class ToolFinished(AgentEvent, frozen=True):
    """A call's result is in; ``content`` is its ``tool`` message's content.

    Every call (:class:`~streamparse.core.events.ToolCallEnd`) gets one, ``duration`` is how
    long the tool ran (0 when it never started); ``at`` is when it finished.
    """

    index: int
    id: str
    name: str
    status: ToolStatus
    content: str
    at: float
    duration: float


class TurnEnd(AgentEvent, frozen=True):
    """A turn is over: the response ended and every tool result is in.

    ``calls`` counts the calls the model made, invalid ones included. ``response`` is when the stream ended; ``wall`` when the last result came
    in (the turn's length: the next request goes out now). ``tools`` adds up
    how long each tool ran; ``saved = response + tools - wall`` is what
    starting each tool at its call's end saved against running the tools one
    after another once the response is over, as an agent loop without
    streamed calls does. ``stop_reason`` is None when another turn follows,
    ``answered`` when the model made no call, ``max_turns`` at the turn limit.
    """

    turn: int
    calls: int
    response: float
    wall: float
    tools: float
    saved: float
    stop_reason: Literal["answered", "max_turns"] | None


AnyAgentEvent = Union[AnyEvent, TurnStart, ToolStarted, ToolFinished, TurnEnd]
"""Every event a run yields, for ``msgspec.json.Decoder(AnyAgentEvent)``."""
