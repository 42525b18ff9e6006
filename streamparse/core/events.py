"""The events a stream produces: frozen, tagged msgspec Structs.

``msgspec.json.encode(event)`` gives ``{"type": "<snake name>", ...}``, a stable
JSON line for logs and golden tests.
"""

from __future__ import annotations

from typing import Any, Union

import msgspec


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=_snake):
    """Base of every event."""


class TextDelta(Event, frozen=True):
    """Visible text outside tool-call and reasoning blocks."""

    text: str


class ReasoningDelta(Event, frozen=True):
    """Text inside a reasoning block (or a server's reasoning field)."""

    text: str


class ToolCallStart(Event, frozen=True):
    """A call's name is known; its argument fragments follow."""

    index: int
    id: str
    name: str


class ToolCallDelta(Event, frozen=True):
    """A fragment of the call's arguments JSON, exactly as the model wrote it."""

    index: int
    arguments: str


class ToolCallEnd(Event, frozen=True):
    """The complete call, arguments decoded (always a dict)."""

    index: int
    id: str
    name: str
    arguments: dict[str, Any]


class InvalidToolCall(Event, frozen=True):
    """A block that is not a valid call: its raw text and why."""

    index: int
    raw: str
    error: str


class Usage(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Token counts as the server reported them (None: not reported; servers send null and omit alike)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: dict[str, Any] | None = None  # e.g. cached_tokens
    completion_tokens_details: dict[str, Any] | None = None


class Finish(Event, frozen=True):
    """The server ended the response (streaming client only)."""

    finish_reason: str | None
    usage: Usage | None = None


AnyEvent = Union[
    TextDelta, ReasoningDelta, ToolCallStart, ToolCallDelta, ToolCallEnd, InvalidToolCall, Finish
]
