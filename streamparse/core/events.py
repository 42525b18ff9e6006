"""The events a stream produces: frozen, tagged msgspec Structs.

``msgspec.json.encode(event)`` gives ``{"type": "<snake name>", ...}``, a stable
JSON line for logs and golden tests.
"""

from __future__ import annotations

from typing import Any, Literal, Union

import msgspec


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=_snake):
    """Base of every event.

    The events that hold only strings and numbers are left out of the garbage collector (``gc=False``):
    they cannot be part of a reference cycle, and a stream makes one per delta, so tracking them
    cost about a third of building one.
    """


class TextDelta(Event, frozen=True, gc=False):
    """Visible text outside tool-call and reasoning blocks."""

    text: str


class ReasoningDelta(Event, frozen=True, gc=False):
    """Text inside a reasoning block (or a server's reasoning field)."""

    text: str


class ToolCallStart(Event, frozen=True, gc=False):
    """A call's name is known; its argument fragments follow."""

    index: int
    id: str
    name: str


class ToolCallDelta(Event, frozen=True, gc=False):
    """A fragment of the call's arguments JSON.

    As the model wrote it where it wrote JSON; decoded where it wrote the arguments as a JSON string;
    built from the values where it wrote them raw (XML-style formats); ``{}`` where it wrote none.
    Joined, a call's fragments decode to exactly its ``ToolCallEnd.arguments``.
    """

    index: int
    arguments: str


class ToolCallEnd(Event, frozen=True):
    """The complete call, arguments decoded (always a dict)."""

    index: int
    id: str
    name: str
    arguments: dict[str, Any]


class ToolCallValueDelta(Event, frozen=True, gc=False):
    """Decoded text appended to the string value at ``path`` in a call's arguments, as it arrives.

    Only with ``values=True``; it follows the ``ToolCallDelta`` that brought it.
    """

    index: int
    path: tuple[str | int, ...]
    text: str


class ToolCallValue(Event, frozen=True):
    """The value at ``path`` in a call's arguments is complete (only with ``values=True``).

    Strings, numbers, booleans and null, and objects and arrays when they
    close; never the root (``ToolCallEnd`` carries it) nor a key.
    """

    index: int
    path: tuple[str | int, ...]
    value: Any


InvalidKind = Literal["malformed", "truncated", "unknown_tool", "invalid_arguments"]
"""Why a call is invalid: its text is not a call of the format; the stream ended inside it; it names
a tool that was not offered; its arguments do not fit the tool's schema."""


class SchemaProblem(msgspec.Struct, frozen=True, gc=False):
    """Why a call's arguments do not fit its tool's schema.

    ``path`` locates the value in the arguments (a missing or unexpected
    property: the property's own path); ``keyword`` is the JSON Schema keyword
    that failed (``falseSchema`` where a ``false`` schema refused a value).
    """

    path: tuple[str | int, ...]
    message: str
    keyword: str


class InvalidToolCall(Event, frozen=True):
    """Text that is not a valid call: the raw text the model wrote for it, and why.

    ``name`` and ``arguments`` are set when they could be read (e.g. a call to
    an unknown tool), and ``problems`` when the arguments do not fit the
    tool's schema, so an agent can tell the model exactly what was wrong.
    """

    index: int
    raw: str
    error: str
    kind: InvalidKind = "malformed"
    name: str | None = None
    arguments: dict[str, Any] | None = None
    problems: tuple[SchemaProblem, ...] = ()


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
    TextDelta, ReasoningDelta, ToolCallStart, ToolCallDelta, ToolCallValueDelta, ToolCallValue, ToolCallEnd,
    InvalidToolCall, Finish,
]
