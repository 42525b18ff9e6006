"""ToolCallAccumulator, sans-IO: server-parsed ``delta.tool_calls`` entries in, events out.

Entries are built from real chunk JSON with :func:`streamparse.wire.payloads.decode_payload`,
in every shape vLLM has sent, and fed one chunk at a time so each test can say
exactly which entry produced which event.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamparse.core.events import Event, InvalidToolCall, ToolCallDelta, ToolCallEnd, ToolCallStart
from streamparse.core.parser import Parser
from streamparse.wire.server_calls import ToolCallAccumulator
from streamparse.wire.payloads import ToolCallPart, decode_payload


def entries(tool_calls: str) -> list[ToolCallPart]:
    """The ``delta.tool_calls`` of one real chunk whose tool_calls array is ``tool_calls`` (JSON)."""
    payload = decode_payload(
        '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",'
        '"choices":[{"index":0,"delta":{"content":null,"tool_calls":' + tool_calls + "},"
        '"logprobs":null,"finish_reason":null}]}'
    )
    assert payload.choices is not None and payload.choices[0].delta is not None
    parts = payload.choices[0].delta.tool_calls
    assert parts is not None
    return parts


def start(index: int, id: str, name: str) -> str:
    return json.dumps(
        [{"id": id, "type": "function", "index": index, "function": {"name": name}}], separators=(",", ":")
    )


def fragment(index: int, arguments: str) -> str:
    return json.dumps([{"index": index, "function": {"arguments": arguments}}], separators=(",", ":"))


def feed_each(chunks: list[str], acc: ToolCallAccumulator | None = None) -> list[list[Event]]:
    """Events per chunk, then the events of ``close()`` as the last item."""
    acc = acc or ToolCallAccumulator()
    out = [acc.feed(entries(c)) for c in chunks]
    out.append(acc.close())
    return out


def flat(per_chunk: list[list[Event]]) -> list[Event]:
    return [e for events in per_chunk for e in events]


def ends(events: list[Event]) -> list[Event]:
    return [e for e in events if type(e) in (ToolCallEnd, InvalidToolCall)]


def where_end(per_chunk: list[list[Event]], index: int = 0) -> int:
    """Which fed chunk produced the End (or Invalid) of call ``index``; len(chunks) means close()."""
    hits = [
        i for i, events in enumerate(per_chunk) for e in ends(events) if e.index == index  # type: ignore[attr-defined]
    ]
    assert len(hits) == 1, per_chunk
    return hits[0]


def arguments_text(events: list[Event], index: int = 0) -> str:
    return "".join(e.arguments for e in events if type(e) is ToolCallDelta and e.index == index)


ID = "chatcmpl-tool-0123456789abcdef0123456789abcdef"


def test_vllm_current_shape_ends_on_the_closing_brace() -> None:
    chunks = [
        start(0, ID, "get_weather"),
        fragment(0, '{"city": '),
        fragment(0, '"Paris'),
        fragment(0, '", "unit": "c"'),
        fragment(0, "}"),
    ]
    per = feed_each(chunks)
    assert per[0] == [ToolCallStart(index=0, id=ID, name="get_weather")]
    assert where_end(per) == 4  # the entry carrying the final `}`, not close()
    assert per[4][-1] == ToolCallEnd(index=0, id=ID, name="get_weather", arguments={"city": "Paris", "unit": "c"})
    assert arguments_text(flat(per)) == '{"city": "Paris", "unit": "c"}'
    assert per[-1] == []  # close() has nothing left to say


def test_end_comes_before_the_next_index_starts() -> None:
    chunks = [
        start(0, "a", "f"),
        fragment(0, '{"x": 1'),
        fragment(0, "}"),
        start(1, "b", "g"),
        fragment(1, '{"y": [1, {"z": "}"}]'),
        fragment(1, "}"),
    ]
    per = feed_each(chunks)
    assert where_end(per, 0) == 2
    assert where_end(per, 1) == 5
    assert [e for e in flat(per) if type(e) is ToolCallEnd] == [
        ToolCallEnd(index=0, id="a", name="f", arguments={"x": 1}),
        ToolCallEnd(index=1, id="b", name="g", arguments={"y": [1, {"z": "}"}]}),
    ]


def test_strings_with_braces_quotes_and_escapes_cut_anywhere() -> None:
    arguments = json.dumps({"q": 'a}"{\\', "n": ["]", "\u00e9\u4e16"], "e": {}})
    for cut in range(1, len(arguments)):
        chunks = [start(0, ID, "f"), fragment(0, arguments[:cut]), fragment(0, arguments[cut:])]
        per = feed_each(chunks)
        assert where_end(per) == 2, arguments[:cut]
        assert ends(flat(per)) == [ToolCallEnd(index=0, id=ID, name="f", arguments=json.loads(arguments))]


def test_id_and_name_repeated_on_later_entries() -> None:
    chunks = [
        start(0, ID, "get_weather"),
        '[{"id":"' + ID + '","type":"function","index":0,"function":{"name":"get_weather","arguments":"{\\"city\\""}}]',
        '[{"id":"' + ID + '","type":"function","index":0,'
        '"function":{"name":"get_weather","arguments":": \\"Oslo\\"}"}}]',
    ]
    per = feed_each(chunks)
    events = flat(per)
    assert [e for e in events if type(e) is ToolCallStart] == [ToolCallStart(index=0, id=ID, name="get_weather")]
    assert where_end(per) == 2
    assert ends(events) == [ToolCallEnd(index=0, id=ID, name="get_weather", arguments={"city": "Oslo"})]


def test_explicit_nulls_on_later_entries() -> None:
    chunks = [
        start(0, ID, "f"),
        '[{"id":null,"type":null,"index":0,"function":{"name":null,"arguments":"{\\"a\\": "}}]',
        '[{"id":null,"type":null,"index":0,"function":{"name":null,"arguments":"1}"}}]',
    ]
    per = feed_each(chunks)
    assert per[0] == [ToolCallStart(index=0, id=ID, name="f")]
    assert where_end(per) == 2
    assert ends(flat(per)) == [ToolCallEnd(index=0, id=ID, name="f", arguments={"a": 1})]


def test_name_and_first_fragment_in_one_entry() -> None:
    chunks = [
        '[{"id":"' + ID + '","type":"function","index":0,"function":{"name":"f","arguments":"{\\"a\\": "}}]',
        fragment(0, '"b"}'),
    ]
    per = feed_each(chunks)
    assert per[0] == [ToolCallStart(index=0, id=ID, name="f"), ToolCallDelta(index=0, arguments='{"a": ')]
    assert where_end(per) == 1


def test_name_and_whole_arguments_in_one_entry_end_at_once() -> None:
    chunk = '[{"id":"x","type":"function","index":0,"function":{"name":"f","arguments":"{\\"a\\": 2}"}}]'
    per = feed_each([chunk])
    assert per[0] == [
        ToolCallStart(index=0, id="x", name="f"),
        ToolCallDelta(index=0, arguments='{"a": 2}'),
        ToolCallEnd(index=0, id="x", name="f", arguments={"a": 2}),
    ]


def test_trailing_empty_arguments_entry() -> None:
    chunks = [start(0, ID, "f"), fragment(0, '{"a": true}'), fragment(0, "")]
    per = feed_each(chunks)
    assert where_end(per) == 1
    assert per[2] == [] and per[3] == []  # the empty fragment adds no delta and no second end


def test_whole_arguments_resent_after_the_fragments() -> None:
    whole = '{"city": "Paris", "days": [1, 2]}'
    chunks = [
        start(0, ID, "get_weather"),
        fragment(0, '{"city": "Par'),
        fragment(0, 'is", "days": [1, '),
        fragment(0, "2]}"),
        # vLLM 42167 / 44098: the end-of-stream entry re-sends the whole arguments, id and name too.
        '[{"id":"' + ID + '","type":"function","index":0,"function":{"name":"get_weather","arguments":'
        + json.dumps(whole)
        + "}}]",
    ]
    per = feed_each(chunks)
    events = flat(per)
    assert where_end(per) == 3
    assert per[4] == []  # the re-send is neither a delta nor a second end
    assert arguments_text(events) == whole
    assert ends(events) == [ToolCallEnd(index=0, id=ID, name="get_weather", arguments=json.loads(whole))]


def test_whole_arguments_resent_after_an_incomplete_prefix() -> None:
    # The other alignment (vLLM 51697): only `{` was streamed, then the whole object arrives.
    whole = '{"city": "Orlando", "n": 1}'
    chunks = [start(0, ID, "f"), fragment(0, "{"), fragment(0, whole)]
    per = feed_each(chunks)
    events = flat(per)
    assert where_end(per) == 2
    assert arguments_text(events) == whole  # not `{{...`
    assert ends(events) == [ToolCallEnd(index=0, id=ID, name="f", arguments=json.loads(whole))]


def test_arguments_before_the_name() -> None:
    chunks = [
        '[{"index":0,"function":{"arguments":"{\\"a\\": "}}]',
        '[{"index":0,"function":{"arguments":"[1]"}}]',
        '[{"id":"' + ID + '","type":"function","index":0,"function":{"name":"f"}}]',
        fragment(0, "}"),
    ]
    per = feed_each(chunks)
    assert per[0] == [] and per[1] == []  # nothing to say before the name
    assert per[2] == [ToolCallStart(index=0, id=ID, name="f"), ToolCallDelta(index=0, arguments='{"a": [1]')]
    assert where_end(per) == 3
    assert ends(flat(per)) == [ToolCallEnd(index=0, id=ID, name="f", arguments={"a": [1]})]


def test_whole_arguments_before_the_name_end_with_the_name() -> None:
    chunks = ['[{"index":0,"function":{"arguments":"{\\"a\\": 1}"}}]', start(0, ID, "f")]
    per = feed_each(chunks)
    assert where_end(per) == 1


@pytest.mark.parametrize(
    "call_id",
    ["chatcmpl-tool-9f1c2d3e4b5a69788796a5b4c3d2e1f0", "aB3dE5gH7", "functions.get_weather:0"],
)
def test_ids_of_every_style_are_kept(call_id: str) -> None:
    chunks = [start(0, call_id, "get_weather"), fragment(0, '{"city": "Tokyo"}')]
    events = flat(feed_each(chunks))
    assert events[0] == ToolCallStart(index=0, id=call_id, name="get_weather")
    assert events[-1] == ToolCallEnd(index=0, id=call_id, name="get_weather", arguments={"city": "Tokyo"})


def test_missing_id_gets_a_deterministic_one() -> None:
    # Event indexes number the calls from 0 in order, whatever the server's index.
    events = flat(feed_each(['[{"index":2,"function":{"name":"f","arguments":"{}"}}]']))
    assert events[0] == ToolCallStart(index=0, id="call_0", name="f")
    acc = ToolCallAccumulator(id_factory=lambda i: f"mine-{i}")
    assert acc.feed(entries('[{"index":0,"function":{"name":"f"}}]')) == [ToolCallStart(index=0, id="mine-0", name="f")]


def test_accumulated_by_index_not_by_id_or_position() -> None:
    # A later entry carrying a different id for the same index is still that call.
    chunks = [start(0, "first", "f"), '[{"id":"other","index":0,"function":{"arguments":"{}"}}]']
    assert ends(flat(feed_each(chunks))) == [ToolCallEnd(index=0, id="first", name="f", arguments={})]


def test_two_entries_for_one_index_in_one_chunk() -> None:
    chunk = (
        '[{"id":"' + ID + '","type":"function","index":0,"function":{"name":"f"}},'
        '{"index":0,"function":{"arguments":"{\\"a\\": 1"}},'
        '{"index":0,"function":{"arguments":"}"}}]'
    )
    per = feed_each([chunk])
    assert per[0] == [
        ToolCallStart(index=0, id=ID, name="f"),
        ToolCallDelta(index=0, arguments='{"a": 1'),
        ToolCallDelta(index=0, arguments="}"),
        ToolCallEnd(index=0, id=ID, name="f", arguments={"a": 1}),
    ]


def test_two_calls_in_one_chunk() -> None:
    chunk = (
        '[{"id":"a","type":"function","index":0,"function":{"name":"f","arguments":"{}"}},'
        '{"id":"b","type":"function","index":1,"function":{"name":"g","arguments":"{\\"x\\": 1}"}}]'
    )
    per = feed_each([chunk])
    assert ends(per[0]) == [
        ToolCallEnd(index=0, id="a", name="f", arguments={}),
        ToolCallEnd(index=1, id="b", name="g", arguments={"x": 1}),
    ]


def test_arguments_that_never_complete_are_invalid_at_close() -> None:
    chunks = [start(0, ID, "f"), fragment(0, '{"city": "Par')]
    per = feed_each(chunks)
    assert where_end(per) == 2  # close()
    [invalid] = per[2]
    assert isinstance(invalid, InvalidToolCall)
    assert invalid.index == 0 and invalid.raw == '{"city": "Par' and invalid.error


def test_arguments_that_are_not_an_object_are_invalid() -> None:
    per = feed_each([start(0, ID, "f"), fragment(0, "[1, 2]")])
    assert where_end(per) == 1
    assert per[1][-1] == InvalidToolCall(index=0, raw="[1, 2]", error=per[1][-1].error)  # type: ignore[attr-defined]


def test_call_without_arguments_is_an_empty_object_at_close() -> None:
    per = feed_each([start(0, ID, "list_files"), fragment(0, "")])
    assert per[-1] == [ToolCallEnd(index=0, id=ID, name="list_files", arguments={})]


def test_arguments_without_a_name_are_invalid_at_close() -> None:
    per = feed_each(['[{"index":0,"function":{"arguments":"{\\"a\\": 1}"}}]'])
    [invalid] = per[-1]
    assert isinstance(invalid, InvalidToolCall) and invalid.raw == '{"a": 1}'


def test_entry_without_function_is_ignored() -> None:
    per = feed_each(
        ['[{"index":0,"id":"x","type":"function"}]', '[{"index":0,"function":{"name":"f","arguments":"{}"}}]']
    )
    assert ends(flat(per)) == [ToolCallEnd(index=0, id="x", name="f", arguments={})]


# -- property: any fragmentation of any arguments ends exactly at the last fragment --

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=12)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
ARGUMENTS = st.dictionaries(st.text(max_size=8), JSON, max_size=5)


@settings(max_examples=200, deadline=None)
@given(ARGUMENTS, st.booleans(), st.data())
def test_any_fragmentation_ends_at_the_final_fragment(
    arguments: dict[str, Any], ascii: bool, data: st.DataObject
) -> None:
    raw = json.dumps(arguments, ensure_ascii=ascii)
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(raw) - 1)), max_size=20)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)]) if raw[a:b]]
    chunks = [start(0, ID, "f"), *(fragment(0, p) for p in pieces)]
    per = feed_each(chunks)
    assert where_end(per) == len(chunks) - 1
    events = flat(per)
    assert arguments_text(events) == raw
    [end] = ends(events)
    assert end == ToolCallEnd(index=0, id=ID, name="f", arguments=msgspec.json.decode(raw))


def test_one_numbering_shared_with_the_parser() -> None:
    indexes = itertools.count()
    parser = Parser("hermes", indexes=indexes)
    acc = ToolCallAccumulator(indexes=indexes)
    first = parser.feed('<tool_call>{"name": "a"}</tool_call>')
    second = acc.feed(entries('[{"index":0,"id":"x","function":{"name":"b","arguments":"{}"}}]'))
    assert [e.index for e in first + second if isinstance(e, ToolCallEnd)] == [0, 1]


def test_a_nested_object_that_starts_like_the_text_so_far_is_not_a_resend() -> None:
    acc = ToolCallAccumulator()
    events = acc.feed(entries('[{"index":0,"id":"x","function":{"name":"f","arguments":"{\\"a\\": "}}]'))
    events += acc.feed(entries('[{"index":0,"function":{"arguments":"{\\"a\\": 1}}"}}]'))
    assert events[-1] == ToolCallEnd(index=0, id="x", name="f", arguments={"a": {"a": 1}})


def test_whole_arguments_resent_with_other_spacing_end_the_call() -> None:
    # vLLM streams the model's raw fragments, then re-sends json.dumps of the whole arguments.
    chunks = [
        start(0, "chatcmpl-tool-1", "get_weather"),
        fragment(0, '{"city":"Paris"'),
        '[{"index":0,"id":"chatcmpl-tool-1","function":{"name":"get_weather","arguments":"{\\"city\\": \\"Paris\\"}"}}]',
    ]
    per_chunk = feed_each(chunks)
    assert per_chunk[2][-1] == ToolCallEnd(index=0, id="chatcmpl-tool-1", name="get_weather", arguments={"city": "Paris"})
    assert not any(isinstance(e, InvalidToolCall) for e in flat(per_chunk))


def test_entries_without_index_are_told_apart_by_id() -> None:
    acc = ToolCallAccumulator()
    events = acc.feed(entries('[{"id":"call_1","function":{"name":"a","arguments":"{}"}}]'))
    events += acc.feed(entries('[{"id":"call_2","function":{"name":"b","arguments":"{\\"x\\": 1}"}}]'))
    events += acc.close()
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert ends == [
        ToolCallEnd(index=0, id="call_1", name="a", arguments={}),
        ToolCallEnd(index=1, id="call_2", name="b", arguments={"x": 1}),
    ]


def test_arguments_sent_as_an_object() -> None:
    acc = ToolCallAccumulator()
    events = acc.feed(entries('[{"index":0,"id":"x","function":{"name":"f","arguments":{"a":[1]}}}]'))
    assert events[-1] == ToolCallEnd(index=0, id="x", name="f", arguments={"a": [1]})


# -- one index reused for every call (Ollama /v1, older SGLang, Gemini through proxies) --


def whole(index: int, id: str | None, name: str, arguments: str) -> str:
    entry: dict[str, Any] = {"index": index, "type": "function", "function": {"name": name, "arguments": arguments}}
    if id is not None:
        entry["id"] = id
    return json.dumps([entry], separators=(",", ":"))


def test_a_reused_index_with_another_id_after_the_call_ended_starts_a_new_call() -> None:
    chunks = [
        whole(0, "call_a", "get_weather", '{"city": "Paris"}'),
        whole(0, "call_b", "get_weather", '{"city": "Tokyo"}'),
        whole(0, "call_c", "get_time", "{}"),
    ]
    assert ends(flat(feed_each(chunks))) == [
        ToolCallEnd(index=0, id="call_a", name="get_weather", arguments={"city": "Paris"}),
        ToolCallEnd(index=1, id="call_b", name="get_weather", arguments={"city": "Tokyo"}),
        ToolCallEnd(index=2, id="call_c", name="get_time", arguments={}),
    ]


def test_a_reused_index_with_another_name_starts_a_new_call() -> None:
    # No ids at all: the name tells the calls apart.
    chunks = [whole(0, None, "get_weather", '{"city": "Paris"}'), whole(0, None, "get_time", '{"tz": "UTC"}')]
    assert ends(flat(feed_each(chunks))) == [
        ToolCallEnd(index=0, id="call_0", name="get_weather", arguments={"city": "Paris"}),
        ToolCallEnd(index=1, id="call_1", name="get_time", arguments={"tz": "UTC"}),
    ]


def test_a_call_cut_short_by_another_name_on_its_index_is_reported_not_lost() -> None:
    chunks = [whole(0, "a", "write", '{"text": "unfini'), whole(0, "b", "get_time", "{}")]
    assert ends(flat(feed_each(chunks))) == [
        InvalidToolCall(index=0, raw='{"text": "unfini', error="tool call arguments are not a JSON object"),
        ToolCallEnd(index=1, id="b", name="get_time", arguments={}),
    ]


def test_the_same_id_and_name_after_the_end_is_still_a_resend() -> None:
    # vLLM's re-send of the whole arguments repeats id and name: not a second call.
    chunks = [whole(0, "a", "f", '{"x": 1}'), whole(0, "a", "f", '{"x": 1}')]
    assert ends(flat(feed_each(chunks))) == [ToolCallEnd(index=0, id="a", name="f", arguments={"x": 1})]


# -- the re-send check fires only when a fragment provably is the whole arguments again --


def test_a_complete_nested_object_after_its_key_is_not_a_resend() -> None:
    pieces = ['{"filter": ', '{"filter": "x"}', ', "limit": 5}']
    events = flat(feed_each([start(0, ID, "search"), *(fragment(0, p) for p in pieces)]))
    assert ends(events) == [ToolCallEnd(index=0, id=ID, name="search", arguments={"filter": {"filter": "x"}, "limit": 5})]
    assert arguments_text(events) == "".join(pieces)


@pytest.mark.parametrize(
    "raw",
    [
        '{"filter": {"filter": "x"}, "limit": 5}',
        '{"a": [{"a": [1]}, {"a": {"a": 2}}], "b": {"a": [{"a": 3}]}}',
        '{"q": {"q": {"q": {}}}, "r": [{}]}',
    ],
)
def test_every_split_of_a_self_similar_object_gives_the_same_arguments(raw: str) -> None:
    n = len(raw)
    for i in range(1, n):
        for j in range(i + 1, n + 1):
            pieces = [p for p in (raw[:i], raw[i:j], raw[j:]) if p]
            events = flat(feed_each([start(0, ID, "f"), *(fragment(0, p) for p in pieces)]))
            assert ends(events) == [ToolCallEnd(index=0, id=ID, name="f", arguments=json.loads(raw))], pieces
            assert arguments_text(events) == raw, pieces
