"""seed_oss (ByteDance Seed-OSS-36B): Qwen3-Coder's calls in <seed:tool_call>, reasoning in <seed:think>.

Inputs and expected outcomes marked vLLM are that peer's public test cases
(its Seed-OSS parser); vLLM's tool parser leaves the reasoning in the content
(a separate reasoning parser takes it out), so here it is reasoning instead.
"""

from __future__ import annotations

import pytest

from streamparse import load_format, parse
from streamparse.core.formats import format_for_model

from .summary import calls, cut_off, invalid, parsed, reasoning, text, tool

FMT = "seed_oss"
WEATHER = tool("get_weather", location={"type": "string"}, unit={"type": "string"})
BARCELONA = "<seed:tool_call>\n<function=get_weather>\n<parameter=location>Barcelona, Spain</parameter>\n</function>\n</seed:tool_call>"


def test_plain_text() -> None:  # vLLM
    assert text(parsed("This is a test response without any tool calls", FMT)) == "This is a test response without any tool calls"


def test_a_call_with_no_thinking() -> None:  # vLLM (thinking budget 0)
    events = parsed(BARCELONA, FMT, tools=[WEATHER])
    assert calls(events) == [("get_weather", {"location": "Barcelona, Spain"})] and text(events) == ""


def test_budget_reflections_are_reasoning() -> None:  # vLLM (thinking budget 512)
    thought = (
        "The user's current thinking budget is 512.</seed:cot_budget_reflect>\nLet me analyze the question. \n"
        "<seed:cot_budget_reflect>I have used 131 tokens, and there are 381 tokens remaining for use.</seed:cot_budget_reflect>\n"
        " The unit parameter can be omitted since it's optional."
    )
    output = f"<seed:think>{thought}</seed:think>\n{BARCELONA}"
    events = parsed(output, FMT, tools=[WEATHER])
    assert reasoning(events) == thought and text(events) == "\n"
    assert calls(events) == [("get_weather", {"location": "Barcelona, Spain"})]


def test_an_example_call_while_thinking_stays_reasoning() -> None:  # vLLM (unlimited budget)
    thought = (
        "\nGot it. Let me format the function call correctly. The format is <seed:tool_call>\n<function=get_weather>\n"
        "<parameter=location>Barcelona, Spain</parameter>\n<parameter=unit>celsius</parameter>\n</function>\n</seed:tool_call>. "
        "Wait, but does the unit parameter accept \"celsius\"? Let me go with that."
    )
    real = "<seed:tool_call>\n<function=get_weather>\n<parameter=location>Barcelona, Spain</parameter>\n<parameter=unit>celsius</parameter>\n</function>\n</seed:tool_call>"
    events = parsed(f"<seed:think>{thought}</seed:think>{real}", FMT, tools=[WEATHER])
    assert reasoning(events) == thought
    assert calls(events) == [("get_weather", {"location": "Barcelona, Spain", "unit": "celsius"})]
    assert parse(f"<seed:think>{thought}</seed:think>{real}", FMT).content is None


def test_reasoning_opened_by_the_prompt() -> None:
    events = parsed("plan</seed:think>" + BARCELONA, FMT, in_reasoning=True)
    assert reasoning(events) == "plan" and len(calls(events)) == 1


def test_several_functions_in_one_block_and_values_wrapped_in_newlines() -> None:
    output = (
        "<seed:tool_call>\n<function=a>\n<parameter=code>\nprint(1)\nprint(2)\n</parameter>\n</function>\n"
        "<function=b>\n</function>\n</seed:tool_call>"
    )
    assert calls(parsed(output, FMT)) == [("a", {"code": "print(1)\nprint(2)"}), ("b", {})]


@pytest.mark.parametrize(
    ("schema", "written", "value"),
    [
        # Seed's template writes every value with Python's str().
        ({"type": "object"}, "{'unit': 'celsius', 'days': 3, 'hourly': True, 'note': None}", {"unit": "celsius", "days": 3, "hourly": True, "note": None}),
        ({"type": "array"}, "['a', ('b', 1)]", ["a", ["b", 1]]),
        ({"type": "boolean"}, "False", False),
        ({"type": ["integer", "null"]}, "None", None),
        ({"type": "number"}, "0.5", 0.5),
        ({"type": "string"}, "None", "None"),
    ],
)
def test_python_str_values(schema: dict[str, object], written: str, value: object) -> None:
    output = f"<seed:tool_call>\n<function=f>\n<parameter=v>{written}</parameter>\n</function>\n</seed:tool_call>"
    assert calls(parsed(output, FMT, tools=[tool("f", v=schema)])) == [("f", {"v": value})]


def test_tags_inside_a_value() -> None:
    value = "use </parameter> and </function> and </seed:tool_call> literally"
    output = f"<seed:tool_call>\n<function=f>\n<parameter=v>{value}</parameter>\n</function>\n</seed:tool_call>"
    assert calls(parsed(output, FMT, tools=[tool("f", v={"type": "string"})])) == [("f", {"v": value})]


def test_unknown_tool_and_a_cut_off_call() -> None:
    [bad] = invalid(parsed(BARCELONA, FMT, tools=[tool("search")]))
    assert (bad.kind, bad.name) == ("unknown_tool", "get_weather")
    cut_off("", BARCELONA[: BARCELONA.index("Spain")], FMT)


def test_model_names_and_special_tokens() -> None:
    assert format_for_model("ByteDance-Seed/Seed-OSS-36B-Instruct") == FMT
    fmt = load_format(FMT)
    assert (fmt.server_parser, fmt.special_tokens) == ("seed_oss", "advised")
