"""Agent benchmark: how much sooner a turn's tool results are in when each tool starts at its call's end.

    python benchmarks/agent.py             # tables on stdout + section in RESULTS.md
    python benchmarks/agent.py --quick     # fewer rounds (~30 s, noisier)
    python benchmarks/agent.py --no-write  # stdout only

Latency. The embedded server streams scripted replies at a fixed pace: one
4-character event every 20 ms (about 50 tokens/s, a large model's single-stream
speed); the tools are ``asyncio.sleep`` of a fixed time, standing in for remote
APIs. Three ways to run one turn, side by side (concurrently, same server) in
every round:

* ``streamparse Agent``: each tool starts at its ``ToolCallEnd``, the stream
  goes on (``max_turns=1``: the turn ends when every result is in);
* ``after the response, one by one``: ``Client.stream`` to the end, then each
  call in turn (a plain loop over the message's tool calls);
* ``after the response, all at once``: the same, the tools under ``asyncio.gather``.

A turn's time runs from the request to the moment every result is in (the next
request could go out). The ideal for the agent is max(response end, each call's
end + its tool's time): the runner's lateness is its turn minus that.

Overhead. A separate server process (benchmarks/client.py's) writes a long
pre-rendered reply with many calls as fast as the socket takes it;
``Client.stream`` alone and ``Agent.run`` over it (tools that return at once)
read it in turn: CPU of this process per SSE event.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE.parent), str(_HERE)):  # the helpers here; the working tree's streamparse
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _results import environment, write_section  # noqa: E402
from _streams import prose  # noqa: E402
from client import SEED, ServerProcess, Spec, model_output  # noqa: E402

from streamparse import Agent, Client, Tool, ToolCallEnd, ToolFinished, TurnEnd  # noqa: E402
from streamparse.server import Server  # noqa: E402
from streamparse.server.pieces import Chunking  # noqa: E402

DELAY = 0.02  # seconds per event
CHARS = 4  # characters per event
EVEN = Chunking(min_piece=CHARS, max_piece=CHARS, multi=0, empty=0, whole_tag=1.0)
LATENESS_TARGET = 0.02  # seconds: the agent's turn within this of its ideal
OVERHEAD_TARGET = 1.3  # Agent.run's CPU per event at most this × Client.stream's


# ---------------------------------------------------------------- latency workloads


@dataclass(frozen=True)
class Workload:
    label: str
    segments: tuple[tuple[str, float], ...]  # ("text", seconds of writing) or ("call", tool seconds)

    def reply(self, seed: int) -> str:
        rng = random.Random(seed)
        out: list[str] = []
        for i, (kind, value) in enumerate(self.segments):
            if kind == "text":
                out.append(prose(rng, int(value / DELAY * CHARS)).strip() + "\n")
            else:
                body = json.dumps({"name": "lookup", "arguments": {"key": f"k{i}", "seconds": value}})
                out.append(f"<tool_call>\n{body}\n</tool_call>\n")
        return "".join(out)

    @property
    def tool_seconds(self) -> list[float]:
        return [value for kind, value in self.segments if kind == "call"]


WORKLOADS = (
    Workload("2 calls, text between and after (tools 0.5 s)", (("text", 0.3), ("call", 0.5), ("text", 0.7), ("call", 0.5), ("text", 0.8))),
    Workload("3 calls back to back at the end (tools 0.3 s)", (("text", 0.6), ("call", 0.3), ("call", 0.3), ("call", 0.3))),
    Workload("4 calls between explanations (tools 0.3 s)", (("text", 0.3), *(("call", 0.3), ("text", 0.4)) * 4)),
    Workload("1 call, then a long explanation (tool 1 s)", (("text", 0.2), ("call", 1.0), ("text", 1.2))),
)


async def lookup(key: str, seconds: float) -> str:
    """Look a key up (a remote API's round trip)."""
    await asyncio.sleep(seconds)
    return f"value of {key}"


LOOKUP = Tool(lookup)


@dataclass
class Turn:
    response: float  # seconds from the request to the end of the stream
    wall: float  # ... to the last tool result
    ideal: float = 0.0  # the agent's ideal wall (its own rows only)
    estimate: float = 0.0  # TurnEnd.saved (its own rows only)
    ends: tuple[float, ...] = ()  # when each call was complete (its own rows only)


async def with_agent(client: Client, tool_seconds: list[float]) -> Turn:
    started = time.perf_counter()
    ends: list[float] = []
    end: TurnEnd | None = None
    async with Agent(client, [LOOKUP], max_turns=1).run("go") as run:
        async for event in run:
            if type(event) is ToolCallEnd:
                ends.append(time.perf_counter() - started)
            elif type(event) is TurnEnd:
                end = event
    assert end is not None and end.calls == len(tool_seconds) == len(ends), end
    ideal = max([end.response, *(at + seconds for at, seconds in zip(ends, tool_seconds))])
    return Turn(end.response, end.wall, ideal, end.saved, tuple(ends))


async def _after_response(client: Client, tools: Callable[[list[ToolCallEnd]], Awaitable[object]]) -> Turn:
    started = time.perf_counter()
    calls = [e async for e in client.stream("go", tools=[LOOKUP.spec]) if type(e) is ToolCallEnd]
    response = time.perf_counter() - started
    await tools(calls)
    return Turn(response, time.perf_counter() - started)


async def one_by_one(calls: list[ToolCallEnd]) -> None:
    for call in calls:
        await LOOKUP.bind(call.arguments)()


async def all_at_once(calls: list[ToolCallEnd]) -> None:
    await asyncio.gather(*(LOOKUP.bind(call.arguments)() for call in calls))


async def measure_workload(workload: Workload, rounds: int, tool_parser: bool) -> list[list[Turn]]:
    reply = workload.reply(SEED)
    async with Server([reply] * (3 * rounds), chunking=EVEN, delay=DELAY, tool_parser=tool_parser) as server:
        async with Client(server.base_url, server.model) as client:
            turns: list[list[Turn]] = [[], [], []]  # the Agent, one by one, all at once
            for _ in range(rounds):
                results = await asyncio.gather(
                    with_agent(client, workload.tool_seconds),
                    _after_response(client, one_by_one),
                    _after_response(client, all_at_once),
                )
                for out, turn in zip(turns, results):
                    out.append(turn)
    return turns


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def _saved(agent: list[Turn], other: list[Turn]) -> str:
    """The median of the rounds' differences (each round ran both side by side), and its share of the other's turn."""
    saved = statistics.median(o.wall - a.wall for a, o in zip(agent, other))
    share = statistics.median((o.wall - a.wall) / o.wall for a, o in zip(agent, other))
    return f"{_ms(saved)} ms ({share * 100:.0f} %)"


def latency_table(results: list[tuple[str, Workload, list[list[Turn]]]]) -> tuple[list[str], list[str]]:
    lines = [
        "| workload | calls complete at (ms) | response (ms) | turn: Agent (ms) | turn: after, one by one (ms) "
        "| turn: after, all at once (ms) | saved vs one by one | saved vs all at once "
        f"| Agent over its ideal (target ≤ {_ms(LATENESS_TARGET)} ms) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    verdicts: list[str] = []
    for mode, workload, (agent, one, gathered) in results:
        ends = ", ".join(_ms(statistics.median(at)) for at in zip(*(t.ends for t in agent)))
        response = statistics.median(t.response for t in agent)
        walls = [_ms(statistics.median(t.wall for t in ts)) for ts in (agent, one, gathered)]
        late = statistics.median(t.wall - t.ideal for t in agent)
        ok = late <= LATENESS_TARGET
        lines.append(
            f"| {workload.label}{mode} | {ends} | {_ms(response)} | {' | '.join(walls)} "
            f"| {_saved(agent, one)} | {_saved(agent, gathered)} | {_ms(late)} ms: {'met' if ok else '**missed**'} |"
        )
        estimate = statistics.median(t.estimate for t in agent)
        verdicts.append(f"{workload.label}{mode}: {_ms(estimate)} ms")
    return lines, verdicts


# ---------------------------------------------------------------- runner overhead


async def get_weather(city: str, unit: str, days: int) -> str:
    """Instant."""
    return "sunny"


async def search_docs(query: str, filters: dict[str, Any], notes: list[str], limit: int) -> str:
    """Instant."""
    return "found"


async def _read_stream(client: Client) -> int:
    calls = 0
    stream = client.stream("go", model="long")
    async for event in stream:
        calls += type(event) is ToolCallEnd
    # An agent loop needs the assistant message: the runner folds it too.
    assert len(stream.message.tool_calls) == calls
    return calls


async def _read_agent(client: Client) -> int:
    results = 0
    agent = Agent(client, [get_weather, search_docs], max_turns=1)
    async for event in agent.run("go", model="long"):
        results += type(event) is ToolFinished and event.status == "ok"
    return results


async def measure_overhead(server: ServerProcess, calls: int, rounds: int) -> list[list[float]]:
    """CPU µs per SSE event of each reader, one sample per round, readers alternating."""
    events = server.served["long"].events
    cpu: list[list[float]] = [[], []]
    async with Client(server.base_url, "x") as client:
        readers = (_read_stream, _read_agent)
        for read in readers:  # warm-up
            await read(client)
        for i in range(rounds):
            for j in (0, 1) if i % 2 == 0 else (1, 0):
                gc.collect()
                c0 = time.process_time()
                seen = await readers[j](client)
                cpu[j].append((time.process_time() - c0) / events * 1e6)
                assert seen == calls, (readers[j].__name__, seen, calls)
    return cpu


# ---------------------------------------------------------------- main


def report(
    latency: list[tuple[str, Workload, list[list[Turn]]]],
    overhead: list[list[float]],
    served_events: int,
    calls: int,
    rounds: int,
    overhead_rounds: int,
    env: str,
) -> str:
    table, verdicts = latency_table(latency)
    stream_cpu, agent_cpu = (statistics.median(c) for c in overhead)
    ratio = agent_cpu / stream_cpu
    lines = [
        "## agent.py — tools started at their call's end vs after the response",
        "",
        env,
        "",
        f"Embedded server on 127.0.0.1, one {CHARS}-character event every {_ms(DELAY)} ms (≈ 50 tokens/s), "
        "Hermes tags in content unless marked; tools are `asyncio.sleep` of the time shown (remote APIs). "
        f"The three ways run concurrently on the same server in each of {rounds} rounds; medians. "
        "A turn runs from the request to the moment every tool result is in (the next request could go out).",
        "",
        *table,
        "",
        "Saved = the baseline's turn minus the Agent's, in the same round (the two ran side by side); median "
        "over the rounds, and as a share of the baseline's turn. The Agent's ideal turn is max(response end, "
        "each call's end + its tool's time); *over its ideal* is its measured turn minus that (scheduling, "
        "the sleeps' own overshoot). The runner's own estimate of the saving against one by one "
        "(`TurnEnd.saved`, from its timings alone): " + "; ".join(verdicts) + ".",
        "",
        "### Runner overhead",
        "",
        f"A separate server process writes one pre-rendered reply ({served_events:,} SSE events, {calls} "
        "Hermes calls in content) as fast as the socket takes it; the tools return at once. CPU of the client "
        f"process per SSE event, median of {overhead_rounds} rounds, readers alternating.",
        "",
        "| reader | CPU µs per event | × `Client.stream` | target |",
        "|---|--:|--:|---|",
        f"| `Client.stream`, counting the calls, then its `.message` | {stream_cpu:.2f} | 1.00× | |",
        f"| `Agent.run`, every call run as a task | {agent_cpu:.2f} | {ratio:.2f}× "
        f"| ≤ {OVERHEAD_TARGET:g}×: {'met' if ratio <= OVERHEAD_TARGET else '**missed**'} |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    rounds, overhead_rounds, size = (2, 3, 200_000) if args.quick else (5, 7, 1_000_000)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    latency: list[tuple[str, Workload, list[list[Turn]]]] = []
    for workload in WORKLOADS:
        log(f"latency: {workload.label} ...")
        latency.append(("", workload, asyncio.run(measure_workload(workload, rounds, tool_parser=False))))
    first = WORKLOADS[0]
    log(f"latency: {first.label}, server-parsed ...")
    latency.append((", server-parsed `tool_calls`", first, asyncio.run(measure_workload(first, rounds, tool_parser=True))))

    log("overhead: rendering the reply in the server process ...")
    reasoning, text, calls = model_output(size, SEED)
    server = ServerProcess([Spec("long", False, reasoning, text, calls)])
    try:
        overhead = asyncio.run(measure_overhead(server, calls, overhead_rounds))
        served_events = server.served["long"].events
    finally:
        server.close()
    text = report(latency, overhead, served_events, calls, rounds, overhead_rounds, environment("streamparse-llm", "aiohttp", "msgspec"))
    print(text)
    if not args.no_write:
        log(f"updated {write_section('agent.py', text)}")
    log(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
