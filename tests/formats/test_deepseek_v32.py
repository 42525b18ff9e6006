"""deepseek_v32 (DSML: DeepSeek-V3.2, V3.2-Speciale; V4's <｜DSML｜tool_calls> wrapper).

The only XML format that types its own values: string="true" is text,
string="false" is JSON.  `｜` is U+FF5C.  Inputs and expected outcomes marked
vLLM or SGLang are those peers' public test cases (vLLM's DeepSeek-V3.2
parser, SGLang's V3.2/V4 detectors); where this project decides otherwise,
the test says why.
"""

from __future__ import annotations

import pytest

from streamparse import Parser, ToolCallDelta, ToolCallStart, parse

from .summary import Unfit, calls, cut_off, invalid, parsed, reasoning, text, tool, typed

FMT = "deepseek_v32"
FC_START, FC_END = "<｜DSML｜function_calls>", "</｜DSML｜function_calls>"
INV_END, PARAM_END = "</｜DSML｜invoke>", "</｜DSML｜parameter>"


def param(key: str, value: str, *, string: bool = True) -> str:
    return f'<｜DSML｜parameter name="{key}" string="{str(string).lower()}">{value}{PARAM_END}\n'


def invoke(name: str, *parameters: str) -> str:
    return f'<｜DSML｜invoke name="{name}">\n' + "".join(parameters) + f"{INV_END}\n"


def block(*invokes: str, start: str = FC_START, end: str = FC_END) -> str:
    return f"{start}\n" + "".join(invokes) + end


def weather(**arguments: str) -> str:
    """vLLM's build_tool_call: every parameter string="true"."""
    return block(invoke("get_weather", *(param(k, v) for k, v in arguments.items())))


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("just some text", [], "just some text"),  # vLLM
        (block(invoke("get_time")), [("get_time", {})], None),  # vLLM
        (weather(location="SF", date="2024-01-16"), [("get_weather", {"location": "SF", "date": "2024-01-16"})], None),  # vLLM
        ("Sure, let me check! " + weather(location="NYC"), [("get_weather", {"location": "NYC"})], "Sure, let me check!"),  # vLLM
        (
            block(invoke("get_weather", param("location", "SF")), invoke("get_weather", param("location", "NYC"))),  # vLLM
            [("get_weather", {"location": "SF"}), ("get_weather", {"location": "NYC"})],
            None,
        ),
        (
            # vLLM: with no tools, string="false" values are JSON.
            block(invoke("unknown_fn", param("count", "42", string=False), param("flag", "true", string=False))),
            [("unknown_fn", {"count": 42, "flag": True})],
            None,
        ),
        (
            "Here is the weather: " + weather(location="Tokyo"),  # vLLM (PR #33964)
            [("get_weather", {"location": "Tokyo"})],
            "Here is the weather:",
        ),
        (
            # SGLang: V4's wrapper.
            block(invoke("write_note", param("payload", '{"city": "San Francisco"}', string=False)), start="<｜DSML｜tool_calls>", end="</｜DSML｜tool_calls>"),
            [("write_note", {"payload": {"city": "San Francisco"}})],
            None,
        ),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, object]]], content: str | None) -> None:
    assert calls(parsed(output, FMT)) == expected
    assert parse(output, FMT).content == content


def test_the_chat_templates_layout() -> None:
    output = (
        "Let me look.\n\n<｜DSML｜function_calls>\n<｜DSML｜invoke name=\"get_weather\">\n"
        '<｜DSML｜parameter name="city" string="true">Paris</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="days" string="false">3</｜DSML｜parameter>\n'
        "</｜DSML｜invoke>\n</｜DSML｜function_calls>"
    )
    events = parsed(output, FMT)
    assert calls(events) == [("get_weather", {"city": "Paris", "days": 3})]
    assert text(events) == "Let me look.\n\n"


