"""mistral: the JSON array form (tokenizers v2-v7), the v11+ NAME[ARGS]{...} form, [CALL_ID], [THINK].

Inputs and expected outcomes marked vLLM, SGLang or llama.cpp are those
peers' public test cases (vLLM's Mistral parser and reasoning tests, SGLang's
MistralDetector tests, llama.cpp's Mistral/Devstral/Ministral chat tests);
where this project decides otherwise, the test says why.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamparse import InvalidToolCall, Parser, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart

from .cuts import every_cut
from .summary import calls, invalid, parsed, reasoning, text, tool

FMT = "mistral"
WEATHER_SF = {"city": "San Francisco", "state": "CA", "unit": "celsius"}
SF = '{"city": "San Francisco", "state": "CA", "unit": "celsius"}'


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("This is a test", [], "This is a test"),  # vLLM
        # -- the array form (vLLM pre-v11, SGLang)
        ('[TOOL_CALLS][{"name": "add", "arguments":{"a": 3.5, "b": 4}}]', [("add", {"a": 3.5, "b": 4})], ""),
        ('[TOOL_CALLS] [{"name": "get_current_weather", "arguments":' + SF + "}]", [("get_current_weather", WEATHER_SF)], ""),
        ('[TOOL_CALLS] [{"arguments":' + SF + ', "name": "get_current_weather"}]', [("get_current_weather", WEATHER_SF)], ""),
        ('[TOOL_CALLS] [{"arguments":{"name": "John Doe"}, "name": "get_age"}]', [("get_age", {"name": "John Doe"})], ""),
        (
            '[TOOL_CALLS] [{"name": "add", "arguments": {"a": 3.5, "b": 4}}, {"name": "get_current_weather", "arguments":' + SF + "}]",
            [("add", {"a": 3.5, "b": 4}), ("get_current_weather", WEATHER_SF)],
            "",
        ),
        ('Hello[TOOL_CALLS] [{"name": "add", "arguments":{"a": 1, "b": 2}}]', [("add", {"a": 1, "b": 2})], "Hello"),
        (
            # vLLM streaming keeps the trailing text (its non-streaming path drops it).
            '[TOOL_CALLS] [{"name": "get_current_weather", "arguments":{"city": "Dallas", "state": "TX", "unit": "fahrenheit"}}]\nextra trailing data',
            [("get_current_weather", {"city": "Dallas", "state": "TX", "unit": "fahrenheit"})],
            "\nextra trailing data",
        ),
        ('[TOOL_CALLS]  [ {"name":"add" , "arguments" : {"a": 3, "b": 4} } ]', [("add", {"a": 3, "b": 4})], ""),
        ('[TOOL_CALLS] [{"name": "add", "arguments":{"a": "3", "b": "4"}}]', [("add", {"a": "3", "b": "4"})], ""),
        (
            '[TOOL_CALLS] [{"arguments": {"a": 3.5, "b": 4}, "name": "add"}, {"arguments":' + SF + ', "name": "get_current_weather"}]',
            [("add", {"a": 3.5, "b": 4}), ("get_current_weather", WEATHER_SF)],
            "",
        ),
        (
            # SGLang: brackets inside a string ([City Name]) must not end the array.
            '[TOOL_CALLS] [{"name":"make_next_step_decision", "arguments":{"decision":"","content":"```\\nANSWER: '
            '[City Name] - [Weather Conditions] - [Temperature]\\n```"}}]',
            [("make_next_step_decision", {"decision": "", "content": "```\nANSWER: [City Name] - [Weather Conditions] - [Temperature]\n```"})],
            "",
        ),
        (
            # SGLang strips the text before the marker; here it is kept verbatim (Message trims).
            'Here is some text before the tool call: [TOOL_CALLS] [{"name":"make_next_step_decision", "arguments":{"decision":"ANSWER", "content":"The answer is 42"}}]',
            [("make_next_step_decision", {"decision": "ANSWER", "content": "The answer is 42"})],
            "Here is some text before the tool call: ",
        ),
        # -- the v11+ form (vLLM, llama.cpp)
        ('[TOOL_CALLS]add_this_and_that[ARGS]{"a": 3.5, "b": 4}', [("add_this_and_that", {"a": 3.5, "b": 4})], ""),
        (
            '[TOOL_CALLS]add[ARGS]{"a": 3.5, "b": 4}[TOOL_CALLS]multiply[ARGS]{"a": 3, "b": 6}',
            [("add", {"a": 3.5, "b": 4}), ("multiply", {"a": 3, "b": 6})],
            "",
        ),
        ('hi[TOOL_CALLS]add[ARGS]{"a": 1, "b": 2}', [("add", {"a": 1, "b": 2})], "hi"),
        (
            "Hello, world!\nWhat's up?[TOOL_CALLS]special_function[ARGS]{\"arg1\": 1}",  # llama.cpp (Devstral)
            [("special_function", {"arg1": 1})],
            "Hello, world!\nWhat's up?",
        ),
        (
            # Ollama #11470 (Devstral): braces inside the JSON string.
            '[TOOL_CALLS]file_search[ARGS]{"query":"/{.github/copilot-instructions.md,AGENT.md,README.md}"}',
            [("file_search", {"query": "/{.github/copilot-instructions.md,AGENT.md,README.md}"})],
            "",
        ),
        # -- vLLM's v11 cases, as older vLLM decoded them ([ARGS] lost: the name ends at the brace)
        ('[TOOL_CALLS]get_current_weather' + SF, [("get_current_weather", WEATHER_SF)], ""),
        ('[TOOL_CALLS]add{"a": 3.5, "b": 4}[TOOL_CALLS]multiply{"a": 3, "b": 6}', [("add", {"a": 3.5, "b": 4}), ("multiply", {"a": 3, "b": 6})], ""),
        ('bla[TOOL_CALLS]add_this_and_that{"a": 3.5, "b": 4}', [("add_this_and_that", {"a": 3.5, "b": 4})], "bla"),
        ('Hello[TOOL_CALLS]add{"a": 1, "b": 2}', [("add", {"a": 1, "b": 2})], "Hello"),  # vLLM PR #37209
        (
            'hi{hi[TOOL_CALLS]bash{"command": "print(\\"hello world!\\")\\nre.compile(r\'{}\')"}',
            [("bash", {"command": "print(\"hello world!\")\nre.compile(r'{}')"})],
            "hi{hi",
        ),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, Any]]], content: str) -> None:
    events = parsed(output, FMT)
    assert calls(events) == expected and text(events) == content and not invalid(events)


def test_call_ids_from_the_format() -> None:  # llama.cpp (Mistral Small 3.2): [CALL_ID]
    output = '[TOOL_CALLS]special_function[CALL_ID]000000001[ARGS]{"arg1": 1}[TOOL_CALLS]special_function_with_opt[CALL_ID]000000002[ARGS]{"arg1": 1, "arg2": 2}'
    events = parsed(output, FMT)
    assert [(e.index, e.id, e.name) for e in events if isinstance(e, ToolCallStart)] == [
        (0, "000000001", "special_function"),
        (1, "000000002", "special_function_with_opt"),
    ]
    assert calls(events) == [("special_function", {"arg1": 1}), ("special_function_with_opt", {"arg1": 1, "arg2": 2})]
    assert [e.id for e in events if isinstance(e, ToolCallEnd)] == ["000000001", "000000002"]


def test_an_id_in_the_array_form() -> None:
    # v3+ tokenizers add "id"; one written before the name is the call's id.  One written after the
    # arguments (the 7B-v0.3 HF template's order) comes after the call was announced with a minted id.
    events = parsed('[TOOL_CALLS][{"id": "a1b2c3d4e", "name": "f", "arguments": {}}, {"name": "g", "arguments": {}, "id": "f5g6h7i8j"}]', FMT)
    assert [(e.id, e.name) for e in events if isinstance(e, ToolCallEnd)] == [("a1b2c3d4e", "f"), ("call_1", "g")]


def test_without_ids_the_id_factory_names_the_calls() -> None:  # vLLM: generated 9-character ids
    parser = Parser(FMT, id_factory=lambda index: f"{index:09d}")
    events = parser.feed('[TOOL_CALLS]a[ARGS]{}[TOOL_CALLS]b[ARGS]{}') + parser.close()
    assert [e.id for e in events if isinstance(e, ToolCallEnd)] == ["000000000", "000000001"]


def test_parallel_blocks_separated_by_blank_lines() -> None:  # vLLM #11097
    events = parsed('[TOOL_CALLS] [{"name": "f", "arguments": {}}]\n\n[TOOL_CALLS] [{"name": "g", "arguments": {"x": 1}}]', FMT)
    # A block with no closing literal keeps the whitespace up to the next marker (as Hermes does
    # without </tool_call>).
    assert calls(events) == [("f", {}), ("g", {"x": 1})] and text(events) == ""


def test_two_markers_in_the_array_form_are_two_blocks() -> None:
    # vLLM raises ("Only one BOT token") for this pre-v11 output; both blocks are read here.
    events = parsed('[TOOL_CALLS] [{"name": "add", "arguments":{"a": 1}}][TOOL_CALLS] [{"name": "sub", "arguments":{"b": 2}}]', FMT)
    assert calls(events) == [("add", {"a": 1}), ("sub", {"b": 2})]


def test_arguments_as_a_json_string() -> None:  # Nemo/Small 3.1 HF templates use function|tojson
    events = parsed('[TOOL_CALLS][{"name": "f", "arguments": "{\\"a\\": 1}"}]', FMT)
    assert calls(events) == [("f", {"a": 1})] and [e.arguments for e in events if isinstance(e, ToolCallDelta)] == ['{"a": 1}']


@pytest.mark.parametrize(
    ("output", "kind"),
    [
        # vLLM's regex fallback finds the array after junk; malformed output is not repaired here.
        ('[TOOL_CALLS]  junk [{"name": "add", "arguments":{"a": 1, "b": 2}}] trail', "malformed"),
        # vLLM returns "not json at all" as content, the marker dropped; here the marker opened a
        # call whose name is not one, reported with all its text.
        ("[TOOL_CALLS] not json at all", "malformed"),
        # vLLM: a v11 call cut off inside its arguments is returned with partial arguments.
        ('hi{hi[TOOL_CALLS]bash{"command": "print(\\"hello world!\\")\\nre.compile(r\'{}\')"', "truncated"),
        # vLLM: a name and no arguments: no call, no content.
        ("[TOOL_CALLS]toolname_no_args", "truncated"),
    ],
)
def test_malformed_and_cut_off_calls_are_invalid(output: str, kind: str) -> None:
    events = parsed(output, FMT)
    assert not calls(events) and invalid(events)[0].kind == kind
    # Nothing is lost: the text and the invalid calls' raw text, in order, are the output.
    assert "".join(e.raw if isinstance(e, InvalidToolCall) else e.text for e in events if isinstance(e, (InvalidToolCall, TextDelta))) == output


def test_reasoning() -> None:
    # llama.cpp (Ministral-3 reasoning): [THINK]...[/THINK] then a call.
    events = parsed("[THINK]I'm\nthinking[/THINK][TOOL_CALLS]special_function[ARGS]{\"arg1\":1}", FMT)
    assert reasoning(events) == "I'm\nthinking" and calls(events) == [("special_function", {"arg1": 1})]
    # vLLM: [THINK] cut off before its close is reasoning.
    events = parsed("[THINK]r", FMT)
    assert reasoning(events) == "r" and not invalid(events)
    # vLLM: Magistral-Small-2506 (v11) thinks in plain-text tags.
    events = parsed("<think>r</think>c", FMT)
    assert reasoning(events) == "r" and text(events) == "c"


def test_a_call_written_while_thinking_ends_the_reasoning() -> None:
    # llama.cpp keeps this marker inside [THINK] as reasoning text.  Here a call opener followed by a
    # call ends the reasoning (a call must never vanish into it); the block's close after it is markup.
    output = '[THINK]Let me think about [TOOL_CALLS]special_function[ARGS]{"arg1":1} and more[/THINK][TOOL_CALLS]special_function[ARGS]{"arg1": 1}'
    events = parsed(output, FMT)
    assert reasoning(events) == "Let me think about " and text(events) == " and more"
    assert calls(events) == [("special_function", {"arg1": 1}), ("special_function", {"arg1": 1})]


def test_the_call_is_announced_once_its_name_is_complete() -> None:
    parser = Parser(FMT)
    assert parser.feed("[TOOL_CALLS]get_wea") == []
    assert parser.feed("ther[CALL_ID]a1b2") == []
    assert parser.feed("c3d4e[ARGS]{") == [ToolCallStart(index=0, id="a1b2c3d4e", name="get_weather"), ToolCallDelta(index=0, arguments="{")]
    assert parser.feed('"city": "Paris"}') == [
        ToolCallDelta(index=0, arguments='"city": "Paris"}'),
        ToolCallEnd(index=0, id="a1b2c3d4e", name="get_weather", arguments={"city": "Paris"}),
    ]


def test_every_single_cut() -> None:
    events = every_cut('Sure.[TOOL_CALLS]f[CALL_ID]123456789[ARGS]{"s": "[ARGS]"}[TOOL_CALLS][{"name": "g", "arguments": {}}] ok', FMT)
    assert calls(events) == [("f", {"s": "[ARGS]"}), ("g", {})] and text(events) == "Sure. ok"


def test_unknown_tool_with_tools_given() -> None:
    events = parsed('[TOOL_CALLS]add[ARGS]{"a": 1}', FMT, tools=[tool("multiply")])
    [bad] = invalid(events)
    assert bad.kind == "unknown_tool" and bad.name == "add" and bad.arguments == {"a": 1}
