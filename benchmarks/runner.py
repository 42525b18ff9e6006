"""Runner benchmark: the runner's own overhead, side by side with a vLLM-style client.

    python benchmarks/runner.py             # table on stdout + section in RESULTS.md
    python benchmarks/runner.py --quick     # one round, fewer requests (~30 s)
    python benchmarks/runner.py --no-write  # stdout only

A server process (127.0.0.1, free port) streams vLLM-shaped chunks: the role
chunk at once, then ``EVENTS`` content events ``PACE`` apart, one event per
socket write, each write stamped with ``time.perf_counter_ns()`` (CLOCK_MONOTONIC,
the same clock in every process), then finish, usage and ``[DONE]``.

Clients, each in its own process, both at once, each with its own streams,
against the same server, at 1, 64 and 256 concurrent streams (closed loop, each
stream a run of requests). Running them together, rather than in turn, puts
them under the same machine: on a shared machine whose speed drifts over
seconds, clients in turn differed by up to 1.45x from one round to the next.

* the runner: :class:`streamparse.runner.Engine` with its record writer, every
  event parsed into streamparse events, stamps taken per network read;
* vLLM-style: ``async for line in resp.content`` + ``json.loads``, the token
  stamped before ``json.loads`` as vLLM's ``bench serve`` does for chat.

streamparse's ``Client`` reads a response 64 KiB per socket read; asyncio's
default, which the vLLM-style client keeps, is 256 KiB, a buffer glibc maps and
unmaps on every read.  ``--same-reads`` gives the vLLM-style client streamparse's
read size, to show what is left once that difference is gone.

CPU µs per token event is the client process's ``time.process_time()`` over
the token events received; stamp lag is the client's stamp of a token event minus
the server's write stamp of that event (p50/p99/max over all events).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE.parent), str(_HERE)):  # the helpers here; the working tree's streamparse
    if _p not in sys.path:
        sys.path.insert(0, _p)

import aiohttp  # noqa: E402

from _child import Child, serve  # noqa: E402
from _results import environment, write_section  # noqa: E402

EVENTS = 50  # token events per response
ITL = 0.02  # seconds between token events: 50 events/s per stream
STREAMS = (1, 64, 256)
# Seconds between token events per stream, by streams: both clients run at once, so at 256 streams a
# slower pace keeps the two of them and the server within the machine's 2 cores. A saturated machine
# batches reads, which makes CPU per event cheaper for whichever client falls further behind.
PACE = {1: ITL, 64: ITL, 256: 2 * ITL}


# ---------------------------------------------------------------- the server process


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    body = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": "bench", "choices": [choice]}
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


async def _serve(conn: Any) -> None:
    from aiohttp import web

    role = _chunk({"role": "assistant", "content": ""})
    tokens = [_chunk({"content": f" tok{i}"}) for i in range(EVENTS)]
    usage = {"prompt_tokens": 10, "completion_tokens": EVENTS, "total_tokens": 10 + EVENTS}
    end = (
        _chunk({}, "stop")
        + b"data: "
        + json.dumps({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "choices": [], "usage": usage}).encode()
        + b"\n\ndata: [DONE]\n\n"
    )
    writes: dict[str, list[int]] = {}
    loop = asyncio.get_running_loop()

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        # A base URL under /itl<ms> asks for that pace instead of ITL.
        pace = request.match_info.get("pace")
        itl = int(pace[3:]) / 1e3 if pace else ITL
        stamps = writes.setdefault(request.headers.get("X-Request-Id", ""), [])
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(role)
        deadline = loop.time()
        for data in tokens:
            deadline += itl
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            stamps.append(time.perf_counter_ns())
            await resp.write(data)
        await resp.write(end)
        await resp.write_eof()
        return resp

    async def take_writes(request: web.Request) -> web.Response:
        out = json.dumps(writes)
        writes.clear()
        return web.Response(text=out)

    async def models(request: web.Request) -> web.Response:  # what worker processes ask first
        return web.json_response({"object": "list", "data": [{"id": "bench", "object": "model"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/{pace:itl[0-9]+}/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/writes", take_writes)
    await serve(conn, app, lambda port: port)


def _server_main(conn: Any) -> None:
    asyncio.run(_serve(conn))


class ServerProcess:
    def __init__(self) -> None:
        self._child = Child(_server_main, timeout=60)
        self.port: int = self._child.hello
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._child.close()


# ---------------------------------------------------------------- the clients

MESSAGES = [{"role": "user", "content": "Tell me a story."}]


@dataclass
class Result:
    client: str
    streams: int
    requests: int
    events: int
    wall_s: float
    cpu_s: float
    server_cpu_s: float
    lags_ms: list[float]

    @property
    def cpu_us(self) -> float:
        return self.cpu_s / self.events * 1e6

    def lag(self, p: float) -> float:
        return _percentile(sorted(self.lags_ms), p)


def _percentile(ordered: list[float], p: float) -> float:
    from streamparse.runner import percentile

    return percentile(ordered, p)


async def _get(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as resp:
        return await resp.text()


async def runner_client(base: str, streams: int, count: int, tag: str) -> dict[str, list[int]]:
    """Token arrival stamps (ns) per request id, from the runner's records."""
    from streamparse.client import Client
    from streamparse.runner import Engine, Load, Request, Writer

    requests = [Request(id=f"{tag}-{i}", messages=MESSAGES) for i in range(count)]
    stamps: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp, Writer(os.path.join(tmp, "out.jsonl"), append=False) as writer:
        async with Client(base + "/v1", "bench", "bench") as client:
            engine = Engine(client, load=Load(max_concurrency=streams))
            async for record in engine.run(requests):
                writer.write(record)
                if record.status != "ok" or record.t.ttft_ms is None or record.mono_send_ns is None:
                    raise AssertionError(f"runner: {record.id} {record.status} {record.error}")
                at = record.mono_send_ns + record.t.ttft_ms * 1e6
                times = [int(at)]
                for gap in record.itl_ms:
                    at += gap * 1e6
                    times.append(int(at))
                stamps[record.id] = times
    return stamps


