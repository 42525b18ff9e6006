"""Argument values as they stream (``values=True``): the scanner alone, then through Parser,
ChunkFolder (server-parsed calls) and the client against the embedded server.

The oracle: the value events a call's arguments must give, computed from the
decoded arguments alone (post-order, document order, one merged text delta per
non-empty string).  Any chunking must give exactly it, once adjacent text
deltas of one string are merged.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamparse import (
    InvalidToolCall,
    MessageBuilder,
    Parser,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallValue,
    ToolCallValueDelta,
    parse,
)
from streamparse.client import Client
from streamparse.core.events import Event
from streamparse.core.values import ValueEvents, ValueScanner
from streamparse.server import Server
from streamparse.wire.folding import ChunkFolder

from .helpers import merge, random_cuts

VALUE_EVENTS = (ToolCallValueDelta, ToolCallValue)


def oracle(index: int, args: dict[str, Any]) -> list[Event]:
    """The value events of a call whose arguments decode to ``args`` (text deltas merged)."""
    out: list[Event] = []

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, (*path, i))
        elif isinstance(value, str) and value:
            out.append(ToolCallValueDelta(index=index, path=path, text=value))
        if path:
            out.append(ToolCallValue(index=index, path=path, value=value))

    walk(args, ())
    return out


def merged(events: Iterable[Event]) -> list[Event]:
    """Only the value events, adjacent text deltas of one string joined."""
    out: list[Event] = []
    for e in events:
        if type(e) is ToolCallValueDelta:
            last = out[-1] if out else None
            if type(last) is ToolCallValueDelta and (last.index, last.path) == (e.index, e.path):
                out[-1] = ToolCallValueDelta(index=e.index, path=e.path, text=last.text + e.text)
                continue
        if type(e) in VALUE_EVENTS:
            out.append(e)
    return out


def scan(pieces: Iterable[str], index: int = 0) -> list[Event]:
    scanner = ValueScanner(index)
    out: list[Event] = []
    for piece in pieces:
        scanner.feed(piece, out)
    return out


def identical(a: Any, b: Any) -> bool:
    """Equal, with the same types throughout (1 is not 1.0, 0.0 is not -0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


# -- the scanner, by example ------------------------------------------------------


def test_events_in_document_order_children_before_their_container() -> None:
    text = '{"path": "a.txt", "n": -0.5e-3, "items": [{"id": 1, "ok": true}, null, []], "o": {}, "e": ""}'
    assert scan([text]) == [
        ToolCallValueDelta(index=0, path=("path",), text="a.txt"),
        ToolCallValue(index=0, path=("path",), value="a.txt"),
        ToolCallValue(index=0, path=("n",), value=-0.0005),
        ToolCallValue(index=0, path=("items", 0, "id"), value=1),
        ToolCallValue(index=0, path=("items", 0, "ok"), value=True),
        ToolCallValue(index=0, path=("items", 0), value={"id": 1, "ok": True}),
        ToolCallValue(index=0, path=("items", 1), value=None),
        ToolCallValue(index=0, path=("items", 2), value=[]),
        ToolCallValue(index=0, path=("items",), value=[{"id": 1, "ok": True}, None, []]),
        ToolCallValue(index=0, path=("o",), value={}),
        ToolCallValue(index=0, path=("e",), value=""),  # an empty string: no text delta
    ]


def test_string_text_arrives_with_each_fragment() -> None:
    scanner = ValueScanner(3)
    out: list[Event] = []
    scanner.feed('{"content": "def f', out)
    assert out == [ToolCallValueDelta(index=3, path=("content",), text="def f")]
    scanner.feed("():\\n    ", out)
    assert out[1:] == [ToolCallValueDelta(index=3, path=("content",), text="():\n    ")]
    scanner.feed('return 1"}', out)
    assert out[2:] == [
        ToolCallValueDelta(index=3, path=("content",), text="return 1"),
        ToolCallValue(index=3, path=("content",), value="def f():\n    return 1"),
    ]


@pytest.mark.parametrize(
    "raw, text",
    [
        ("\\ud83d\\ude00", "😀"),
        ("\\uD83D\\uDE00", "😀"),
        ("\\u00e9\\u00E9", "éé"),
        ('\\"\\\\\\/\\b\\f\\n\\r\\t', '"\\/\b\f\n\r\t'),
        ("\\\\ud83d", "\\ud83d"),  # an escaped backslash, then plain text: no surrogate
        ("\\\\\\ud83d\\ude00", "\\😀"),
    ],
)
def test_escapes_are_never_split_whatever_the_cut(raw: str, text: str) -> None:
    """Every two-piece and every one-character cut: no piece of text is half an escape or half a pair."""
    doc = '{"s": "' + raw + '"}'
    cuts = [[doc[:k], doc[k:]] for k in range(len(doc) + 1)] + [list(doc)]
    for pieces in cuts:
        events = scan(pieces)
        deltas = [e.text for e in events if type(e) is ToolCallValueDelta]
        assert "".join(deltas) == text, pieces
        assert all(not (0xD800 <= ord(c) <= 0xDFFF) for d in deltas for c in d), pieces
        assert events[-1] == ToolCallValue(index=0, path=("s",), value=text)


def test_a_long_string_in_many_fragments_is_whole() -> None:
    text = "".join(f"line {i}: \u00e9\\n" if i % 7 else f"{i} \\ud83d\\ude00 " for i in range(3000))
    doc = '{"content": "' + text + '", "n": 1}'
    value = json.loads(doc)["content"]
    events = scan(doc[k : k + 3] for k in range(0, len(doc), 3))
    assert "".join(e.text for e in events if type(e) is ToolCallValueDelta) == value
    assert events[-2:] == [
        ToolCallValue(index=0, path=("content",), value=value),
        ToolCallValue(index=0, path=("n",), value=1),
    ]


def test_a_number_is_reported_whole_once_it_ends() -> None:
    scanner = ValueScanner(0)
    out: list[Event] = []
    for piece in ['{"a": -', "1", "2.", "5e", "+", "3"]:
        scanner.feed(piece, out)
        assert out == []  # still a prefix: "-12.5e+3" could go on
    scanner.feed(", ", out)
    assert out == [ToolCallValue(index=0, path=("a",), value=-12.5e3)]
    scanner.feed('"b": tr', out)
    assert len(out) == 1
    scanner.feed("ue}", out)
    assert out[1:] == [ToolCallValue(index=0, path=("b",), value=True)]


def test_the_root_and_keys_get_no_event_and_whitespace_anywhere_is_fine() -> None:
    doc = ' \n{ "k\\u00e9y" :\t[ 1 ,\r\n2 ] , "x" : { } }  \n'
    assert scan([doc]) == [
        ToolCallValue(index=0, path=("kéy", 0), value=1),
        ToolCallValue(index=0, path=("kéy", 1), value=2),
        ToolCallValue(index=0, path=("kéy",), value=[1, 2]),
        ToolCallValue(index=0, path=("x",), value={}),
    ]
    assert scan(["{}"]) == []


@pytest.mark.parametrize(
    "doc, reported",
    [
        ('{"a": 1, "b": 01}', 1),  # a leading zero
        ('{"a": 1, "b": 1.}', 1),
        ('{"a": 1, "b": .5}', 1),
        ('{"a": 1, "b": +1}', 1),
        ('{"a": 1, "b": -}', 1),
        ('{"a": 1, "b": 1e400}', 1),  # out of range: msgspec refuses it
        ('{"a": 1, "b": ' + "9" * 4301 + "}", 1),  # msgspec's integer limit
        ('{"a": 1, "b": nul}', 1),
        ('{"a": 1, "b": True}', 1),
        ('{"a": 1, "b": "x\\qy"}', 1),  # an invalid escape: the text before it was reported
        ('{"a": 1, "b": "x\ny"}', 1),  # a raw control character
        ('{"a": 1, "b": "x\\ud83dy"}', 1),  # a lone high surrogate
        ('{"a": 1, "b": "x\\ude00y"}', 1),  # a lone low surrogate
        ('{"a": 1, "b": "x\\ud83d"}', 1),
        ('{"a": 1,}', 1),
        ('{"a": 1 "b": 2}', 1),
        ('{"a" 1}', 0),
        ("{'a': 1}", 0),
        ('{"a": [1, 2}', 2),
        ('{"a": 1}}', 1),  # text after the root
        ('{"a": 1} x', 1),
        ('"a string"', 0),  # the root must be an object
        ("[1, 2]", 0),
        ("", 0),
    ],
)
def test_text_that_is_not_json_stops_the_reports_and_never_raises(doc: str, reported: int) -> None:
    try:
        got = msgspec.json.decode(doc)
    except msgspec.DecodeError:
        got = None
    assert not isinstance(got, dict)  # never valid arguments
    for pieces in ([doc], list(doc)):
        events = scan(pieces)
        assert len([e for e in events if type(e) is ToolCallValue]) == reported, pieces
    assert merged(scan(list(doc))) == merged(scan([doc]))


def test_a_repeated_key_reports_each_value_and_the_container_keeps_the_last() -> None:
    assert scan(['{"o": {"a": 1, "a": 2}}']) == [
        ToolCallValue(index=0, path=("o", "a"), value=1),
        ToolCallValue(index=0, path=("o", "a"), value=2),
        ToolCallValue(index=0, path=("o",), value={"a": 2}),
    ]


# -- the scanner, by property --------------------------------------------------------

CHARS = st.characters(codec="utf-8") | st.sampled_from(list('"\\/\n\t\x00\x1f\x7fé😀𝄞\u2028') + ["\ufeff"])
KEYS = st.text(CHARS, max_size=6)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([-0.5e-3, 0.0, -0.0, 1e300, 5e-324, 1.5, -2.25e-10])
    | st.text(CHARS, max_size=12)
)
JSON = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(KEYS, kids, max_size=4), max_leaves=12)
ARGS = st.dictionaries(KEYS, JSON, max_size=5)
STYLES = st.fixed_dictionaries(
    {
        "ensure_ascii": st.booleans(),  # True turns astral characters into surrogate pairs
        "indent": st.sampled_from([None, 0, 2, "\t"]),
        "separators": st.sampled_from([None, (",", ":"), (" , ", " : ")]),
    }
)


