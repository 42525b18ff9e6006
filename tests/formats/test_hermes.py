"""hermes (Qwen2.5, Qwen3, Granite 4, Hermes fine-tunes): JSON calls in <tool_call> blocks.

The parser's own hermes tests are in tests/test_parser.py; these carry over
the peers' public cases (vLLM's Hermes parser, SGLang's Qwen 2.5 detector) and
the cross-format rules.  Where this project decides otherwise, the test says why.
"""

from __future__ import annotations

import pytest

from streamparse import Parser, ToolCallDelta, ToolCallStart, parse

from .summary import calls, cut_off, invalid, parsed, reasoning, text, tool

FMT = "hermes"
TOOLS = [tool("get_weather", city={"type": "string"}, unit={"type": "string"}), tool("search", query={"type": "string"})]


def block(body: str) -> str:
    return f"<tool_call>\n{body}\n</tool_call>"


BEIJING = block('{"name": "get_weather", "arguments": {"city": "Beijing"}}')


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("This is some prior text that has nothing to do with tool calling.", [], "This is some prior text that has nothing to do with tool calling."),  # vLLM
        (block('{"name": "final_answer", "arguments": {"trigger": true}}'), [("final_answer", {"trigger": True})], None),  # vLLM #19056
        (
            '<tool_call>{"name": "get_current_temperature","arguments": {"location":"San Francisco, California, United States", "unit": "celsius"}}</tool_call>',  # vLLM
            [("get_current_temperature", {"location": "San Francisco, California, United States", "unit": "celsius"})],
            None,
        ),
        (
            'Sure, let me check the weather.<tool_call>{"name": "get_weather", "arguments": {"city": "NYC"}}</tool_call>',  # vLLM
            [("get_weather", {"city": "NYC"})],
            "Sure, let me check the weather.",
        ),
        (
            '<tool_call>{"name": "search", "arguments": {"q": "cats"}}</tool_call><tool_call>{"name": "search", "arguments": {"q": "dogs"}}</tool_call>',  # vLLM
            [("search", {"q": "cats"}), ("search", {"q": "dogs"})],
            None,
        ),
        ('<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}}', [("final_answer", {"trigger": True})], None),  # vLLM: until EOS
        (
            # vLLM (Granite 4): arguments the model serialized into a string are decoded once.
            block('{"name": "get_db_config", "arguments": "{\\"param\\": \\"max_connections\\"}"}'),
            [("get_db_config", {"param": "max_connections"})],
            None,
        ),
        (BEIJING, [("get_weather", {"city": "Beijing"})], None),  # SGLang
        (
            # SGLang strips the text before a call; events keep it, the message trims it.
            'Let me check the weather. <tool_call>\n{"name": "get_weather", "arguments": {"city": "Tokyo"}}\n</tool_call>',
            [("get_weather", {"city": "Tokyo"})],
            "Let me check the weather.",
        ),
        (
            BEIJING + "\n" + block('{"name": "search", "arguments": {"query": "restaurants"}}'),  # SGLang
            [("get_weather", {"city": "Beijing"}), ("search", {"query": "restaurants"})],
            None,
        ),
        (block('{"name": "get_weather", "arguments": {"city": "London", "unit": "celsius"}}'), [("get_weather", {"city": "London", "unit": "celsius"})], None),  # SGLang
        (block('{"arguments": {"city": "Paris"}, "name": "get_weather"}'), [("get_weather", {"city": "Paris"})], None),  # arguments first
        (block('{"name": "get_weather", "parameters": {"city": "Paris"}}'), [("get_weather", {"city": "Paris"})], None),
        (block('{"name": "get_time"}'), [("get_time", {})], None),  # no arguments: {} (issue 9, item 2)
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, object]]], content: str | None) -> None:
    assert calls(parsed(output, FMT)) == expected
    assert parse(output, FMT).content == content


def test_arguments_stream_as_written() -> None:  # vLLM #19056: exactly the model's JSON text
    events = parsed(block('{"name": "final_answer", "arguments": {"trigger": true}}'), FMT)
    assert "".join(e.arguments for e in events if isinstance(e, ToolCallDelta)) == '{"trigger": true}'


