"""The runner past one process: ``--workers`` (spawned processes) against the embedded server.

The same scripted workload runs in one process and in two workers: the same
records and summary counts must come out, and the concurrency cap must hold
across the workers (the server counts its open streams). A worker killed
mid-run has its requests recorded as ``worker_lost`` errors, the run goes on,
and a rerun resumes them. Ctrl-C to the whole process group stops in order.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from streamparse.cli import main
from streamparse.client import Client, Retries
from streamparse.errors import WorkerError
from streamparse.runner import Engine, Load, Record, Request, latest, read_records, summarize
from streamparse.runner.dealer import clock_offset
from streamparse.runner.protocol import ClientSpec, Job, Stop, frame, read_frames
from streamparse.runner.workers import EVENTS_PER_PROCESS, STREAM_EVENTS_PER_S, Workers, auto_count
from streamparse.server import Fault, Reply, Server
from streamparse.server.pieces import Chunking

from .helpers import best_of
from .test_cli import running
from .test_runner import CALL, ONE_CHAR, _no_retry_waits  # noqa: F401  (the fixture applies here too)
from .test_runner_cli import ENV, write_input


def scripted(body: dict[str, Any]) -> Reply:
    """Each request's reply follows its prompt: text, a tool call, a 400, a dropped stream."""
    kind = body["messages"][0]["content"].split("-")[0]
    if kind == "call":
        return Reply("Let me look. " + CALL, ttft=0.005, itl=0.001)
    if kind == "bad":
        return Reply("x", fault=Fault(status=400, message="bad request"))
    if kind == "drop":
        return Reply("abcdefghij", ttft=0.005, itl=0.002, fault=Fault(drop_after=5))
    return Reply("abcdefghijklmnop", ttft=0.01, itl=0.003)


KINDS = ("text", "call", "text", "bad", "text", "drop", "call", "text")


def workload(n: int) -> list[Request]:
    return [Request(id=f"r{i}", messages=[{"role": "user", "content": f"{KINDS[i % len(KINDS)]}-{i}"}]) for i in range(n)]


def outcome(record: Record) -> tuple[Any, ...]:
    """What a record says, without its timings (and the host and run that made it)."""
    error = record.error
    return (
        record.id,
        record.phase,
        record.status,
        record.content,
        [(c.name, c.arguments) for c in record.calls],
        record.output_tokens,
        record.output_tokens_source,
        record.finish_reason,
        None if error is None else (error.kind, error.status, error.message),
    )


COUNTS = ("num_prompts", "completed", "failed", "status", "errors", "total_output_tokens", "tool_calls")


def assert_same(shared: list[Record], alone: list[Record]) -> None:
    """The same records (but for timings) and the same summary counts as one process."""
    assert sorted(map(outcome, shared)) == sorted(map(outcome, alone))
    one, two = summarize(alone), summarize(shared)
    assert {k: two[k] for k in COUNTS} == {k: one[k] for k in COUNTS}
    # Both ran requests side by side, never more than the cap (reaching it exactly depends on the host's timing).
    assert 2 <= one["max_concurrent_requests"] <= 4 and 2 <= two["max_concurrent_requests"] <= 4


async def one_process(requests: list[Request], load: Load) -> list[Record]:
    """The workload as the single-process runner does it: what every scale-out must match."""
    async with Server(scripted, chunking=ONE_CHAR) as server:
        async with Client(server.base_url, server.model) as client:
            records = [r async for r in Engine(client, load=load).run(requests, warmups=2)]
        assert server.max_open_streams <= load.max_concurrency
    return records


async def test_two_workers_give_the_records_and_counts_of_one_process() -> None:
    requests = workload(32)
    load = Load(max_concurrency=4)
    alone = await one_process(requests, load)
    async with Server(scripted, chunking=ONE_CHAR) as server:
        async with Workers(ClientSpec(base_url=server.base_url, model=server.model), count=2) as workers:
            engine = Engine(workers, load=load)
            shared = [r async for r in engine.run(requests, warmups=2)]
            pids = workers.pids
        assert 2 <= server.max_open_streams <= 4  # the cap is the scheduler's, across both workers
    assert_same(shared, alone)
    assert {r.status for r in shared} == {"ok", "error", "truncated"}
    # both workers ran requests, on this host's clock (the scheduler's own)
    stats = engine.client_stats()
    assert stats["processes"] == 2 and sorted(w["pid"] for w in stats["workers"]) == sorted(pids)
    assert all(w["token_events"] > 0 for w in stats["workers"])
    assert stats["token_events"] == sum(len(r.itl_ms) + 1 for r in shared if r.phase == "measure" and r.t.ttft_ms)
    assert all(r.host == shared[0].host != "" for r in shared)
    starts = [r.mono_start_ns for r in shared if r.phase == "measure"]
    assert max(starts) - min(starts) < 30e9  # one clock: the stamps of both workers interleave


