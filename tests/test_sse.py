"""Tests for the sans-IO SSE decoder.

Every fixture runs whole, one byte at a time and in random pieces; Hypothesis
checks any split against a plain, slow reading of the WHATWG rules written
here, independently of the decoder's fast paths.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamparse.errors import EventTooLargeError, SSEError, UsageError
from streamparse.wire.sse import SSEDecoder, SSEEvent

BOM = b"\xef\xbb\xbf"


def reference(stream: bytes, cap: int = 16 * 1024 * 1024) -> tuple[list[SSEEvent], bool, bool]:
    """The spec read literally: (events, cap exceeded, ended inside an event)."""
    if stream.startswith(BOM):
        stream = stream[len(BOM) :]
    *lines, rest = re.split(rb"\r\n|\r|\n", stream)
    events: list[SSEEvent] = []
    data: list[bytes] = []
    event_type = ""
    id_buffer: str | None = None
    last_id: str | None = None
    retry: int | None = None
    size = 0
    for line in lines:
        if not line:
            last_id = id_buffer
            if data:
                text = b"\n".join(data).decode("utf-8", "replace")
                events.append(SSEEvent(text, event_type or "message", last_id, retry))
            data, event_type, retry, size = [], "", None, 0
            continue
        size += len(line)
        if size > cap:
            return events, True, True
        name, colon, value = line.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        if not name and colon:
            continue  # comment
        if name == b"data":
            data.append(value)
        elif name == b"event":
            event_type = value.decode("utf-8", "replace")
        elif name == b"id" and b"\0" not in value:
            id_buffer = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit() and len(value) <= 18:
            retry = int(value)
    if size + len(rest) > cap:
        return events, True, True
    return events, False, bool(rest or data)


def run(pieces: list[bytes], *, cap: int = 16 * 1024 * 1024) -> tuple[list[SSEEvent], bool, bool]:
    """Feed the pieces then close: (events, cap exceeded, pending at close)."""
    decoder = SSEDecoder(max_event_size=cap)
    events: list[SSEEvent] = []
    try:
        for piece in pieces:
            events += decoder.feed(piece)
        pending = decoder.pending
        events += decoder.close()
    except EventTooLargeError:
        return events, True, True
    return events, False, pending


def splits(stream: bytes, seed: int = 0) -> list[list[bytes]]:
    """h11's three ways: whole, one byte at a time, random pieces."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, len(stream) // 3))) if len(stream) > 1 else []
    random_pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    return [[stream], [stream[i : i + 1] for i in range(len(stream))], random_pieces]


def decode_all_ways(stream: bytes) -> list[SSEEvent]:
    """The events, after checking that every way of splitting agrees."""
    results = [run(pieces) for pieces in splits(stream)]
    for result in results[1:]:
        assert result == results[0]
    return results[0][0]


def datas(stream: bytes) -> list[str]:
    return [event.data for event in decode_all_ways(stream)]


# Line ends --------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_each_line_end(eol: bytes) -> None:
    stream = b"data: a" + eol + b"data: b" + eol + eol + b"data: c" + eol + eol
    assert datas(stream) == ["a\nb", "c"]


def test_mixed_line_ends() -> None:
    assert datas(b"data: a\rdata: b\r\n\ndata: c\n\r") == ["a\nb", "c"]


def test_lone_cr_inside_an_lf_stream_ends_a_line() -> None:
    assert datas(b"data: a\rdata: b\n\ndata: c\r\rdata: d\n\n") == ["a\nb", "c", "d"]
    assert datas(b"data: a\r\n\r\ndata: b\rc\r\n\r\n") == ["a", "b"]
    assert datas("data: é\rdata: b\n\ndata: 世\r\n\r\ndata: c\rd\r\n\r\n".encode()) == ["é\nb", "世", "c"]


def test_crlf_split_across_reads_is_one_line_end() -> None:
    # Were the split CRLF two line ends, the LF would be a blank line and "a" an event alone.
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\r\n") == [SSEEvent("a\nb")]


def test_cr_then_cr_is_two_line_ends() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\r") == [SSEEvent("a")]


