"""hy_v3 (Tencent Hy3, HY V3): calls in one <tool_calls> block, the name ended by <tool_sep>.

Inputs and expected outcomes marked vLLM are that peer's public test cases
(its HY V3 parser).  Cases marked HY V4 come from vLLM's tests of the V4
variant, whose tags carry a tokenizer suffix (`<tool_call:opensource>`) and
no <tool_sep>; they are written here with this grammar's tags.
"""

from __future__ import annotations

import pytest

from streamparse import FormatError, Parser, ToolCallStart, UsageError, load_format, parse
from streamparse.core.formats import format_for_model

from .summary import Unfit, calls, invalid, parsed, reasoning, text, tool, typed

FMT = "hy_v3"
TOOLS = [tool("get_current_date"), tool("get_weather", city={"type": "string"}, date={"type": "string"}, days={"type": "integer"})]
DATE = "<tool_calls>\n<tool_call>get_current_date<tool_sep>\n</tool_call>\n</tool_calls>"
BEIJING = {"city": "Beijing", "date": "2026-03-30"}


def args(**arguments: str) -> str:
    return "".join(f"<arg_key>{k}</arg_key><arg_value>{v}</arg_value>" for k, v in arguments.items())


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("This is a plain response.", [], "This is a plain response."),  # vLLM
        ("<tool_calls><tool_call>get_current_date<tool_sep></tool_call></tool_calls>", [("get_current_date", {})], None),  # vLLM
        (DATE, [("get_current_date", {})], None),  # vLLM
        (f"<tool_calls><tool_call>get_weather<tool_sep>{args(**BEIJING)}</tool_call></tool_calls>", [("get_weather", BEIJING)], None),  # vLLM
        (
            "<tool_calls>\n<tool_call>get_weather<tool_sep>\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>\n"
            "<arg_key>date</arg_key>\n<arg_value>2026-03-30</arg_value>\n</tool_call>\n</tool_calls>",  # vLLM
            [("get_weather", BEIJING)],
            None,
        ),
        ("Checking." + DATE, [("get_current_date", {})], "Checking."),  # vLLM
        (
            "<tool_calls>\n<tool_call>get_weather<tool_sep>\n" + args(**BEIJING) + "\n</tool_call>\n"
            "<tool_call>get_weather<tool_sep>\n" + args(city="Hangzhou", date="2026-03-30") + "\n</tool_call>\n</tool_calls>",  # vLLM
            [("get_weather", BEIJING), ("get_weather", {"city": "Hangzhou", "date": "2026-03-30"})],
            None,
        ),
        (
            "sure!<tool_calls><tool_call>get_weather<tool_sep>" + args(city="Beijing", days="3") + "</tool_call></tool_calls>",  # HY V4
            [("get_weather", {"city": "Beijing", "days": 3})],
            "sure!",
        ),
        (
            "<tool_calls><tool_call>get_weather" + args(city="北京") + "</tool_call><tool_call>get_current_date</tool_call></tool_calls>",  # HY V4: no <tool_sep>
            [("get_weather", {"city": "北京"}), ("get_current_date", {})],
            None,
        ),
        (
            # HY V4's strict mode returns this as content; a missing outer close loses nothing here.
            "<tool_calls><tool_call>get_current_date<tool_sep></tool_call>",
            [("get_current_date", {})],
            None,
        ),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, object]]], content: str | None) -> None:
    assert calls(parsed(output, FMT, tools=TOOLS)) == expected
    assert parse(output, FMT, tools=TOOLS).content == content


def test_streaming_in_tag_sized_pieces() -> None:  # vLLM
    parser = Parser(FMT, tools=TOOLS)
    pieces = ["Checking.", "<tool_calls>", "\n<tool_call>", "get_weather", "<tool_sep>", "\n<arg_key>city</arg_key>",
              "\n<arg_value>Beijing</arg_value>", "\n</tool_call>", "\n</tool_calls>"]
    events = [e for piece in pieces for e in parser.feed(piece)] + parser.close()
    assert text(events) == "Checking." and calls(events) == [("get_weather", {"city": "Beijing"})]
    # The name is announced with <tool_sep>, not before.
    assert [e for e in Parser(FMT).feed("<tool_calls>\n<tool_call>get_weather") if isinstance(e, ToolCallStart)] == []


TYPED = tool(
    "typed",
    s={"type": "string"},
    i={"type": "integer"},
    b={"type": "boolean"},
    n={"type": "number"},
    arr={"type": "array"},
    obj={"type": "object"},
    union={"type": ["string", "object"]},
    any_of={"anyOf": [{"type": "string"}, {"type": "array"}]},
    one_of={"oneOf": [{"type": "number"}]},
    untyped={},
)


