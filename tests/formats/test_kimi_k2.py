"""kimi_k2 (Kimi-K2-Instruct, K2-Thinking, K2.5): calls in a section; the header is the call's id.

Inputs and expected outcomes marked vLLM or SGLang are those peers' public
test cases (vLLM's Kimi-K2 parser tests, SGLang's KimiK2Detector tests);
where this project decides otherwise, the test says why.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamparse import InvalidToolCall, Parser, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart

from .cuts import every_cut
from .summary import calls, invalid, parsed, reasoning, text, tool

FMT = "kimi_k2"
SECTION, SECTION_END = "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>"
CALL, ARGS, CALL_END = "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>"


def call(header: str, arguments: str, space: str = " ") -> str:
    """One call; vLLM's cases put a space after the header, the chat template does not."""
    return f"{CALL}{header}{space}{ARGS}{arguments}{CALL_END}"


def section(*calls: str) -> str:
    return SECTION + "".join(calls) + SECTION_END


WEATHER = call("functions.get_weather:0", '{"city": "Beijing"}')


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("This is a test", [], "This is a test"),  # vLLM
        ("I'll check. " + section(WEATHER), [("get_weather", {"city": "Beijing"})], "I'll check. "),  # vLLM
        (
            "Compare weather. "  # vLLM
            + section(call("functions.get_weather:0", '{"city": "Beijing"}'), call("functions.get_weather:1", '{"city": "Shanghai"}')),
            [("get_weather", {"city": "Beijing"}), ("get_weather", {"city": "Shanghai"})],
            "Compare weather. ",
        ),
        (
            "Multiple tasks. "  # vLLM
            + section(
                call("functions.get_weather:0", '{"city": "New York"}'),
                call("functions.get_news:1", '{"topic": "technology"}'),
                call("functions.send_email:2", '{"to": "user@example.com", "subject": "Daily Update"}'),
            ),
            [
                ("get_weather", {"city": "New York"}),
                ("get_news", {"topic": "technology"}),
                ("send_email", {"to": "user@example.com", "subject": "Daily Update"}),
            ],
            "Multiple tasks. ",
        ),
        (
            "Process HTML. " + section(call("functions.process_html:0", '{"html": "<div>content</div>"}')),  # vLLM
            [("process_html", {"html": "<div>content</div>"})],
            "Process HTML. ",
        ),
        (
            "Formatted. " + section(call("functions.process_data:0", '{\n  "name": "test",\n  "value": 123\n}')),  # vLLM
            [("process_data", {"name": "test", "value": 123})],
            "Formatted. ",
        ),
        ("No prefix. " + section(call("get_weather:0", '{"city": "Tokyo"}')), [("get_weather", {"city": "Tokyo"})], "No prefix. "),  # vLLM
        ("Empty args. " + section(call("functions.test:0", "{}")), [("test", {})], "Empty args. "),  # vLLM
        (
            # SGLang: the chat template's spelling, no space after the header.
            section(
                call("functions.get_weather:0", '{"city": "Paris"}', space=""),
                call("functions.get_tourist_attractions:1", '{"city": "London"}', space=""),
            ),
            [("get_weather", {"city": "Paris"}), ("get_tourist_attractions", {"city": "London"})],
            "",
        ),
        # vLLM: an empty section holds no call, and its markers are not text.
        ("Reasoning. " + SECTION + SECTION_END, [], "Reasoning. "),
        (
            # vLLM drops the text after the section (and its test asserts so); it is the model's
            # text like any other, so it is kept.
            "Before. " + section(call("functions.get_weather:0", '{"city": "Tokyo"} ')) + " After tools.",
            [("get_weather", {"city": "Tokyo"})],
            "Before.  After tools.",
        ),
        # SGLang: markers without their section are not a call: all text.
        (
            'invalid_tool:0<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>',
            [],
            'invalid_tool:0<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>',
        ),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, Any]]], content: str) -> None:
    events = parsed(output, FMT)
    assert calls(events) == expected and text(events) == content and not invalid(events)


