"""granite (Granite 3.0-3.3): a JSON array of calls after <|tool_call|> (3.1: plain <tool_call>).

Inputs and expected outcomes marked vLLM are that peer's public test cases
(vLLM's Granite parser tests); where this project decides otherwise, the test
says why.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from streamparse import Parser, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart

from .cuts import every_cut
from .data import EVERY_TYPE
from .summary import calls, invalid, parsed, reasoning, text, tool

FMT = "granite"
TOKYO = ("get_weather", {"city": "Tokyo"})


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("This is a regular response without any tool calls.", [], "This is a regular response without any tool calls."),  # vLLM
        ('<|tool_call|> [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]', [TOKYO], ""),  # vLLM (3.0 token)
        ('<tool_call> [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]', [TOKYO], ""),  # vLLM (3.1 string)
        (
            '<|tool_call|> [\n  {"name": "get_weather", "arguments": {"city": "Tokyo"}},\n  {"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}\n]',  # vLLM
            [TOKYO, ("get_time", {"timezone": "Asia/Tokyo"})],
            "",
        ),
        (  # vLLM: the 3.1 marker, the call written over several lines
            "<tool_call> [" + json.dumps({"name": "test_function", "arguments": EVERY_TYPE}, indent=2) + "]",
            [("test_function", EVERY_TYPE)],
            "",
        ),
        ('<|tool_call|> [{"name": "refresh", "arguments": {}}]', [("refresh", {})], ""),  # vLLM
        (
            # vLLM drops the text around the calls (its test marks this expected failure); it is kept here.
            'Let me check the weather for you.\n<|tool_call|> [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]\nI\'ll get that information.',
            [TOKYO],
            "Let me check the weather for you.\n\nI'll get that information.",
        ),
        (
            '<tool_call> [{\n  "name": "test_function",\n  "arguments": {\n    "quoted": "He said \\"hello\\"",\n'  # vLLM
            '    "path": "C:\\\\Users\\\\file.txt",\n    "newline": "line1\\nline2",\n    "unicode": "emoji: 🎉"\n  }\n}]',
            [("test_function", {"quoted": 'He said "hello"', "path": "C:\\Users\\file.txt", "newline": "line1\nline2", "unicode": "emoji: 🎉"})],
            "",
        ),
        (
            # vLLM: Granite writes the arguments before the name.
            '<|tool_call|> [{"arguments": {"city": "Tokyo"}, "name": "get_weather"}, {"arguments": {"timezone": "Asia/Tokyo"}, "name": "get_time"}]',
            [TOKYO, ("get_time", {"timezone": "Asia/Tokyo"})],
            "",
        ),
        ('<|tool_call|>[{"name": "get_weather", "arguments": {"x": 42}}, {"name": "b", "arguments": {"y": 7}}]', [("get_weather", {"x": 42}), ("b", {"y": 7})], ""),  # vLLM
        # vLLM treats a lone object after the marker as malformed (not an array); any call object is read.
        ('<|tool_call|> {"name": "func", "arguments": {}}', [("func", {})], ""),
        # vLLM: JSON later in prose is no call.
        ('Some text [{"name": "func"}]', [], 'Some text [{"name": "func"}]'),
        # With the special token stripped, a reply that starts with the array.
        ('[{"name": "get_weather", "arguments": {"city": "Tokyo"}}] Checking.', [TOKYO], " Checking."),
        ('\n[{"arguments": {"city": "Tokyo"}, "name": "get_weather"}]', [TOKYO], ""),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, Any]]], content: str) -> None:
    events = parsed(output, FMT)
    assert calls(events) == expected and text(events) == content and not invalid(events)


@pytest.mark.parametrize(
    ("output", "kind"),
    [
        ('<|tool_call|> [{"name": "func", "arguments": {', "truncated"),  # vLLM (malformed)
        ('[{"name": "func", "arguments": "not a dict"}]', "malformed"),  # vLLM (malformed)
    ],
)
def test_malformed_calls_are_invalid(output: str, kind: str) -> None:
    events = parsed(output, FMT)
    [bad] = invalid(events)
    assert not calls(events) and bad.kind == kind and bad.name == "func" and bad.raw == output


def test_arguments_before_the_name_stream_once_it_is_known() -> None:  # vLLM (batched deltas)
    parser = Parser(FMT)
    assert parser.feed('<|tool_call|> [{"arguments": {"city": "Tokyo"}, ') == []
    assert parser.feed('"name": "get_weather"}, {"arguments": {"timezone": "Asia/Tokyo"}, "name": "get_time"}]') == [
        ToolCallStart(index=0, id="call_0", name="get_weather"),
        ToolCallDelta(index=0, arguments='{"city": "Tokyo"}'),
        ToolCallEnd(index=0, id="call_0", name="get_weather", arguments={"city": "Tokyo"}),
        ToolCallStart(index=1, id="call_1", name="get_time"),
        ToolCallDelta(index=1, arguments='{"timezone": "Asia/Tokyo"}'),
        ToolCallEnd(index=1, id="call_1", name="get_time", arguments={"timezone": "Asia/Tokyo"}),
    ]


def test_granite_3_3_thinking_and_response_tags() -> None:
    events = parsed("<think>The user wants Tokyo.</think><response>It is sunny.</response>", FMT)
    assert reasoning(events) == "The user wants Tokyo." and text(events) == "It is sunny."


def test_a_call_opened_while_thinking_ends_the_reasoning() -> None:
    events = parsed('<think>Need it. <|tool_call|>[{"name": "get_weather", "arguments": {"city": "Tokyo"}}]</think>', FMT)
    assert reasoning(events) == "Need it. " and calls(events) == [TOKYO] and text(events) == ""


def test_the_marker_in_prose_is_text() -> None:
    output = "The <tool_call> tag starts a call."
    assert parsed(output, FMT) == [TextDelta(text=output)]


def test_every_single_cut() -> None:
    events = every_cut('Sure.<|tool_call|>[{"name": "f", "arguments": {"s": "<|tool_call|>]"}}, {"arguments": {}, "name": "g"}] ok', FMT)
    assert calls(events) == [("f", {"s": "<|tool_call|>]"}), ("g", {})] and text(events) == "Sure. ok"


def test_unknown_tool_with_tools_given() -> None:
    events = parsed('<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Tokyo"}}]', FMT, tools=[tool("get_time")])
    [bad] = invalid(events)
    assert bad.kind == "unknown_tool" and bad.name == "get_weather"