@pytest.mark.parametrize(
    ("key", "written", "value"),
    [  # HY V4's typing cases
        ("s", "Beijing", "Beijing"), ("s", "", ""), ("i", "3", 3), ("i", "-7", -7), ("b", "true", True), ("b", "True", True),
        ("b", "false", False), ("n", "5", 5), ("n", "5.5", 5.5), ("n", "1e3", 1000.0), ("arr", '["a", "b"]', ["a", "b"]),
        ("obj", '{"k": 1}', {"k": 1}), ("union", '{"a": 1}', {"a": 1}), ("union", "plain", "plain"), ("any_of", '["x"]', ["x"]), ("any_of", "plain", "plain"),
        ("one_of", "2.5", 2.5), ("untyped", "v", "v"), ("nope", "v", "v"),
        # HY V4 keeps these as text; here too, and the schema check reports the call.
        ("i", "notanint", Unfit("notanint")), ("b", "yes", Unfit("yes")), ("arr", "notjson", Unfit("notjson")),
    ],
)
def test_typing_rules(key: str, written: str, value: object) -> None:
    output = f"<tool_calls><tool_call>typed<tool_sep>{args(**{key: written})}</tool_call></tool_calls>"
    found = typed(output, FMT, [TYPED], key)
    assert found == value and type(found) is type(value)


@pytest.mark.parametrize(
    "name,written,value", [("int", "5", 5), ("uint32", "7", 7), ("list", "[1, 2]", [1, 2]), ("float", "2", 2)]
)
def test_type_names_json_schema_lacks_are_read_by_alias(name: str, written: str, value: object) -> None:
    # HY V4 (and vLLM's Qwen3-Coder test, with "float") type such values by alias; so do the typing
    # rules, and the schema check reads the alias as JSON Schema's own type.
    output = f"<tool_calls><tool_call>typed<tool_sep>{args(v=written)}</tool_call></tool_calls>"
    assert typed(output, FMT, [tool("typed", v={"type": name})], "v") == value


def test_without_tools_values_are_strings_and_with_tools_an_unknown_tool_is_invalid() -> None:  # HY V4
    output = f"<tool_calls><tool_call>mystery<tool_sep>{args(x='1')}</tool_call></tool_calls>"
    assert calls(parsed(output, FMT)) == [("mystery", {"x": "1"})]
    # HY V4 passes a call to a tool it was not given on, values as text; here it is reported.
    [bad] = invalid(parsed(output, FMT, tools=TOOLS))
    assert (bad.kind, bad.name, bad.arguments) == ("unknown_tool", "mystery", {"x": "1"})


@pytest.mark.parametrize(
    "output",
    [  # HY V4's malformed shapes: none is a call
        "<tool_calls><tool_call>get_weather<tool_sep>" + args(city="X") + "</tool_calls>",  # no </tool_call>
        "<tool_calls><tool_call><tool_sep></tool_call></tool_calls>",  # an empty name
        "<tool_calls><tool_call>get_weather<tool_sep>" + args(city="X") + "JUNK</tool_call></tool_calls>",
        "<tool_calls><tool_call>get_weather<tool_sep><arg_key>city</arg_key></tool_call></tool_calls>",  # a key with no value
    ],
)
def test_malformed_blocks_are_reported_not_called(output: str) -> None:
    events = parsed(output, FMT, tools=TOOLS)
    assert not calls(events) and len(invalid(events)) == 1 and text(events) == ""


def test_end_before_start_is_text_and_an_opener_at_the_end_a_call_cut_off() -> None:  # HY V4
    output = "</tool_calls><tool_call>get_current_date</tool_call><tool_calls>"
    events = parsed(output, FMT, tools=TOOLS)
    assert text(events) == "</tool_calls><tool_call>get_current_date</tool_call>" and not calls(events)
    assert [e.kind for e in invalid(events)] == ["truncated"]


def test_values_are_verbatim_with_tags_inside() -> None:
    value = "  a </arg_value> b </tool_call> c\n"
    output = f"<tool_calls><tool_call>write<tool_sep>{args(text=value)}</tool_call></tool_calls>"
    assert calls(parsed(output, FMT)) == [("write", {"text": value})]


def test_reasoning_and_a_block_inside_it() -> None:
    events = parsed("<think>Check the date." + DATE + "</think>Today.", FMT, tools=TOOLS)
    assert reasoning(events) == "Check the date." and text(events) == "Today."
    assert calls(events) == [("get_current_date", {})]


def test_model_names_and_special_tokens() -> None:
    assert format_for_model("tencent/Hy3-preview") == FMT
    with pytest.raises(FormatError):  # Hunyuan-A13B writes JSON calls in <tool_calls>: not this format
        format_for_model("tencent/Hunyuan-A13B-Instruct")
    fmt = load_format(FMT)
    assert (fmt.server_parser, fmt.special_tokens) == ("hy_v3", "advised")
