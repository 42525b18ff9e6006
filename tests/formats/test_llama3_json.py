"""llama3_json (Llama 3.1-3.3, Llama 4's JSON template): a JSON call at the start or after <|python_tag|>.

<|python_tag|> is a special token, usually stripped: a reply that starts
with a call object is a call; JSON later in prose is text.  Inputs and
expected outcomes marked vLLM or SGLang are those peers' public test cases
(vLLM's Llama 3 JSON parser tests, SGLang's Llama32Detector tests); where
this project decides otherwise, the test says why.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamparse import InvalidToolCall, Parser, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart

from .cuts import every_cut
from .summary import calls, invalid, parsed, text, tool

FMT = "llama3_json"
TAG = "<|python_tag|>"
SEARCH1 = '{"name": "searchTool", "parameters": {"query": "test1"}}'
INCIDENTS = '{"name": "getOpenIncidentsTool", "parameters": {}}'
SEARCH2 = '{"name": "searchTool", "parameters": {"query": "test2"}}'
THREE = [("searchTool", {"query": "test1"}), ("getOpenIncidentsTool", {}), ("searchTool", {"query": "test2"})]


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("This is just some text without any tool calls", [], "This is just some text without any tool calls"),  # vLLM
        ('{"name": "searchTool", "parameters": {"query": "test query", "limit": 10}}', [("searchTool", {"query": "test query", "limit": 10})], ""),  # vLLM
        ('{"name": "searchTool", "arguments": {"query": "test"}}', [("searchTool", {"query": "test"})], ""),  # vLLM
        (f"{SEARCH1}; {INCIDENTS}; {SEARCH2}", THREE, ""),  # vLLM
        (f"{SEARCH1} ; {INCIDENTS} ; {SEARCH2}", THREE, ""),  # vLLM
        (
            '{"name": "complexTool", "parameters": {"level1": {"level2": {"level3": {"level4": {"value": "deep"}}}}}}',  # vLLM
            [("complexTool", {"level1": {"level2": {"level3": {"level4": {"value": "deep"}}}}})],
            "",
        ),
        (
            '{"name": "simpleTool", "parameters": {"value": "test"}}; '  # vLLM
            '{"name": "complexTool", "parameters": {"config": {"database": {"connection": {"pool": {"size": 10}}}}}}',
            [("simpleTool", {"value": "test"}), ("complexTool", {"config": {"database": {"connection": {"pool": {"size": 10}}}}})],
            "",
        ),
        (
            '{"name": "searchTool", "parameters": {"query": "test {value} [complex]","nested": {"inner": "more {brackets}"}}}',  # vLLM
            [("searchTool", {"query": "test {value} [complex]", "nested": {"inner": "more {brackets}"}})],
            "",
        ),
        ('{"name": "parserTool", "parameters": {"text": "He said \\"Hello {world}\\""}}', [("parserTool", {"text": 'He said "Hello {world}"'})], ""),  # vLLM
        # vLLM: no "name": not a call.
        ('{"parameters": {}}', [], '{"parameters": {}}'),
        # vLLM: no arguments key: a JSON reply that happens to hold "name" is not a call.
        ('{"name": "toolWithoutParams"}', [], '{"name": "toolWithoutParams"}'),
        ('{"name": "Alice", "age": 3}', [], '{"name": "Alice", "age": 3}'),
        # vLLM: braces, and JSON, in the prose after the call.
        ('{"name": "searchTool", "parameters": {"query": "test"}} I used {searchTool} for this.', [("searchTool", {"query": "test"})], " I used {searchTool} for this."),
        (
            '{"name": "searchTool", "parameters": {"query": "test"}} The arguments I passed were {"query": "test"}',
            [("searchTool", {"query": "test"})],
            ' The arguments I passed were {"query": "test"}',
        ),
        ('{"name": "get_weather", "parameters": {"city": "Paris"}}', [("get_weather", {"city": "Paris"})], ""),  # SGLang
        (TAG + '{"name": "get_weather", "parameters": {"city": "Paris"}};' + '{"name": "get_tourist_attractions", "parameters": {"city": "Paris"}}', [("get_weather", {"city": "Paris"}), ("get_tourist_attractions", {"city": "Paris"})], ""),  # SGLang
        (TAG + '{"name": "get_weather", "parameters": {}}' + TAG + '{"name": "get_tourist_attractions", "parameters": {}}', [("get_weather", {}), ("get_tourist_attractions", {})], ""),  # SGLang
        ('{"name": "get_weather", "parameters": {}} Some follow-up text', [("get_weather", {})], " Some follow-up text"),  # SGLang
        ("This is just plain explanation text.", [], "This is just plain explanation text."),  # SGLang
        ("Some intro. " + TAG + '{"name": "get_weather", "parameters": {}}', [("get_weather", {})], "Some intro. "),  # SGLang
        # Llama-4-Scout writes "type" first.
        ('{"type": "function", "name": "get_weather", "parameters": {"city": "Paris"}}', [("get_weather", {"city": "Paris"})], ""),
        # SGLang also takes a leading array (what constrained tool_choice=required yields).
        ('[{"name": "get_weather", "parameters": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]', [("get_weather", {"city": "Paris"}), ("get_time", {})], ""),
        # Stringified parameters.
        ('{"name": "f", "parameters": "{\\"a\\": 1}"}', [("f", {"a": 1})], ""),
        # Leading whitespace is no prose.
        ('\n  {"name": "f", "parameters": {}}', [("f", {})], ""),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, Any]]], content: str) -> None:
    events = parsed(output, FMT)
    assert calls(events) == expected and text(events) == content and not invalid(events)


@pytest.mark.parametrize(
    "output",
    [
        'Here is the result: {"name": "getOpenIncidentsTool", "parameters": {}} Would you like to know more?',
        f"Here are the results: {SEARCH1}; {INCIDENTS}; {SEARCH2} Would you like to know more?",
    ],
)
def test_json_later_in_prose_is_text(output: str) -> None:
    # vLLM's non-streaming path calls any JSON object in the reply (and drops the prose); its
    # streaming path and llama.cpp only a leading one.  A call is the reply's start or follows the tag.
    assert parsed(output, FMT) == [TextDelta(text=output)]


@pytest.mark.parametrize("separator", ["; ", ";", ";\n", "\n"])
def test_parallel_separators(separator: str) -> None:  # vLLM
    events = parsed(SEARCH1 + separator + INCIDENTS, FMT)
    assert calls(events) == [("searchTool", {"query": "test1"}), ("getOpenIncidentsTool", {})] and text(events) == ""


@pytest.mark.parametrize(
    ("output", "name"),
    [
        ('{"name": "invalidTool", "parameters": {invalid json}', "invalidTool"),  # vLLM: returned as content
        # SGLang skips the broken object and reads the call inside it; here the one object is invalid.
        ('{"name": "get_weather", "parameters": {{"name": "get_weather", "parameters": {}}', "get_weather"),
    ],
)
def test_a_leading_call_with_bad_json_is_invalid(output: str, name: str) -> None:
    events = parsed(output, FMT)
    [bad] = invalid(events)
    assert not calls(events) and bad.raw == output and bad.name == name


def test_a_call_after_the_tag_needs_no_arguments_key() -> None:
    # After the tag the JSON is surely a call: no arguments means {} (the rule for every format).
    assert calls(parsed(TAG + '{"name": "get_time"}', FMT)) == [("get_time", {})]


def test_built_in_tools_are_not_json() -> None:
    # <|python_tag|>brave_search.call(query="...") (ended by <|eom_id|>) is no JSON call: kept as text.
    output = TAG + 'brave_search.call(query="weather in Paris")'
    assert parsed(output, FMT) == [TextDelta(text=output)]


def test_the_call_streams_while_it_is_written() -> None:
    parser = Parser(FMT)
    # A leading object is held until it shows a name and an arguments key.
    assert parser.feed('{"name": "get_weather", ') == []
    assert parser.feed('"parameters": {"city": "Pa') == [
        ToolCallStart(index=0, id="call_0", name="get_weather"),
        ToolCallDelta(index=0, arguments='{"city": "Pa'),
    ]
    assert parser.feed('ris"}}') == [
        ToolCallDelta(index=0, arguments='ris"}'),
        ToolCallEnd(index=0, id="call_0", name="get_weather", arguments={"city": "Paris"}),
    ]
    assert parser.close() == []


def test_a_call_cut_off_is_truncated() -> None:
    events = parsed('{"name": "get_weather", "parameters": {"city": "Par', FMT)
    [cut] = invalid(events)
    assert isinstance(cut, InvalidToolCall) and cut.kind == "truncated" and cut.name == "get_weather"


def test_every_single_cut() -> None:
    events = every_cut(TAG + SEARCH1 + "; " + INCIDENTS + " done", FMT)
    assert calls(events) == THREE[:2] and text(events) == " done"


def test_unicode_arguments() -> None:
    events = parsed('{"name": "translate", "parameters": {"text": "日本語 😀", "esc": "\\u00e9"}}', FMT)
    assert calls(events) == [("translate", {"text": "日本語 😀", "esc": "é"})]


def test_unknown_tool_with_tools_given() -> None:
    events = parsed(SEARCH1, FMT, tools=[tool("get_weather")])
    [bad] = invalid(events)
    assert bad.kind == "unknown_tool" and bad.name == "searchTool"
