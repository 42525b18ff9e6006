"""qwen3_coder (Qwen3-Coder, Qwen3.5/3.6, Nemotron-3): XML calls with raw parameter values.

Inputs and expected outcomes marked vLLM, SGLang or llama.cpp are those
peers' public test cases (their tests for the Qwen3-Coder, Qwen3-XML and
Nemotron-3 parsers); where this project decides otherwise, the test says why.
"""

from __future__ import annotations

import pytest

from streamparse import InvalidToolCall, Parser, ToolCallEnd, ToolCallStart, parse

from .summary import Unfit, calls, cut_off, invalid, parsed, reasoning, text, tool, typed

FMT = "qwen3_coder"

WEATHER = tool(
    "get_current_weather",
    city={"type": "string"},
    state={"type": "string"},
    unit={"type": "string", "enum": ["fahrenheit", "celsius"]},
)
AREA = tool("calculate_area", shape={"type": "string"}, dimensions={"type": "object"}, precision={"type": "integer"})
TOOLS = [WEATHER, AREA]
WRITE_FILE = tool("write_file", path={"type": "string"}, content={"type": "string"})


def call(name: str, *parameters: tuple[str, str]) -> str:
    """A block as the chat template writes it: a newline after `>` and before `</parameter>`."""
    body = "".join(f"<parameter={key}>\n{value}\n</parameter>\n" for key, value in parameters)
    return f"<tool_call>\n<function={name}>\n{body}</function>\n</tool_call>"


DALLAS = call("get_current_weather", ("city", "Dallas"), ("state", "TX"), ("unit", "fahrenheit"))
DALLAS_ARGS = {"city": "Dallas", "state": "TX", "unit": "fahrenheit"}


# -- the canonical output, text around calls, parallel calls (vLLM) -----------------------


def test_plain_text_is_text() -> None:
    events = parsed("This is a test response without any tool calls", FMT, tools=TOOLS)
    assert events == parsed("This is a test response without any tool calls", FMT)
    assert text(events) == "This is a test response without any tool calls" and not calls(events)


def test_one_call() -> None:
    events = parsed(DALLAS, FMT, tools=TOOLS)
    assert calls(events) == [("get_current_weather", DALLAS_ARGS)] and text(events) == ""
    start, end = events[0], events[-1]
    assert isinstance(start, ToolCallStart) and isinstance(end, ToolCallEnd) and start.id == end.id


def test_text_before_after_and_between_calls() -> None:
    orlando = call("get_current_weather", ("city", "Orlando"), ("state", "FL"), ("unit", "celsius"))
    events = parsed(f"Sure! Let me check the weather for you.{DALLAS}\n{orlando}\nAll done!", FMT, tools=TOOLS)
    assert calls(events) == [
        ("get_current_weather", DALLAS_ARGS),
        ("get_current_weather", {"city": "Orlando", "state": "FL", "unit": "celsius"}),
    ]
    # Whitespace between two blocks is text (vLLM's Qwen3-XML parser keeps the "\n" too); Message trims.
    assert text(events) == "Sure! Let me check the weather for you.\n\nAll done!"


def test_several_functions_in_one_block() -> None:
    output = "<tool_call>\n<function=a>\n</function>\n<function=b>\n<parameter=x>\n1\n</parameter>\n</function>\n</tool_call>"
    assert calls(parsed(output, FMT)) == [("a", {}), ("b", {"x": "1"})]


@pytest.mark.parametrize("prefix", ["", "I'll check the weather for you.\n\n"])
def test_a_bare_function_without_tool_call_and_a_stray_closer(prefix: str) -> None:
    # vLLM (both parsers) reads a <function=...> with no <tool_call> around it; its engine parser's
    # stream then writes </tool_call> with no opener: that is markup, not text.
    output = f"{prefix}<function=get_current_weather>\n<parameter=city>\nDallas\n</parameter>\n</function>\n</tool_call>"
    events = parsed(output, FMT, tools=TOOLS)
    assert calls(events) == [("get_current_weather", {"city": "Dallas"})]
    assert text(events) == prefix