def test_lf_after_cr_counts_only_right_after_it() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"data: b\n") == []  # not after the CR: a line, no skip
    assert decoder.feed(b"\n") == [SSEEvent("a\nb")]


# Byte-order mark --------------------------------------------------------------


def test_leading_bom_is_dropped() -> None:
    assert datas(BOM + b"data: x\n\n") == ["x"]


def test_bom_split_across_reads() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb") == []
    assert decoder.feed(b"\xbfdata: x\n\n") == [SSEEvent("x")]


def test_only_the_first_bom_is_dropped() -> None:
    # The second BOM makes the field name "\ufeffdata", which is ignored.
    assert datas(BOM + BOM + b"data: x\n\ndata: y\n\n") == ["y"]


def test_bom_later_in_stream_is_text() -> None:
    assert datas(b"data: a\n\n" + BOM + b"data: b\n\ndata: " + BOM + b"\n\n") == ["a", "\ufeff"]


def test_bom_prefix_that_is_not_a_bom() -> None:
    assert datas(b"\xef\xbbdata: x\n\ndata: y\n\n") == ["y"]


# Fields -----------------------------------------------------------------------


def test_comments_are_ignored_and_counted() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b": keep-alive\n\n:\ndata: a\n: inside\n\n: PROCESSING\n\n")
    assert events == [SSEEvent("a")]
    assert decoder.comments == 4


def test_multiline_data_joined_with_lf() -> None:
    assert datas(b"data: a\ndata:\ndata: b\n\n") == ["a\n\nb"]


def test_only_one_leading_space_is_removed() -> None:
    assert datas(b"data:x\n\ndata:  x\n\ndata: x \n\n") == ["x", " x", "x "]


def test_field_without_colon_has_empty_value() -> None:
    assert datas(b"data\n\ndata\ndata\n\n") == ["", "\n"]


def test_empty_data_is_dispatched_but_no_data_is_not() -> None:
    assert datas(b"data:\n\nevent: x\n\nid: 1\n\n: c\n\n\n\n") == [""]


def test_event_type() -> None:
    events = decode_all_ways(b"event: delta\ndata: a\n\ndata: b\n\nevent:\ndata: c\n\n")
    assert [(e.event, e.data) for e in events] == [("delta", "a"), ("message", "b"), ("message", "c")]


def test_event_type_resets_when_nothing_is_dispatched() -> None:
    assert decode_all_ways(b"event: x\n\ndata: a\n\n") == [SSEEvent("a", "message")]


def test_id_carries_over_and_can_be_reset() -> None:
    events = decode_all_ways(b"data: a\n\nid: 7\ndata: b\n\ndata: c\n\nid\ndata: d\n\n")
    assert [e.id for e in events] == [None, "7", "7", ""]


def test_id_with_nul_is_ignored() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]
    assert decoder.last_event_id == "1"


def test_id_without_data_still_sets_last_event_id() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 5\n\n") == []
    assert decoder.last_event_id == "5"
    assert decoder.feed(b"id: 6\n") == []
    assert decoder.last_event_id == "5"  # set only when the blank line comes


def test_retry_digits_only() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"retry: 1500\ndata: a\n\ndata: b\n\nretry: 1x\ndata: c\n\n")
    assert [e.retry for e in events] == [1500, None, None]
    for bad in (b"-1", b"1.5", b" 10", b"", b"\xd9\xa1", b"1" * 19):
        decoder.feed(b"retry: " + bad + b"\n\n")
    assert decoder.retry == 1500
    decoder.feed(b"retry: 0\n\n")
    assert decoder.retry == 0


def test_unknown_fields_are_ignored() -> None:
    assert datas(b"foo: bar\ndata: a\nDATA: b\n data: c\n\n") == ["a"]


# UTF-8 ------------------------------------------------------------------------


def test_multibyte_char_split_across_reads() -> None:
    text = "héllo 世界 🎉"
    stream = b"data: " + text.encode() + b"\n\n"
    for i in range(len(stream)):
        decoder = SSEDecoder()
        assert decoder.feed(stream[:i]) + decoder.feed(stream[i:]) == [SSEEvent(text)]