def test_the_id_is_the_header_and_names_the_call() -> None:  # vLLM (native ids, unique across calls)
    events = parsed(section(call("functions.get_weather:0", "{}"), call("functions.get_news:1", "{}"), call("send-mail.v2__x:7", "{}")), FMT)
    starts = [(e.index, e.id, e.name) for e in events if isinstance(e, ToolCallStart)]
    assert starts == [(0, "functions.get_weather:0", "get_weather"), (1, "functions.get_news:1", "get_news"), (2, "send-mail.v2__x:7", "send-mail.v2__x")]
    assert [e.id for e in events if isinstance(e, ToolCallEnd)] == ["functions.get_weather:0", "functions.get_news:1", "send-mail.v2__x:7"]


def test_a_fresh_parser_keeps_the_model_s_counter() -> None:  # vLLM (multi-turn id continuity)
    events = parsed("Now let me get news. " + section(call("functions.get_news:3", '{"topic": "weather in Beijing"}')), FMT)
    assert [e.id for e in events if isinstance(e, ToolCallEnd)] == ["functions.get_news:3"]


def test_bad_json_is_invalid_and_the_next_call_still_counts() -> None:
    # vLLM returns the bad call with its arguments as written; here it is an invalid call.
    output = "Help. " + SECTION + call("functions.bad:0", '{"city": "Beijing"') + call("functions.good:1", '{"city": "Shanghai"}') + SECTION_END
    events = parsed(output, FMT)
    assert calls(events) == [("good", {"city": "Shanghai"})]
    [bad] = invalid(events)
    assert bad.name == "bad" and bad.kind == "malformed" and bad.raw.endswith('{"city": "Beijing"' + CALL_END)


def test_a_header_without_a_counter_is_an_invalid_call() -> None:
    # vLLM skips the call silently; here it is reported, and the valid one after it still counts.
    output = "Help. " + section(call("functions.invalid.0", '{"city": "Beijing"}'), call("functions.valid:1", '{"city": "Shanghai"}'))
    events = parsed(output, FMT)
    assert calls(events) == [("valid", {"city": "Shanghai"})]
    [bad] = invalid(events)
    assert "functions.invalid.0" in bad.error and "functions.invalid.0" in bad.raw


@pytest.mark.parametrize("tools", [[tool("get_weather", city={"type": "string"})], [tool("read_file", path={}), tool("get_weather", city={}, unit={})]])
def test_a_bare_counter_is_an_invalid_call(tools: list[dict[str, Any]]) -> None:
    # vLLM infers the tool from the schemas (the only tool, or the one whose parameters fit the
    # arguments) and skips the call when that is ambiguous.  Guessing a name is not parsing: the
    # call is reported invalid with its text, whatever tools were given.
    events = parsed("Let me check. " + section(call("0", '{"city": "Tokyo", "unit": "celsius"}')), FMT, tools=tools)
    assert not calls(events) and text(events) == "Let me check. "
    [bad] = invalid(events)
    assert bad.raw == SECTION + call("0", '{"city": "Tokyo", "unit": "celsius"}') and "'0'" in bad.error


def test_text_between_the_section_opener_and_a_call_makes_the_opener_text() -> None:
    # vLLM hides the noise and reads the call.  Here an opener counts only where the format's syntax
    # follows it, so this section is text, kept whole.
    output = "Reasoning. " + SECTION + " spurious noise " + call("functions.test:0", '{"k": "v"} ') + SECTION_END
    assert parsed(output, FMT) == [TextDelta(text=output)]


@pytest.mark.parametrize(
    "output",
    [
        # vLLM (max_tokens inside the arguments): the peer returns the partial arguments.
        "I'll check. " + SECTION + CALL + "functions.get_weather:0 " + ARGS + '{"city": "Bei',
        # SGLang: the same, split differently.
        "I'll check. " + SECTION + CALL + "functions.get_weather:0" + ARGS + '{"city": "Paris"',
        # Complete JSON, but the call's own end never came.
        "I'll check. " + SECTION + CALL + "functions.get_weather:0" + ARGS + '{"city": "Paris"}',
    ],
)
def test_a_call_cut_off_is_reported_truncated(output: str) -> None:
    events = parsed(output, FMT)
    assert text(events) == "I'll check. " and not calls(events)
    assert [e.name for e in events if isinstance(e, ToolCallStart)] == ["get_weather"]
    [cut] = invalid(events)
    assert cut.kind == "truncated" and cut.name == "get_weather" and cut.raw == output[len("I'll check. ") :]


