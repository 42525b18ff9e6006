"""glm45 (GLM-4.5, 4.5-Air, 4.6): the name after <tool_call>, then <arg_key>/<arg_value> pairs.

The glm45 and glm47 grammars read both spellings (4.5's line breaks and 4.7's
none), so the cases here run on both; test_glm47.py has what is 4.7's own.
Inputs and expected outcomes marked vLLM or SGLang are those peers' public
test cases (vLLM's GLM-4 MoE parser, SGLang's GLM-4.7 detector); where this
project decides otherwise, the test says why.
"""

from __future__ import annotations

import pytest

from streamparse import Parser, ToolCallDelta, ToolCallStart, parse

from .summary import Unfit, calls, cut_off, invalid, parsed, reasoning, text, tool, typed

WEATHER = tool("get_weather", city={"type": "string"}, date={"type": "string"})


@pytest.fixture(params=["glm45", "glm47"])
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def glm(name: str, *pairs: tuple[str, str], indent: str = "") -> str:
    """A call as GLM-4.5 writes it (vLLM's cases also indent the tags)."""
    body = "".join(f"{indent}<arg_key>{k}</arg_key>\n{indent}<arg_value>{v}</arg_value>\n" for k, v in pairs)
    return f"<tool_call>{name}\n{body}{indent}</tool_call>"


DALLAS = (("city", "Dallas"), ("state", "TX"), ("unit", "fahrenheit"))


def test_plain_text(fmt: str) -> None:  # vLLM
    assert text(parsed("This is a test", fmt)) == "This is a test"


def test_one_call_with_indented_tags(fmt: str) -> None:  # vLLM
    events = parsed(glm("get_current_weather", *DALLAS, indent="    "), fmt)
    assert calls(events) == [("get_current_weather", dict(DALLAS))] and text(events) == ""


def test_two_calls_and_text_around_them(fmt: str) -> None:  # vLLM
    second = glm("get_current_weather", ("city", "Orlando"), ("state", "FL"), ("unit", "fahrenheit"), indent="    ")
    output = "I'll help you check the weather. " + glm("get_current_weather", *DALLAS, indent="    ") + "\n    " + second
    events = parsed(output, fmt)
    assert [args["city"] for _, args in calls(events)] == ["Dallas", "Orlando"]
    assert text(events) == "I'll help you check the weather. \n    "
    assert parse(output, fmt).content == "I'll help you check the weather."


def test_text_between_calls_is_kept(fmt: str) -> None:
    # vLLM returns only the text before the first call as content; nothing the model wrote is dropped here.
    output = (
        "I will help you get the weather info.\n\n"
        + glm("get_weather", ("city", "Beijing"), ("date", "2025-08-01"))
        + "\n\nmeaningwhile, I will also check the weather in Shanghai.\n\n"
        + glm("get_weather", ("city", "Shanghai"), ("date", "2025-08-01"))
    )
    events = parsed(output, fmt, tools=[WEATHER])
    assert [args["city"] for _, args in calls(events)] == ["Beijing", "Shanghai"]
    assert text(events) == "I will help you get the weather info.\n\n\n\nmeaningwhile, I will also check the weather in Shanghai.\n\n"


@pytest.mark.parametrize("written", ["<tool_call>get_time\n</tool_call>", "<tool_call>get_time</tool_call>"])
def test_zero_argument_call(fmt: str, written: str) -> None:  # vLLM, SGLang
    events = parsed(written, fmt)
    assert calls(events) == [("get_time", {})]
    assert [e.arguments for e in events if isinstance(e, ToolCallDelta)] == ["{}"]


def test_the_name_ends_at_the_first_tag_without_a_line_break(fmt: str) -> None:  # vLLM (PR #42979)
    output = "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Seattle</arg_value></tool_call>"
    assert calls(parsed(output, fmt, tools=[WEATHER])) == [("get_weather", {"city": "Seattle"})]


def test_the_name_is_announced_only_once_complete(fmt: str) -> None:  # vLLM (GLM-4.7), SGLang
    parser = Parser(fmt)
    assert not any(isinstance(e, ToolCallStart) for e in parser.feed("I'll create a task.<tool_call>create_ta"))
    events = parser.feed("sk<arg_key>title</arg_key><arg_value>Go to Bei")
    assert [e.name for e in events if isinstance(e, ToolCallStart)] == ["create_task"]
    events += parser.feed("jing</arg_value><arg_key>location</arg_key><arg_value>San Fran")
    events += parser.feed("cisco</arg_value></tool_call>") + parser.close()
    joined = "".join(e.arguments for e in events if isinstance(e, ToolCallDelta))
    assert joined == '{"title": "Go to Beijing", "location": "San Francisco"}'