async def test_due_times_dealt_ahead_hold_across_workers() -> None:
    """A rate of 100/s, evenly spaced: each request starts when it is due, whichever process runs it."""
    requests = workload(24)
    async with Server(lambda body: Reply("ok"), chunking=ONE_CHAR) as server:
        async with Workers(ClientSpec(base_url=server.base_url, model=server.model), count=2, loop="asyncio") as workers:

            async def medians() -> tuple[float, float]:
                """The median gap between starts and the median lateness, in ms."""
                records = [r async for r in Engine(workers, load=Load(request_rate=100, burstiness=math.inf)).run(requests)]
                starts = sorted(r.mono_start_ns for r in records)
                late = [r.t.start_ms - r.t.scheduled_ms for r in records if r.t.start_ms is not None and r.t.scheduled_ms is not None]
                assert len(late) == 24 and min(late) >= 0
                return statistics.median([(b - a) / 1e6 for a, b in zip(starts, starts[1:])]), statistics.median(late)

            ok, seen = await best_of(3, medians, lambda m: abs(m[0] - 10) <= 2.0 and m[1] < 2.0)
    assert ok, f"median gap and lateness per run (ms): {seen}"


async def test_a_killed_worker_loses_only_its_requests() -> None:
    reply = Reply("x" * 30, ttft=0.01, itl=0.02)  # 0.6 s per request
    async with Server(lambda body: reply, chunking=ONE_CHAR) as server:
        async with Workers(ClientSpec(base_url=server.base_url, model=server.model), count=2) as workers:
            victim = workers.pids[0]
            records: list[Record] = []
            async for record in Engine(workers, load=Load(max_concurrency=4)).run(workload(12)):
                records.append(record)
                if len(records) == 1:
                    os.kill(victim, signal.SIGKILL)
            lost = list(workers.lost)
    assert len(records) == 12 and len({r.id for r in records}) == 12
    gone = [r for r in records if r.status == "error"]
    assert 1 <= len(gone) <= 3  # what the victim held then: its share of the 4 slots, less what had ended
    for record in gone:
        assert record.error is not None and record.error.kind == "worker_lost"
        assert f"pid {victim}" in record.error.message and "SIGKILL" in record.error.message
    assert sum(r.status == "ok" for r in records) == 12 - len(gone)  # the other worker ran the rest
    (line,) = lost
    assert f"pid {victim}" in line and "killed by SIGKILL" in line
    assert summarize(records)["errors"] == {"worker_lost": len(gone)}


async def test_a_worker_that_cannot_reach_the_server_stops_the_start() -> None:
    spec = ClientSpec(base_url="http://127.0.0.1:9/v1", model="m", retries=Retries(attempts=1))
    with pytest.raises(WorkerError, match=r"worker \d \(pid \d+\) on .*cannot reach http://127\.0\.0\.1:9/v1"):
        async with Workers(spec, count=2):
            pass


async def test_stop_cancels_what_every_worker_holds() -> None:
    reply = Reply("x" * 100, ttft=0.01, itl=0.02)  # two seconds per request
    async with Server(lambda body: reply, chunking=ONE_CHAR) as server:
        async with Workers(ClientSpec(base_url=server.base_url, model=server.model), count=2) as workers:
            engine = Engine(workers, load=Load(max_concurrency=4))
            loop = asyncio.get_running_loop()
            loop.call_later(0.4, engine.stop)
            t0 = loop.time()
            records = [r async for r in engine.run(workload(10))]
            took = loop.time() - t0
    assert took < 1.0
    assert [r.status for r in records] == ["cancelled"] * 4
    assert all(r.content for r in records)  # what arrived before the stop is kept


async def test_a_worker_that_does_not_answer_the_stop_is_given_up() -> None:
    reply = Reply("x" * 100, ttft=0.01, itl=0.02)
    async with Server(lambda body: reply, chunking=ONE_CHAR) as server:
        async with Workers(ClientSpec(base_url=server.base_url, model=server.model), count=2) as workers:
            frozen = workers.pids[0]
            engine = Engine(workers, load=Load(max_concurrency=4))

            def freeze_and_stop() -> None:
                os.kill(frozen, signal.SIGSTOP)  # alive, but deaf
                engine.stop()

            loop = asyncio.get_running_loop()
            loop.call_later(0.4, freeze_and_stop)
            t0 = loop.time()
            try:
                records = [r async for r in engine.run(workload(10))]
                took = loop.time() - t0
                lost = list(workers.lost)
            finally:
                os.kill(frozen, signal.SIGKILL)
    assert took < 2.0
    assert [r.status for r in records] == ["cancelled"] * 4
    assert sum(bool(r.content) for r in records) == 2  # the frozen worker's two never came back: made here
    (line,) = lost
    assert f"pid {frozen}" in line and "no answer to a stop within 1 s" in line


def test_auto_count_follows_streams_and_cpus() -> None:
    per_process = EVENTS_PER_PROCESS["asyncio"] // STREAM_EVENTS_PER_S
    assert auto_count(Load(max_concurrency=per_process), 10_000, cpus=8, loop="asyncio") == 1
    assert auto_count(Load(max_concurrency=per_process + 1), 10_000, cpus=8, loop="asyncio") == 2
    assert auto_count(Load(max_concurrency=100 * per_process), 10_000, cpus=8, loop="asyncio") == 8
    assert auto_count(Load(), 3 * per_process, cpus=8, loop="asyncio") == 3  # no cap, no rate: all at once
    assert auto_count(Load(request_rate=50), 10, cpus=6, loop="asyncio") == 6  # a rate without a cap: no bound


