"""The folded result of a stream: what the assistant said, as one message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from .events import (
    Event,
    InvalidToolCall,
    ReasoningDelta,
    TextDelta,
    ToolCallEnd,
)


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """A complete tool call."""

    id: str
    name: str
    arguments: dict[str, Any]


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """An assistant message: text, reasoning and calls."""

    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] = msgspec.field(default_factory=list)
    invalid_tool_calls: list[InvalidToolCall] = msgspec.field(default_factory=list)

    def to_message(self) -> dict[str, Any]:
        """The OpenAI assistant message for the conversation history."""
        out: dict[str, Any] = {"role": "assistant"}
        if self.content is not None:
            out["content"] = self.content
        if self.tool_calls:
            out["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": msgspec.json.encode(call.arguments).decode(),
                    },
                }
                for call in self.tool_calls
            ]
        return out


class MessageBuilder:
    """Folds events into a :class:`Message`.

    Adding is the hot path (once per streamed event), so events are only
    kept; :meth:`build` does the folding.
    """

    __slots__ = ("_events",)

    def __init__(self) -> None:
        self._events: list[Event] = []

    def add(self, event: Event) -> None:
        self._events.append(event)

    def extend(self, events: Iterable[Event]) -> None:
        self._events += events

    def build(self) -> Message:
        text: list[str] = []
        reasoning: list[str] = []
        calls: list[ToolCall] = []
        invalid: list[InvalidToolCall] = []
        for event in self._events:
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, ReasoningDelta):
                reasoning.append(event.text)
            elif isinstance(event, ToolCallEnd):
                calls.append(ToolCall(id=event.id, name=event.name, arguments=event.arguments))
            elif isinstance(event, InvalidToolCall):
                invalid.append(event)
        return Message(
            content="".join(text).strip() or None,
            reasoning="".join(reasoning).strip() or None,
            tool_calls=calls,
            invalid_tool_calls=invalid,
        )
