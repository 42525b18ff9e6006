"""Scale-out benchmark: one process vs ``--workers 2`` vs Ray (two local actors), at loads that saturate one process.

    python benchmarks/scale.py             # table on stdout + section in RESULTS.md
    python benchmarks/scale.py --quick     # one load, one round (~1 min)
    python benchmarks/scale.py --no-write  # stdout only

The server is runner.py's: a separate process on 127.0.0.1 streaming 50
content events per response, 20 ms apart (50 events/s per stream), one event
per socket write, each write stamped with ``time.perf_counter_ns()``
(CLOCK_MONOTONIC: the same clock in every process of this host, Ray's actors
included). Each case is the runner's engine, closed loop (``--max-concurrency``
N, N × rounds requests, a warm-up first) with its records written to a file,
through one of: this process alone (``streamparse bench``), two worker
processes fed by this one (``--workers 2``), two Ray actors on a local
two-CPU cluster (``--ray``). Token events/s = the measured requests' token
events ÷ the run's duration (first start to last end); stamp lag = the
record's stamp of a token event − the server's write stamp of that event.
CPU per event counts every client process (scheduler and workers).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE.parent), str(_HERE)):  # the helpers here; the working tree's streamparse
    if _p not in sys.path:
        sys.path.insert(0, _p)

import aiohttp  # noqa: E402

from _results import environment, write_section  # noqa: E402
from runner import EVENTS, ITL, ServerProcess  # noqa: E402

STREAMS = (256, 512)
ROUNDS = 4  # requests per stream: the burst at the start weighs little
MESSAGES = [{"role": "user", "content": "Tell me a story."}]
# A one-host Ray cluster on the loopback address, without usage reports (read when Ray is imported).
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


@dataclass
class Case:
    name: str
    kind: str  # "one", "workers", "ray"
    loop: str  # "asyncio", "uvloop"; Ray's actors run Ray's own loop (asyncio)


@dataclass
class Result:
    case: Case
    streams: int
    events: int
    duration_s: float
    lags_ms: list[float]
    client: dict[str, Any]
    server_cpu_s: float
    wall_s: float
    failed: int

    @property
    def events_per_s(self) -> float:
        return self.events / self.duration_s

    def lag(self, p: float) -> float:
        from streamparse.runner import percentile

        return percentile(sorted(self.lags_ms), p)


async def _get(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as resp:
        return await resp.text()


@asynccontextmanager
async def backend(case: Case, base: str) -> AsyncIterator[Any]:
    from streamparse.runner import ClientSpec, RayActors, Workers

    spec = ClientSpec(base_url=base + "/v1", model="bench", api_key="bench")
    if case.kind == "workers":
        async with Workers(spec, count=2, loop="uvloop" if case.loop == "uvloop" else "asyncio") as workers:
            yield workers
    elif case.kind == "ray":
        async with RayActors(spec, count=2) as actors:
            yield actors
    else:
        async with spec.client() as client:
            yield client


async def measure(server: ServerProcess, case: Case, streams: int, count: int, tag: str) -> Result:
    from streamparse.runner import Engine, Load, Request, Writer, summarize

    requests = [Request(id=f"{tag}-{i}", messages=MESSAGES) for i in range(count)]
    async with aiohttp.ClientSession() as session:
        async with backend(case, server.url) as runner:
            await _get(session, server.url + "/writes")  # drop earlier cases'
            server0 = float(await _get(session, server.url + "/cpu"))
            gc.collect()
            t0 = time.perf_counter()
            engine = Engine(runner, load=Load(max_concurrency=streams))
            records = []
            with tempfile.TemporaryDirectory() as tmp, Writer(os.path.join(tmp, "out.jsonl"), append=False) as writer:
                async for record in engine.run(requests, warmups=min(streams, 32)):
                    writer.write(record)
                    records.append(record)
            wall = time.perf_counter() - t0
            server1 = float(await _get(session, server.url + "/cpu"))
            writes: dict[str, list[int]] = json.loads(await _get(session, server.url + "/writes"))
            client = engine.client_stats()
    measured = [r for r in records if r.phase == "measure"]
    summary = summarize(measured)
    lags: list[float] = []
    events = 0
    for record in measured:
        if record.status != "ok" or record.t.ttft_ms is None or record.mono_send_ns is None:
            continue
        at = record.mono_send_ns + record.t.ttft_ms * 1e6
        stamps = [at]
        for gap in record.itl_ms:
            at += gap * 1e6
            stamps.append(at)
        written = writes[record.id]
        if len(stamps) != len(written):
            raise AssertionError(f"{case.name}: {record.id} has {len(stamps)} token stamps for {len(written)} writes")
        events += len(stamps)
        lags += [(s - w) / 1e6 for s, w in zip(stamps, written)]
    return Result(case, streams, events, summary["duration"], lags, client, server1 - server0, wall, summary["failed"])


def run_case(server: ServerProcess, case: Case, streams: int, count: int, tag: str) -> Result:
    from streamparse.runner.loop import run

    # The scheduler's own loop is the case's: "one process" is then exactly `streamparse bench`.
    return run(measure(server, case, streams, count, tag), loop="uvloop" if case.loop == "uvloop" else "asyncio")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def report(results: list[Result], env: str, load: str, ray_init_s: float | None) -> str:
    lines = [
        "## scale.py — one process vs `--workers 2` vs Ray, at loads that saturate one process",
        "",
        env,
        "",
        f"Server: runner.py's, a separate process on 127.0.0.1, {EVENTS} content events per response "
        f"{ITL * 1e3:g} ms apart ({1 / ITL:g} events/s per stream), one event per write, each write stamped on "
        "CLOCK_MONOTONIC. Closed loop at N streams (`--max-concurrency N`), a warm-up, records written to a file. "
        "Clients: this process alone (what `streamparse bench` does), `--workers 2` (two spawned worker "
        "processes fed by this one), Ray (`--ray`: two async actors on a local cluster of 2 CPUs, this process the "
        "driver). Token events/s over the run's duration; stamp lag = record stamp − server write stamp per token "
        "event; CPU per event summed over every client process; busiest = the highest CPU share of one client "
        f"process; scheduler = the process dealing requests to workers or actors (and writing records). The machine has {os.cpu_count()} CPUs for the server, the client processes and everything "
        f"else. Load average before / after: {load}."
        + (f" `ray.init` of the local cluster took {ray_init_s:.1f} s (not in the figures)." if ray_init_s else ""),
        "",
        "| streams (offered events/s) | client | loop | token events/s | × one process | stamp lag p50 / p99 / max (ms) "
        "| CPU µs per event | busiest process CPU | scheduler CPU | loop lag p99 (ms) | server CPU |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        base = next(b for b in results if b.streams == r.streams and b.case.kind == "one" and b.case.loop == r.case.loop)
        client = r.client
        cpu = client.get("cpu_us_per_event")
        share = client.get("cpu_share")
        loop_lag = client.get("p99_loop_lag_ms")
        lines.append(
            f"| {r.streams} ({r.streams / ITL:,.0f}) | {r.case.name} | {r.case.loop} | {r.events_per_s:,.0f} | "
            f"{r.events_per_s / base.events_per_s:.2f}× | {r.lag(50):.2f} / {r.lag(99):.1f} / {max(r.lags_ms):.0f} | "
            f"{cpu:.1f} | {share:.0%} | {_share(client.get('scheduler_cpu_share'))} | {loop_lag:.1f} | "
            f"{r.server_cpu_s / r.wall_s:.0%} |"
            + ("" if not r.failed else f" ({r.failed} failed)")
        )
    ones = [r for r in results if r.case.kind == "one"]
    best = max(ones, key=lambda r: r.events_per_s)
    lines += [
        "",
        f"One process topped out at {best.events_per_s:,.0f} token events/s ({best.case.loop}, {best.streams} streams "
        f"offered {best.streams / ITL:,.0f}; stamp lag p99 {best.lag(99):.0f} ms). Ratios compare each client with one "
        "process on the same loop, at the same load, in this run.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="one load, one round")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    ap.add_argument("--no-ray", action="store_true", help="leave Ray out")
    args = ap.parse_args(argv)
    from streamparse.runner.loop import loop_name

    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    loops = ["asyncio"] + (["uvloop"] if loop_name() == "uvloop" else [])
    cases = [Case(name, kind, loop) for loop in loops for name, kind in (("one process", "one"), ("--workers 2", "workers"))]
    ray_init_s = None
    if not args.no_ray:
        os.environ.update(RAY_ENV)
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray_init_s = time.perf_counter() - t
        cases.append(Case("Ray, 2 actors", "ray", "asyncio"))
    streams_levels = STREAMS[:1] if args.quick else STREAMS
    server = ServerProcess()
    results: list[Result] = []
    try:
        for n, streams in enumerate(streams_levels):
            count = streams * (1 if args.quick else ROUNDS)
            local = [c for c in cases if c.kind != "ray"]
            order = (local if n % 2 == 0 else local[::-1]) + [c for c in cases if c.kind == "ray"]  # alternate who goes first
            for case in order:
                result = run_case(server, case, streams, count, f"{case.kind}-{case.loop}-{streams}")
                results.append(result)
                print(
                    f"  {streams} streams, {case.name} ({case.loop}): {result.events_per_s:,.0f} events/s, "
                    f"lag p50 {result.lag(50):.2f} ms p99 {result.lag(99):.1f} ms",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        server.close()
        if ray_init_s is not None:
            import ray

            ray.shutdown()
    results.sort(key=lambda r: (r.streams, r.case.loop != "asyncio", ["one", "workers", "ray"].index(r.case.kind)))
    load = f"{load0:.1f} / {os.getloadavg()[0]:.1f}"
    text = report(results, environment("streamparse-llm", "aiohttp", "uvloop", "ray"), load, ray_init_s)
    print(text)
    if not args.no_write:
        print(f"updated {write_section('scale.py', text)}", file=sys.stderr)
    print(f"total {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