def test_the_name_comes_before_the_arguments() -> None:  # SGLang
    parser = Parser(FMT, tools=TOOLS)
    first = parser.feed('<tool_call>\n{"name": "search",')
    assert [e for e in first if isinstance(e, ToolCallStart)] == [ToolCallStart(index=0, id="call_0", name="search")]
    assert not any(isinstance(e, ToolCallDelta) for e in first)


@pytest.mark.parametrize(("piece", "shown"), [("hello <tool_", "hello "), ("I think <tool", "I think ")])
def test_a_partial_opener_is_held_back(piece: str, shown: str) -> None:  # SGLang
    # SGLang holds the whole chunk; only the possible tag needs holding, the text before it is shown.
    assert text(Parser(FMT).feed(piece)) == shown


def test_a_malformed_block_is_reported_and_the_next_one_kept() -> None:  # SGLang skips the broken one
    output = "<tool_call>\n{not valid json}\n</tool_call>\n" + block('{"name": "search", "arguments": {"query": "books"}}')
    events = parsed(output, FMT)
    assert calls(events) == [("search", {"query": "books"})]
    assert [e.kind for e in invalid(events)] == ["malformed"]


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "do_thing", "arguments": "hello"}',  # vLLM passes "hello" on as the arguments; they must be an object
        '{"name": "final_answer", "arguments": {"trigger": true}',  # vLLM: not a call (content); here a call cut off
    ],
)
def test_calls_that_are_not_valid_are_reported(body: str) -> None:
    events = parsed("<tool_call>\n" + body, FMT)
    assert not calls(events) and len(invalid(events)) == 1 and text(events) == ""


def test_tags_inside_json_strings() -> None:  # vLLM #45167: cut at </tool_call> inside a string
    output = block('{"name": "write", "arguments": {"content": "a </tool_call> b <tool_call> c"}}')
    assert calls(parsed(output, FMT)) == [("write", {"content": "a </tool_call> b <tool_call> c"})]


def test_unicode() -> None:
    output = "Voilà 😀 " + block('{"name": "send", "arguments": {"text": "你好 \\u00e9 \\ud83c\\udf89"}}')
    events = parsed(output, FMT)
    assert calls(events) == [("send", {"text": "你好 é 🎉"})] and text(events) == "Voilà 😀 "


def test_unknown_tool_with_tools_given() -> None:
    events = parsed(block('{"name": "rm_rf", "arguments": {"path": "/"}}'), FMT, tools=TOOLS)
    [bad] = invalid(events)
    assert (bad.kind, bad.name, bad.arguments) == ("unknown_tool", "rm_rf", {"path": "/"})


def test_tools_do_not_retype_json_arguments() -> None:
    # JSON arguments type themselves: the schema does not convert them, it checks them.
    output = block('{"name": "get_weather", "arguments": {"city": 42}}')
    [bad] = invalid(parsed(output, FMT, tools=TOOLS))
    assert (bad.kind, bad.arguments) == ("invalid_arguments", {"city": 42})


@pytest.mark.parametrize("cut", ["<tool_call>", '<tool_call>\n{"na', '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Bei'])
def test_output_cut_off_inside_a_call(cut: str) -> None:
    cut_off("Looking. ", cut, FMT)


def test_reasoning_and_a_call_inside_it() -> None:  # Qwen3 opens <tool_call> before </think> (vLLM, Ollama)
    output = "<think>I should look it up." + BEIJING + "</think>Done."
    events = parsed(output, FMT)
    assert reasoning(events) == "I should look it up." and text(events) == "Done."
    assert calls(events) == [("get_weather", {"city": "Beijing"})]


def test_a_prompt_opened_think_and_a_leading_think_written_anyway() -> None:  # Qwen3-Thinking-2507, issue 9 item 5
    events = parsed("<think>\nhmm\n</think>\n\n" + BEIJING, FMT, in_reasoning=True)
    assert reasoning(events) == "\nhmm\n" and calls(events) == [("get_weather", {"city": "Beijing"})]
