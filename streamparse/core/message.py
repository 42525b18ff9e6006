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


_PIECES = 64  # small pieces joined into one part at a time: few objects per event stay alive


class _Text:
    """Text that grows by small pieces, in constant time per piece and memory
    that follows its length: the pieces are joined every ``_PIECES``, and a
    part is merged into the one before it while that one is not longer,
    which keeps few parts (about log2 of the text's length) and copies each
    character a logarithmic number of times."""

    __slots__ = ("parts", "pieces", "started")

    def __init__(self) -> None:
        self.parts: list[str] = []  # joined pieces, oldest (and longest) first
        self.pieces: list[str] = []  # the latest pieces, not joined yet
        self.started = False  # text other than whitespace came: leading whitespace is dropped

    def append(self, piece: str) -> None:
        if not self.started:
            # The message is stripped: dropping it now spares a copy of the whole text per build.
            piece = piece.lstrip()
            if not piece:
                return
            self.started = True
        pieces = self.pieces
        pieces.append(piece)
        if len(pieces) >= _PIECES:
            parts = self.parts
            parts.append("".join(pieces))
            pieces.clear()
            while len(parts) > 1 and len(parts[-2]) <= len(parts[-1]):
                last = parts.pop()
                parts[-1] += last

    def value(self) -> str:
        """The whole text; joined into one part, so the next call costs only what came since."""
        text = "".join(self.parts) + "".join(self.pieces)
        self.parts = [text]
        self.pieces.clear()
        return text


class MessageBuilder:
    """Folds events into a :class:`Message` as they come.

    Each event costs constant time and keeps only what the message needs:
    text and reasoning as (joined) strings, the calls. :meth:`build` returns
    the same message while no event changed it; otherwise it joins the text
    into one string (the message holds one, so a change is a copy of the
    text, a C-level join that does not depend on the number of events).
    """

    __slots__ = ("_text", "_reasoning", "_calls", "_invalid", "_built")

    def __init__(self) -> None:
        self._text = _Text()
        self._reasoning = _Text()
        self._calls: list[ToolCall] = []
        self._invalid: list[InvalidToolCall] = []
        self._built: Message | None = None  # the last message built, while it is still current

    def add(self, event: Event) -> None:
        self.extend((event,))

    def extend(self, events: Iterable[Event]) -> None:
        changed = False
        for event in events:
            if type(event) is TextDelta:
                self._text.append(event.text)
            elif type(event) is ReasoningDelta:
                self._reasoning.append(event.text)
            elif type(event) is ToolCallEnd:
                self._calls.append(ToolCall(id=event.id, name=event.name, arguments=event.arguments))
            elif type(event) is InvalidToolCall:
                self._invalid.append(event)
            else:
                continue  # starts and argument fragments: the end event carries the whole call
            changed = True
        if changed:
            self._built = None

    def build(self) -> Message:
        built = self._built
        if built is None:
            built = self._built = Message(
                content=self._text.value().strip() or None,
                reasoning=self._reasoning.value().strip() or None,
                tool_calls=list(self._calls),
                invalid_tool_calls=list(self._invalid),
            )
        return built