def cuts(draw: st.DrawFn, text: str) -> list[str]:
    points = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=40))))
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)])]


@settings(max_examples=300, deadline=None)
@given(args=ARGS, style=STYLES, data=st.data())
def test_any_json_arguments_any_cut_give_the_oracle(args: dict[str, Any], style: dict[str, Any], data: st.DataObject) -> None:
    text = json.dumps(args, **style)
    events = scan(cuts(data.draw, text))
    assert merged(events) == oracle(0, args)
    for e in events:  # the same values, of the same types
        if type(e) is ToolCallValue:
            target: Any = args
            for key in e.path:
                target = target[key]
            assert identical(e.value, target)
        else:
            assert e.text and not any(0xD800 <= ord(c) <= 0xDFFF for c in e.text)  # type: ignore[attr-defined]


NUMBER = st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(token=NUMBER | st.text(st.sampled_from(list("0123456789.eE+-truefalsn")), min_size=1, max_size=10), data=st.data())
def test_a_scalar_is_what_msgspec_makes_of_it_or_nothing(token: str, data: st.DataObject) -> None:
    doc = '{"v": ' + token + "}"
    try:
        expected: Any = msgspec.json.decode(doc)
    except msgspec.DecodeError:
        expected = None
    events = scan(cuts(data.draw, doc))
    if expected is None:
        assert events == []
    else:
        [event] = events
        assert type(event) is ToolCallValue and identical(event.value, expected["v"])


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.sampled_from(list('{}[]":,\\ u0d8ae9-1.5etrfnl\n') + ["😀"]), max_size=40), data=st.data())
def test_any_text_any_cut_never_raises_and_gives_the_same_values(text: str, data: st.DataObject) -> None:
    events = scan(cuts(data.draw, text))
    assert merged(events) == merged(scan([text]))
    try:
        decoded = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return
    if isinstance(decoded, dict):
        assert merged(events) == oracle(0, decoded)


