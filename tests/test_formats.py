"""Every shipped format: the properties of the streaming contract, for any chunking.

Calls are written with :func:`streamparse.core.render.render` (the format's own
templates) and read back; each property runs for every name in
``available_formats()``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamparse import (
    InvalidToolCall,
    Parser,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolCallValue,
    ToolCallValueDelta,
    available_formats,
    load_format,
    parse,
)
from streamparse.core.events import Event
from streamparse.core.raw_values import json_type
from streamparse.core.render import render

from .helpers import merge

FORMATS = available_formats()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that holds no literal of any format: no brackets, pipes or full-width bars.
SAFE = st.text(st.sampled_from(list("abcxyz XYZ019.,:!?'\"\\/-_\n\té中😀")), max_size=20)
NAMES = st.from_regex(r"[a-z][a-z_]{0,9}", fullmatch=True)
KEYS = st.from_regex(r"[a-z][a-z_]{0,7}", fullmatch=True)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False, width=64).filter(lambda f: f != int(f) or abs(f) < 1e15)
    | st.text(st.sampled_from(list("abc XYZ09.,:'\"\\/-_\té中😀")), max_size=12)
)
VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(KEYS, kids, max_size=3), max_leaves=6)
ARGUMENTS = st.dictionaries(KEYS, VALUES, max_size=4)


def tools_for(calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Tool schemas that type each argument as the value it holds (raw-text formats need them)."""
    props: dict[str, dict[str, Any]] = {}
    for name, arguments in calls:
        entry = props.setdefault(name, {})
        for key, value in arguments.items():
            types = entry.setdefault(key, set())
            types.add(json_type(value))
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "parameters": {"type": "object", "properties": {k: {"type": sorted(t)} for k, t in keys.items()}},
            },
        }
        for name, keys in props.items()
    ]


def feed(fmt: str, pieces: list[str], **options: Any) -> list[Event]:
    parser = Parser(fmt, **options)
    events: list[Event] = []
    for piece in pieces:
        events += parser.feed(piece)
    return events + parser.close()


@st.composite
def cut(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=24)))
    cuts = [c for c in cuts if c < len(text)]
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]


def check_contract(events: list[Event]) -> None:
    """Each call: announced once; its deltas join to JSON that decodes to exactly its arguments;
    every announced call ends or is reported invalid; no index is used twice."""
    joined: dict[int, str] = {}
    started: set[int] = set()
    finished: list[int] = []
    for event in events:
        if isinstance(event, ToolCallStart):
            assert event.index not in started, "a call was announced twice"
            started.add(event.index)
        elif isinstance(event, ToolCallDelta):
            assert event.index in started, "arguments before the call was announced"
            joined[event.index] = joined.get(event.index, "") + event.arguments
        elif isinstance(event, ToolCallEnd):
            assert event.index in started
            assert json.loads(joined.get(event.index, "")) == event.arguments, joined.get(event.index)
            finished.append(event.index)
        elif isinstance(event, InvalidToolCall):
            finished.append(event.index)
    assert started <= set(finished), "a started call neither ended nor was reported invalid"
    assert len(finished) == len(set(finished)), "an index was reused"


def test_every_format_loads_and_is_listed() -> None:
    assert {"hermes", "qwen3_coder", "harmony", "llama3_json", "glm45", "glm47", "mistral", "minimax_m2",
            "deepseek_v31", "deepseek_v32", "kimi_k2", "deepseek_v3", "pythonic", "seed_oss", "step3", "hy_v3"} <= set(FORMATS)
    for name in FORMATS:
        assert load_format(name).name == name


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(data=st.data())
def test_calls_round_trip_under_any_chunking(fmt: str, data: st.DataObject) -> None:
    calls = data.draw(st.lists(st.tuples(NAMES, ARGUMENTS), min_size=1, max_size=3))
    text = data.draw(SAFE)
    reasoning = data.draw(st.none() | SAFE) if "RENDER_REASONING" in load_format(fmt).options else None
    output = render(fmt, text=text, reasoning=reasoning, calls=calls)
    tools = tools_for(calls)
    whole = merge(feed(fmt, [output], tools=tools))
    assert merge(feed(fmt, data.draw(cut(output)), tools=tools)) == whole
    assert merge(feed(fmt, list(output), tools=tools)) == whole
    check_contract(whole)
    ends = [e for e in whole if isinstance(e, ToolCallEnd)]
    assert [(e.name, e.arguments) for e in ends] == calls
    assert not any(isinstance(e, InvalidToolCall) for e in whole)
    message = parse(output, fmt, tools=tools)
    assert message.content == (text.strip() or None)
    assert message.reasoning == ((reasoning or "").strip() or None)


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(text=SAFE.filter(bool), data=st.data())
def test_text_with_no_literals_comes_out_unchanged(fmt: str, text: str, data: st.DataObject) -> None:
    assert merge(feed(fmt, data.draw(cut(text)))) == [TextDelta(text=text)]


