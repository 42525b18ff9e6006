"""What one model output comes to, for the per-format conformance tests.

Each output is parsed three ways (whole, a character at a time, in random
pieces), which must agree, and its events must keep the streaming contract;
the tests then look at the calls, the text and the invalid calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamparse import InvalidToolCall, ReasoningDelta, TextDelta, ToolCallEnd
from streamparse.core.events import Event

from ..helpers import three_ways
from ..test_formats import check_contract


def tool(name: str, **properties: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI tool definition whose parameters are ``properties``."""
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": properties}}}


def parsed(output: str, fmt: str, **options: Any) -> list[Event]:
    """The merged events of ``output`` (the same under any chunking), checked against the contract."""
    events = three_ways(output, fmt, **options)
    check_contract(events)
    return events


def cut_off(before: str, cut: str, fmt: str, **options: Any) -> InvalidToolCall:
    """Text, then a call the stream cut off at ``cut``: the text stays text, and the call is reported
    as truncated with the raw text the model wrote for it."""
    events = parsed(before + cut, fmt, **options)
    assert text(events) == before and not calls(events)
    [bad] = invalid(events)
    assert bad.kind == "truncated" and cut.endswith(bad.raw)
    return bad


def calls(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, e.arguments) for e in events if isinstance(e, ToolCallEnd)]


def invalid(events: list[Event]) -> list[InvalidToolCall]:
    return [e for e in events if isinstance(e, InvalidToolCall)]


def text(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def reasoning(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, ReasoningDelta))


@dataclass(frozen=True)
class Unfit:
    """A value no reading of which fits its schema: it stays the raw text, and the call is reported
    (``invalid_arguments``) with it, never with an invented value."""

    value: Any


def typed(output: str, fmt: str, tools: list[dict[str, Any]], key: str = "v") -> Any:
    """The value of argument ``key`` of the one call in ``output`` (an :class:`Unfit` when the call is
    reported for arguments that do not fit the tool's schema)."""
    events = parsed(output, fmt, tools=tools)
    ends = calls(events)
    if ends:
        [(_, arguments)] = ends
        return arguments[key]
    [bad] = invalid(events)
    assert bad.kind == "invalid_arguments" and bad.arguments is not None, bad
    return Unfit(bad.arguments[key])