def test_frames_survive_any_split() -> None:
    messages = [Job(7, Request(id="a", messages=[{"role": "user", "content": "é" * 50}]), "measure", 123), Stop()]
    data = b"".join(frame(m) for m in messages)
    for cut in range(len(data) + 1):
        buffer = bytearray(data[:cut])
        got = read_frames(buffer)
        buffer += data[cut:]
        got += read_frames(buffer)
        assert got == messages and not buffer


def test_clock_offset_takes_the_shortest_round_trip() -> None:
    # the remote clock runs 5,000 ns ahead; the slow trips' answers came late
    samples = [(0, 9_000, 8_000), (100, 5_150, 200), (1_000, 7_500, 4_000)]
    assert clock_offset(samples) == 5_000


# -- the command line ------------------------------------------------------------


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _worker_pids(pid: int, count: int, timeout: float = 30.0) -> list[int]:
    """The spawned workers of process ``pid`` (not multiprocessing's resource tracker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = []
        for child in _children(pid):
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(child)
            except OSError:
                continue
        if len(found) == count:
            return found
        time.sleep(0.02)
    raise AssertionError(f"process {pid} did not start {count} workers")


def _wait_for_lines(path: Path, lines: int, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (not path.exists() or path.read_bytes().count(b"\n") < lines) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)


def _command(requests: str, out: Path, base_url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "streamparse", "run", requests, "-o", str(out), "--base-url", base_url,
            "--max-concurrency", "4", "--workers", "2", "--quiet", *extra]  # fmt: skip


SLOW = Chunking(min_piece=1, max_piece=1, max_multi=1, multi=0)


def test_killed_worker_is_in_the_summary_and_resume_reruns_its_requests(tmp_path: Path) -> None:
    requests = write_input(tmp_path / "in.jsonl", 16)
    out = tmp_path / "out.jsonl"
    server = Server(lambda body: Reply("x" * 20, ttft=0.01, itl=0.015), chunking=SLOW)
    with running(server):
        proc = subprocess.Popen(_command(requests, out, server.base_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        victim = _worker_pids(proc.pid, 2)[0]
        _wait_for_lines(out, 2, proc)
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 1, stderr  # the run finished, but not every request could run
        assert "Successful requests:" in stdout
        assert f"pid {victim}" in stderr and "killed by SIGKILL" in stderr and "rerun to resume" in stderr
        first = read_records(str(out))
        lost = {r.id for r in first if r.error is not None and r.error.kind == "worker_lost"}
        assert lost and len(first) == 16 and all(r.status == "ok" for r in first if r.id not in lost)
        summary = json.loads((tmp_path / "out.summary.json").read_text())
        assert summary["errors"] == {"worker_lost": len(lost)} and summary["completed"] == 16 - len(lost)
        before = len(server.requests)
        again = subprocess.run(_command(requests, out, server.base_url), capture_output=True, text=True, env=ENV, timeout=60)
        assert again.returncode == 0, again.stderr
        rerun = {r.headers["x-request-id"] for r in server.requests[before:]}
    assert rerun == lost
    final = latest(read_records(str(out)))
    assert len(final) == 16 and all(r.status == "ok" for r in final)


def test_ctrl_c_to_the_process_group_stops_workers_in_order(tmp_path: Path) -> None:
    """Resume after it is the single-process runner's (the same records, the same rerun)."""
    requests = write_input(tmp_path / "in.jsonl", 24)
    out = tmp_path / "out.jsonl"
    server = Server(lambda body: Reply("x" * 20, ttft=0.01, itl=0.015), chunking=SLOW)
    with running(server):
        proc = subprocess.Popen(
            _command(requests, out, server.base_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )  # fmt: skip
        workers = _worker_pids(proc.pid, 2)
        _wait_for_lines(out, 4, proc)
        time.sleep(0.1)  # the next four are mid-stream
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: every process of the group gets it
        stdout, stderr = proc.communicate(timeout=10)
        took = time.monotonic() - sent
        assert proc.returncode == 130, stderr
        assert took < 2.0
        assert "Successful requests:" in stdout and "interrupted" in stderr and "Traceback" not in stderr
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
        first = read_records(str(out))
        statuses = [r.status for r in first]
        # every slot is mid-stream unless a stalled host woke between one request's end and the next's start
        assert set(statuses) == {"ok", "cancelled"} and 1 <= statuses.count("cancelled") <= 4 and statuses.count("ok") >= 4
        assert any(r.content for r in first if r.status == "cancelled")


def test_workers_option_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "two"):
        assert main(["bench", "--workers", bad]) == 2
        assert "--workers: must be a number of processes" in capsys.readouterr().err


def test_aiohttp_and_ray_are_imported_only_when_used() -> None:
    code = (
        "import sys, streamparse.runner, streamparse.cli.runner; assert 'aiohttp' not in sys.modules; "
        "from streamparse.runner import RayActors, Workers; assert 'ray' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
