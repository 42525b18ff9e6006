"""glm47 (GLM-4.7, 4.7-Flash, GLM-5): GLM's calls written with no line breaks; thinking opened by the prompt.

The cases both GLM grammars share run in test_glm45.py.  Inputs and expected
outcomes marked vLLM or SGLang are those peers' public test cases (vLLM's
GLM-4.7 parser, SGLang's GLM-4.7 detector).
"""

from __future__ import annotations

import pytest

from streamparse import Parser, ToolCallDelta, ToolCallEnd, ToolCallStart, parse

from .summary import calls, invalid, parsed, reasoning, text, tool

FMT = "glm47"
TOOLS = [tool("get_current_date"), tool("get_weather", city={"type": "string"}, date={"type": "string"})]


def glm(name: str, **arguments: str) -> str:
    return f"<tool_call>{name}" + "".join(f"<arg_key>{k}</arg_key><arg_value>{v}</arg_value>" for k, v in arguments.items()) + "</tool_call>"


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("This is a plain response.", [], "This is a plain response."),  # vLLM
        ("<tool_call>get_current_date</tool_call>", [("get_current_date", {})], None),  # vLLM
        ("<tool_call>get_current_date\n</tool_call>", [("get_current_date", {})], None),  # vLLM
        (glm("get_weather", city="Beijing"), [("get_weather", {"city": "Beijing"})], None),  # vLLM
        ("Checking.<tool_call>get_current_date</tool_call>", [("get_current_date", {})], "Checking."),  # vLLM
        ("  \n  <tool_call>get_current_date</tool_call>", [("get_current_date", {})], None),  # vLLM: Message trims
        (
            glm("get_weather", city="Beijing") + glm("get_weather", city="Shanghai"),  # vLLM, SGLang
            [("get_weather", {"city": "Beijing"}), ("get_weather", {"city": "Shanghai"})],
            None,
        ),
        (
            glm("get_weather", city="Beijing", date="2024-06-27"),  # SGLang
            [("get_weather", {"city": "Beijing", "date": "2024-06-27"})],
            None,
        ),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, str]]], content: str | None) -> None:
    assert calls(parsed(output, FMT, tools=TOOLS)) == expected
    assert parse(output, FMT, tools=TOOLS).content == content


def test_arguments_stream_as_compact_json() -> None:  # SGLang compares the text itself
    events = parsed(glm("get_weather", city="Beijing", date="2024-06-27"), FMT, tools=TOOLS)
    assert "".join(e.arguments for e in events if isinstance(e, ToolCallDelta)) == '{"city": "Beijing", "date": "2024-06-27"}'


def test_each_delta_adds_to_the_arguments() -> None:  # vLLM: the last delta must not repeat the whole
    parser = Parser(FMT, tools=TOOLS)
    pieces = ["<tool_call>get_weather\n", "<arg_key>city</arg_key>", "<arg_value>Beijing</arg_value>", "<arg_key>date</arg_key>",
              "<arg_value>2025-08", "-01</arg_value>", "</tool_call>"]
    deltas = [e.arguments for piece in pieces for e in parser.feed(piece) if isinstance(e, ToolCallDelta)]
    assert "".join(deltas) == '{"city": "Beijing", "date": "2025-08-01"}'
    assert all(not d.startswith("{") for d in deltas[1:])


def test_a_no_argument_call_then_another() -> None:  # SGLang: one "{}" for the first, no leak into the second
    parser = Parser(FMT, tools=[tool("list_files"), *TOOLS])
    events = parser.feed("<tool_call>list_files</tool_call>") + parser.feed(glm("get_weather", city="Beijing"))
    joined = {e.index: "" for e in events if isinstance(e, ToolCallDelta)}
    for e in events:
        if isinstance(e, ToolCallDelta):
            joined[e.index] += e.arguments
    assert joined == {0: "{}", 1: '{"city": "Beijing"}'}
    assert [e.name for e in events if isinstance(e, ToolCallEnd)] == ["list_files", "get_weather"]


def test_a_prefix_of_a_name_is_never_announced() -> None:  # vLLM: `get` before `get_weather`
    parser = Parser(FMT, tools=TOOLS)
    assert parser.feed("<tool_call>get") == []
    events = parser.feed("_weather<arg_key>city</arg_key><arg_value>Beijing</arg_value></tool_call>")
    assert [e.name for e in events if isinstance(e, ToolCallStart)] == ["get_weather"]


# -- reasoning: the 4.7 prompt ends `<|assistant|><think>` ------------------------------------


def test_reasoning_opened_by_the_prompt() -> None:
    output = "The user wants Beijing.</think>" + glm("get_weather", city="Beijing")
    events = parsed(output, FMT, tools=TOOLS, in_reasoning=True)
    assert reasoning(events) == "The user wants Beijing."
    assert calls(events) == [("get_weather", {"city": "Beijing"})] and text(events) == ""


def test_a_think_the_model_writes_anyway_is_dropped() -> None:
    events = parsed("<think>Plan.</think>Answer.", FMT, in_reasoning=True)
    assert reasoning(events) == "Plan." and text(events) == "Answer."


def test_a_call_before_the_end_of_reasoning_ends_it() -> None:
    output = "Need the date." + glm("get_current_date") + "</think>Today."
    events = parsed(output, FMT, tools=TOOLS, in_reasoning=True)
    assert reasoning(events) == "Need the date."
    assert calls(events) == [("get_current_date", {})] and text(events) == "Today."


def test_thinking_off_writes_an_empty_block() -> None:
    events = parsed("<think></think>" + glm("get_current_date"), FMT, tools=TOOLS)
    assert reasoning(events) == "" and calls(events) == [("get_current_date", {})] and not invalid(events)