def test_ids_are_distinct_and_names_come_by_index() -> None:  # vLLM
    events = parsed(block(invoke("fn_a", param("x", "1")), invoke("fn_b", param("y", "2"))), FMT)
    assert [(e.index, e.id, e.name) for e in events if isinstance(e, ToolCallStart)] == [(0, "call_0", "fn_a"), (1, "call_1", "fn_b")]


def test_strings_stream_before_their_close() -> None:  # vLLM #52846
    parser = Parser(FMT, tools=[tool("emit", text={"type": "string"})])
    parser.feed(f'{FC_START}\n<｜DSML｜invoke name="emit">\n<｜DSML｜parameter name="text" string="true">')
    body = "A" * 4096
    streamed = [parser.feed(body[i : i + 32]) for i in range(0, len(body), 32)]
    assert sum(1 for events in streamed if events) > 100
    rest = parser.feed(f"{PARAM_END}\n{INV_END}\n{FC_END}") + parser.close()
    joined = "".join(e.arguments for events in [*streamed, rest] for e in events if isinstance(e, ToolCallDelta))
    assert joined.endswith('"}') and len(joined) == len(body) + len('{"text": ""}')


def test_no_marker_fragment_leaks_into_text_at_any_split() -> None:  # vLLM #40801
    output = "Hello!" + block(invoke("fn", param("a", "b")))
    for size in range(1, len(FC_START) + 2):
        parser = Parser(FMT)
        events = [e for i in range(0, len(output), size) for e in parser.feed(output[i : i + size])] + parser.close()
        assert text(events) == "Hello!" and calls(events) == [("fn", {"a": "b"})]


def test_a_marker_prefix_that_is_not_one_is_text() -> None:  # vLLM
    assert text(parsed("<｜DSM some regular text", FMT)) == "<｜DSM some regular text"
    assert text(parsed("A <｜DSML｜invoke name=\"x\"> tag.", FMT)) == "A <｜DSML｜invoke name=\"x\"> tag."


# -- typing: string="true" / string="false" and the schema ------------------------------------


@pytest.mark.parametrize(
    ("schema", "string", "written", "value"),
    [
        ({"type": "boolean"}, False, "true", True),  # vLLM
        ({"type": "integer"}, False, "42", 42),  # vLLM
        ({"type": "integer"}, True, "42", 42),  # vLLM: no string branch and the text converts
        ({"type": "string"}, True, "42", "42"),
        ({}, True, "42", "42"),
        ({"type": "string"}, False, "null", "null"),  # vLLM: null does not fit a string schema
        ({"type": ["null", "string"]}, False, "null", None),  # vLLM
        ({"type": ["null", "string"]}, False, "hello", "hello"),  # vLLM: not JSON, text is allowed
        ({"type": ["integer", "null"]}, False, "42", 42),  # vLLM
        ({"type": ["integer", "null"]}, False, "null", None),  # vLLM
        ({"type": "integer"}, False, "abc", Unfit("abc")),  # vLLM: nothing fits, the raw text
        ({"type": "number"}, False, "3.14", 3.14),  # vLLM
        # vLLM turns 5.0 into the integer 5; a number is kept as written.
        ({"type": "number"}, False, "5.0", 5.0),
        ({"type": "array"}, False, '["a", "b"]', ["a", "b"]),  # vLLM
        ({"type": "object"}, False, '{"k": 1}', {"k": 1}),  # vLLM
        ({"anyOf": [{"type": "object"}, {"type": "null"}]}, True, '{"type":"for","minutes":2880}', {"type": "for", "minutes": 2880}),  # vLLM
        # SGLang: free prose where an object is expected stays the raw text.
        ({"type": "object"}, False, "Здравствуйте, мир! Это тест", Unfit("Здравствуйте, мир! Это тест")),
        ({"type": "string"}, True, "  spaced\n", "  spaced\n"),  # verbatim (SGLang strips)
    ],
)
def test_typing_rules(schema: dict[str, object], string: bool, written: str, value: object) -> None:
    found = typed(block(invoke("f", param("v", written, string=string))), FMT, [tool("f", v=schema)])
    assert found == value and type(found) is type(value)