@pytest.mark.parametrize("bad", [b"\xff", b"\xe4\xb8", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x9f\x8e"])
def test_invalid_utf8_is_replaced(bad: bytes) -> None:
    stream = b"data: a" + bad + b"b\n\nevent: e" + bad + b"\ndata: z\n\n"
    events = decode_all_ways(stream)
    assert events[0].data == ("a" + bad.decode("utf-8", "replace") + "b")
    assert "\ufffd" in events[0].data
    assert events[1].event == "e" + bad.decode("utf-8", "replace")


# End of stream ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "pending"),
    [
        (b"data: a\n\n", False),
        (b"data: a\n\n: trailing comment\n", False),
        (b"data: a\n\ndata: b\n", True),
        (b"data: a\n\ndata: b", True),
        (b"data: a\n\ndat", True),
        (b"", False),
    ],
)
def test_unfinished_event_is_discarded_and_reported(stream: bytes, pending: bool) -> None:
    events, too_large, was_pending = run([stream])
    assert [e.data for e in events] == (["a"] if stream else [])
    assert not too_large
    assert was_pending is pending


def test_feed_empty_is_noop_and_feed_after_close_raises() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.close() == []
    with pytest.raises(UsageError):
        decoder.feed(b"data: a\n\n")


def test_feed_data_returns_the_data_only() -> None:
    stream = b": c\nevent: e\ndata: a\n\ndata: b\ndata: c\n\ndata: {}\n\n"
    for pieces in splits(stream):
        decoder = SSEDecoder()
        assert [d for p in pieces for d in decoder.feed_data(p)] == ["a", "b\nc", "{}"]


# Size cap ---------------------------------------------------------------------


def test_event_at_the_cap_passes_and_one_byte_more_fails() -> None:
    line = b"data: " + b"x" * 94  # 100 bytes, line end not counted
    assert run([line + b"\n\n"], cap=100)[:2] == ([SSEEvent("x" * 94)], False)
    assert run([line + b"x\n\n"], cap=100)[1] is True


def test_cap_counts_all_lines_of_one_event() -> None:
    stream = b"data: 1234\n" * 10 + b"\n"  # ten lines of 10 bytes
    assert run([stream], cap=100)[1] is False
    assert run([b": c\n" + stream], cap=100)[1] is True
    assert run([stream * 50], cap=100)[1] is False  # resets at each blank line


def test_line_without_end_past_the_cap_raises() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    for _ in range(9):
        assert decoder.feed(b"x" * 100) == []
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed(b"x" * 101)
    assert info.value.limit == 1000
    assert isinstance(info.value, SSEError)


def test_events_before_the_overflow_are_returned_then_it_raises() -> None:
    decoder = SSEDecoder(max_event_size=50)
    assert decoder.feed(b"data: ok\n\ndata: " + b"x" * 60 + b"\n\n") == [SSEEvent("ok")]
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: more\n\n")
    with pytest.raises(EventTooLargeError):  # and keeps raising
        decoder.close()


@pytest.mark.parametrize("next_read", [b"x", b"\n\n", None])
def test_overflowing_tail_raises_on_next_read_or_close(next_read: bytes | None) -> None:
    decoder = SSEDecoder(max_event_size=50)
    assert decoder.feed(b"data: ok\n\n" + b"x" * 60) == [SSEEvent("ok")]
    with pytest.raises(EventTooLargeError):
        decoder.feed(next_read) if next_read else decoder.close()


def test_bad_cap_rejected() -> None:
    with pytest.raises(ValueError):
        SSEDecoder(max_event_size=0)


def test_16mib_event_in_4kib_reads_is_linear() -> None:
    # A decoder that rescans or re-copies its buffer on each read would need
    # ~4096 x 8 MiB here: minutes, not milliseconds.
    size = 16 * 1024 * 1024
    stream = b"data: " + b"x" * (size - 6) + b"\n\n"
    start = time.process_time()  # this process's CPU, which other processes on the host do not stretch
    decoder = SSEDecoder()
    events = [e for i in range(0, len(stream), 4096) for e in decoder.feed(stream[i : i + 4096])]
    assert time.process_time() - start < 2
    assert len(events) == 1 and len(events[0].data) == size - 6
    with pytest.raises(EventTooLargeError):
        SSEDecoder().feed(stream.replace(b"data: ", b"data:  "))


def test_many_line_event_in_small_reads_is_linear() -> None:
    stream = b"data: " + b"y" * 100 + b"\n"
    stream = stream * 40_000 + b"\n"  # 4 MiB, one event
    start = time.process_time()  # this process's CPU, which other processes on the host do not stretch
    decoder = SSEDecoder()
    events = [e for i in range(0, len(stream), 4096) for e in decoder.feed(stream[i : i + 4096])]
    assert time.process_time() - start < 2
    assert len(events) == 1 and events[0].data.count("\n") == 39_999


# Any split gives the same events ------------------------------------------------

text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=12)
raw = text.map(str.encode) | st.sampled_from([b"\xff", b"\xe4\xb8", b"\xc3", b"\x00", b"\xef\xbb\xbf"])
line = st.one_of(
    st.tuples(st.sampled_from([b"data: ", b"data:", b"data:  "]), raw).map(b"".join),
    st.just(b"data"),
    st.just(b""),
    st.tuples(st.sampled_from([b": ", b":", b"event: ", b"event:", b"id: ", b"id:", b"x: "]), raw).map(b"".join),
    st.tuples(st.just(b"retry: "), st.from_regex(rb"\A[0-9]{1,3}x?\Z")).map(b"".join),
)
eol = st.sampled_from([b"\n", b"\r", b"\r\n"])
any_stream = st.tuples(
    st.sampled_from([b"", BOM, BOM + BOM, b"\xef\xbb"]),
    st.lists(st.tuples(line, eol).map(b"".join), max_size=25),
    raw,  # an unfinished last line, often empty
).map(lambda parts: parts[0] + b"".join(parts[1]) + parts[2])