# -- through the parser (tags in content) ------------------------------------------------

NAMES = st.text(st.characters(codec="utf-8", exclude_characters='"\\'), min_size=1, max_size=8)


@st.composite
def hermes(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    """Model text with text and tool-call blocks, and each call's arguments."""
    text, calls = "", []
    for _ in range(draw(st.integers(1, 3))):
        args = draw(ARGS)
        raw = json.dumps(args, **draw(STYLES))
        text += draw(st.sampled_from(["", "Sure. ", "a { b "]))
        text += f'<tool_call>\n{{"name": {json.dumps(draw(NAMES))}, "arguments": {raw}}}\n</tool_call>'
        calls.append(args)
    return text, calls


def run_parser(pieces: Iterable[str], *, values: bool) -> list[Event]:
    parser = Parser("hermes", values=values)
    events: list[Event] = []
    for piece in pieces:
        events += parser.feed(piece)
    return events + parser.close()


def check_placement(events: list[Event]) -> None:
    """Each value event follows the ToolCallDelta that brought it (or another value event after it)."""
    before: Event | None = None
    for e in events:
        if type(e) in VALUE_EVENTS:
            assert type(before) is ToolCallDelta and before.index == e.index, (before, e)  # type: ignore[attr-defined]
        else:
            before = e


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=hermes(), data=st.data())
def test_parser_values_any_chunking(case: tuple[str, list[dict[str, Any]]], data: st.DataObject) -> None:
    text, calls = case
    events = run_parser(cuts(data.draw, text), values=True)
    check_placement(events)
    others = [e for e in events if type(e) not in VALUE_EVENTS]
    assert merge(others) == merge(run_parser([text], values=False))  # nothing else changes
    ends = [e for e in events if type(e) is ToolCallEnd]
    assert [e.arguments for e in ends] == calls
    expected = [v for e in ends for v in oracle(e.index, e.arguments)]
    assert merged(events) == expected
    for e in ends:  # every value of a call comes before its end
        last_value = max((k for k, v in enumerate(events) if type(v) in VALUE_EVENTS and v.index == e.index), default=-1)  # type: ignore[attr-defined]
        assert last_value < events.index(e)


