"""deepseek_v3 (DeepSeek-V3-0324, R1, R1-0528): calls in a section, arguments in a fenced JSON block.

Inputs and expected outcomes marked vLLM, SGLang or llama.cpp are those
peers' public test cases (vLLM's DeepSeek-V3 parser tests, SGLang's
DeepSeekV3Detector tests, llama.cpp's DeepSeek R1 chat tests); where this
project decides otherwise, the test says why.  The literals use U+FF5C and
U+2581; every test feeds them a character at a time too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from streamparse import Parser, ToolCallDelta, ToolCallEnd, ToolCallStart

from .cuts import every_cut
from .data import EVERY_TYPE
from .summary import calls, invalid, parsed, reasoning, text, tool

FMT = "deepseek_v3"
SECTION, SECTION_END = "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>"
CALL, SEP, CALL_END = "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>"


def call(name: str, arguments: str) -> str:
    return f"{CALL}function{SEP}{name}\n```json\n{arguments}\n```{CALL_END}"


def section(*calls: str, sep: str = "") -> str:
    return SECTION + sep.join(calls) + SECTION_END


TOKYO = call("get_weather", '{"city": "Tokyo", "unit": "celsius"}')


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("How can I help you today? I can check weather for you.", [], "How can I help you today? I can check weather for you."),  # vLLM
        (section(TOKYO), [("get_weather", {"city": "Tokyo", "unit": "celsius"})], ""),  # vLLM
        (
            section(TOKYO, call("search_hotels", '{"location": "Tokyo", "check_in": "2025-01-15"}')),  # vLLM
            [("get_weather", {"city": "Tokyo", "unit": "celsius"}), ("search_hotels", {"location": "Tokyo", "check_in": "2025-01-15"})],
            "",
        ),
        (section(call("test_function", json.dumps(EVERY_TYPE))), [("test_function", EVERY_TYPE)], ""),  # vLLM
        (section(call("get_current_time", "{}")), [("get_current_time", {})], ""),  # vLLM
        (
            "Let me check the weather for you." + section(call("get_weather", '{"city": "Paris"}')),  # vLLM
            [("get_weather", {"city": "Paris"})],
            "Let me check the weather for you.",
        ),
        (
            section(call("send_message", r'{"text": "He said \"hello\"", "path": "C:\\Users\\file", "newline": "line1\nline2"}')),  # vLLM
            [("send_message", {"text": 'He said "hello"', "path": "C:\\Users\\file", "newline": "line1\nline2"})],
            "",
        ),
        (
            # V3-0324 puts a newline before later calls; text after the section is text.
            "Sure." + section(TOKYO, call("get_time", '{"tz": "JST"}'), sep="\n") + " Done.",
            [("get_weather", {"city": "Tokyo", "unit": "celsius"}), ("get_time", {"tz": "JST"})],
            "Sure. Done.",
        ),
        (
            # llama.cpp: the original R1 template leaves out the section's end.
            SECTION + call("special_function", '{"arg1": 1}'),
            [("special_function", {"arg1": 1})],
            "",
        ),
        (
            # llama.cpp: an R1 distill's short section opener, and a call without its opener.
            '<｜tool▁calls｜>function<｜tool▁sep｜>special_function\n```json\n{"arg1": 1}\n```' + CALL_END + SECTION_END,
            [("special_function", {"arg1": 1})],
            "",
        ),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, Any]]], content: str) -> None:
    events = parsed(output, FMT)
    assert calls(events) == expected and text(events) == content and not invalid(events)


@pytest.mark.parametrize("opener", ["<｜tool_calls_begin｜>", "<｜tool calls begin｜>", "<｜tool\\_calls\\_begin｜>", "<｜tool▁calls｜>"])
def test_r1_distill_section_openers(opener: str) -> None:  # the spellings llama.cpp accepts
    events = parsed(opener + TOKYO + SECTION_END, FMT)
    assert calls(events) == [("get_weather", {"city": "Tokyo", "unit": "celsius"})] and text(events) == ""


@pytest.mark.parametrize(
    ("output", "after"),
    [
        # vLLM (malformed input): the arguments' JSON never closes.
        (SECTION + CALL + "function" + SEP + 'get_weather\n```json\n{"city": "Tokyo"\n```' + CALL_END + SECTION_END, SECTION_END),
        # vLLM (malformed input): no call opener and no call end: the section ends inside the call.
        (SECTION + "function" + SEP + 'get_weather\n```json\n{"city": "Tokyo"}\n```' + SECTION_END, ""),
    ],
)
def test_malformed_calls_are_invalid(output: str, after: str) -> None:
    # vLLM finds no call in either; here each is an invalid call with its raw text.
    events = parsed(output, FMT)
    assert not calls(events) and text(events) == ""
    [bad] = invalid(events)
    assert bad.kind == "malformed" and bad.name == "get_weather" and bad.raw + after == output


def test_a_call_cut_off_before_its_end_marker_is_truncated() -> None:
    output = "Checking." + SECTION + call("get_weather", '{"city": "Tokyo"}')[: -len(CALL_END)]
    events = parsed(output, FMT)
    assert not calls(events) and text(events) == "Checking."
    [cut] = invalid(events)
    assert cut.kind == "truncated" and cut.raw == output[len("Checking.") :]


def test_fences_and_markers_inside_arguments_are_data() -> None:
    # A fence or end marker inside a string cut the call for peers that split on markers (unsloth PR #5624).
    arguments = '{"code": "```json\\n{}\\n```", "end": "<｜tool▁call▁end｜><｜tool▁calls▁end｜>"}'
    events = parsed(section(call("run", arguments)), FMT)
    assert calls(events) == [("run", {"code": "```json\n{}\n```", "end": "<｜tool▁call▁end｜><｜tool▁calls▁end｜>"})]


def test_multi_token_chunks() -> None:  # SGLang (MTP: several tokens per chunk)
    chunks = [
        SECTION, CALL + "function", SEP + "get", "_weather\n", "```json\n", '{"city":', '"Shanghai', '"}\n```' + CALL_END,
        "\n" + CALL, "function" + SEP, "get_tour", "ist_att", 'ractions\n```json\n{"', 'city": "', 'Beijing"}\n', "```" + CALL_END, SECTION_END,
    ]
    parser = Parser(FMT)
    events = [e for chunk in chunks for e in parser.feed(chunk)] + parser.close()
    assert calls(events) == [("get_weather", {"city": "Shanghai"}), ("get_tourist_attractions", {"city": "Beijing"})]


def test_the_name_is_announced_once_complete_and_the_call_ends_at_its_marker() -> None:
    parser = Parser(FMT)
    assert parser.feed(SECTION + CALL + "function" + SEP + "get_wea") == []
    assert parser.feed("ther\n```json\n{") == [ToolCallStart(index=0, id="call_0", name="get_weather"), ToolCallDelta(index=0, arguments="{")]
    assert parser.feed('"city": "Tokyo"}\n```') == [ToolCallDelta(index=0, arguments='"city": "Tokyo"}')]
    assert parser.feed(CALL_END) == [ToolCallEnd(index=0, id="call_0", name="get_weather", arguments={"city": "Tokyo"})]


def test_every_single_cut_of_full_width_literals() -> None:
    events = every_cut("Hi." + section(TOKYO, call("get_time", "{}"), sep="\n") + "Bye.", FMT)
    assert [name for name, _ in calls(events)] == ["get_weather", "get_time"] and text(events) == "Hi.Bye."


def test_ascii_look_alikes_are_text() -> None:
    output = "<|tool▁calls▁begin|><|tool▁call▁begin|>function<|tool▁sep|>f\n```json\n{}\n```<|tool▁call▁end|>"
    assert text(parsed(output, FMT)) == output


@pytest.mark.parametrize(
    ("output", "options"),
    [
        ("<think>I'm\nthinking</think>\n\n" + section(call("special_function", '{"arg1": 1}')), {}),  # llama.cpp
        # llama.cpp: R1's template opens <think> in the prompt.
        ("I'm\nthinking</think>\n\n" + section(call("special_function", '{"arg1": 1}')), {"in_reasoning": True}),
    ],
)
def test_reasoning_then_a_call(output: str, options: dict[str, Any]) -> None:
    events = parsed(output, FMT, **options)
    assert reasoning(events) == "I'm\nthinking" and text(events) == "\n\n"
    assert calls(events) == [("special_function", {"arg1": 1})]


def test_reasoning_then_text() -> None:  # llama.cpp (forced-open thinking)
    events = parsed("I'm\nthinking</think>Hello, world!\nWhat's up?", FMT, in_reasoning=True)
    assert reasoning(events) == "I'm\nthinking" and text(events) == "Hello, world!\nWhat's up?"


def test_a_section_opened_while_thinking_ends_the_reasoning() -> None:
    events = parsed("Need the weather." + section(TOKYO) + "</think>Sunny.", FMT, in_reasoning=True)
    assert reasoning(events) == "Need the weather." and text(events) == "Sunny."
    assert calls(events) == [("get_weather", {"city": "Tokyo", "unit": "celsius"})]


def test_unknown_tool_with_tools_given() -> None:
    events = parsed(section(TOKYO), FMT, tools=[tool("get_time")])
    [bad] = invalid(events)
    assert bad.kind == "unknown_tool" and bad.name == "get_weather" and bad.arguments == {"city": "Tokyo", "unit": "celsius"}