def _noise(fmt: str) -> st.SearchStrategy[str]:
    literals = sorted(set(load_format(fmt).grammar.literals.values()))
    pieces = literals + ['{"name": "f", "arguments": {"a": 1}}', "[f(a=1)]", "get_weather", " ", "\n", "x", '"', "{", "}", "é"]
    return st.lists(st.sampled_from(pieces), max_size=24).map("".join)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_mix_of_literals_parses_the_same_in_any_chunking(fmt: str, data: st.DataObject) -> None:
    text = data.draw(_noise(fmt))
    whole = merge(feed(fmt, [text]))
    assert merge(feed(fmt, data.draw(cut(text)))) == whole
    check_contract(whole)


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(data=st.data())
def test_a_stream_cut_anywhere_reports_every_open_call(fmt: str, data: st.DataObject) -> None:
    calls = data.draw(st.lists(st.tuples(NAMES, ARGUMENTS), min_size=1, max_size=2))
    output = render(fmt, text=data.draw(SAFE), calls=calls)
    end = data.draw(st.integers(0, len(output)))
    events = merge(feed(fmt, data.draw(cut(output[:end])), tools=tools_for(calls)))
    check_contract(events)
    if any(isinstance(e, ToolCallStart) for e in events) and end < len(output):
        # A call cut before its end is reported (a call complete before the cut is not).
        last = max(e.index for e in events if isinstance(e, ToolCallStart))
        assert any(isinstance(e, (ToolCallEnd, InvalidToolCall)) and e.index == last for e in events)


@pytest.mark.parametrize("fmt", [f for f in FORMATS if "RENDER_REASONING" in load_format(f).options])
def test_reasoning_then_text(fmt: str) -> None:
    output = render(fmt, reasoning="Let me think.", text="The answer.")
    events = merge(feed(fmt, list(output)))
    assert [e for e in events if isinstance(e, ReasoningDelta)][0].text.strip() == "Let me think."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip() == "The answer."


def _at(arguments: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        arguments = arguments[step]
    return arguments


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(data=st.data())
def test_value_events_match_the_final_arguments_under_any_chunking(fmt: str, data: st.DataObject) -> None:
    calls = data.draw(st.lists(st.tuples(NAMES, ARGUMENTS), min_size=1, max_size=2))
    output = render(fmt, text=data.draw(SAFE), calls=calls)
    tools = tools_for(calls)
    whole = feed(fmt, [output], tools=tools, values=True)
    values = [e for e in whole if isinstance(e, (ToolCallValueDelta, ToolCallValue))]
    chunked = feed(fmt, data.draw(cut(output)), tools=tools, values=True)
    assert merge_values(chunked) == merge_values(values)
    ends = {e.index: e.arguments for e in whole if isinstance(e, ToolCallEnd)}
    text: dict[tuple[int, tuple[str | int, ...]], str] = {}
    for event in values:
        if isinstance(event, ToolCallValueDelta):
            text[(event.index, event.path)] = text.get((event.index, event.path), "") + event.text
        else:
            assert event.value == _at(ends[event.index], event.path)
            if isinstance(event.value, str):
                assert text.pop((event.index, event.path), "") == event.value
    assert not text


def merge_values(events: list[Event]) -> list[Event]:
    """Value events only, adjacent text pieces of one value joined (their cut follows the deltas')."""
    out: list[Event] = []
    for e in events:
        if isinstance(e, ToolCallValueDelta):
            last = out[-1] if out else None
            if isinstance(last, ToolCallValueDelta) and (last.index, last.path) == (e.index, e.path):
                out[-1] = ToolCallValueDelta(index=e.index, path=e.path, text=last.text + e.text)
                continue
            out.append(e)
        elif isinstance(e, ToolCallValue):
            out.append(e)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_values_with_whitespace_at_their_ends_round_trip(fmt: str) -> None:
    # Raw-value formats treat a newline next to a tag as markup; what they write must keep it as data.
    arguments = {"a": "\nab\n\n", "b": "  x  ", "c": "\n", "d": "", "e": "\t\n tail\n"}
    output = render(fmt, calls=[("f", arguments)])
    assert [(e.name, e.arguments) for e in feed(fmt, [output]) if isinstance(e, ToolCallEnd)] == [("f", arguments)]