def test_sglang_bare_calls_with_inline_values() -> None:
    tools = [
        tool("get_current_weather", location={"type": "string"}, unit={"type": "string"}, days={"type": "integer"}),
        tool("sql_interpreter", query={"type": "string"}, dry_run={"type": "boolean"}),
    ]
    output = (
        "Text prefix + double tool call test\n\n"
        "<function=get_current_weather>\n<parameter=location>New York</parameter>\n</function>\n"
        "<function=sql_interpreter>\n<parameter=query>SELECT * FROM users</parameter>\n"
        "<parameter=dry_run>True</parameter>\n</function>\n"
    )
    events = parsed(output, FMT, tools=tools)
    assert calls(events) == [
        ("get_current_weather", {"location": "New York"}),
        ("sql_interpreter", {"query": "SELECT * FROM users", "dry_run": True}),
    ]
    # Whitespace after a call, before the end, is the call's markup (as SGLang has it too).
    assert text(events) == "Text prefix + double tool call test\n\n"


def test_zero_argument_call() -> None:
    assert calls(parsed("<tool_call>\n<function=get_time>\n</function>\n</tool_call>", FMT)) == [("get_time", {})]
    assert calls(parsed("<tool_call><function=get_time></function></tool_call>", FMT)) == [("get_time", {})]


def test_empty_value_is_an_empty_string() -> None:  # SGLang
    output = "<tool_call>\n<function=get_current_weather>\n<parameter=city></parameter>\n</function>\n</tool_call>"
    assert calls(parsed(output, FMT, tools=TOOLS)) == [("get_current_weather", {"city": ""})]


def test_unicode() -> None:
    output = call("send", ("message", "你好世界 🎉 café"), ("to", "Zoë"))
    events = parsed("Voilà 😀 " + output, FMT)
    assert calls(events) == [("send", {"message": "你好世界 🎉 café", "to": "Zoë"})]
    assert text(events) == "Voilà 😀 "


def test_the_call_ends_in_the_feed_that_completes_it() -> None:
    # vLLM's speculative-decoding regressions: several parameters, or a parameter and the call's
    # end, or two whole calls and trailing text, arrive in one delta.
    parser = Parser(FMT, tools=TOOLS)
    assert parser.feed("<tool_call>\n<function=get_current_weather>\n") == [
        ToolCallStart(index=0, id="call_0", name="get_current_weather")
    ]
    events = parser.feed("<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>")
    assert isinstance(events[-1], ToolCallEnd) and events[-1].arguments == {"city": "Paris"}
    two = call("get_weather", ("city", "Paris")) + "\n" + call("get_weather", ("city", "London")) + "\nAll done!"
    events = Parser(FMT).feed(two)
    assert [e.arguments for e in events if isinstance(e, ToolCallEnd)] == [{"city": "Paris"}, {"city": "London"}]


def test_string_values_stream_before_their_close() -> None:
    parser = Parser(FMT, tools=[WRITE_FILE])
    first = parser.feed("<tool_call>\n<function=write_file>\n<parameter=content>\nline one\n")
    assert "".join(getattr(e, "arguments", "") for e in first) == '{"content": "line one'
    # The newline waits: it is markup if `</parameter>` comes next.
    assert "".join(getattr(e, "arguments", "") for e in parser.feed("line two\n")) == "\\nline two"


# -- whitespace (one newline after `>` and before `</parameter>` is markup) ----------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("<parameter=s>\nv\n</parameter>", "v"),
        ("<parameter=s>v</parameter>", "v"),
        ("<parameter=s>\n\n  v  \n\n</parameter>", "\n  v  \n"),
        ("<parameter=s>\nline 1\n\nline 3\n</parameter>", "line 1\n\nline 3"),
        ("<parameter=s>\n</parameter>", ""),
        ("<parameter=s> v </parameter>", " v "),
    ],
)
def test_whitespace_in_values(written: str, value: str) -> None:
    output = f"<tool_call>\n<function=f>\n{written}\n</function>\n</tool_call>"
    assert calls(parsed(output, FMT, tools=[tool("f", s={"type": "string"})])) == [("f", {"s": value})]


def test_multiline_code_value() -> None:  # llama.cpp (Nemotron-3)
    code = 'def hello():\n    print("Hello, world!")\n\nhello()'
    assert calls(parsed(call("python", ("code", code)), FMT)) == [("python", {"code": code})]