def test_composed_schemas() -> None:  # vLLM
    wait = {"anyOf": [{"type": "object", "properties": {"type": {"const": "until"}}}, {"type": "object", "properties": {"minutes": {"type": "number"}}}]}
    patches = {"oneOf": [{"type": "array", "items": {"type": "object"}}, {"type": "null"}]}
    output = block(
        invoke(
            "set_timer",
            param("wait", '{"type":"for","minutes":2880}', string=False),
            param("patches", '[{"op":"replace","path":"/schedule","value":"quiet"}]', string=False),
        )
    )
    assert calls(parsed(output, FMT, tools=[tool("set_timer", wait=wait, patches=patches)])) == [
        ("set_timer", {"wait": {"type": "for", "minutes": 2880}, "patches": [{"op": "replace", "path": "/schedule", "value": "quiet"}]})
    ]


@pytest.mark.parametrize(
    ("wrapper", "string", "value"),
    [("arguments", False, {"location": "Beijing"}), ("input", True, '{"location":"Beijing"}')],
)
def test_a_lone_wrapper_parameter_is_not_unwrapped(wrapper: str, string: bool, value: object) -> None:
    # vLLM unwraps a lone `arguments`/`input` parameter missing from the schema when its keys are
    # the schema's; that rewrites what the model wrote, so here the call keeps it (and a schema
    # check can tell the model).
    output = block(invoke("get_weather", param(wrapper, '{"location":"Beijing"}', string=string)))
    assert calls(parsed(output, FMT, tools=[tool("get_weather", location={"type": "string"})])) == [("get_weather", {wrapper: value})]


def test_tags_inside_values() -> None:
    value = f"a{PARAM_END} b {INV_END} c {FC_END}"
    output = block(invoke("f", param("v", value), param("w", "x")))
    assert calls(parsed(output, FMT)) == [("f", {"v": value, "w": "x"})]


def test_unknown_tool_with_tools_given() -> None:
    events = parsed(weather(location="SF"), FMT, tools=[tool("search")])
    [bad] = invalid(events)
    assert (bad.kind, bad.name, bad.arguments) == ("unknown_tool", "get_weather", {"location": "SF"})


# -- truncation, reasoning ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "cut",
    [
        FC_START,
        f'{FC_START}\n<｜DSML｜invoke name="get_wea',
        f'{FC_START}\n<｜DSML｜invoke name="get_weather">\n<｜DSML｜parameter name="loc',
        f'{FC_START}\n<｜DSML｜invoke name="get_weather">\n<｜DSML｜parameter name="location" string="tr',
        f'{FC_START}\n<｜DSML｜invoke name="get_weather">\n<｜DSML｜parameter name="location" string="true">S',
        f'{FC_START}\n<｜DSML｜invoke name="get_weather">\n<｜DSML｜parameter name="location" string="true">SF{PARAM_END}\n</｜DSML',
    ],
)
def test_output_cut_off_inside_an_invoke(cut: str) -> None:
    cut_off("Checking. ", cut, FMT)


def test_thinking_mode_prompt_opens_reasoning() -> None:
    output = "Need weather.</think>\n\n" + weather(location="SF")
    events = parsed(output, FMT, in_reasoning=True)
    assert reasoning(events) == "Need weather." and calls(events) == [("get_weather", {"location": "SF"})]


def test_a_block_inside_reasoning_ends_it() -> None:
    events = parsed("<think>Let me check." + weather(location="SF") + "</think>Sunny.", FMT)
    assert reasoning(events) == "Let me check." and text(events) == "Sunny."
    assert calls(events) == [("get_weather", {"location": "SF"})]


def test_an_empty_block_is_text() -> None:
    assert text(parsed(f"{FC_START}{FC_END}", FMT)) == f"{FC_START}{FC_END}"