def test_string_values_stream_as_they_arrive(fmt: str) -> None:  # vLLM #32829: long code values
    code = "def bubble_sort(arr):\n    n = len(arr)\n" * 20
    parser = Parser(fmt, tools=[tool("write_to_file", file_path={"type": "string"}, content={"type": "string"})])
    parser.feed("<tool_call>write_to_file\n<arg_key>file_path</arg_key><arg_value>/tmp/b.py</arg_value><arg_key>content</arg_key><arg_value>")
    pieces = [parser.feed(line + "\n") for line in code.split("\n")]
    assert sum(1 for events in pieces if any(isinstance(e, ToolCallDelta) for e in events)) >= 10


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('Hello "world"\nNew line', 'Hello "world"\nNew line'),  # vLLM: escaped into JSON
        ("    indented code    ", "    indented code    "),  # vLLM: values are verbatim
        ("\n  two\nlines\n", "\n  two\nlines\n"),
        ("你好世界", "你好世界"),  # vLLM (PR #30920)
        ("🎉", "🎉"),
        ("a </arg_value> b", "a </arg_value> b"),  # a closer followed by prose is data
        ("<arg_key>x</arg_key> <tool_call>", "<arg_key>x</arg_key> <tool_call>"),
        ("", ""),
    ],
)
def test_string_values_are_kept_verbatim(fmt: str, value: str, expected: str) -> None:
    output = glm("send_message", ("message", value))
    [(_, arguments)] = calls(parsed(output, fmt, tools=[tool("send_message", message={"type": "string"})]))
    assert arguments == {"message": expected}


def test_a_closer_then_a_key_the_call_has_already_stays_in_the_value(fmt: str) -> None:
    value = "x</arg_value><arg_key>path</arg_key><arg_value>y"
    output = glm("write", ("path", "a.txt"), ("content", value))
    assert calls(parsed(output, fmt)) == [("write", {"path": "a.txt", "content": value})]


def test_a_closer_then_a_broken_key_is_data(fmt: str) -> None:
    # vLLM only checks this does not crash.  `</arg_value>` followed by a key tag that never closes is
    # not markup (nothing well-formed follows it), so the value runs on to the next real closer:
    # nothing is lost, and the call's schema check can flag the odd value.
    output = (
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Seattle</arg_value>\n"
        "<arg_key>incomplete_arg\n<arg_value>value</arg_value>\n</tool_call>"
    )
    assert calls(parsed(output, fmt)) == [
        ("get_weather", {"city": "Seattle</arg_value>\n<arg_key>incomplete_arg\n<arg_value>value"})
    ]


# -- typing ---------------------------------------------------------------------------------


def test_values_without_a_schema_stay_strings(fmt: str) -> None:
    # Older vLLM and SGLang GLM-4.5 json.loads schema-less values (42, 3.14, true); a value's type
    # comes from the tool's schema only, so with none given they are the raw strings.
    output = glm("calculate", ("operation", "add"), ("a", "42"), ("b", "3.14"), ("enabled", "true"))
    assert calls(parsed(output, fmt)) == [("calculate", {"operation": "add", "a": "42", "b": "3.14", "enabled": "true"})]
    typed = tool("calculate", operation={"type": "string"}, a={"type": "number"}, b={"type": "number"}, enabled={"type": "boolean"})
    [(_, arguments)] = calls(parsed(output, fmt, tools=[typed]))
    assert arguments == {"operation": "add", "a": 42, "b": 3.14, "enabled": True}
    assert type(arguments["a"]) is int and type(arguments["b"]) is float


