"""pythonic (Llama 3.2 1B/3B, Llama 4, LFM2): a Python list of calls with keyword arguments.

The list counts at the start of the reply or after Llama 4's <|python_start|>;
text after its closing bracket is content.  Inputs and expected outcomes
marked vLLM or SGLang are those peers' public test cases (vLLM's pythonic and
Llama 4 pythonic parser tests, SGLang's PythonicDetector tests); where this
project decides otherwise, the test says why.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamparse import Parser, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart

from .cuts import every_cut
from .summary import calls, invalid, parsed, text, tool

FMT = "pythonic"
START, END = "<|python_start|>", "<|python_end|>"
SIMPLE = "get_weather(city='San Francisco', metric='celsius')"
SIMPLE_CALL = ("get_weather", {"city": "San Francisco", "metric": "celsius"})
MORE = "register_user(name='John Doe', age=37, address={'city': 'San Francisco', 'state': 'CA'}, role=None, passed_test=True, aliases=['John', 'Johnny'])"
MORE_CALL = (
    "register_user",
    {"name": "John Doe", "age": 37, "address": {"city": "San Francisco", "state": "CA"}, "role": None, "passed_test": True, "aliases": ["John", "Johnny"]},
)
LA = ("get_weather", {"city": "LA", "metric": "C"})


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("How can I help you today?", [], "How can I help you today?"),  # vLLM
        (f"[{SIMPLE}]", [SIMPLE_CALL], ""),  # vLLM
        (f"[{MORE}]", [MORE_CALL], ""),  # vLLM
        ("[get_weather()]", [("get_weather", {})], ""),  # vLLM
        ("[do_something_cool(additional_data={})]", [("do_something_cool", {"additional_data": {}})], ""),  # vLLM
        ("[do_something_cool(steps=[])]", [("do_something_cool", {"steps": []})], ""),  # vLLM
        (
            r"""[get_weather(city='Martha\'s Vineyard', metric='\"cool units\"')]""",  # vLLM
            [("get_weather", {"city": "Martha's Vineyard", "metric": '"cool units"'})],
            "",
        ),
        (f"[{SIMPLE}, {MORE}]", [SIMPLE_CALL, MORE_CALL], ""),  # vLLM
        # vLLM (Llama 4): compact lists, and the <|python_start|> wrapper (its end optional).
        ("[get_weather(city='LA',metric='C'),register_user(name='Doe',age=9)]", [LA, ("register_user", {"name": "Doe", "age": 9})], ""),
        (f"{START}[get_weather(city='LA', metric='C')]{END}", [LA], ""),
        (f"{START}[get_weather(city='LA', metric='C'),register_user(name='Doe', age=9)]", [LA, ("register_user", {"name": "Doe", "age": 9})], ""),
        ("[search(query='python programming')]", [("search", {"query": "python programming"})], ""),  # SGLang
        ("[get_weather(location='New York', unit='celsius', data=[1, 2, 3])]", [("get_weather", {"location": "New York", "unit": "celsius", "data": [1, 2, 3]})], ""),  # SGLang
        (
            "[search(query='test', config={'options': [1, 2], 'nested': {'key': 'value'}})]",  # SGLang
            [("search", {"query": "test", "config": {"options": [1, 2], "nested": {"key": "value"}}})],
            "",
        ),
        (
            "[get_weather(location='Paris', data=[10, 20]), search(query='test', filters=['a', 'b'])]",  # SGLang
            [("get_weather", {"location": "Paris", "data": [10, 20]}), ("search", {"query": "test", "filters": ["a", "b"]})],
            "",
        ),
        ("[get_weather(location='Tokyo')] Here's the forecast:", [("get_weather", {"location": "Tokyo"})], " Here's the forecast:"),  # SGLang
        (
            # SGLang: the wrapper mid-reply, text on both sides.
            f"User wants to get the weather in Mars. {START}[get_weather(location='Mars', unit='celsius')]{END} In this way we will get the weather in Mars.",
            [("get_weather", {"location": "Mars", "unit": "celsius"})],
            "User wants to get the weather in Mars.  In this way we will get the weather in Mars.",
        ),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, Any]]], content: str) -> None:
    events = parsed(output, FMT)
    assert calls(events) == expected and text(events) == content and not invalid(events)


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        # SGLang reads a list anywhere in prose; here only at the reply's start or after the wrapper
        # (vLLM needs the reply to start with it), so a list later in prose is text.
        ("Here's a tool call: [get_weather(location='New York', unit='celsius')]", [], "Here's a tool call: [get_weather(location='New York', unit='celsius')]"),
        ("This is some text before [get_weather(location='London')]", [], "This is some text before [get_weather(location='London')]"),
        ("[get_weather(location='Berlin')] and [search(query='restaurants')]", [("get_weather", {"location": "Berlin"})], " and [search(query='restaurants')]"),
        ("Let's try this: [", [], "Let's try this: ["),
        # A list of other things is no call list.
        ("[1, 2, 3] are numbers", [], "[1, 2, 3] are numbers"),
    ],
)
def test_lists_in_prose_are_text(output: str, expected: list[tuple[str, dict[str, Any]]], content: str) -> None:
    events = parsed(output, FMT)
    assert calls(events) == expected and text(events) == content and not invalid(events)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("a=-1, b=-2.5, c=+3, d=-0.0", {"a": -1, "b": -2.5, "c": 3, "d": -0.0}),  # negative numbers: vLLM #15462, #44777
        ("a=True, b=False, c=None", {"a": True, "b": False, "c": None}),
        ("a=true, b=false, c=null", {"a": True, "b": False, "c": None}),  # JSON spellings (newer vLLM)
        ("a=(1, 2), b=[(3,)], c={'k': (None,)}", {"a": [1, 2], "b": [[3]], "c": {"k": [None]}}),  # tuples are arrays
        ("s='it\\'s', t=\"two \\\"q\\\"\", u='\\n\\u00e9'", {"s": "it's", "t": 'two "q"', "u": "\né"}),
        ("s='a)b]c,d(e[f'", {"s": "a)b]c,d(e[f"}),  # brackets inside strings
        ("big=123456789012345678901234567890", {"big": 123456789012345678901234567890}),
        ("f=1e5, g=1_000, h=0x10", {"f": 100000.0, "g": 1000, "h": 16}),  # Python's own literals
        ("nested={'a': [{'b': {'c': [1, {'d': 'e'}]}}]}", {"nested": {"a": [{"b": {"c": [1, {"d": "e"}]}}]}}),
    ],
)
def test_python_value_literals(arguments: str, expected: dict[str, Any]) -> None:
    assert calls(parsed(f"[f({arguments})]", FMT)) == [("f", expected)]


def test_dotted_names() -> None:  # newer vLLM
    assert calls(parsed("[math.sqrt(x=4)]", FMT)) == [("math.sqrt", {"x": 4})]


@pytest.mark.parametrize(
    ("output", "bad"),
    [
        # vLLM (one unconvertible sibling no longer drops the others): bytes are no JSON.
        (f"[bad(x=b'z'), {SIMPLE}]", "bad(x=b'z')"),
        # vLLM: 1e999 overflows to inf, which is no JSON number.
        (f"[calc(x=1e999), {SIMPLE}]", "calc(x=1e999)"),
        # Positional arguments (SGLang silently gives {}).
        (f"[f(1, 2), {SIMPLE}]", "f(1, 2)"),
        (f"[f(a=1, 2), {SIMPLE}]", "f(a=1, 2)"),
    ],
)
def test_a_bad_call_is_invalid_and_its_siblings_count(output: str, bad: str) -> None:
    events = parsed(output, FMT)
    assert calls(events) == [SIMPLE_CALL]
    [invalid_call] = invalid(events)
    assert invalid_call.kind == "malformed" and invalid_call.raw.endswith(bad)


def test_an_unclosed_quote_makes_the_rest_of_the_list_one_invalid_call() -> None:
    # vLLM (non-streaming) salvages the good call before a broken quote: so does this parser, which
    # reads the calls one by one; the broken one and what follows it are reported with their text.
    output = f"[{SIMPLE}, f(a='x 'y', b='z')]"
    events = parsed(output, FMT)
    assert calls(events) == [SIMPLE_CALL]
    assert [e.name for e in invalid(events)] == ["f"] and invalid(events)[0].raw.endswith("f(a='x 'y', b='z')]")


@pytest.mark.parametrize("output", ["[f(a='x 'y' 'z), g(b='p 'q' 'r)]", "[foo(x=1])]"])
def test_unparsable_lists_make_no_call(output: str) -> None:
    # vLLM returns the whole text as content; here its calls are invalid, with their text.
    events = parsed(output, FMT)
    assert not calls(events) and invalid(events) and text(events) == ""


def test_each_call_streams_as_it_completes() -> None:  # vLLM (large steps), SGLang (partial calls)
    parser = Parser(FMT)
    assert parser.feed("[get_weather(city='San") == [ToolCallStart(index=0, id="call_0", name="get_weather")]
    assert parser.feed(" Francisco', metric='celsius'), get_weather(), ") == [
        ToolCallDelta(index=0, arguments='{"city": "San Francisco"'),
        ToolCallDelta(index=0, arguments=', "metric": "celsius"'),
        ToolCallDelta(index=0, arguments="}"),
        ToolCallEnd(index=0, id="call_0", name="get_weather", arguments={"city": "San Francisco", "metric": "celsius"}),
        ToolCallStart(index=1, id="call_1", name="get_weather"),
        ToolCallDelta(index=1, arguments="{}"),
        ToolCallEnd(index=1, id="call_1", name="get_weather", arguments={}),
    ]
    assert parser.feed("do_something_cool(steps=[])]") == [
        ToolCallStart(index=2, id="call_2", name="do_something_cool"),
        ToolCallDelta(index=2, arguments='{"steps": []'),
        ToolCallDelta(index=2, arguments="}"),
        ToolCallEnd(index=2, id="call_2", name="do_something_cool", arguments={"steps": []}),
    ]
    assert parser.close() == []


def test_split_wrapper_literals() -> None:  # SGLang
    parser = Parser(FMT)
    events = [e for chunk in ["Here's a call: ", "<|python_", "start|>[get_weather(location=", "'Tokyo', data=[1, 2", ", 3])]<|python_end|>"] for e in parser.feed(chunk)]
    events += parser.close()
    assert text(events) == "Here's a call: " and calls(events) == [("get_weather", {"location": "Tokyo", "data": [1, 2, 3]})]


def test_a_list_cut_off_is_truncated() -> None:
    events = parsed("[get_weather(location='Tokyo', data=[1, 2", FMT)
    [cut] = invalid(events)
    assert cut.kind == "truncated" and cut.name == "get_weather" and not calls(events)


def test_every_single_cut() -> None:
    events = every_cut(f"{START}[f(s='[g(x=1)] <|python_end|>', n=-2), g()]{END} ok", FMT)
    assert calls(events) == [("f", {"s": "[g(x=1)] <|python_end|>", "n": -2}), ("g", {})] and text(events) == " ok"


def test_whitespace_before_a_literal_stays_whole() -> None:
    # A cut between the list's end and the next literal once lost the space.
    assert parsed("[f(a=1)] <|python_end|>", FMT)[-1] == TextDelta(text=" <|python_end|>")


def test_unknown_tool_with_tools_given() -> None:
    events = parsed(f"[{SIMPLE}]", FMT, tools=[tool("get_time")])
    [bad] = invalid(events)
    assert bad.kind == "unknown_tool" and bad.name == "get_weather"