# -- a missing closing tag ------------------------------------------------------------------


def test_missing_parameter_close_before_the_next_parameter() -> None:  # vLLM
    output = (
        "Let me check the weather for you:\n<tool_call>\n<function=get_current_weather>\n"
        "<parameter=city>\nDallas\n<parameter=state>\nTX\n</parameter>\n"
        "<parameter=unit>\nfahrenheit\n</parameter>\n</function>\n</tool_call>"
    )
    events = parsed(output, FMT, tools=TOOLS)
    assert calls(events) == [("get_current_weather", DALLAS_ARGS)]
    assert text(events) == "Let me check the weather for you:\n"


def test_missing_parameter_closes_inline() -> None:  # SGLang
    tools = [tool("get_current_weather", location={"type": "string"}, unit={"type": "string"}, days={"type": "integer"})]
    output = (
        "<function=get_current_weather>\n<parameter=location>Paris\n<parameter=unit>celsius\n"
        "<parameter=days>3\n</function>"
    )
    assert calls(parsed(output, FMT, tools=tools)) == [
        ("get_current_weather", {"location": "Paris", "unit": "celsius", "days": 3})
    ]


def test_missing_parameter_close_before_the_function_close() -> None:  # llama.cpp (Nemotron-3)
    code = 'def hello():\n    print("Hello, world!")\n\nhello()'
    output = f"<tool_call>\n<function=python>\n<parameter=code>\n{code}\n</function>\n</tool_call>"
    assert calls(parsed(output, FMT)) == [("python", {"code": code})]


def test_a_name_missing_its_bracket_is_invalid_and_does_not_take_the_next_call() -> None:
    # vLLM drops the broken call and keeps the next one; here it is reported, not executed.
    output = (
        "<tool_call>\n<function=bad_func_no_gt\n</function>\n</tool_call>\n"
        "<tool_call>\n<function=get_current_weather>\n<parameter=city>Dallas</parameter>\n"
        "<parameter=state>TX</parameter>\n</function>\n</tool_call>"
    )
    events = parsed(output, FMT, tools=TOOLS)
    assert calls(events) == [("get_current_weather", {"city": "Dallas", "state": "TX"})]
    [bad] = invalid(events)
    assert bad.kind == "malformed" and bad.raw == "<function=bad_func_no_gt\n</function>"


def test_a_name_running_into_the_next_tag_is_invalid() -> None:  # vLLM: must not crash
    output = "<tool_call>\n<function=get_current_weather\n<parameter=city>Dallas</parameter>\n</function>\n</tool_call>"
    events = parsed(output, FMT, tools=TOOLS)
    assert not calls(events)
    [bad] = invalid(events)
    assert bad.raw == "<function=get_current_weather\n<parameter=city>Dallas</parameter>\n</function>"


def test_unrendered_template_placeholders_are_not_a_call() -> None:  # vLLM
    output = (
        "<tool_call>\n<function={{ tc.name }}>\n<parameter={{ k }}>\n{{ v }}\n</parameter>\n</function>\n</tool_call>\n\n"
        + call("write_file", ("path", "out.txt"), ("content", "hello"))
    )
    events = parsed(output, FMT, tools=[WRITE_FILE])
    assert calls(events) == [("write_file", {"path": "out.txt", "content": "hello"})]
    assert [e.kind for e in invalid(events)] == ["malformed"]


# -- literals inside values ---------------------------------------------------------------


def _write_file(content: str) -> str:
    return call("write_file", ("path", "test.py"), ("content", content))


@pytest.mark.parametrize(
    "content",
    [
        # vLLM: every structural tag, quoted inside code.
        'char_deltas = [\n    "<tool_call>\\n",\n    "<parameter=query>\\n",\n    "\\n</parameter>\\n",\n    "</function>\\n",\n]',
        # vLLM: a closer on its own line, then a tag for a parameter write_file does not have.
        'TOOL_CALL_TEMPLATE = """\n</parameter>\n<parameter=new_string>\n#!/usr/bin/env python3\n</parameter>\n"""',
        # vLLM: a tag for a parameter of this tool that was already read.
        'doc = """\n<parameter=path>\nliteral/value\n</parameter>\n"""',
        # SGLang / MiniMax: a closer followed by prose.
        "This text contains </parameter> in it",
        "a </function> b </tool_call> c <function=x> d",
    ],
)
def test_tags_inside_a_value_stay_in_it(content: str) -> None:
    events = parsed(_write_file(content), FMT, tools=[WRITE_FILE])
    assert calls(events) == [("write_file", {"path": "test.py", "content": content})]
    assert not invalid(events)


