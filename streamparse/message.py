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
    """Folds events into a :class:`Message`, one event at a time."""

    __slots__ = ("_text", "_reasoning", "_calls", "_invalid")

    def __init__(self) -> None:
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: list[ToolCall] = []
        self._invalid: list[InvalidToolCall] = []

    def add(self, event: Event) -> None:
        if type(event) is TextDelta:
            self._text.append(event.text)
        elif type(event) is ReasoningDelta:
            self._reasoning.append(event.text)
        elif type(event) is ToolCallEnd:
            self._calls.append(ToolCall(id=event.id, name=event.name, arguments=event.arguments))
        elif type(event) is InvalidToolCall:
            self._invalid.append(event)

    def extend(self, events: Iterable[Event]) -> None:
        for event in events:
            self.add(event)

    def build(self) -> Message:
        return Message(
            content="".join(self._text).strip() or None,
            reasoning="".join(self._reasoning).strip() or None,
            tool_calls=list(self._calls),
            invalid_tool_calls=list(self._invalid),
        )