READ_SIZE = 64 * 1024  # bytes per socket read in streamparse's Client


async def vllm_style_client(
    base: str, streams: int, count: int, tag: str, read_size: int | None = None
) -> dict[str, list[int]]:
    """vLLM ``bench serve``'s chat loop: readline, strip, stamp, ``json.loads`` (``read_size``: bytes per
    socket read instead of asyncio's 256 KiB)."""
    stamps: dict[str, list[int]] = {}
    slots = asyncio.Semaphore(streams)
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:

        async def one(rid: str) -> None:
            body = {"model": "bench", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
            times: list[int] = []
            text: list[str] = []
            async with slots:
                async with session.post(base + "/v1/chat/completions", json=body, headers={"X-Request-Id": rid}) as resp:
                    if read_size is not None:
                        assert resp.connection is not None and resp.connection.transport is not None
                        resp.connection.transport.max_size = read_size  # type: ignore[attr-defined]
                    async for line in resp.content:
                        chunk = line.strip()
                        if not chunk or chunk.startswith(b":"):
                            continue
                        stamp = time.perf_counter_ns()
                        payload = chunk.decode("utf-8").removeprefix("data: ")
                        if payload == "[DONE]":
                            continue
                        data = json.loads(payload)
                        if choices := data.get("choices"):
                            content = choices[0]["delta"].get("content")
                            if content:
                                times.append(stamp)
                                text.append(content)
            stamps[rid] = times

        await asyncio.gather(*(one(f"{tag}-{i}") for i in range(count)))
    return stamps


RUNNER, VLLM, VLLM_SAME = (
    "streamparse runner (Engine + records)", "vLLM-style readline + json.loads", "vLLM-style, 64 KiB reads"
)
CLIENTS: dict[str, Callable[[str, int, int, str], Awaitable[dict[str, list[int]]]]] = {
    RUNNER: runner_client, VLLM: vllm_style_client, VLLM_SAME: partial(vllm_style_client, read_size=READ_SIZE)
}


def _client_main(conn: Any, name: str, url: str, streams: int, count: int, tag: str) -> None:
    asyncio.run(_client_run(conn, name, url, streams, count, tag))


async def _client_run(conn: Any, name: str, url: str, streams: int, count: int, tag: str) -> None:
    """In a child process: a warm-up at the same width, ``ready``, then on ``go`` the measured run."""
    client = CLIENTS[name]
    # The first run at a new width pays for the process's growth (sockets, memory): not measured.
    await client(url, streams, streams, f"warm-{tag}")
    gc.collect()
    conn.send("ready")
    loop = asyncio.get_running_loop()
    go = asyncio.Event()
    loop.add_reader(conn.fileno(), go.set)
    await go.wait()
    loop.remove_reader(conn.fileno())
    conn.recv()
    c0, t0 = time.process_time(), time.perf_counter()
    stamps = await client(url, streams, count, tag)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    conn.send((wall, cpu, stamps))
    conn.recv()  # "stop"


async def _server_stats(server: ServerProcess, what: str) -> Any:
    async with aiohttp.ClientSession() as session:
        return json.loads(await _get(session, server.url + what))


def measure(server: ServerProcess, streams: int, count: int, tag: str, names: list[str]) -> list[Result]:
    """One round: every client in its own process, at once, each with its own ``streams``
    streams, so that the machine's moods fall on all of them alike."""
    asyncio.run(_server_stats(server, "/writes"))  # drop what came before
    children: dict[str, Child] = {}
    try:
        for i, name in enumerate(names):  # each warms up on its own before the round starts
            url = f"{server.url}/itl{PACE[streams] * 1e3:.0f}"
            children[name] = Child(_client_main, name, url, streams, count, f"{tag}-{i}", timeout=600)
        server0 = asyncio.run(_server_stats(server, "/cpu"))
        for child in children.values():
            child.send("go")
        runs = {name: child.recv() for name, child in children.items()}
        server1 = asyncio.run(_server_stats(server, "/cpu"))
        writes: dict[str, list[int]] = asyncio.run(_server_stats(server, "/writes"))
    finally:
        for child in children.values():
            child.close()
    results = []
    for name, (wall, cpu, stamps) in runs.items():
        lags: list[float] = []
        events = 0
        for rid, times in stamps.items():
            written = writes[rid]
            if len(times) != len(written) or len(times) != EVENTS:
                raise AssertionError(f"{name}: {rid} has {len(times)} token stamps for {len(written)} writes")
            events += len(times)
            lags += [(t - w) / 1e6 for t, w in zip(times, written)]
        results.append(Result(name, streams, count, events, wall, cpu, server1 - server0, lags))
    return results


def report(results: list[Result], env: str, load: str) -> str:
    names = list(dict.fromkeys(r.client for r in results))
    same_reads = VLLM_SAME in names
    lines = [
        "## runner.py — the runner's own overhead vs a vLLM-style client" + (" (same read size)" if same_reads else ""),
        "",
        env,
        "",
        f"Server: a separate process on 127.0.0.1 streaming {EVENTS} content events per response "
        "(the pace per stream in the table), one event per socket write, each write "
        "stamped with `perf_counter_ns` (CLOCK_MONOTONIC, shared by every process). Closed loop: each of "
        "the N streams runs requests back to back. The two clients run at once, each in its own process "
        "with its own N streams, on the default asyncio loop, each after its own warm-up at the same "
        "concurrency, so that a round puts both under the same machine; at 256 streams the pace is halved "
        "so that the two clients and the server stay within the 2 cores. The runner row is the whole engine: stamps per read, events parsed "
        "by `Client.stream`, timeline and record built, each record encoded and written to a file. The "
        "vLLM-style row reads lines, stamps before `json.loads` and keeps the content"
        + (
            ", reading 64 KiB per socket read as the runner's `Client` does (`--same-reads`). "
            if same_reads
            else "; it reads 256 KiB per socket read (asyncio's default, mapped and unmapped by glibc on every read), "
            f"the runner's `Client` {READ_SIZE // 1024} KiB (`--same-reads` gives both the same). "
        )
        + "CPU is each client's process "
        f"alone; server CPU serves both. Load average before / after: {load}.",
        "",
        "| streams | events/s per stream | token events/s | client | CPU µs per token event | × vLLM-style | stamp lag p50 / p99 / max (ms) | server CPU (% core) |",
        "|--:|--:|--:|---|--:|--:|--:|--:|",
    ]
    by_streams: dict[int, list[Result]] = {}
    for r in results:
        by_streams.setdefault(r.streams, []).append(r)
    verdicts = []
    runner_cpu: dict[int, float] = {}
    for streams, group in by_streams.items():
        # Rounds pair up in order: round k of one client ran next to round k of the other.
        base_rounds = [r for r in group if r.client.startswith("vLLM")]
        ratio: dict[str, float] = {}
        for name in names:
            rounds = [r for r in group if r.client == name]
            ratio[name] = statistics.median(r.cpu_us / b.cpu_us for r, b in zip(rounds, base_rounds))
            cpu = statistics.median(r.cpu_us for r in rounds)
            lags = sorted(lag for r in rounds for lag in r.lags_ms)
            rate = statistics.median(r.events / r.wall_s for r in rounds)
            server = statistics.median(r.server_cpu_s / r.wall_s for r in rounds)
            lines.append(
                f"| {streams} | {1 / PACE[streams]:g} | {rate:,.0f} | {name} | {cpu:.1f} | {ratio[name]:.2f}× | "
                f"{_percentile(lags, 50):.2f} / {_percentile(lags, 99):.2f} / {lags[-1]:.1f} | {server * 100:.0f} % |"
            )
            if not name.startswith("vLLM"):
                runner_cpu[streams] = cpu
                each = ", ".join(f"{r.cpu_us / b.cpu_us:.2f}×" for r, b in zip(rounds, base_rounds))
                verdicts.append(f"{streams}: {ratio[name]:.2f}× (rounds: {each})")
    busiest = max(runner_cpu)
    lines += [
        "",
        "CPU per token event, runner / vLLM-style, median of the rounds' ratios "
        "(target: below 1×, while parsing everything): "
        + "; ".join(verdicts)
        + ". At one stream the CPU per event is mostly the loop's fixed cost per wake-up.",
        f"Events/s one process sustains: the loads above, with the stamp lags shown; at {busiest} streams "
        f"the runner spent {runner_cpu[busiest]:.0f} µs of CPU per token event, a ceiling of ~{1e6 / runner_cpu[busiest]:,.0f} "
        "token events/s on one core with nothing left for timely stamps: plan at most half of it per process "
        "and shard above.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="fewer requests per case")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per case, both clients at once in each (default 5; --quick 1)")
    ap.add_argument("--same-reads", action="store_true", help="the vLLM-style client reads 64 KiB per socket read, as the runner does")
    args = ap.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    names = [RUNNER, VLLM_SAME if args.same_reads else VLLM]
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    server = ServerProcess()
    results: list[Result] = []
    try:
        for streams in STREAMS:
            count = max(streams * (1 if args.quick else 2), 3 if args.quick else 6)
            for k in range(args.rounds):
                for result in measure(server, streams, count, f"s{streams}-{k}", names):
                    results.append(result)
                    print(
                        f"  {streams} stream(s), round {k + 1}, {result.client}: {result.cpu_us:.1f} µs CPU/event, "
                        f"lag p50 {result.lag(50):.2f} ms p99 {result.lag(99):.2f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        server.close()
    load = f"{load0:.1f} / {os.getloadavg()[0]:.1f}"
    text = report(results, environment("streamparse-llm", "aiohttp", "msgspec"), load)
    print(text)
    if not args.no_write:
        section = "runner.py --same-reads" if args.same_reads else "runner.py"
        print(f"updated {write_section(section, text)}", file=sys.stderr)
    print(f"total {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
