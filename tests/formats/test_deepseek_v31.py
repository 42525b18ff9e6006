"""deepseek_v31 (DeepSeek-V3.1, V3.1-Terminus, V3.2-Exp): calls in a section, the name then bare JSON.

Inputs and expected outcomes marked vLLM are that peer's public test cases
(vLLM's DeepSeek-V3.1 parser tests); where this project decides otherwise,
the test says why.
"""

from __future__ import annotations

import pytest

from streamparse import Parser, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart

from .cuts import every_cut
from .summary import calls, invalid, parsed, reasoning, text

FMT = "deepseek_v31"
SECTION, SECTION_END = "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>"
CALL, SEP, CALL_END = "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>"


def call(name: str, arguments: str) -> str:
    return f"{CALL}{name}{SEP}{arguments}{CALL_END}"


def test_one_call_after_text() -> None:  # vLLM
    events = parsed("normal text" + SECTION + call("foo", '{"x":1}') + SECTION_END, FMT)
    assert calls(events) == [("foo", {"x": 1})] and text(events) == "normal text"
    assert [e.arguments for e in events if isinstance(e, ToolCallDelta)] == ['{"x":1}']


def test_two_calls_and_text_around_them() -> None:
    # vLLM returns only the text before the section ("some prefix text"); the text after it is the
    # model's too, and is kept.
    output = "some prefix text" + SECTION + call("foo", '{"x":1}') + call("bar", '{"y":2}') + SECTION_END + " some suffix text"
    events = parsed(output, FMT)
    assert calls(events) == [("foo", {"x": 1}), ("bar", {"y": 2})]
    assert text(events) == "some prefix text some suffix text"
    assert [(e.index, e.id) for e in events if isinstance(e, ToolCallStart)] == [(0, "call_0"), (1, "call_1")]


@pytest.mark.parametrize(
    "output",
    [
        "Let me look that up." + SECTION + "get_weather",  # vLLM: cut off after the section's opener
        SECTION + 'foo<｜tool▁sep｜>{"x":1}' + SECTION_END,  # vLLM: no call markers inside the section
    ],
)
def test_a_section_opener_not_followed_by_a_call_is_text(output: str) -> None:  # vLLM: all of it is content
    assert parsed(output, FMT) == [TextDelta(text=output)]


def test_an_opener_alone_at_the_end_is_a_call_cut_off() -> None:
    events = parsed("Let me look that up." + SECTION, FMT)
    assert text(events) == "Let me look that up." and [(e.kind, e.raw) for e in invalid(events)] == [("truncated", SECTION)]


def test_an_empty_section_is_markup() -> None:
    assert parsed("a" + SECTION + SECTION_END + "b", FMT) == [TextDelta(text="ab")]


def test_a_call_cut_off_is_truncated() -> None:
    for cut in ['{"x": 1', '{"x": 1}']:
        events = parsed("t" + SECTION + CALL + "foo" + SEP + cut, FMT)
        [bad] = invalid(events)
        assert not calls(events) and bad.kind == "truncated" and bad.name == "foo" and bad.raw == SECTION + CALL + "foo" + SEP + cut


def test_bad_json_is_invalid_and_the_next_call_counts() -> None:
    events = parsed(SECTION + call("bad", '{"x": 1,}') + call("good", "{}") + SECTION_END, FMT)
    assert calls(events) == [("good", {})]
    [bad] = invalid(events)
    assert bad.name == "bad" and bad.kind == "malformed" and bad.raw.endswith('{"x": 1,}' + CALL_END)


def test_markers_inside_arguments_are_data() -> None:
    value = "<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜tool▁call▁begin｜>x<｜tool▁sep｜>{}"
    events = parsed(SECTION + call("echo", '{"s": "%s"}' % value) + SECTION_END, FMT)
    assert calls(events) == [("echo", {"s": value})]


def test_streaming_order() -> None:
    parser = Parser(FMT)
    assert parser.feed("Hi" + SECTION + CALL + "get_") == [TextDelta(text="Hi")]
    assert parser.feed("weather" + SEP) == [ToolCallStart(index=0, id="call_0", name="get_weather")]
    assert parser.feed('{"city": "Paris"}') == [ToolCallDelta(index=0, arguments='{"city": "Paris"}')]
    assert parser.feed(CALL_END + SECTION_END) == [ToolCallEnd(index=0, id="call_0", name="get_weather", arguments={"city": "Paris"})]
    assert parser.close() == []


def test_every_single_cut_of_full_width_literals() -> None:
    events = every_cut("前" + SECTION + call("f", '{"a": "中"}') + call("g", "{}") + SECTION_END + "後", FMT)
    assert calls(events) == [("f", {"a": "中"}), ("g", {})] and text(events) == "前後"


def test_thinking_mode() -> None:
    # The chat template opens <think> in thinking mode; off, the prompt ends with </think>.
    events = parsed("The user wants Paris.</think>Here:" + SECTION + call("f", "{}") + SECTION_END, FMT, in_reasoning=True)
    assert reasoning(events) == "The user wants Paris." and text(events) == "Here:" and calls(events) == [("f", {})]


def test_a_section_opened_while_thinking_ends_the_reasoning() -> None:
    # llama.cpp keeps the markers in the reasoning and reads a call at its end; here the call ends
    # the reasoning as soon as it opens, and the block's own close after it is markup.
    events = parsed("<think>hmm" + SECTION + call("f", '{"x": 1}') + SECTION_END + "</think>after", FMT)
    assert reasoning(events) == "hmm" and calls(events) == [("f", {"x": 1})] and text(events) == "after"