def test_parser_values_default_off_and_message_unchanged() -> None:
    text = 'Hi <tool_call>{"name": "w", "arguments": {"path": "a", "body": "x\\ny", "n": [1, 2.5]}}</tool_call>'
    plain = run_parser([text], values=False)
    assert not any(type(e) in VALUE_EVENTS for e in plain)
    assert not any(type(e) in VALUE_EVENTS for e in Parser("hermes").feed(text))
    builder = MessageBuilder()
    builder.extend(run_parser([text], values=True))
    assert builder.build() == parse(text)  # a message keeps no value events
    with_values = run_parser(list(text), values=True)
    assert merged(with_values) == oracle(0, {"path": "a", "body": "x\ny", "n": [1, 2.5]})


def test_an_invalid_call_keeps_what_was_reported_and_the_next_call_starts_afresh() -> None:
    text = (
        '<tool_call>{"name": "a", "arguments": {"x": 1, "y": 01}}</tool_call>'
        '<tool_call>{"name": "b", "arguments": {"x": 2}}</tool_call>'
    )
    events = run_parser(list(text), values=True)
    kinds = [(type(e).__name__, e.index) for e in events if type(e) in (*VALUE_EVENTS, InvalidToolCall, ToolCallEnd)]  # type: ignore[attr-defined]
    assert kinds == [("ToolCallValue", 0), ("InvalidToolCall", 0), ("ToolCallValue", 1), ("ToolCallEnd", 1)]
    assert merged(events) == [ToolCallValue(index=0, path=("x",), value=1), ToolCallValue(index=1, path=("x",), value=2)]


