"""The parser contract decided for every format, one regression test per rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamparse import InvalidToolCall, Parser, load_format, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart, parse
from streamparse.core.events import Event
from streamparse.core.render import render

from .helpers import three_ways

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]


def joined(events: list[Event], index: int = 0) -> str:
    return "".join(e.arguments for e in events if isinstance(e, ToolCallDelta) and e.index == index)


def test_string_encoded_arguments_stream_as_the_decoded_json() -> None:
    events = three_ways('<tool_call>{"name": "f", "arguments": "{\\"a\\": 1, \\"s\\": \\"x\\\\\\"y\\"}"}</tool_call>')
    end = next(e for e in events if isinstance(e, ToolCallEnd))
    assert joined(events) == '{"a": 1, "s": "x\\"y"}'
    assert json.loads(joined(events)) == end.arguments == {"a": 1, "s": 'x"y'}


@pytest.mark.parametrize("body", ['{"name": "get_time"}', '{"name": "get_time", "arguments": null}', '{"name": "get_time", "arguments": ""}'])
def test_a_call_without_arguments_streams_an_empty_object(body: str) -> None:
    events = three_ways(f"<tool_call>{body}</tool_call>")
    assert joined(events) == "{}"
    assert events[-1] == ToolCallEnd(index=0, id="call_0", name="get_time", arguments={})


@pytest.mark.parametrize("fmt", ["hermes", "qwen3_coder", "glm45", "kimi_k2", "deepseek_v31", "minimax_m2"])
def test_a_call_opened_inside_reasoning_ends_the_reasoning(fmt: str) -> None:
    reasoning = render(fmt, reasoning="Need the weather.")
    closer = reasoning[reasoning.index("Need the weather.") + len("Need the weather.") :]
    text = reasoning[: reasoning.index(closer)] + render(fmt, calls=[("get_weather", {"city": "Paris"})]) + closer + "Done."
    events = three_ways(text, fmt)
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)).strip() == "Need the weather."
    assert [e.arguments for e in events if isinstance(e, ToolCallEnd)] == [{"city": "Paris"}]
    # The block's own closer, arriving after the call, is markup: it is not shown.
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip() == "Done."


def test_a_grammar_can_keep_calls_written_inside_reasoning_as_reasoning() -> None:
    # Seed-OSS writes example calls while thinking: its grammar does not let a call end the reasoning.
    # The same holds in this made-up grammar, whose reasoning block must be closed by its own tag.
    fmt = load_format(Path(__file__).parent / "grammars" / "brackets.lark")
    text = '<<reason>>I could call [[call]]{"name": "f"}[[/call]] here<</reason>>Hi'
    events = three_ways(text, fmt)
    assert events == [ReasoningDelta(text='I could call [[call]]{"name": "f"}[[/call]] here'), TextDelta(text="Hi")]


@pytest.mark.parametrize(
    "text", ["The literal tag <tool_call> is mentioned here.", "<tool_call> not JSON", "a <tool_call>\n\nb"]
)
def test_an_opener_not_followed_by_json_is_text(text: str) -> None:
    assert three_ways(text) == [TextDelta(text=text)]


@pytest.mark.parametrize("fmt,opener", [("hermes", "<tool_call>"), ("qwen3_coder", "<tool_call>"), ("kimi_k2", "<|tool_calls_section_begin|>")])
def test_an_opener_at_the_very_end_is_a_call_cut_off(fmt: str, opener: str) -> None:
    events = three_ways(f"Sure.{opener}\n", fmt)
    assert events[0] == TextDelta(text="Sure.")
    assert isinstance(events[1], InvalidToolCall) and events[1].kind == "truncated" and events[1].raw == f"{opener}\n"


@pytest.mark.parametrize("lead", ["<think>", "\n<think>\n", " <think>"])
def test_in_reasoning_drops_an_opener_the_model_writes_anyway(lead: str) -> None:
    message = parse(f"{lead}Thinking.</think>Answer.", in_reasoning=True)
    assert message.reasoning == "Thinking." and message.content == "Answer."
    parser = Parser("hermes", in_reasoning=True)
    events = [e for ch in f"{lead}Thinking.</think>" for e in parser.feed(ch)] + parser.close()
    assert "<think>" not in "".join(e.text for e in events if isinstance(e, ReasoningDelta))


def test_in_reasoning_keeps_an_opener_written_later() -> None:
    assert parse("So <think> is a tag.</think>Hi", in_reasoning=True).reasoning == "So <think> is a tag."


@pytest.mark.parametrize("fmt", ["hermes", "qwen3_coder", "harmony", "pythonic"])
def test_a_call_to_an_unknown_tool_is_invalid_and_named(fmt: str) -> None:
    text = render(fmt, calls=[("get_time", {"tz": "UTC"}), ("get_weather", {})])
    parser = Parser(fmt, tools=TOOLS)
    events = parser.feed(text) + parser.close()
    bad = [e for e in events if isinstance(e, InvalidToolCall)]
    assert len(bad) == 1 and bad[0].kind == "unknown_tool" and bad[0].name == "get_time" and "get_time" in bad[0].error
    assert bad[0].arguments == {"tz": "UTC"}
    assert [e.name for e in events if isinstance(e, ToolCallEnd)] == ["get_weather"]
    # Announced, like any call, before it was known to be unknown: nothing is silently dropped.
    assert [e.name for e in events if isinstance(e, ToolCallStart)] == ["get_time", "get_weather"]


def test_malformed_json_stays_invalid_without_repair() -> None:
    events = three_ways('<tool_call>{"name": "f", "arguments": {"a": 1,}}</tool_call>')
    assert isinstance(events[-1], InvalidToolCall) and not any(isinstance(e, ToolCallEnd) for e in events)


def test_events_are_verbatim_and_the_message_trims() -> None:
    text = "  Hi  <tool_call>\n  {\"name\": \"f\",  \"arguments\": { \"a\" :  1 }}  \n</tool_call>  "
    events = three_ways(text)
    assert events[0] == TextDelta(text="  Hi  ") and joined(events) == '{ "a" :  1 }'
    assert parse(text).content == "Hi"


SCHEMA_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
                "required": ["city"],
            },
        },
    }
]


@pytest.mark.parametrize("fmt", ["hermes", "qwen3_coder", "kimi_k2"])
def test_arguments_that_do_not_fit_the_schema_make_the_call_invalid_with_reasons(fmt: str) -> None:
    text = render(fmt, calls=[("get_weather", {"days": 0}), ("get_weather", {"city": "Paris", "days": 2})])
    parser = Parser(fmt, tools=SCHEMA_TOOLS)
    events = parser.feed(text) + parser.close()
    bad = [e for e in events if isinstance(e, InvalidToolCall)]
    assert len(bad) == 1 and bad[0].kind == "invalid_arguments" and bad[0].index == 0
    assert bad[0].name == "get_weather" and bad[0].arguments == {"days": 0}
    assert {p.path for p in bad[0].problems} == {("city",), ("days",)}
    assert "arguments.city: required property missing" in bad[0].error
    assert [e.arguments for e in events if isinstance(e, ToolCallEnd)] == [{"city": "Paris", "days": 2}]


def test_the_schemas_of_one_tools_list_are_compiled_once() -> None:
    from streamparse.core.schema import tool_schemas

    assert tool_schemas(SCHEMA_TOOLS) is tool_schemas([dict(t) for t in SCHEMA_TOOLS])
