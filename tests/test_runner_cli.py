"""``streamparse run / bench / summarize / score`` against the embedded server (on its own thread)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import stamina

from streamparse.cli import main
from streamparse.runner import Record, latest, read_records
from streamparse.server import Reply, Server
from streamparse.server.pieces import Chunking

from .test_cli import running

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


def weather_server(**reply: Any) -> Server:
    # The model id names its format, as the embedded server's does: the commands' default --format auto finds it.
    return Server(lambda body: Reply("Let me look. " + CALL, **reply), chunking=Chunking(seed=3), model="Qwen/Qwen3-8B")


def write_input(path: Path, n: int, *, start: int = 0) -> str:
    lines = [
        {
            "id": f"q{i}",
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "category": "simple",
            "expected": {"calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
            "meta": {"n": i},
        }
        for i in range(start, start + n)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def test_bench_without_input_runs_to_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, vllm, plot = tmp_path / "b.jsonl", tmp_path / "v.json", tmp_path / "r.html"
    with running(weather_server(ttft=0.005, itl=0.001)) as server:
        status = main(
            ["bench", "--base-url", server.base_url, "--num-prompts", "20", "--max-concurrency", "4", "-o", str(out),
             "--save-vllm-json", str(vllm), "--plot", str(plot), "--goodput", "ttft:1000", "--quiet"]
        )  # fmt: skip
        assert len(server.requests) == 21, capsys.readouterr().err  # one warm-up
        assert server.requests[1].json["max_tokens"] == 128 and server.requests[1].json["ignore_eos"] is True
    assert status == 0
    table = capsys.readouterr().out
    assert "Successful requests:" in table and "ttft" in table and "first_complete_call" in table
    records = read_records(str(out))
    assert [r.phase for r in records].count("warmup") == 1 and len(latest(records)) == 20
    summary = json.loads((tmp_path / "b.summary.json").read_text())
    assert summary["completed"] == 20 and summary["request_goodput"] == pytest.approx(summary["request_throughput"])
    assert summary["tool_calls"]["calls"] == 20 and summary["client"]["token_events"] > 0
    result = json.loads(vllm.read_text())
    for key in ("duration", "completed", "ttfts", "itls", "latencies", "mean_ttft_ms", "p99_itl_ms", "max_concurrency"):
        assert key in result, key
    assert len(result["ttfts"]) == 20 and result["max_concurrency"] == 4 and result["request_rate"] == "inf"
    report = plot.read_text()
    assert report.count("<svg") >= 4 and "http" not in report and "<script" not in report


def test_run_scores_then_resumes_and_rescoring_matches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requests = write_input(tmp_path / "in.jsonl", 6)
    out = str(tmp_path / "out.jsonl")
    with running(weather_server()) as server:
        assert main(["run", requests, "-o", out, "--base-url", server.base_url, "--quiet"]) == 0
        assert main(["run", requests, "-o", out, "--base-url", server.base_url, "--quiet"]) == 0
        assert len(server.requests) == 6  # the rerun found everything done
    printed = capsys.readouterr().out
    assert "resuming" in printed and "6 done, 0 to run" in printed
    records = read_records(out)
    assert len(records) == 6 and all(r.score is not None and r.score.valid for r in records)
    # records land in completion order, so the input's fields are checked by id
    assert {r.id: (r.meta, r.category) for r in records} == {f"q{i}": ({"n": i}, "simple") for i in range(6)}
    # rescoring against other expectations, without re-running
    changed = tmp_path / "changed.jsonl"
    changed.write_text(Path(requests).read_text().replace('"Paris"', '"Lyon"'))
    assert main(["score", out, "--expected", str(changed), "-o", str(tmp_path / "rescored.jsonl")]) == 0
    assert "strict 0.000 bfcl 0.000" in capsys.readouterr().out
    rescored = read_records(str(tmp_path / "rescored.jsonl"))
    assert all(r.score is not None and r.score.error_type == "value_error:string" for r in rescored)
    assert main(["summarize", out, "--metric-percentiles", "50,99.9"]) == 0
    assert "p99.9" in capsys.readouterr().out


def test_resume_repairs_a_torn_line_and_counts_each_id_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requests = write_input(tmp_path / "in.jsonl", 5)
    out = tmp_path / "out.jsonl"
    with running(weather_server()) as server:
        assert main(["run", requests, "-o", str(out), "--base-url", server.base_url, "--quiet", "--num-prompts", "3"]) == 0
        whole = out.read_bytes()
        lines = whole.splitlines(keepends=True)
        # the third record torn by a crash; the second rewritten as a transient failure
        failed = msgspec.json.decode(lines[1])
        failed.update(status="error", error={"kind": "http", "message": "overloaded", "status": 503})
        out.write_bytes(lines[0] + msgspec.json.encode(failed) + b"\n" + lines[2][: len(lines[2]) // 2])
        assert main(["run", requests, "-o", str(out), "--base-url", server.base_url, "--quiet"]) == 0
        rerun = [r.headers["x-request-id"] for r in server.requests[3:]]
    kept = msgspec.json.decode(lines[0])["id"]
    assert sorted(rerun) == sorted({f"q{i}" for i in range(5)} - {kept})
    records = read_records(str(out))  # every line whole again
    assert len(records) == 6 and [r.id for r in records].count(failed["id"]) == 2
    assert {r.id: r.status for r in latest(records)} == {f"q{i}": "ok" for i in range(5)}
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    assert summary["completed"] == 5 and summary["failed"] == 0 and summary["runs"] == 2


def test_input_error_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "messages": [{"role": "user", "content": "hi"}]}\n{"id": "b", "mesages": []}\n')
    assert main(["run", str(path), "-o", str(tmp_path / "o.jsonl"), "--base-url", "http://127.0.0.1:9/v1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}:2:" in err and "mesages" in err


def test_sweep_writes_one_output_per_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.jsonl"
    with running(weather_server()) as server:
        args = ["bench", "--base-url", server.base_url, "--num-prompts", "4", "--num-warmups", "0", "--quiet"]
        assert main([*args, "-o", str(out), "--sweep", "max-concurrency=1,2"]) == 0
    for step in ("max-concurrency=1", "max-concurrency=2"):
        assert len(read_records(str(tmp_path / f"s.{step}.jsonl"))) == 4
        assert json.loads((tmp_path / f"s.{step}.summary.json").read_text())["load"]["max_concurrency"] == int(step[-1])
    assert capsys.readouterr().out.count("Successful requests:") == 2


def _run_command(requests: str, out: str, base_url: str) -> list[str]:
    return [sys.executable, "-m", "streamparse", "run", requests, "-o", out, "--base-url", base_url,
            "--max-concurrency", "3", "--quiet"]  # fmt: skip


def test_sigint_stops_within_two_seconds_then_resume_finishes(tmp_path: Path) -> None:
    requests = write_input(tmp_path / "in.jsonl", 24)
    out = tmp_path / "out.jsonl"
    server = Server(
        lambda body: Reply("x" * 20, ttft=0.01, itl=0.015),
        chunking=Chunking(min_piece=1, max_piece=1, max_multi=1, multi=0),
        model="streamparse-hermes",
    )
    with running(server):
        proc = subprocess.Popen(
            _run_command(requests, str(out), server.base_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
        )
        deadline = time.monotonic() + 20
        while (not out.exists() or out.read_bytes().count(b"\n") < 3) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # the next three are mid-stream
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=10)
        took = time.monotonic() - sent
        assert proc.returncode == 130, stderr
        assert took < 2.0
        assert "Successful requests:" in stdout and "interrupted" in stderr
        first = read_records(str(out))
        statuses = [r.status for r in first]
        # every slot is mid-stream unless a stalled host woke between one request's end and the next's start
        assert set(statuses) == {"ok", "cancelled"} and 1 <= statuses.count("cancelled") <= 3 and statuses.count("ok") >= 3
        cancelled = {r.id for r in first if r.status == "cancelled"}
        assert any(r.content for r in first if r.status == "cancelled")  # what arrived is kept
        before = len(server.requests)
        again = subprocess.run(_run_command(requests, str(out), server.base_url), capture_output=True, text=True, env=ENV, timeout=60)
        assert again.returncode == 0, again.stderr
        rerun = {r.headers["x-request-id"] for r in server.requests[before:]}
    assert cancelled <= rerun and len(rerun) == 24 - statuses.count("ok")
    final = latest(read_records(str(out)))
    assert len(final) == 24 and all(r.status == "ok" for r in final)


def test_records_round_trip_through_json(tmp_path: Path) -> None:
    with running(weather_server()) as server:
        assert main(["bench", "--base-url", server.base_url, "--num-prompts", "2", "-o", str(tmp_path / "o.jsonl"), "--quiet"]) == 0
    (record,) = read_records(str(tmp_path / "o.jsonl"))[1:2]
    assert isinstance(record, Record)
    assert msgspec.json.decode(msgspec.json.encode(record), type=Record) == record
