"""gemma4 (Gemma 4): <|tool_call>call:NAME{...}<tool_call|>, the arguments a literal object.

Inputs and expected outcomes marked vLLM are that peer's public test cases
(vLLM's Gemma 4 parser tests); where this project decides otherwise, the test
says why.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamparse import Parser, ToolCallDelta, ToolCallEnd, ToolCallStart

from .cuts import every_cut
from .summary import calls, invalid, parsed, reasoning, text, tool

FMT = "gemma4"
Q = '<|"|>'


def call(name: str, arguments: str) -> str:
    return f"<|tool_call>call:{name}{{{arguments}}}<tool_call|>"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("", {}),  # vLLM
        (f"location:{Q}Paris{Q}", {"location": "Paris"}),  # vLLM
        (f"location:{Q}Paris, France{Q}", {"location": "Paris, France"}),  # vLLM
        (f"location:{Q}San Francisco{Q},unit:{Q}celsius{Q}", {"location": "San Francisco", "unit": "celsius"}),  # vLLM
        ("count:42", {"count": 42}),  # vLLM
        ("score:3.14", {"score": 3.14}),  # vLLM
        ("flag:true", {"flag": True}),  # vLLM
        ("flag:false", {"flag": False}),  # vLLM
        ("param:null", {"param": None}),  # vLLM
        (f"name:{Q}test{Q},count:42,active:true,score:3.14", {"name": "test", "count": 42, "active": True, "score": 3.14}),  # vLLM
        (f"nested:{{inner:{Q}value{Q}}}", {"nested": {"inner": "value"}}),  # vLLM
        (f"record_map:{{{Q}3{Q}:{Q}new text{Q}}}", {"record_map": {"3": "new text"}}),  # vLLM: a delimited key
        (f"outer:{{inner:{{{Q}3{Q}:{Q}new text{Q}}}}}", {"outer": {"inner": {"3": "new text"}}}),  # vLLM
        (f"items:[{Q}a{Q},{Q}b{Q}]", {"items": ["a", "b"]}),  # vLLM
        ("items:[42,true,3.14]", {"items": [42, True, 3.14]}),  # vLLM
        (f"items:[[{Q}a]b{Q},{Q}c{Q}],{Q}tail{Q}]", {"items": [["a]b", "c"], "tail"]}),  # vLLM
        ("left:108.,right:22.8", {"left": 108.0, "right": 22.8}),  # vLLM #42047: complete, "108." is 108.0
        (f"s:{Q}{{a}}, [b]: \"c\" <tool_call|> <|tool_call>{Q}", {"s": '{a}, [b]: "c" <tool_call|> <|tool_call>'}),
        ("n:-7,e:1e3,big:123456789012345678901234567890", {"n": -7, "e": 1000.0, "big": 123456789012345678901234567890}),
        (f"text:{Q}日本語 😀\n{Q}", {"text": "日本語 😀\n"}),
    ],
)
def test_argument_values(arguments: str, expected: dict[str, Any]) -> None:
    events = parsed(call("f", arguments), FMT)
    assert calls(events) == [("f", expected)] and not invalid(events)


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("Hello, how can I help you today?", [], "Hello, how can I help you today?"),  # vLLM
        (call("get_weather", f"location:{Q}London{Q}"), [("get_weather", {"location": "London"})], ""),  # vLLM
        (
            "Let me check the weather for you. " + call("get_weather", f"location:{Q}Paris{Q}"),  # vLLM
            [("get_weather", {"location": "Paris"})],
            "Let me check the weather for you. ",
        ),
        (
            call("get_weather", f"location:{Q}London{Q}") + call("get_time", f"location:{Q}London{Q}"),  # vLLM
            [("get_weather", {"location": "London"}), ("get_time", {"location": "London"})],
            "",
        ),
        (call("get-weather", f"location:{Q}London{Q}"), [("get-weather", {"location": "London"})], ""),  # vLLM
        (call("weather.get", f"location:{Q}London{Q}"), [("weather.get", {"location": "London"})], ""),  # vLLM
        (call("get_status", ""), [("get_status", {})], ""),  # vLLM
        (call("get_weather", f"location:{Q}Paris{Q}") + "<div>", [("get_weather", {"location": "Paris"})], "<div>"),  # vLLM
        # The block's close may be missing: the object's last brace ends the call.
        ("<|tool_call>call:f{a:1} and then", [("f", {"a": 1})], " and then"),
        # An opener not followed by a call is text.
        ("The <|tool_call> token opens calls.", [], "The <|tool_call> token opens calls."),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, Any]]], content: str) -> None:
    events = parsed(output, FMT)
    assert calls(events) == expected and text(events) == content and not invalid(events)


@pytest.mark.parametrize(
    "chunks",
    [
        ["<|tool_call>", "call:get_weather{", f"location:{Q}Paris", ", France", f"{Q}}}", "<tool_call|>"],  # vLLM
        ["<|tool_call>", "call:search{input:{all:tru", "e}}", "<tool_call|>"],  # vLLM: a boolean split
        ["<|tool_call>", "call:set{count:4", "2}", "<tool_call|>"],  # vLLM: a number split
        ["<|tool_call>", "call:todowrite{", "content:<|\"|>Buy milk<|", '"|>}', "<tool_call|>"],  # vLLM #38946: a delimiter split
        [
            "<|tool_call>", "call:write_file{", f"path:{Q}index.html{Q},", f"content:{Q}<!DOCTYPE html>\n<",  # vLLM: HTML in a value
            'html lang="zh-CN">\n<', "head>\n", f"{Q}}}", "<tool_call|>",
        ],
    ],
)
def test_streamed_chunks(chunks: list[str]) -> None:
    parser = Parser(FMT)
    events = [e for chunk in chunks for e in parser.feed(chunk)] + parser.close()
    whole = parsed("".join(chunks), FMT)
    assert calls(events) == calls(whole) and len(calls(whole)) == 1 and not invalid(whole)


def test_each_argument_streams_once_complete() -> None:
    # vLLM #42047: "108." then "108.2" was streamed as 108.02; a value is sent only when it is complete.
    parser = Parser(FMT)
    assert parser.feed("<|tool_call>call:move{left:108.") == [ToolCallStart(index=0, id="call_0", name="move")]
    assert parser.feed("2,right:22") == [ToolCallDelta(index=0, arguments='{"left": 108.2')]
    assert parser.feed(".8}") == [
        ToolCallDelta(index=0, arguments=', "right": 22.8'),
        ToolCallDelta(index=0, arguments="}"),
        ToolCallEnd(index=0, id="call_0", name="move", arguments={"left": 108.2, "right": 22.8}),
    ]
    assert parser.feed("<tool_call|>") == [] and parser.close() == []


@pytest.mark.parametrize(
    ("arguments", "kind"),
    [
        # vLLM takes an unterminated string's rest as the value; the object never closed: cut off.
        (f"key:{Q}unterminated", "truncated"),
        # vLLM gives "" to a key with no value; no value is invented here.
        ("key:}", "malformed"),
        ("key:celsius}", "malformed"),  # a bare word is no value (strings are delimited)
        ("x:1e999}", "malformed"),  # no finite number
        (":[t:[]}", "truncated"),  # vLLM: malformed, must not hang (its brackets never close)
    ],
)
def test_bad_arguments_are_invalid(arguments: str, kind: str) -> None:
    output = "<|tool_call>call:f{" + arguments
    events = parsed(output, FMT)
    [bad] = invalid(events)
    assert bad.kind == kind and bad.name == "f" and bad.raw == output and not calls(events)


def test_a_bad_call_does_not_take_the_next_one_down() -> None:
    events = parsed(call("bad", "x:nope") + call("good", "y:2"), FMT)
    assert calls(events) == [("good", {"y": 2})] and [e.name for e in invalid(events)] == ["bad"]


def test_reasoning() -> None:
    events = parsed("<|channel>thought\nThe user wants Paris.<channel|>" + call("get_weather", f"city:{Q}Paris{Q}"), FMT)
    assert reasoning(events) == "The user wants Paris." and calls(events) == [("get_weather", {"city": "Paris"})]


def test_a_call_opened_while_thinking_ends_the_reasoning() -> None:
    events = parsed("<|channel>thought\nhmm " + call("f", "") + "<channel|>done", FMT)
    assert reasoning(events) == "hmm " and calls(events) == [("f", {})] and text(events) == "done"


def test_every_single_cut() -> None:
    events = every_cut("Hi " + call("f", f"s:{Q}a<|b{Q},n:[1,{{k:null}}]") + call("g", "") + " bye", FMT)
    assert calls(events) == [("f", {"s": "a<|b", "n": [1, {"k": None}]}), ("g", {})] and text(events) == "Hi  bye"


def test_unknown_tool_with_tools_given() -> None:
    events = parsed(call("get_weather", f"city:{Q}Paris{Q}"), FMT, tools=[tool("get_time")])
    [bad] = invalid(events)
    assert bad.kind == "unknown_tool" and bad.name == "get_weather" and bad.arguments == {"city": "Paris"}