@pytest.mark.parametrize(
    ("schema", "written", "value"),
    [
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "sk-12345678", "sk-12345678"),  # vLLM #40195
        ({"type": ["string", "null"]}, "test message", "test message"),  # vLLM
        ({"type": ["string", "null"]}, "null", None),
        ({"type": "boolean"}, "true", True),  # vLLM
        ({"type": "boolean"}, "True", True),  # vLLM: Python's spelling
        ({"type": "integer"}, "0042", 42),
        ({"type": "string"}, "0042", "0042"),
        ({"type": "number"}, "1e3", 1000.0),
        ({"type": "object"}, '{"a": {"b": [1, null]}}', {"a": {"b": [1, None]}}),
        ({"type": "object"}, "{'a': None, 'b': True}", {"a": None, "b": True}),
        # SGLang: backslashes in a JSON array are JSON's own escapes.
        ({"type": "array"}, '[{"task": "Check file at C:\\\\Users\\\\test.txt"}]', [{"task": "Check file at C:\\Users\\test.txt"}]),
        ({"type": "array"}, '[{"task": "Print \\\\n to see newline"}]', [{"task": "Print \\n to see newline"}]),
        # SGLang unescapes a JSON array written with escaped quotes and no outer quotes; that is
        # not JSON, a Python literal or a JSON string, so it is kept as the raw text.
        ({"type": "array"}, '[{\\"id\\": \\"1\\"}]', Unfit('[{\\"id\\": \\"1\\"}]')),
    ],
)
def test_typing_rules(fmt: str, schema: dict[str, object], written: str, value: object) -> None:
    found = typed(glm("f", ("v", written)), fmt, [tool("f", v=schema)])
    assert found == value and type(found) is type(value)


def test_sglang_todo_list(fmt: str) -> None:
    todos = '[{"id": "1", "task": "Check for hard-coded issues in the backend code", "status": "in_progress"}, {"id": "2", "task": "Generate a report", "status": "pending"}]'
    output = f"<tool_call>todo_write<arg_key>todos</arg_key><arg_value>{todos}</arg_value>\n</tool_call>"
    [(_, arguments)] = calls(parsed(output, fmt, tools=[tool("todo_write", todos={"type": "array"})]))
    assert [t["id"] for t in arguments["todos"]] == ["1", "2"]


def test_unknown_tool_with_tools_given(fmt: str) -> None:
    # SGLang drops a call to a tool not offered; here it is reported, with what it asked for.
    events = parsed("<tool_call>invalid_func<arg_key>city</arg_key><arg_value>Beijing</arg_value></tool_call>", fmt, tools=[WEATHER])
    [bad] = invalid(events)
    assert (bad.kind, bad.name, bad.arguments) == ("unknown_tool", "invalid_func", {"city": "Beijing"})
    assert not calls(events)


# -- text that is not a call, truncation -----------------------------------------------------


@pytest.mark.parametrize(
    "output",
    [
        "Use <tool_call> tags to call tools.",
        "<tool_call></tool_call>",  # vLLM: must not hang
        "Names go in <tool_call>NAME here</tool_call>.",
        "I will help you get the weather.<tool_c",
    ],
)
def test_an_opener_not_followed_by_a_call_is_text(fmt: str, output: str) -> None:
    assert text(parsed(output, fmt)) == output


@pytest.mark.parametrize(
    "cut",
    [
        "<tool_call>   ",  # vLLM returns this as content; an opener at the end is a call cut off
        "<tool_call>get_wea",
        "<tool_call>get_weather\n<arg_key>ci",
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>\n<arg_key>date</arg_key>\n<arg_value>2025-08-01</arg_value>",
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>\n</tool_",
    ],
)
def test_output_cut_off_inside_a_call(fmt: str, cut: str) -> None:
    # vLLM returns an unclosed call as content; it is reported as a call cut off, with its text.
    assert cut_off("I will help you. ", cut, fmt, tools=[WEATHER]).raw == cut


# -- reasoning ------------------------------------------------------------------------------


def test_reasoning_before_a_call(fmt: str) -> None:  # vLLM (its tool parser leaves <think> in content)
    output = "<think>I want to get the weather.</think>\n\nI will help you get the weather.\n" + glm(
        "get_weather", ("city", "Beijing"), ("date", "2025-08-01")
    )
    events = parsed(output, fmt, tools=[WEATHER])
    assert reasoning(events) == "I want to get the weather."
    assert text(events) == "\n\nI will help you get the weather.\n"
    assert calls(events) == [("get_weather", {"city": "Beijing", "date": "2025-08-01"})]


def test_a_call_inside_reasoning_ends_it(fmt: str) -> None:
    output = "<think>Let me look." + glm("get_weather", ("city", "Paris")) + "</think>It is sunny."
    events = parsed(output, fmt)
    assert reasoning(events) == "Let me look." and text(events) == "It is sunny."
    assert calls(events) == [("get_weather", {"city": "Paris"})]