@st.composite
def data_only_stream(draw: st.DrawFn) -> bytes:
    """What the fast path sees: data events with one kind of line end, and
    now and then a stray line end it must notice."""
    end = draw(st.sampled_from([b"\n", b"\r\n"]))
    prefix = draw(st.sampled_from([b"data: ", b"data:"]))
    stray = st.sampled_from([b"a\rb", b"\xc3\xa9\r", b"\n", b"\r\n: c"])
    payloads = draw(st.lists(st.one_of(raw, raw, raw, stray), min_size=1, max_size=20))
    return b"".join(prefix + p + end + end for p in payloads)


def split_points(stream: bytes) -> st.SearchStrategy[list[bytes]]:
    def cut(points: list[int]) -> list[bytes]:
        bounds = [0, *sorted(set(points)), len(stream)]
        return [stream[a:b] for a, b in zip(bounds, bounds[1:])]

    return st.lists(st.integers(0, len(stream)), max_size=12).map(cut)


@settings(max_examples=300, deadline=None)
@given(st.data(), any_stream)
def test_any_split_matches_the_spec(data: st.DataObject, stream: bytes) -> None:
    pieces = data.draw(split_points(stream))
    assert run(pieces) == reference(stream)


@settings(max_examples=300, deadline=None)
@given(st.data(), data_only_stream())
def test_any_split_of_data_only_stream_matches_the_spec(data: st.DataObject, stream: bytes) -> None:
    pieces = data.draw(split_points(stream))
    assert run(pieces) == reference(stream)
    decoder = SSEDecoder()
    assert [d for p in pieces for d in decoder.feed_data(p)] == [e.data for e in reference(stream)[0]]


@settings(max_examples=200, deadline=None)
@given(st.data(), any_stream | data_only_stream(), st.integers(1, 40))
def test_any_split_hits_the_cap_alike(data: st.DataObject, stream: bytes, cap: int) -> None:
    pieces = data.draw(split_points(stream))
    assert run(pieces, cap=cap) == reference(stream, cap)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200), st.data())
def test_random_bytes_never_raise_unexpectedly(stream: bytes, data: st.DataObject) -> None:
    assert run(data.draw(split_points(stream))) == reference(stream)


# Sans-IO boundary ---------------------------------------------------------------


def test_no_io_library_is_imported() -> None:
    code = "import streamparse.wire.sse, streamparse.wire.payloads, sys; assert 'aiohttp' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)
