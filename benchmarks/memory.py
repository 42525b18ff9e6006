"""Memory benchmark: what one stream costs to keep open.

    python benchmarks/memory.py             # table on stdout + section in RESULTS.md
    python benchmarks/memory.py --no-write  # stdout only

Parser part (here): bytes held per ``Parser("hermes")`` in a given state,
measured with tracemalloc over 1,000 parsers (total growth ÷ 1,000), after
one warm-up parser has built the shared, per-format objects. Deltas are fed
as fresh strings decoded from bytes, as they come off the network, so any
piece of them a parser keeps is counted.

Client/server part (``client_rows()``): one client process holding 1,000
concurrent streams from the embedded server (itself in another process),
each paused inside its tool call until all 1,000 are open, measured twice:
as RSS (what the operating system charges: Python objects, allocator slack,
aiohttp's and the kernel-facing buffers), and, in a second run, with
tracemalloc (the bytes Python objects hold, nothing else).
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE.parent), str(_HERE)):  # the helpers here; the working tree's streamparse
    if _p not in sys.path:
        sys.path.insert(0, _p)

import msgspec  # noqa: E402

from _results import environment, write_section  # noqa: E402
from _streams import Stream, large_call_stream, parallel_calls_stream, text_stream  # noqa: E402

N_PARSERS = 1000
Row = tuple[str, ...]


def _deltas_until(stream: Stream, position: int) -> list[bytes]:
    """The stream's first deltas, up to the one that crosses ``position`` of the raw text."""
    out: list[bytes] = []
    size = 0
    for delta in stream.deltas:
        if size >= position:
            break
        out.append(delta.encode())
        size += len(delta)
    return out


