"""Inputs found by review and fuzzing that once broke the contract: one regression test each."""

from __future__ import annotations

import json
import time

import pytest

from streamparse import InvalidToolCall, Parser, ReasoningDelta, ToolCallDelta, ToolCallEnd, parse
from streamparse.core.events import Event

from .helpers import three_ways
from .test_formats import check_contract


def feed(fmt: str, pieces: list[str], **options: object) -> list[Event]:
    parser = Parser(fmt, **options)  # type: ignore[arg-type]
    out: list[Event] = []
    for piece in pieces:
        out += parser.feed(piece)
    return out + parser.close()


def test_a_bad_element_in_an_array_does_not_lend_its_call_to_the_next() -> None:
    text = '<tool_call>[{"name": "f", x"arguments": {"a": 1}}, {"name": "g", "arguments": {}}]</tool_call>'
    events = three_ways(text)
    check_contract(events)
    bad = [e for e in events if isinstance(e, InvalidToolCall)]
    assert len(bad) == 1 and bad[0].index == 0
    assert [(e.index, e.name, e.arguments) for e in events if isinstance(e, ToolCallEnd)] == [(1, "g", {})]


def test_junk_between_array_elements_is_reported_not_dropped() -> None:
    text = '<tool_call>[garbage, {"name": "f", "arguments": {}}]</tool_call>after'
    events = three_ways(text)
    check_contract(events)
    kept = "".join(e.raw for e in events if isinstance(e, InvalidToolCall))
    assert "garbage" in kept and not any(isinstance(e, ToolCallEnd) for e in events)


def test_in_reasoning_watches_for_its_opener_in_every_chunking() -> None:
    pieces = ["x", "<think>", "more"]
    chunked = feed("hermes", pieces, in_reasoning=True)
    whole = feed("hermes", ["".join(pieces)], in_reasoning=True)
    text = lambda events: "".join(e.text for e in events if isinstance(e, ReasoningDelta))  # noqa: E731
    assert text(chunked) == text(whole) == "x<think>more"


def test_arguments_written_as_a_json_string_stream_as_they_arrive() -> None:
    parser = Parser("hermes")
    parser.feed('<tool_call>{"name": "f", "arguments": "{\\"content\\": \\"')
    streamed = [e for _ in range(200) for e in parser.feed("abcd") if isinstance(e, ToolCallDelta)]
    assert len(streamed) == 200 and "".join(e.arguments for e in streamed) == "abcd" * 200
    # Cut off mid-string, one character at a time, it has streamed what it received.
    text = '<tool_call>{"name": "f", "arguments": "{\\"a\\": \\"hello world'
    joined = "".join(e.arguments for e in feed("hermes", list(text)) if isinstance(e, ToolCallDelta))
    assert joined == '{"a": "hello world'


@pytest.mark.parametrize("fmt,text", [
    ("hermes", '<tool_call>{"name": "f", "arguments": <{"a": 1}}</tool_call>'),
    ("mistral", '[TOOL_CALLS][{"name": "f", "arguments": [ARGS]{}}]'),
])
def test_the_start_of_a_literal_where_a_value_starts_never_streams_the_block(fmt: str, text: str) -> None:
    events = three_ways(text, fmt)
    check_contract(events)
    assert not any("<tool_call>" in e.arguments or "[TOOL_CALLS]" in e.arguments for e in events if isinstance(e, ToolCallDelta))


def test_a_repeated_string_arguments_key_keeps_the_first_streamed() -> None:
    text = '<tool_call>{"name": "f", "arguments": "{\\"a\\": 1}", "arguments": {"b": 2}}</tool_call>'
    events = three_ways(text)
    check_contract(events)
    assert [e.arguments for e in events if isinstance(e, ToolCallEnd)] == [{"a": 1}]


def test_an_invalid_pythonic_calls_raw_text_does_not_depend_on_chunking() -> None:
    text = "<|python_start|>[\n<|python_end|>"
    raws = {tuple(e.raw for e in feed("pythonic", pieces) if isinstance(e, InvalidToolCall))
            for pieces in ([text], list(text), ["<|python_start|>[\n<|", "python_end|>"])}  # fmt: skip
    assert len(raws) == 1


def test_an_escaped_lone_surrogate_is_taken_like_a_raw_one() -> None:
    escaped = parse('<tool_call>{"name": "f", "arguments": {"x": "\\ud800"}}</tool_call>')
    raw = parse('<tool_call>{"name": "f", "arguments": {"x": "\ud800"}}</tool_call>')
    assert escaped.tool_calls[0].arguments == raw.tool_calls[0].arguments == {"x": "\ud800"}


@pytest.mark.parametrize("fmt,head", [
    ("hermes", "<tool_call>"),
    ("qwen3_coder", "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>"),
    ("kimi_k2", "<|tool_calls_section_begin|>"),
    ("hermes", '<tool_call>{"name": "f", "arguments": {}}'),
])
def test_a_long_run_of_whitespace_costs_linear_time(fmt: str, head: str) -> None:
    """Held-back whitespace is bounded: 32k blank pieces after an undecided literal stay cheap."""
    parser = Parser(fmt)
    parser.feed(head)
    start = time.process_time()
    for _ in range(32_000):
        parser.feed(" ")
    elapsed = time.process_time() - start
    parser.close()
    # Quadratic re-scanning took ~25 s here; linear takes well under a second even on a busy machine.
    assert elapsed < 5, elapsed


def test_a_grammar_file_is_built_once(tmp_path: object) -> None:
    from pathlib import Path

    from streamparse import load_format

    path = Path(str(tmp_path)) / "copy.lark"
    path.write_text((Path(__file__).parent / "grammars" / "brackets.lark").read_text())
    assert load_format(path) is load_format(str(path))


def test_fuzzed_mixes_never_lose_a_call() -> None:
    # A call rendered whole inside noise still comes out once, with its arguments.
    call = '<tool_call>{"name": "f", "arguments": {"a": [1, "</tool_call>"]}}</tool_call>'
    events = three_ways("noise <tool_ca" + " x " + call + " {[ junk")
    assert [e.arguments for e in events if isinstance(e, ToolCallEnd)] == [{"a": [1, "</tool_call>"]}]
    assert json.loads("".join(e.arguments for e in events if isinstance(e, ToolCallDelta))) == {"a": [1, "</tool_call>"]}


@pytest.mark.parametrize("fmt,head", [
    ("hermes", '<tool_call>{"name": "f", "arguments": {"a": "'),
    ("kimi_k2", '<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{"a": "'),
    ("qwen3_coder", "<tool_call>\n<function=f>\n<parameter=a>\nx"),
    ("hermes", "Hello"),
])
def test_an_empty_delta_gives_no_event_wherever_it_comes(fmt: str, head: str) -> None:
    parser = Parser(fmt)
    parser.feed(head)
    assert parser.feed("") == []
