"""The runner's engine against the embedded server with known timings, over real sockets.

Timings are checked against the server's own write stamps (the same
``perf_counter_ns`` clock): an arrival can only follow its write, and the
gaps between token events follow the gaps between the writes that carried
them.
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest
import stamina

from streamparse import Parser, ToolCallEnd, ToolCallStart
from streamparse.client import Client, Timeouts
from streamparse.runner import (
    Engine,
    Expected,
    ExpectedCall,
    Load,
    Record,
    Request,
    arrival_offsets,
    is_settled,
    percentile,
    summarize,
)
from streamparse.runner.executor import Execution
from streamparse.runner.load import parse_sweep
from streamparse.runner.selfcheck import LoopCheck
from streamparse.server import Fault, Reply, Server
from streamparse.server.pieces import Chunking
from streamparse.wire.folding import ChunkFolder

from .helpers import best_of
from .test_client import raw_server

ONE_CHAR = Chunking(min_piece=1, max_piece=1, max_multi=1, multi=0, empty=0, whole_tag=0)
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


def requests(n: int, **fields: Any) -> list[Request]:
    return [Request(id=f"r{i}", messages=[{"role": "user", "content": "hi"}], **fields) for i in range(n)]


async def run(server_or_url: Server | str, reqs: list[Request], *, timeouts: Timeouts = Timeouts(), **options: Any) -> list[Record]:
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.base_url
    model = "m" if isinstance(server_or_url, str) else server_or_url.model
    async with Client(url, model, timeouts=timeouts) as client:
        engine = Engine(client, **options)
        return [r async for r in engine.run(reqs)]


def token_arrivals(record: Record) -> list[float]:
    """Each token-bearing event's arrival, ms from the send (to the record's µs rounding)."""
    assert record.t.ttft_ms is not None
    out = [record.t.ttft_ms]
    for gap in record.itl_ms:
        out.append(out[-1] + gap)
    return out


def ms_from_send(record: Record, ns: int) -> float:
    assert record.mono_send_ns is not None
    return (ns - record.mono_send_ns) / 1e6


# -- metric definitions ---------------------------------------------------------


async def test_ttft_itl_e2el_follow_the_server_writes() -> None:
    text = "abcdefghij"
    reply = Reply(text, ttft=0.03, itl=0.004)
    async with Server([reply], chunking=ONE_CHAR) as server:
        (record,) = await run(server, requests(1))
        writes = server.requests[0].writes
    assert record.status == "ok" and record.attempts == 1
    # role chunk, ten token events, then finish + usage + [DONE] in one write
    assert len(writes) == 12
    tokens = token_arrivals(record)
    assert len(tokens) == len(text) and len(record.itl_ms) == len(text) - 1
    written = [ms_from_send(record, ns) for ns in writes[1:11]]
    lags = [arrived - sent for arrived, sent in zip(tokens, written)]
    assert all(lag >= 0 for lag in lags), lags  # nothing arrives before it is written
    assert statistics.median(lags) < 2.0
    assert record.t.ttft_ms >= 30  # the server waited 30 ms after the role chunk
    # the early role chunk is the first event, not the first token
    assert record.t.ttfe_ms is not None and ms_from_send(record, writes[0]) <= record.t.ttfe_ms < record.t.ttft_ms
    assert record.t.first_byte_ms == record.t.ttfe_ms
    assert 0 <= record.t.e2e_ms - ms_from_send(record, writes[11]) < 20
    assert record.t.done_ms == record.t.e2e_ms  # [DONE] rode in the finish chunk's write
    write_gaps = [b - a for a, b in zip(written, written[1:])]
    assert statistics.median(record.itl_ms) == pytest.approx(statistics.median(write_gaps), abs=2.0)
    assert record.output_tokens == 10 and record.output_tokens_source == "usage"
    assert record.t.tpot_ms == pytest.approx((tokens[-1] - tokens[0]) / 9, abs=0.01)
    assert record.content == text and record.finish_reason == "stop"


async def test_two_events_in_one_write_share_the_arrival() -> None:
    reply = Reply("abcd", ttft=0.01, itl=[0.004, 0.0, 0.004])
    async with Server([reply], chunking=ONE_CHAR) as server:
        (record,) = await run(server, requests(1))
        writes = server.requests[0].writes
    assert len(writes) == 5  # role, a, bc, d, end
    assert len(record.itl_ms) == 3
    assert record.itl_ms[1] == 0.0  # one read, one stamp: a real zero gap


async def test_keep_alive_comments_and_role_chunk_are_not_tokens() -> None:
    reply = Reply("abcdef", ttft=0.01, itl=0.002, fault=Fault(keep_alive=True))
    async with Server([reply], chunking=ONE_CHAR) as server:
        (record,) = await run(server, requests(1))
    assert record.status == "ok"
    assert len(record.itl_ms) == 5 and record.output_tokens == 6
    assert record.t.ttfe_ms is not None and record.t.ttft_ms is not None and record.t.ttfe_ms < record.t.ttft_ms


async def test_reasoning_is_a_token_but_not_output() -> None:
    reply = Reply("ok", reasoning="hmm", ttft=0.01, itl=0.004)
    async with Server([reply], chunking=ONE_CHAR) as server:
        (record,) = await run(server, requests(1))
    tokens = token_arrivals(record)
    assert len(tokens) == 5
    assert record.t.ttft_ms == tokens[0]
    assert record.t.ttfot_ms == pytest.approx(tokens[3], abs=0.01)  # first content after three reasoning tokens
    assert record.reasoning == "hmm" and record.content == "ok"


async def test_multi_token_chunks_give_per_token_itl() -> None:
    text = "abcdefghijkl"  # 12 one-character tokens, 3 per event: 4 events
    reply = Reply(text, ttft=0.01, itl=0.006, tokens_per_event=3)
    async with Server([reply], chunking=ONE_CHAR) as server:
        (record,) = await run(server, requests(1), continuous_usage=True)
        body = server.requests[0].json
    assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert len(record.itl_ms) == 3 and record.itl_tokens == [3, 3, 3]
    assert record.output_tokens == 12
    tokens = token_arrivals(record)
    assert record.t.tpot_ms == pytest.approx((tokens[-1] - tokens[0]) / 11, abs=0.01)
    summary = summarize([record])
    # per token: each 6 ms gap is three samples of 2 ms
    assert summary["median_itl_per_token_ms"] == pytest.approx(summary["median_itl_ms"] / 3, rel=1e-6)


def expected_event(pieces: list[str], tool_parser: bool, kind: type) -> int:
    """Which token-bearing event carries the moment the parser emits ``kind``: content
    mode has one event per piece; a tool-parsing server sends one per piece that
    gives it a delta (held-back tag characters give none)."""
    parser = Parser("hermes")
    event = -1
    for piece in pieces:
        events = parser.feed(piece)
        if not tool_parser or any(not isinstance(e, ToolCallEnd) for e in events):
            event += 1
        if any(isinstance(e, kind) for e in events):
            return event
    raise AssertionError(f"no {kind.__name__}")


@pytest.mark.parametrize("tool_parser", [False, True], ids=["tags-in-content", "server-parsed"])
async def test_tool_call_stamps_are_the_arrivals_that_made_them(tool_parser: bool) -> None:
    text = "Sure. " + CALL
    reply = Reply(text, ttft=0.005, itl=0.001)
    async with Server([reply], chunking=ONE_CHAR, tool_parser=tool_parser) as server:
        (record,) = await run(server, requests(1))
    assert record.status == "ok" and [c.name for c in record.calls] == ["get_weather"]
    tokens = token_arrivals(record)
    pieces = list(text)
    (call,) = record.t.tool_calls
    assert call.start_ms == pytest.approx(tokens[expected_event(pieces, tool_parser, ToolCallStart)], abs=0.01)
    assert call.end_ms == pytest.approx(tokens[expected_event(pieces, tool_parser, ToolCallEnd)], abs=0.01)
    assert call.start_ms is not None and call.end_ms is not None and call.end_ms > call.start_ms
    summary = summarize([record])
    assert summary["median_first_call_ms"] == call.start_ms
    assert summary["median_first_complete_call_ms"] == call.end_ms


async def _stamp_lags(streams: int) -> list[float]:
    reply = Reply("x" * 20, ttft=0.01, itl=0.02)
    async with Server(lambda body: reply, chunking=ONE_CHAR) as server:
        records = await run(server, requests(streams))
        writes = {r.headers["x-request-id"]: r.writes for r in server.requests}
    lags: list[float] = []
    for record in records:
        assert record.status == "ok"
        written = [ms_from_send(record, ns) for ns in writes[record.id][1:21]]
        lags += [a - w for a, w in zip(token_arrivals(record), written)]
    return lags


@pytest.mark.parametrize("streams", [1, 64])
async def test_stamp_lag_behind_server_writes(streams: int) -> None:
    async def median_lag() -> float:
        lags = await _stamp_lags(streams)
        assert len(lags) == 20 * streams
        assert min(lags) >= 0
        return statistics.median(lags)

    # About a millisecond (the target); the bound leaves room for a loaded CI machine, while a stamp
    # taken after decoding or after the consumer's turn would be far above it.
    ok, medians = await best_of(3, median_lag, lambda median: median < 2.5)
    assert ok, f"p50 stamp lag per run {medians} ms"


def test_a_timeline_from_sglang_shaped_chunks_and_a_bare_call_id() -> None:
    # SGLang-based servers send finish_reason "" on every chunk (no finish), and a call's first fragment
    # may carry only its id (no model output yet); the stream is then cut off.
    def payload(delta: dict[str, Any]) -> str:
        return json.dumps({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": ""}]})

    deltas = [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "hmm"},
        {"content": "Hi"},
        {"tool_calls": [{"index": 0, "id": "call_1", "type": "function"}]},
        {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]},
    ]
    execution = Execution(Request(id="a", messages=[{"role": "user", "content": "x"}]))
    execution.begin()
    execution.sent(1_000_000_000)
    folder = ChunkFolder("hermes")
    for i, delta in enumerate(deltas):
        execution.read(1_000_000_000 + (i + 1) * 10_000_000)  # a read every 10 ms
        chunk = folder.decode(payload(delta))
        assert chunk is not None
        folder.chunk(chunk)
        execution.chunk(chunk, folder.output)
    record = execution.record("truncated", folder.message, None)
    assert record.finish_reason is None
    assert (record.t.ttfe_ms, record.t.ttft_ms, record.t.ttfot_ms, record.t.e2e_ms) == (10.0, 20.0, 30.0, 50.0)
    assert record.itl_ms == [10.0, 20.0]  # reasoning, content, the named fragment: the bare id is no token
    assert record.output_tokens == 3 and record.output_tokens_source == "events"


# -- faults ----------------------------------------------------------------------


async def test_503_then_success_is_one_ok_record_of_two_attempts() -> None:
    async with Server(["fine"], fail_first=1) as server:
        (record,) = await run(server, requests(1))
    assert record.status == "ok" and record.attempts == 2 and record.content == "fine"


async def test_http_400_is_a_settled_error_and_429_is_not() -> None:
    async with Server([Reply("x", fault=Fault(status=400, message="bad tool schema"))]) as server:
        (bad,) = await run(server, requests(1))
    assert bad.status == "error" and bad.error is not None
    assert (bad.error.kind, bad.error.status, bad.error.message) == ("http", 400, "bad tool schema")
    assert bad.attempts == 1 and bad.mono_send_ns is not None and is_settled(bad)
    async with Server([], fail_first=5, failure=Fault(status=429, message="slow down")) as server:
        (limited,) = await run(server, requests(1))
    assert limited.status == "error" and limited.attempts == 3 and not is_settled(limited)


async def test_dropped_connection_is_truncated_and_keeps_what_came() -> None:
    reply = Reply("abcdefgh", fault=Fault(drop_after=5))
    async with Server([reply], chunking=ONE_CHAR) as server:
        (record,) = await run(server, requests(1))
    assert record.status == "truncated" and record.error is not None and record.error.kind == "disconnected"
    assert record.content == "abcd" and record.output_tokens == 4 and record.output_tokens_source == "events"
    assert not is_settled(record)


async def test_in_band_error_is_an_error_with_the_servers_message() -> None:
    reply = Reply("abcdefgh", fault=Fault(error_after=4, message="KV cache exhausted"))
    async with Server([reply], chunking=ONE_CHAR) as server:
        (record,) = await run(server, requests(1))
    assert record.status == "error" and record.error is not None
    assert record.error.kind == "stream" and record.error.message == "KV cache exhausted"
    assert record.content == "abc"


async def test_stall_hits_the_idle_timeout() -> None:
    reply = Reply("abcdefgh", fault=Fault(stall_after=3, stall=3.0))
    async with Server([reply], chunking=ONE_CHAR) as server:
        (record,) = await run(server, requests(1), timeouts=Timeouts(idle=0.2))
    assert record.status == "error" and record.error is not None
    assert (record.error.kind, record.error.timeout) == ("timeout", "idle")
    assert record.t.end_ms is not None and record.t.end_ms < 1500


async def test_no_done_after_a_finish_is_ok() -> None:
    async with Server([Reply("abc", fault=Fault(done=False))], chunking=ONE_CHAR) as server:
        (record,) = await run(server, requests(1))
    assert record.status == "ok" and record.t.done_ms is None and record.t.e2e_ms is not None


async def test_eof_without_done_or_finish_is_truncated() -> None:
    body = (
        b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"lo"}}]}\n\n'
    )
    async with raw_server(200, body) as server:
        (record,) = await run(server.base_url, requests(1))
    assert record.status == "truncated" and record.content == "Hello"
    assert record.error is not None and "without [DONE]" in record.error.message
    assert len(record.itl_ms) == 1 and record.t.e2e_ms is not None and record.finish_reason is None


# -- self-check --------------------------------------------------------------------


async def test_loop_check_sees_a_blocked_loop() -> None:
    check = LoopCheck()
    check.start()
    check.begin()
    await asyncio.sleep(0.15)
    time.sleep(1.0)  # the loop is held longer than the quiet interval: a look falls in it and comes late
    await asyncio.sleep(0.15)
    check.end()
    check.stop()
    stats = check.stats("here")
    assert stats.max_loop_lag_ms is not None and stats.max_loop_lag_ms >= 100
    assert stats.wall_s >= 1.2 and 0 < stats.cpu_s < stats.wall_s  # asleep, not busy
    assert check._timer is None  # stopped: no timer left on the loop


async def test_loop_check_looks_less_often_at_a_quiet_loop_and_often_at_a_busy_one() -> None:
    check = LoopCheck()
    check.start()
    intervals = []
    deadline = time.perf_counter() + 10  # the quiet steps need timers on time; a loaded host delays some
    while check._interval < 0.8 and time.perf_counter() < deadline:  # quiet: looks at 0.1, 0.3, 0.7 s...
        await asyncio.sleep(0.05)
    intervals.append(check._interval)
    while check._interval > 0.1 and time.perf_counter() < deadline:  # busy: the CPU is this process's
        end = time.process_time() + 0.01
        while time.process_time() < end:
            pass
        await asyncio.sleep(0)
    intervals.append(check._interval)
    check.stop()
    assert intervals == [0.8, 0.1]


# -- load shapes --------------------------------------------------------------------


async def test_concurrency_cap_is_hit_and_never_exceeded() -> None:
    reply = Reply("abcdefghij", ttft=0.005, itl=0.002)
    async with Server(lambda body: reply, chunking=ONE_CHAR) as server:
        records = await run(server, requests(24), load=Load(max_concurrency=4))
        assert server.max_open_streams == 4
    assert all(r.status == "ok" for r in records)
    summary = summarize(records)
    assert summary["max_concurrent_requests"] == 4
    assert summary["p99_client_queue_time_ms"] > 20  # later requests waited for a slot


def test_poisson_and_gamma_arrivals() -> None:
    n, rate = 5000, 50.0
    for shape, cv in ((1.0, 1.0), (4.0, 0.5), (0.25, 2.0)):
        offsets = arrival_offsets(n, Load(request_rate=rate, burstiness=shape, seed=7))
        gaps = [b - a for a, b in zip([0.0, *offsets], offsets)]
        assert offsets[-1] == pytest.approx(n / rate)  # scaled like vLLM: the last arrival at N/R
        assert statistics.fmean(gaps) == pytest.approx(1 / rate)
        assert statistics.pstdev(gaps) / statistics.fmean(gaps) == pytest.approx(cv, rel=0.1)
    again = arrival_offsets(n, Load(request_rate=rate, seed=7))
    assert again == arrival_offsets(n, Load(request_rate=rate, seed=7))
    assert again != arrival_offsets(n, Load(request_rate=rate, seed=8))
    assert arrival_offsets(4, Load(request_rate=rate, burstiness=math.inf)) == pytest.approx([0.02, 0.04, 0.06, 0.08])
    assert arrival_offsets(3, Load()) == [0.0, 0.0, 0.0]


async def test_request_rate_is_followed_and_duration_stops_sending() -> None:
    async with Server(lambda body: Reply("ok")) as server:
        # 20 ms apart: at 10 ms, a loaded host's client and server together fell behind the schedule
        records = await run(server, requests(200), load=Load(request_rate=50, burstiness=math.inf, duration=0.5))
    assert 20 <= len(records) <= 27
    starts = sorted(r.mono_start_ns for r in records)
    gaps = [(b - a) / 1e6 for a, b in zip(starts, starts[1:])]
    assert statistics.median(gaps) == pytest.approx(20, abs=3.0)
    late = [r.t.start_ms - r.t.scheduled_ms for r in records if r.t.start_ms is not None and r.t.scheduled_ms is not None]
    # Sent on schedule, not systematically late (a loose bound: a loaded CI machine delays wake-ups).
    assert statistics.median(late) < 10.0


def test_sweep_steps() -> None:
    steps = parse_sweep("max-concurrency=1,8", Load(request_rate=5))
    assert [(label, load.max_concurrency, load.request_rate) for label, load in steps] == [
        ("max-concurrency=1", 1, 5),
        ("max-concurrency=8", 8, 5),
    ]


# -- stop, warm-up, scoring in the engine -----------------------------------------------


async def test_stop_cancels_in_flight_requests_within_moments() -> None:
    reply = Reply("x" * 100, ttft=0.01, itl=0.02)  # two seconds per request
    async with Server(lambda body: reply, chunking=ONE_CHAR) as server:
        async with Client(server.base_url, server.model) as client:
            engine = Engine(client, load=Load(max_concurrency=3))
            loop = asyncio.get_running_loop()
            loop.call_later(0.3, engine.stop)
            t0 = loop.time()
            records = [r async for r in engine.run(requests(10))]
            elapsed = loop.time() - t0
    assert elapsed < 1.0
    assert [r.status for r in records] == ["cancelled"] * 3
    assert all(r.error is not None and r.error.kind == "cancelled" and r.content for r in records)


async def test_warmups_come_first_and_scoring_fills_score() -> None:
    expected = Expected(calls=[ExpectedCall("get_weather", {"city": "Paris"})])
    async with Server(lambda body: Reply(CALL)) as server:
        async with Client(server.base_url, server.model) as client:
            engine = Engine(client, scoring=True)
            records = [r async for r in engine.run(requests(3, expected=expected), warmups=2)]
        ids = [r.headers["x-request-id"] for r in server.requests]
    assert [r.phase for r in records] == ["warmup", "warmup", "measure", "measure", "measure"]
    assert sorted(ids[:2]) == ["warmup-r0", "warmup-r1"]
    assert all(r.score is not None and r.score.valid and r.score.bfcl_valid for r in records)
    summary = summarize(records)
    assert summary["completed"] == 3  # warm-ups are not measured
    assert summary["accuracy_overall"]["valid"] == 1.0


def test_percentile_is_numpys_linear_type_7() -> None:
    data = sorted([3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0])
    quantiles = statistics.quantiles(data, n=100, method="inclusive")
    for p in range(1, 100):
        assert percentile(data, p) == pytest.approx(quantiles[p - 1])
    assert percentile(data, 0) == 1.0 and percentile(data, 100) == 9.0
    assert percentile([5.0], 99) == 5.0