def test_without_a_schema_a_tag_for_an_unseen_parameter_ends_the_value() -> None:
    # With no schema, any parameter the call has not had yet may start there (vLLM's rule needs the
    # schema to tell); with write_file's schema the same text stays in the value (above).
    content = 'TOOL_CALL_TEMPLATE = """\n</parameter>\n<parameter=new_string>\n#!/usr/bin/env python3\n</parameter>\n"""'
    [(_, arguments)] = calls(parsed(_write_file(content), FMT))
    assert list(arguments) == ["path", "content", "new_string"]


def test_a_whole_nested_call_inside_a_value_cuts_it() -> None:
    # vLLM keeps this value whole by counting nested <tool_call> depth over the finished text.  A
    # streaming parser has to decide at `</parameter>\n</function>`, which is followed by exactly
    # what really ends a call; the value is cut there and the rest is text: nothing is lost.
    nested = 'doc = """\n<tool_call>\n<function=write_file>\n<parameter=path>\nliteral/value.txt\n</parameter>\n<parameter=content>\nhello\n</parameter>\n</function>\n</tool_call>\n"""'
    events = parsed(_write_file(nested), FMT, tools=[WRITE_FILE])
    head, tail = nested.split("\n</parameter>\n</function>\n</tool_call>\n")
    assert calls(events) == [("write_file", {"path": "test.py", "content": head})]
    assert text(events) == "\n" + tail + "\n</parameter>\n</function>\n</tool_call>"


def test_a_nested_call_to_another_tool_inside_a_value_cuts_it_too() -> None:
    # vLLM keeps both calls and the second value whole; here (1) foo is not among the tools, so
    # its call is invalid, and (2) the value is cut where `</parameter>\n</function>` follows,
    # as above.  Nothing is lost: the rest is text.
    nested = 'template = """\n<tool_call>\n<function=foo>\n<parameter=bar>baz</parameter>\n</function>\n</tool_call>\n"""'
    first = "<tool_call>\n<function=foo>\n<parameter=bar>baz</parameter>\n</function>\n</tool_call>"
    output = first + "\n\n" + call("write_file", ("path", "fixture.py"), ("content", nested))
    events = parsed(output, FMT, tools=[WRITE_FILE])
    [foo] = invalid(events)
    assert (foo.kind, foo.arguments) == ("unknown_tool", {"bar": "baz"})
    assert calls(events) == [("write_file", {"path": "fixture.py", "content": nested.split("</parameter>")[0]})]
    assert text(events) == '\n\n\n"""\n</parameter>\n</function>\n</tool_call>'


def test_an_opener_followed_by_prose_is_text() -> None:
    # vLLM: an inline <tool_call>example</tool_call> in narrative text keeps the text around it.
    output = "I'll show: <tool_call>example</tool_call>. Now real:\n" + call("log", ("msg", "hi"))
    events = parsed(output, FMT)
    assert calls(events) == [("log", {"msg": "hi"})]
    assert text(events) == "I'll show: <tool_call>example</tool_call>. Now real:\n"
    assert text(parsed("Write <function=name> to call.", FMT)) == "Write <function=name> to call."


# -- typing by the schema -------------------------------------------------------------------


def test_values_typed_by_the_schema() -> None:  # vLLM
    tools = [
        tool(
            "test_types",
            int_param={"type": "integer"},
            float_param={"type": "number"},  # vLLM's test says "float", which is not a JSON Schema type
            bool_param={"type": "boolean"},
            str_param={"type": "string"},
            obj_param={"type": "object"},
        )
    ]
    output = call(
        "test_types",
        ("int_param", "42"),
        ("float_param", "3.14"),
        ("bool_param", "true"),
        ("str_param", "hello world"),
        ("obj_param", '{"key": "value"}'),
    )
    [(_, arguments)] = calls(parsed(output, FMT, tools=tools))
    assert arguments == {"int_param": 42, "float_param": 3.14, "bool_param": True, "str_param": "hello world", "obj_param": {"key": "value"}}
    # The same output with no tools: every value is the raw string.
    [(_, raw)] = calls(parsed(output, FMT))
    assert raw == {"int_param": "42", "float_param": "3.14", "bool_param": "true", "str_param": "hello world", "obj_param": '{"key": "value"}'}