def test_the_layer_forgets_a_call_at_its_end() -> None:
    layer = ValueEvents()
    out = layer.insert([ToolCallDelta(index=0, arguments='{"a": "b'), ToolCallDelta(index=1, arguments='{"c": 1')])
    assert merged(out) == [ToolCallValueDelta(index=0, path=("a",), text="b")]
    assert sorted(layer._calls) == [0, 1]
    layer.insert([InvalidToolCall(index=0, raw="", error="x"), ToolCallEnd(index=1, id="i", name="n", arguments={})])
    assert layer._calls == {}
    assert layer.insert([]) == []


# -- through ChunkFolder (server-parsed delta.tool_calls) ------------------------------------


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
    return json.dumps(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
    )


@settings(max_examples=100, deadline=None)
@given(calls=st.lists(ARGS, min_size=1, max_size=3), style=STYLES, seed=st.integers(0, 2**32))
def test_server_parsed_calls_interleaved_give_the_oracle(calls: list[dict[str, Any]], style: dict[str, Any], seed: int) -> None:
    rng = random.Random(seed)
    # Every call's header, then the calls' fragments interleaved at random (parallel calls).
    payloads = [
        chunk({"tool_calls": [{"id": f"t{i}", "type": "function", "index": i, "function": {"name": f"f{i}"}}]})
        for i in range(len(calls))
    ]
    queues = [random_cuts(json.dumps(args, **style), rng, most=20) for args in calls]
    while any(queues):
        i = rng.choice([k for k, q in enumerate(queues) if q])
        payloads.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": queues[i].pop(0)}}]}))
    payloads.append(chunk({}, "tool_calls"))
    folder = ChunkFolder("hermes", values=True)
    events = [e for p in payloads for e in folder.feed(p)] + folder.end()
    check_placement(events)
    ends = {e.index: e for e in events if type(e) is ToolCallEnd}
    assert [ends[i].arguments for i in range(len(calls))] == calls
    for i, args in enumerate(calls):
        assert merged(e for e in events if getattr(e, "index", None) == i) == oracle(i, args)
    plain = ChunkFolder("hermes")
    assert [e for p in payloads for e in plain.feed(p)] + plain.end() == [e for e in events if type(e) not in VALUE_EVENTS]
    assert folder.message == plain.message


# -- through the client, real sockets --------------------------------------------------------

ARGUMENTS = {"path": "src/main.py", "content": 'print("héllo 😀")\n\tx = [1, 2]\n', "mode": 420, "tags": ["a", None]}
REPLY = "Writing it.<tool_call>\n" + json.dumps({"name": "write_file", "arguments": ARGUMENTS}) + "\n</tool_call>"


@pytest.mark.parametrize("tool_parser", [False, True], ids=["tags-in-content", "server-parsed"])
async def test_client_streams_the_values(tool_parser: bool) -> None:
    async with Server([REPLY, REPLY], tool_parser=tool_parser) as server:
        async with Client(server.base_url, server.model, values=True) as client:
            stream = client.stream("Write it")
            events = [e async for e in stream]
        async with Client(server.base_url, server.model) as client:
            plain = [e async for e in client.stream("Write it")]
    check_placement(events)
    assert merged(events) == oracle(0, ARGUMENTS)
    assert not any(type(e) in VALUE_EVENTS for e in plain)
    assert stream.message.tool_calls[0].arguments == ARGUMENTS
