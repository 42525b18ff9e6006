"""step3 (StepFun Step3): steptml invokes in a <｜tool_calls_begin｜> section.

Inputs and expected outcomes marked vLLM are that peer's public test cases
(its Step3 parser, whose older non-streaming path its own tests mark failing).
"""

from __future__ import annotations

import pytest

from streamparse import load_format, parse
from streamparse.core.formats import format_for_model

from .summary import calls, invalid, parsed, reasoning, text, tool

FMT = "step3"
BEGIN, END = "<｜tool_calls_begin｜>", "<｜tool_calls_end｜>"


def entry(name: str, *parameters: tuple[str, str], header: str = "") -> str:
    body = "".join(f'<steptml:parameter name="{k}">{v}</steptml:parameter>' for k, v in parameters)
    return f'<｜tool_call_begin｜>{header}<steptml:invoke name="{name}">{body}</steptml:invoke><｜tool_call_end｜>'


TOKYO = BEGIN + entry("get_weather", ("city", "Tokyo")) + END


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("This is a regular response without any tool calls.", [], "This is a regular response without any tool calls."),  # vLLM
        (TOKYO, [("get_weather", {"city": "Tokyo"})], None),  # vLLM
        (
            # vLLM: entries separated by <｜tool_sep｜>.
            BEGIN + entry("get_weather", ("city", "Tokyo")) + "<｜tool_sep｜>" + entry("get_time", ("timezone", "Asia/Tokyo")) + END,
            [("get_weather", {"city": "Tokyo"}), ("get_time", {"timezone": "Asia/Tokyo"})],
            None,
        ),
        (BEGIN + entry("refresh") + END, [("refresh", {})], None),  # vLLM
        (
            "Let me check the weather for you.\n\n" + TOKYO + "\n\nI'll get that information.",  # vLLM
            [("get_weather", {"city": "Tokyo"})],
            "Let me check the weather for you.\n\n\n\nI'll get that information.",
        ),
        (
            BEGIN + entry("test_function", ("quoted", 'He said "hello"'), ("path", "C:\\Users\\file.txt"), ("newline", "line1\nline2")) + END,  # vLLM
            [("test_function", {"quoted": 'He said "hello"', "path": "C:\\Users\\file.txt", "newline": "line1\nline2"})],
            None,
        ),
        (
            # The layout of this project's render and of the format's description.
            f"{BEGIN}\n" + entry("get_weather", ("city", "Paris"), header="function<｜tool_sep｜>") + f"\n{END}",
            [("get_weather", {"city": "Paris"})],
            None,
        ),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, str]]], content: str | None) -> None:
    assert calls(parsed(output, FMT)) == expected
    assert parse(output, FMT).content == content


def test_values_without_a_schema_stay_strings() -> None:  # vLLM: no typed arguments without a schema
    fields = (("string_field", "hello"), ("int_field", "42"), ("bool_field", "true"), ("null_field", "null"), ("array_field", '["a", "b", "c"]'))
    output = BEGIN + entry("test_function", *fields) + END
    assert calls(parsed(output, FMT)) == [("test_function", dict(fields))]
    schema = tool(
        "test_function",
        string_field={"type": "string"},
        int_field={"type": "integer"},
        bool_field={"type": "boolean"},
        null_field={"type": ["string", "null"]},
        array_field={"type": "array"},
    )
    assert calls(parsed(output, FMT, tools=[schema])) == [
        ("test_function", {"string_field": "hello", "int_field": 42, "bool_field": True, "null_field": None, "array_field": ["a", "b", "c"]})
    ]


EDIT_FILE = tool("edit_file", old_string={"type": "string"}, indent={"type": "integer"}, enabled={"type": "boolean"})


@pytest.mark.parametrize("value", ["    if x:", "return 1\n", "    if x:\n        return 1\n", "hello ", "hello\u00a0", "hello"])
def test_string_values_keep_their_whitespace(value: str) -> None:  # vLLM
    # The header repeats the name before the invoke, as Step3 writes it.
    output = BEGIN + entry(
        "edit_file", ("old_string", value), ("indent", " 4 "), ("enabled", " true "), header="function<｜tool_sep｜>edit_file\n"
    ) + END
    assert calls(parsed(output, FMT, tools=[EDIT_FILE])) == [("edit_file", {"old_string": value, "indent": 4, "enabled": True})]


def test_a_header_naming_another_tool_is_invalid() -> None:
    output = BEGIN + entry("delete", header="function<｜tool_sep｜>edit_file\n") + END
    [bad] = invalid(parsed(output, FMT))
    assert "edit_file" in bad.error and "delete" in bad.error


def test_tags_inside_a_value() -> None:
    value = "a </steptml:parameter> b </steptml:invoke> c <｜tool_call_end｜>"
    output = BEGIN + entry("f", ("v", value)) + END
    assert calls(parsed(output, FMT)) == [("f", {"v": value})]


@pytest.mark.parametrize(
    "output",
    [
        BEGIN + '<｜tool_call_begin｜><steptml:invoke name="func">',  # vLLM: cut off
        BEGIN + '<｜tool_call_begin｜><steptml:invoke name="func"><steptml:parameter name="a">1',
    ],
)
def test_cut_off_entries_are_reported(output: str) -> None:
    [bad] = invalid(parsed(output, FMT))
    assert bad.kind == "truncated" and not calls(parsed(output, FMT))


def test_an_entry_outside_a_section_is_text() -> None:  # vLLM: not a call
    output = '<｜tool_call_begin｜><steptml:invoke name="func"></steptml:invoke><｜tool_call_end｜>'
    assert text(parsed(output, FMT)) == output


def test_unknown_tool_with_tools_given() -> None:
    [bad] = invalid(parsed(TOKYO, FMT, tools=[EDIT_FILE]))
    assert (bad.kind, bad.name, bad.arguments) == ("unknown_tool", "get_weather", {"city": "Tokyo"})


def test_reasoning_opened_by_the_prompt_and_a_section_inside_it() -> None:
    events = parsed("Tokyo weather." + TOKYO + "</think>It is sunny.", FMT, in_reasoning=True)
    assert reasoning(events) == "Tokyo weather." and text(events) == "It is sunny."
    assert calls(events) == [("get_weather", {"city": "Tokyo"})]


def test_model_names_and_special_tokens() -> None:
    assert format_for_model("stepfun-ai/step3") == FMT
    assert format_for_model("stepfun-ai/Step-3.5-Flash") == "qwen3_coder"  # Step-3.5 writes Qwen3-Coder's calls
    fmt = load_format(FMT)
    assert (fmt.server_parser, fmt.special_tokens) == ("step3", "required")