def test_any_of_and_type_lists() -> None:  # vLLM
    nullable = [{"type": "null"}]
    tools = [
        tool(
            "test_anyof",
            anyof_int={"anyOf": [{"type": "integer"}, *nullable], "default": 5},
            anyof_str={"anyOf": [{"type": "string"}, *nullable]},
            anyof_array={"anyOf": [{"type": "array", "items": {"type": "string"}}, *nullable]},
            anyof_obj={"anyOf": [{"type": "object"}, *nullable]},
            type_as_array={"type": ["integer", "null"]},
            multi_non_null={"anyOf": [{"type": "string"}, {"type": "integer"}, *nullable]},
        )
    ]
    output = call(
        "test_anyof",
        ("anyof_int", "5"),
        ("anyof_str", "hello"),
        ("anyof_array", '["a", "b", "c"]'),
        ("anyof_obj", '{"key": "value"}'),
        ("type_as_array", "42"),
        ("multi_non_null", "some text"),
    )
    [(_, arguments)] = calls(parsed(output, FMT, tools=tools))
    assert arguments == {
        "anyof_int": 5,
        "anyof_str": "hello",
        "anyof_array": ["a", "b", "c"],
        "anyof_obj": {"key": "value"},
        "type_as_array": 42,
        "multi_non_null": "some text",
    }


@pytest.mark.parametrize(
    ("schema", "written", "value"),
    [
        ({"type": "string"}, "null", "null"),  # vLLM: a string stays a string
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "42", "42"),  # vLLM
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "null", None),  # vLLM
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "None", None),  # vLLM (Qwen3.5 writes None)
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "42", 42),  # vLLM
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "None", None),  # vLLM
        ({"type": "boolean"}, "True", True),  # SGLang: Python's str(True)
        ({"type": "boolean"}, "FALSE", False),
        ({"type": "number"}, "5.0", 5.0),  # kept as written: a float
        ({"type": "integer"}, "007", 7),
        ({"type": "string"}, "007", "007"),  # leading zeros stay in a string
        ({"type": "integer"}, "123456789012345678901234567890", 123456789012345678901234567890),
        ({"type": "integer"}, "1_000", Unfit("1_000")),  # not an integer: the raw text, never an invented value
        ({"type": "integer"}, "twelve", Unfit("twelve")),
        ({"type": "object"}, "{'key': 'value'}", {"key": "value"}),  # vLLM: a Python repr
        ({"type": "object"}, "\"{'key': 'value', 'n': 1}\"", {"key": "value", "n": 1}),  # vLLM: repr in a JSON string
        ({"type": "array"}, '["a", "b", 1, true]', ["a", "b", 1, True]),  # vLLM: JSON before Python
        ({"type": "array"}, "(1, 2)", [1, 2]),  # a tuple is an array
        ({"type": "array"}, "null", Unfit("null")),  # null is not allowed: the raw text
        ({}, "[1, 2]", [1, 2]),  # no type information: JSON if it parses
        ({}, "plain", "plain"),
    ],
)
def test_typing_rules(schema: dict[str, object], written: str, value: object) -> None:
    found = typed(call("f", ("v", written)), FMT, [tool("f", v=schema)])
    assert found == value and type(found) is type(value)


def test_sglang_todo_list_in_mixed_quotes() -> None:
    todos = {"type": "array", "items": {"type": "object", "properties": {"content": {"type": "string"}, "status": {"type": "string"}}}}
    output = (
        "Text prefix + complex schema tool call test\n\n<function=TodoWrite>\n<parameter=todos>\n[\n"
        ' {"content": "Buy a new car", "status": \'pending\'},\n {"content": "Buy a new house", "status": "completed"}\n'
        "]\n</parameter>\n</function>\n\n"
    )
    [(_, arguments)] = calls(parsed(output, FMT, tools=[tool("TodoWrite", todos=todos)]))
    assert arguments == {
        "todos": [{"content": "Buy a new car", "status": "pending"}, {"content": "Buy a new house", "status": "completed"}]
    }