def test_markers_inside_arguments_are_data() -> None:
    arguments = '{"note": "<|tool_call_end|><|tool_calls_section_end|> } {", "n": "<|tool_call_begin|>"}'
    events = parsed(section(call("functions.f:0", arguments)) + "done", FMT)
    assert calls(events) == [("f", {"note": "<|tool_call_end|><|tool_calls_section_end|> } {", "n": "<|tool_call_begin|>"})]
    assert text(events) == "done"


def test_newlines_around_markers_and_singular_section_markers() -> None:
    output = "<|tool_call_section_begin|>\n" + CALL + "\nfunctions.get_weather:0\n" + ARGS + '\n{"city": "東京"}\n' + CALL_END + "\n<|tool_call_section_end|>"
    events = parsed(output, FMT)
    assert calls(events) == [("get_weather", {"city": "東京"})] and text(events) == "" and not invalid(events)
    assert [e.id for e in events if isinstance(e, ToolCallStart)] == ["functions.get_weather:0"]


def test_events_arrive_in_the_feed_that_completes_them() -> None:
    # SGLang (tool name streaming): the second call is announced as soon as its header is complete.
    parser = Parser(FMT)
    assert parser.feed("Hi " + SECTION + CALL + "functions.get_weather") == [TextDelta(text="Hi ")]
    assert parser.feed(":0" + ARGS) == [ToolCallStart(index=0, id="functions.get_weather:0", name="get_weather")]
    assert parser.feed('{"city": "Paris"}') == [ToolCallDelta(index=0, arguments='{"city": "Paris"}')]
    # The call ends at its own closing marker, not at the last brace.
    assert parser.feed(CALL_END) == [ToolCallEnd(index=0, id="functions.get_weather:0", name="get_weather", arguments={"city": "Paris"})]
    assert parser.feed(CALL + "functions.get_tourist_attractions:1" + ARGS + "{") == [
        ToolCallStart(index=1, id="functions.get_tourist_attractions:1", name="get_tourist_attractions"),
        ToolCallDelta(index=1, arguments="{"),
    ]
    assert parser.feed('"city": "London"}' + CALL_END + SECTION_END) == [
        ToolCallDelta(index=1, arguments='"city": "London"}'),
        ToolCallEnd(index=1, id="functions.get_tourist_attractions:1", name="get_tourist_attractions", arguments={"city": "London"}),
    ]
    assert parser.close() == []


def test_every_single_cut_gives_the_same_events() -> None:
    events = every_cut("Hi. " + section(WEATHER, call("functions.get_time:1", '{"tz": "UTC"}')) + " Bye.", FMT)
    assert calls(events) == [("get_weather", {"city": "Beijing"}), ("get_time", {"tz": "UTC"})] and text(events) == "Hi.  Bye."


def test_a_section_opened_while_thinking_ends_the_reasoning() -> None:
    # K2-Thinking writes <think>; K2.5's prompt opens it (in_reasoning=True).  vLLM PR #32216.
    for output, options in [
        ("<think>Need the weather. " + section(WEATHER) + "</think>It is sunny.", {}),
        ("Need the weather. " + section(WEATHER) + "</think>It is sunny.", {"in_reasoning": True}),
    ]:
        events = parsed(output, FMT, **options)
        assert reasoning(events) == "Need the weather. " and text(events) == "It is sunny."
        assert calls(events) == [("get_weather", {"city": "Beijing"})]


def test_thinking_then_a_call() -> None:
    events = parsed("Need it.</think>" + section(WEATHER), FMT, in_reasoning=True)
    assert events[0] == ReasoningDelta(text="Need it.") and calls(events) == [("get_weather", {"city": "Beijing"})]


def test_a_call_to_a_tool_not_offered_is_invalid() -> None:
    events = parsed(section(WEATHER), FMT, tools=[tool("get_time")])
    [bad] = invalid(events)
    assert isinstance(bad, InvalidToolCall) and bad.kind == "unknown_tool" and bad.name == "get_weather"