def _mid_call(stream: Stream) -> list[bytes]:
    """Deltas that stop halfway through the first call's arguments."""
    start = stream.raw.index('"arguments": ') + len('"arguments": ')
    end = stream.raw.index("</tool_call>")
    return _deltas_until(stream, (start + end) // 2)


def states() -> list[tuple[str, list[bytes], int]]:
    """(state, deltas that lead a new parser into it, how many parsers to average)."""
    small = parallel_calls_stream()
    return [
        ("idle: `Parser(\"hermes\")`, nothing fed", [], N_PARSERS),
        ("after 1 KB of text, no block open", _deltas_until(text_stream(), 1024), N_PARSERS),
        ("mid-call: small call, halfway through its arguments", _mid_call(small), N_PARSERS),
        ("mid-call: 4 KB arguments, halfway (≈2 KB fed)", _mid_call(large_call_stream("4KB")), N_PARSERS),
        # 1,000 x 8,000 traced feeds would take a minute: 100 parsers give the same mean
        ("mid-call: 64 KB arguments, halfway (≈32 KB fed)", _mid_call(large_call_stream("64KB")), 100),
    ]


def bytes_per_parser(parser_cls: Any, deltas: list[bytes], n: int = N_PARSERS) -> tuple[float, int]:
    """Mean bytes retained per parser after feeding ``deltas``, and the fed size."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        parsers = []
        for _ in range(n):
            parser = parser_cls("hermes")
            for raw in deltas:
                parser.feed(raw.decode())  # a fresh string, as from the network; events dropped
            parsers.append(parser)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del parsers
    return (after - before) / n, sum(len(d) for d in deltas)


def parser_rows() -> list[Row]:
    try:
        from streamparse import Parser
    except ImportError as exc:
        return [("parser", "", "", f"not measured: {exc}", "")]
    # Warm-up: the first parser of a format builds what all parsers share.
    warm = Parser("hermes")
    for delta in parallel_calls_stream().deltas:
        warm.feed(delta)
    warm.close()
    rows: list[Row] = []
    for label, deltas, n in states():
        per, fed = bytes_per_parser(Parser, deltas, n)
        rows.append((label, f"{n:,}", f"{fed:,}", f"{per:,.0f}", f"{per / fed:.2f}" if fed else ""))
    return rows


def _rss_kib(pid: int | str = "self") -> int:
    """Resident set size of a process, from ``/proc/<pid>/status`` (KiB)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


_HOLD_STALL_S = 8.0  # every stream stalls server-side until first request + this
_HOLD_STALL_TRACED_S = 30.0  # tracemalloc slows the client: opening 1,000 streams takes longer
_HOLD_BATCH = 100  # streams opened at once (the server's listen backlog is 128)


def _hold_reply() -> tuple[str, str, int, int]:
    """(reasoning, text, stall_after, events): ~1.4 KB of output with one
    Hermes call, in ``events`` SSE events; the server stalls after the event
    that reaches halfway into the call's arguments, so that every client is
    paused inside an open call."""
    import json as _json

    from streamparse.server.pieces import Chunking

    reasoning = "The user wants the weather in Paris and some documentation; I should call the search tool. " * 4
    arguments = {"query": "streaming tool calls " * 12, "filters": {"lang": "en", "year": [2024, 2026]}, "limit": 10}
    call = _json.dumps({"name": "search_docs", "arguments": arguments})
    block = f"\n<tool_call>\n{call}\n</tool_call>\n"
    text = "Let me look that up for you. " * 10 + block + "Here is what I found. " * 15
    start = text.index('"arguments": ') + len('"arguments": ')
    middle = (start + text.index("\n</tool_call>")) // 2
    chunking = Chunking()  # the Server's default: the same pieces as it will send
    size = events = 0
    for piece in chunking.split(text):
        if size >= middle:
            break
        size += len(piece)
        events += 1
    # event 1 is the role chunk, then one event per reasoning piece, then per
    # text piece; the finish chunk, the usage chunk and [DONE] end the stream
    before = 1 + len(chunking.split(reasoning))
    return reasoning, text, before + events, before + len(chunking.split(text)) + 3


def _hold_server(conn: Any, stall_s: float) -> None:
    """Child process: the embedded Server; all streams resume at one deadline."""
    import asyncio
    import time

    from streamparse.server import Fault, Reply, Server

    reasoning, text, stall_after, events = _hold_reply()
    first: list[float] = []

    def script(body: dict[str, Any]) -> Reply:
        now = time.monotonic()
        if body.get("model") == "warm-up":
            return Reply(text, reasoning=reasoning)
        if not first:
            first.append(now)
        stall = max(0.0, first[0] + stall_s - now)
        return Reply(text, reasoning=reasoning, fault=Fault(stall_after=stall_after, stall=stall))

    async def serve() -> None:
        async with Server(script, model="bench", aliases=["warm-up"]) as server:
            conn.send((server.port, stall_after, events))
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            loop.add_reader(conn.fileno(), stop.set)  # the parent writes or exits
            await stop.wait()

    asyncio.run(serve())


def _hold_client(conn: Any, base_url: str, n_streams: int, server_pid: int, traced: bool, stall_s: float) -> None:
    """Child process: open ``n_streams`` streams, pause each inside its tool
    call until all are open, measure, then let all finish. Sends a dict.

    ``traced``: also measure with tracemalloc, started after the warm-up
    (it slows every allocation and adds its own memory to RSS: a run of its own)."""
    import asyncio
    import gc
    import resource
    import time

    from streamparse import Client, Finish, ToolCallEnd, ToolCallStart

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n_streams * 2 + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with Client(base_url, model="bench") as client:
            async for _ in client.stream("warm-up", model="warm-up"):  # imports, format, pool
                pass
            gc.collect()
            if traced:
                tracemalloc.start()
                out["traced_before"] = tracemalloc.get_traced_memory()[0]
            out["client_before"] = _rss_kib()
            out["server_before"] = _rss_kib(server_pid)
            started = 0
            release = asyncio.Event()

            async def one() -> bool:
                nonlocal started
                calls = 0
                finished = False
                paused = False
                async for event in client.stream("What is the weather? Search the docs.", model="bench"):
                    cls = event.__class__
                    if cls is ToolCallStart and not paused:
                        paused = True
                        started += 1
                        await release.wait()
                    elif cls is ToolCallEnd:
                        calls += 1
                    elif cls is Finish:
                        finished = True
                return paused and finished and calls == 1

            t0 = time.monotonic()
            tasks: list[asyncio.Task[bool]] = []
            # Open in batches, each paused before the next starts: 1,000
            # simultaneous connects would overflow the server's listen backlog.
            while len(tasks) < n_streams and not any(t.done() for t in tasks):
                tasks += [asyncio.create_task(one()) for _ in range(min(_HOLD_BATCH, n_streams - len(tasks)))]
                while started < len(tasks) and not any(t.done() for t in tasks) and time.monotonic() - t0 < 120:
                    await asyncio.sleep(0.01)
            out["open_s"] = time.monotonic() - t0
            out["paused"] = started
            gc.collect()
            if traced:
                out["traced_open"] = tracemalloc.get_traced_memory()[0]
            out["client_open"] = _rss_kib()
            out["server_open"] = _rss_kib(server_pid)
            out["measured_before_resume"] = time.monotonic() - t0 < stall_s
            release.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            out["completed"] = sum(r is True for r in results)
            out["errors"] = [repr(r) for r in results if isinstance(r, BaseException)][:3]
            out["error_count"] = sum(isinstance(r, BaseException) for r in results)
            out["total_s"] = time.monotonic() - t0
            del tasks, results
            gc.collect()
            if traced:
                out["traced_after"] = tracemalloc.get_traced_memory()[0]
            out["client_after"] = _rss_kib()
            out["server_after"] = _rss_kib(server_pid)
        gc.collect()
        out["client_closed"] = _rss_kib()
        return out

    try:
        conn.send(asyncio.run(run()))
    except BaseException as exc:  # report it rather than hang the parent
        conn.send({"failure": repr(exc)})


def _hold(n_streams: int, traced: bool) -> dict[str, Any]:
    """One run of the hold: a fresh server process and a fresh client process; the client's dict."""
    import multiprocessing

    stall_s = _HOLD_STALL_TRACED_S if traced else _HOLD_STALL_S
    ctx = multiprocessing.get_context("spawn")
    server_conn, child = ctx.Pipe()
    server = ctx.Process(target=_hold_server, args=(child, stall_s), daemon=True)
    server.start()
    child.close()
    try:
        if not server_conn.poll(60):
            return {"failure": "the server process did not start"}
        port, stall_after, events = server_conn.recv()
        client_conn, child = ctx.Pipe()
        client = ctx.Process(
            target=_hold_client,
            args=(child, f"http://127.0.0.1:{port}/v1", n_streams, server.pid, traced, stall_s),
            daemon=True,
        )
        client.start()
        child.close()
        try:
            if not client_conn.poll(300):
                return {"failure": "the client process timed out"}
            r: dict[str, Any] = client_conn.recv()
        except EOFError:
            return {"failure": f"the client process died, exit code {client.exitcode}"}
        finally:
            client.join(10)
            if client.is_alive():
                client.terminate()
    finally:
        server_conn.send("stop")
        server.join(10)
        if server.is_alive():
            server.terminate()
    return {**r, "stall_after": stall_after, "events": events}


def client_rows(n_streams: int = 1000) -> list[Row] | None:
    """The client/server part: memory while ``n_streams`` streams from the
    embedded server are open at once (each mid-response), compared with
    before connecting; as RSS, then with tracemalloc in a second run.

    Return rows of ``(what, streams, measured as, MiB, KiB per stream)``.

    The server (the embedded :class:`~streamparse.server.Server`) and the
    client run in fresh processes, so neither the other nor this process's
    parser measurements are in their figures. Each stream reads up to its
    tool call's start, then waits until all ``n_streams`` are open; the
    server holds every stream halfway into the call's arguments until then.
    """
    r = _hold(n_streams, traced=False)
    if "failure" in r:
        return [(f"client/server: not measured ({r['failure']})", "", "", "", "")]
    t = _hold(n_streams, traced=True)
    n = f"{n_streams:,}"

    def mib(kib: float) -> str:
        return f"{kib / 1024:,.1f}"

    def per(kib: float, base: float) -> str:
        return f"{(kib - base) / n_streams:,.1f}"

    def outcome(run: dict[str, Any]) -> str:
        if run["completed"] == n_streams and not run["error_count"]:
            return f"all {n} completed, 0 errors"
        return f"**{run['completed']:,} of {n} completed, {run['error_count']} errors** {'; '.join(run['errors'])}"

    def held(run: dict[str, Any]) -> str:
        timing = f"opened in {run['open_s']:.1f} s" + ("" if run["measured_before_resume"] else ", **some had resumed**")
        return (
            f"{run['paused']:,} streams open at once, each paused inside its tool call "
            f"(the server holds each after {run['stall_after']} of its {run['events']} SSE events; {timing})"
        )

    base, server_base = r["client_before"], r["server_before"]
    rows: list[Row] = [
        ("client process (`Client.stream`), before opening, after a warm-up stream", "0", "RSS", mib(base), ""),
        (f"client process, {held(r)}", n, "RSS", mib(r["client_open"]), per(r["client_open"], base)),
        (
            f"client process, after all finished ({outcome(r)}; connections kept in the pool)",
            n,
            "RSS",
            mib(r["client_after"]),
            per(r["client_after"], base),
        ),
        ("client process, after `Client.close()`", "0", "RSS", mib(r["client_closed"]), per(r["client_closed"], base)),
    ]
    if "failure" in t:
        rows.append((f"client process: tracemalloc not measured ({t['failure']})", "", "", "", ""))
    else:
        opened = (t["traced_open"] - t["traced_before"]) / 1024
        after = (t["traced_after"] - t["traced_before"]) / 1024
        rows += [
            (f"client process (second run, traced from before opening), {held(t)}", n, "tracemalloc", mib(opened), per(opened, 0)),
            (f"client process, after all finished ({outcome(t)})", n, "tracemalloc", mib(after), per(after, 0)),
        ]
    rows += [
        ("server process (embedded `Server`, its own process), before", "0", "RSS", mib(server_base), ""),
        (f"server process, {r['paused']:,} streams open", n, "RSS", mib(r["server_open"]), per(r["server_open"], server_base)),
    ]
    return rows


N_MESSAGE_EVENTS = 60_000


def _message_events(n: int) -> list[Any]:
    """A stream's events, as a client yields them: ~4-character text and
    reasoning deltas, and a 20-fragment tool call every 500 events."""
    from streamparse import ReasoningDelta, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart

    words = "the stream parser sends each token as it comes ".split()
    events: list[Any] = []
    calls = 0
    while len(events) < n:
        i = len(events)
        if i % 500 == 499:
            events.append(ToolCallStart(index=calls, id=f"call_{calls}", name="search"))
            events += [ToolCallDelta(index=calls, arguments='{"q": "x"}'[j : j + 1]) for j in range(10)]
            events.append(ToolCallEnd(index=calls, id=f"call_{calls}", name="search", arguments={"q": "x"}))
            calls += 1
        elif i < n // 10:
            events.append(ReasoningDelta(text=" " + words[i % len(words)][:3]))
        else:
            events.append(TextDelta(text=" " + words[i % len(words)][:3]))
    return events[:n]


def _fold_on_access(events: list[Any]) -> Any:
    """The alternative: keep every event, fold them all when the message is read."""
    from streamparse import InvalidToolCall, Message, ReasoningDelta, TextDelta, ToolCall, ToolCallEnd

    text = "".join(e.text for e in events if type(e) is TextDelta)
    reasoning = "".join(e.text for e in events if type(e) is ReasoningDelta)
    calls = [ToolCall(id=e.id, name=e.name, arguments=e.arguments) for e in events if type(e) is ToolCallEnd]
    invalid = [e for e in events if type(e) is InvalidToolCall]
    return Message(content=text.strip() or None, reasoning=reasoning.strip() or None, tool_calls=calls, invalid_tool_calls=invalid)


def message_rows(n: int = N_MESSAGE_EVENTS) -> list[Row]:
    """``Stream.message`` is a :class:`MessageBuilder`: what it keeps and what
    reading it costs, beside keeping the events and folding them on access.
    Events are built once and fed to both; tracemalloc counts what each keeps."""
    import time

    from streamparse import MessageBuilder

    events = _message_events(n)

    def kept(fill: Any) -> float:
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            holder = fill()
            gc.collect()
            size = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        del holder
        return size / n

    def builder_of(evs: list[Any]) -> MessageBuilder:
        builder = MessageBuilder()
        for event in evs:
            builder.add(event)
        return builder

    # The events themselves are alive in both cases: a kept list only adds its pointers,
    # so copies stand for events that come off the network and die after being handed out.
    keep_bytes = kept(lambda: [msgspec.structs.replace(e) for e in events])
    fold_bytes = kept(lambda: builder_of([msgspec.structs.replace(e) for e in events]))
    text = _fold_on_access(events)
    text_bytes = (len(text.content or "") + len(text.reasoning or "")) / n

    def best(fn: Any, repeats: int = 5) -> float:
        times = []
        for _ in range(repeats):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    builder = builder_of(events)
    builder.build()
    unchanged = best(lambda: [builder.build() for _ in range(10_000)]) / 10_000

    def read_after_each() -> None:
        b = MessageBuilder()
        for event in events:
            b.add(event)
            b.build()

    after_each = best(read_after_each, 3) / n
    assert builder.build() == _fold_on_access(events)
    rebuild = best(lambda: _fold_on_access(events), 3)
    return [
        (
            "`MessageBuilder` (what `Stream.message` reads)",
            f"{fold_bytes:,.1f}",
            f"{unchanged * 1e6:.3f}",
            f"{after_each * 1e6:.1f}",
            f"{after_each * n:.2f} s",
        ),
        (
            "keep the events, fold them on each access",
            f"{keep_bytes:,.1f}",
            f"{rebuild * 1e6:,.0f}",
            f"{rebuild / 2 * 1e6:,.0f} (mean of a growing list)",
            f"~{rebuild / 2 * n:,.0f} s (estimated: quadratic)",
        ),
        ("(the message's text itself)", f"{text_bytes:.1f}", "", "", ""),
    ]


def report(parser: list[Row], client: list[Row] | None, env: str, message: list[Row] | None = None) -> str:
    lines = [
        "## memory.py — what an open stream costs",
        "",
        env,
        "",
        "### Parser (tracemalloc, mean over many parsers)",
        "",
        "| state | parsers | text fed (chars) | bytes per parser | bytes per char fed |",
        "|---|--:|--:|--:|--:|",
        *(f"| {' | '.join(row)} |" for row in parser),
        "",
        "Bytes retained by the parser objects themselves (shared per-format objects are built by a "
        "warm-up parser first and not counted); events returned by `feed()` are dropped. The list "
        "holding the parsers adds 8 bytes each.",
        "",
        f"### The folded message ({N_MESSAGE_EVENTS:,} events: ~4-character text deltas, a call every 500 events)",
        "",
        "| fold | bytes kept per event | µs per read, no new event | µs per read after each event "
        f"| reading after each of {N_MESSAGE_EVENTS:,} events |",
        "|---|--:|--:|--:|--:|",
        *(f"| {' | '.join(row)} |" for row in (message or [])),
        "",
        "Bytes kept: tracemalloc, the events being copies that die once handed out (as events off the "
        "network do). Reading after each event is what a UI showing `stream.message` does; the alternative "
        "re-folds every event on each read, so that pattern goes quadratic (its total is estimated from "
        "one fold of all the events).",
        "",
        f"### Client and server ({1000:,} concurrent streams)",
        "",
        "RSS is what the operating system charges the process (Python objects, allocator slack, "
        "aiohttp's buffers); tracemalloc, measured in a second run started after the warm-up, counts only "
        "the bytes Python objects hold. Per stream: the growth over the figure before opening, ÷ streams.",
        "",
    ]
    if client is None:
        lines.append("_Not measured yet: `client_rows()` in `benchmarks/memory.py` is the hook._")
    else:
        lines += [
            "| what | streams | measured as | MiB | KiB per stream |",
            "|---|--:|---|--:|--:|",
            *(f"| {' | '.join(row)} |" for row in client),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    text = report(parser_rows(), client_rows(), environment("streamparse-llm", "msgspec", "lark"), message_rows())
    print(text)
    if not args.no_write:
        print(f"updated {write_section('memory.py', text)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