def test_dimensions_object_over_two_lines() -> None:  # vLLM
    output = call("calculate_area", ("shape", "rectangle"), ("dimensions", '{"width": 10, \n "height": 20}'), ("precision", "2"))
    assert calls(parsed(output, FMT, tools=TOOLS)) == [
        ("calculate_area", {"shape": "rectangle", "dimensions": {"width": 10, "height": 20}, "precision": 2})
    ]


def test_unknown_tool_with_tools_given() -> None:
    events = parsed(call("delete_everything", ("really", "yes")), FMT, tools=TOOLS)
    [bad] = invalid(events)
    assert (bad.kind, bad.name, bad.arguments) == ("unknown_tool", "delete_everything", {"really": "yes"})
    assert not calls(events)


# -- truncated output -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cut",
    [
        "<tool_call>",  # nothing after the opener
        "<tool_call>\n<function=get_cur",  # inside the name
        "<tool_call>\n<function=get_current_weather>\n<parameter=ci",  # inside a key
        "<tool_call>\n<function=get_current_weather>\n<parameter=city>\nDal",  # inside a value
        "<tool_call>\n<function=get_current_weather>\n<parameter=city>\nDallas\n</parameter>\n</func",  # in the closer
    ],
)
def test_output_cut_off_inside_a_call(cut: str) -> None:
    cut_off("Checking. ", cut, FMT, tools=TOOLS)


def test_a_missing_block_close_at_the_end_loses_nothing() -> None:
    events = parsed(DALLAS.removesuffix("</tool_call>"), FMT, tools=TOOLS)
    assert calls(events) == [("get_current_weather", DALLAS_ARGS)] and not invalid(events)


def test_a_cut_off_opener_at_the_end_is_text() -> None:
    assert text(parsed("Let me see <tool_ca", FMT)) == "Let me see <tool_ca"


# -- reasoning ------------------------------------------------------------------------------


def test_reasoning_then_a_call() -> None:  # llama.cpp (Nemotron-3), with the template's pre-opened <think>
    output = "I'm\nthinking\n</think>\n" + call("special_function", ("arg1", "1"))
    events = parsed(output, FMT, tools=[tool("special_function", arg1={"type": "integer"})], in_reasoning=True)
    assert reasoning(events) == "I'm\nthinking\n"
    assert calls(events) == [("special_function", {"arg1": 1})]
    message = parse(output, FMT, in_reasoning=True)
    assert message.reasoning == "I'm\nthinking" and message.content is None


def test_a_call_opened_inside_reasoning_ends_it() -> None:
    # Qwen3.5 opens <tool_call> before </think>; the late </think> is markup.
    output = "<think>I need the weather." + DALLAS + "</think>Done."
    events = parsed(output, FMT, tools=TOOLS)
    assert reasoning(events) == "I need the weather."
    assert calls(events) == [("get_current_weather", DALLAS_ARGS)]
    assert text(events) == "Done."


def test_a_leading_think_is_dropped_when_the_prompt_opened_it() -> None:
    events = parsed("<think>\nhmm\n</think>\n\nHello, world!\nWhat's up?", FMT, in_reasoning=True)
    assert reasoning(events) == "\nhmm\n" and text(events) == "\n\nHello, world!\nWhat's up?"


def test_a_tag_mentioned_in_reasoning_stays_reasoning() -> None:
    events = parsed("<think>Use <tool_call> blocks.</think>ok", FMT)
    assert reasoning(events) == "Use <tool_call> blocks." and text(events) == "ok"


def test_invalid_calls_keep_their_index_order() -> None:
    output = call("a") + call("delete") + call("a")
    events = parsed(output, FMT, tools=[tool("a")])
    kinds = [(type(e).__name__, e.index) for e in events if isinstance(e, (ToolCallEnd, InvalidToolCall))]
    assert kinds == [("ToolCallEnd", 0), ("InvalidToolCall", 1), ("ToolCallEnd", 2)]
