"""Client benchmark: reading a live chat-completions stream, three ways.

    python benchmarks/client.py             # table on stdout + section in RESULTS.md
    python benchmarks/client.py --quick     # smaller streams (~1 min, noisier)
    python benchmarks/client.py --no-write  # stdout only
    python benchmarks/client.py --profile   # also Client.stream's CPU by layer, and a cProfile

A server process (127.0.0.1, free port) streams vLLM-format chunks that
streamparse's embedded :class:`~streamparse.server.Server` rendered once at
start-up; it then only writes the stored bytes, 64 KiB per write (as the
embedded server batches), so that the client is what is measured. Two
replies, each with a reasoning part, prose and Hermes tool calls:

* ``tags in content``: no tool parser, the ``<tool_call>`` blocks arrive as text;
* ``server-parsed``: a tool parser on (``delta.tool_calls``, like vLLM's
  ``--tool-call-parser hermes``).

Clients, measured in turn in the same run on the same bytes:

* ``Client.stream``: streamparse's client, every event parsed and typed;
* bare aiohttp: ``async for line in resp.content`` + ``json.loads``, the way
  vLLM's ``bench serve`` reads (it keeps each delta's text);
* openai-python: ``AsyncOpenAI().chat.completions.create(stream=True)``,
  iterating the chunk objects;
* server push: bytes read and dropped (``iter_any``), no parsing — the most the
  server and the socket deliver; each client must stay below it.

Events/s is SSE ``data:`` events (``[DONE]`` included) per second of wall time;
CPU µs per event is ``time.process_time()`` of this (client) process only.
Each sample is one stream, or 100 streams at once (``asyncio.gather``); the
figures are medians over rounds that take the clients in rotating order.

Two paces:

* burst: the server writes as fast as it can, so one network read carries
  many events (the client's throughput);
* token pace: the server writes one event per write, a fixed interval apart
  (one event per network read, as a model streams), to 1, 100 and 1,000
  streams at once. Every stream first gets its opening events, then waits
  until all streams are open; CPU is measured from that moment to the end,
  so connecting is not counted, only the reading.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import contextlib
import gc
import io
import json
import math
import multiprocessing
import os
import pstats
import random
import re
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE.parent), str(_HERE)):  # the helpers here; the working tree's streamparse
    if _p not in sys.path:
        sys.path.insert(0, _p)

import aiohttp  # noqa: E402

from _child import Child, serve  # noqa: E402
from _results import environment, write_section  # noqa: E402

TARGET_RATIO = 2.0  # Client.stream events/s vs the bare readline + json.loads loop (burst)
PACED_TARGET = 1.0  # token pace: Client.stream CPU per event below the bare loop's
WRITE_SIZE = 64 * 1024  # bytes per server write, as the embedded server's _WRITE_BATCH
SEED = 5


# ---------------------------------------------------------------- the replies

_WORDS = (
    "the a of to and in is that for it as with was on be by this are from at or "
    "stream parser token model output server client call tool function value "
    "weather forecast city temperature humidity wind report summary latency "
    "because however therefore while before after during without between "
    "quickly simply exactly usually often never always returns reads sends"
).split()
_RARE = ("café", "Zürich", "東京", "—", "°C", "🙂", "x < y", "3 > 2", '"quoted"', "a\\b")
_THINK = "hmm wait let me check whether the user wants first then maybe call the tool".split()


def _prose(rng: random.Random, nchars: int, words: list[str]) -> str:
    out: list[str] = []
    size = 0
    while size < nchars:
        picks = range(rng.randint(6, 20))
        sentence = " ".join(rng.choice(_RARE) if rng.random() < 0.03 else rng.choice(words) for _ in picks)
        sentence = sentence[0].upper() + sentence[1:] + rng.choice(".....?!") + ("\n\n" if rng.random() < 0.2 else " ")
        out.append(sentence)
        size += len(sentence)
    return "".join(out).strip()


def _call(rng: random.Random, i: int) -> str:
    """One Hermes block, arguments of 100-700 bytes."""
    if i % 2:
        city = rng.choice(["Paris", "Zürich", "東京", "São Paulo"])
        arguments: dict[str, Any] = {"city": city, "unit": "celsius", "days": rng.randint(1, 7)}
        name = "get_weather"
    else:
        arguments = {
            "query": _prose(rng, rng.randint(20, 120), _WORDS),
            "filters": {"year": [2020 + rng.randint(0, 5), 2026], "lang": "en", "exact": rng.random() < 0.5},
            "notes": [_prose(rng, rng.randint(20, 100), _WORDS) for _ in range(rng.randint(0, 4))],
            "limit": rng.randint(1, 50),
        }
        name = "search_docs"
    body = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def model_output(nchars: int, seed: int) -> tuple[str, str, int]:
    """(reasoning, text with tool calls, number of calls) of about ``nchars``:
    ~15 % reasoning, then prose with a call every ~1.5 KB (~30 % of the text)."""
    rng = random.Random(seed)
    reasoning = _prose(rng, nchars * 15 // 100, _THINK + _WORDS[:30])
    parts: list[str] = []
    size = len(reasoning)
    calls = 0
    while size < nchars:
        parts.append(_prose(rng, rng.randint(600, 1400), _WORDS) + "\n\n")
        block = _call(rng, calls)
        parts.append(block + "\n\n")
        calls += 1
        size += len(parts[-2]) + len(parts[-1])
    return reasoning, "".join(parts) + "Done.", calls


@dataclass(frozen=True)
class Spec:
    """One reply the server serves, under ``model=key``."""

    key: str
    tool_parser: bool
    reasoning: str
    text: str
    calls: int


@dataclass(frozen=True)
class Served:
    key: str
    nbytes: int
    events: int  # data: events, [DONE] included


# ---------------------------------------------------------------- the server process


async def _render(specs: list[Spec]) -> dict[str, bytes]:
    """Each spec's whole response body, as the embedded server sends it."""
    from streamparse.server.pieces import Chunking
    from streamparse.server import Reply, Server

    bodies: dict[str, bytes] = {}
    async with aiohttp.ClientSession() as session:
        for spec in specs:
            reply = Reply(spec.text, reasoning=spec.reasoning)
            server = Server([reply], tool_parser=spec.tool_parser, chunking=Chunking(seed=SEED), model=spec.key)
            async with server:
                request = {
                    "model": spec.key,
                    "messages": [{"role": "user", "content": "go"}],
                    "stream": True,
                    "stream_options": {"include_usage": True},
                }
                async with session.post(server.base_url + "/chat/completions", json=request) as resp:
                    bodies[spec.key] = await resp.read()
    return bodies


PACED_OPENING = 2  # events each paced stream gets before the barrier: the role chunk and a first delta


class _Barrier:
    """Paced streams wait here, after their opening events, until the driver calls ``/go``."""

    def __init__(self) -> None:
        self.waiting = 0
        self.go = asyncio.Event()
        self.started = 0  # streams since the last /go, to stagger their phases
        self.written: dict[str, int] = {}  # paced events written, ever, by the stream's tag (its client)


async def _serve(conn: Any, specs: list[Spec]) -> None:
    from aiohttp import web

    bodies = await _render(specs)
    events = {key: [e + b"\n\n" for e in body.split(b"\n\n")[:-1]] for key, body in bodies.items()}
    barrier = _Barrier()

    async def chat(request: web.Request) -> web.StreamResponse:
        key = (await request.json())["model"]
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await resp.prepare(request)
        if "@" in key:  # token pace: "<spec>@<seconds between events>#<tag>"
            spec, _, pace = key.partition("@")
            interval, _, tag = pace.partition("#")
            await _paced(resp, events[spec], float(interval), tag)
        else:
            body = bodies[key]
            view = memoryview(body)
            for start in range(0, len(body), WRITE_SIZE):
                await resp.write(view[start : start + WRITE_SIZE])
        await resp.write_eof()
        return resp

    async def _paced(resp: web.StreamResponse, paced: list[bytes], interval: float, tag: str) -> None:
        await resp.write(b"".join(paced[:PACED_OPENING]))
        go = barrier.go
        phase = barrier.started % 97 / 97 * interval  # streams spread over the interval, not in lockstep
        barrier.started += 1
        barrier.waiting += 1
        await go.wait()
        await asyncio.sleep(phase)
        for i, event in enumerate(paced[PACED_OPENING:]):
            if i:
                await asyncio.sleep(interval)
            await resp.write(event)
            barrier.written[tag] = barrier.written.get(tag, 0) + 1

    async def waiting(request: web.Request) -> web.Response:
        return web.Response(text=str(barrier.waiting))

    async def written(request: web.Request) -> web.Response:
        return web.json_response(barrier.written)

    async def go(request: web.Request) -> web.Response:
        barrier.go.set()
        barrier.go, barrier.waiting, barrier.started = asyncio.Event(), 0, 0
        return web.Response()

    _raise_fd_limit(8000)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/waiting", waiting)
    app.router.add_get("/written", written)
    app.router.add_get("/go", go)
    served = [Served(k, len(b), len(b.split(b"\n\n")) - 1) for k, b in bodies.items()]
    await serve(conn, app, lambda port: (port, served))


def _raise_fd_limit(want: int) -> None:
    """1,000 streams need about as many sockets in each process."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))


def _server_main(conn: Any, specs: list[Spec]) -> None:
    asyncio.run(_serve(conn, specs))


class ServerProcess:
    """The server in a child process (spawned: nothing of this process is inherited)."""

    def __init__(self, specs: list[Spec]) -> None:
        self._child = Child(_server_main, specs)
        self.port: int
        self.port, served = self._child.hello
        self.served: dict[str, Served] = {s.key: s for s in served}
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self._child.close()


# ---------------------------------------------------------------- the clients

REQUEST_MESSAGES = [{"role": "user", "content": "What is the weather in Paris? Search the docs too."}]


def is_paced(key: str) -> bool:
    """A spec served at token pace (``tags-p100``)."""
    return re.search(r"-p\d+$", key) is not None


def spec_of(key: str) -> str:
    """The spec a model name asks for: token-pace names add ``@<interval>``."""
    return key.partition("@")[0]


class Reader:
    """One way of reading a stream. ``open`` builds its client (untimed),
    ``read(key)`` reads one whole stream and returns the SSE events seen,
    after checking what it got."""

    name = ""
    note = ""
    max_rounds: int | None = None  # a slow client may sit out the later rounds

    def __init__(self, base_url: str, served: dict[str, Served], specs: dict[str, Spec]) -> None:
        self.base_url = base_url
        self.served = served
        self.specs = specs

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def read(self, key: str) -> int:
        raise NotImplementedError

    def _check(self, key: str, events: int, what: str = "SSE events") -> None:
        expected = self.served[spec_of(key)].events
        if events != expected:
            raise AssertionError(f"{self.name} on {key}: {events} {what}, expected {expected}")


def _session() -> aiohttp.ClientSession:
    # limit=0: aiohttp's default 100-connection cap would queue streams; no total timeout (as vLLM's bench)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=0), timeout=aiohttp.ClientTimeout(total=None)
    )


class StreamparseReader(Reader):
    name = "streamparse `Client.stream`"

    async def open(self) -> None:
        from streamparse import Client, Finish, ToolCallEnd

        self._end, self._finish = ToolCallEnd, Finish
        self.client = Client(self.base_url, model="x", api_key="bench")

    async def close(self) -> None:
        await self.client.close()

    async def read(self, key: str) -> int:
        end, finish = self._end, self._finish
        events = calls = 0
        finished = False
        async for event in self.client.stream(REQUEST_MESSAGES, model=key):
            events += 1
            cls = event.__class__
            if cls is end:
                calls += 1
            elif cls is finish:
                finished = True
        spec = spec_of(key)
        if calls != self.specs[spec].calls or not finished:
            expected = self.specs[spec].calls
            raise AssertionError(f"{self.name} on {key}: {calls} calls, Finish {finished}; expected {expected}")
        return self.served[spec].events  # streamparse events are not SSE events: the stream's count


class _SessionReader(Reader):
    """A reader on a bare aiohttp session."""

    async def open(self) -> None:
        self.session = _session()
        self.url = self.base_url + "/chat/completions"

    async def close(self) -> None:
        await self.session.close()


class BareReader(_SessionReader):
    name = "bare aiohttp readline + `json.loads`"

    async def read(self, key: str) -> int:
        body = {"model": key, "messages": REQUEST_MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
        events = 0
        text: list[str] = []
        async with self.session.post(self.url, json=body) as resp:
            resp.raise_for_status()
            async for line in resp.content:
                line = line.strip()
                if not line or line.startswith(b":"):
                    continue
                payload = line.decode("utf-8").removeprefix("data: ")
                events += 1
                if payload == "[DONE]":
                    continue
                chunk = json.loads(payload)
                if choices := chunk.get("choices"):
                    delta = choices[0]["delta"]
                    piece = delta.get("content") or delta.get("reasoning")
                    if piece:
                        text.append(piece)
        self._check(key, events)
        return events


class OpenAIReader(Reader):
    name = "openai-python `AsyncOpenAI` stream"
    max_rounds = 3  # ~10x slower than the others: it would take most of the run

    async def open(self) -> None:
        from openai import AsyncOpenAI

        # A generous connect timeout: 100 connects at once on a busy 2-core machine can take seconds.
        self.client = AsyncOpenAI(base_url=self.base_url, api_key="bench", max_retries=0, timeout=600.0)

    async def close(self) -> None:
        await self.client.close()

    async def read(self, key: str) -> int:
        stream = await self.client.chat.completions.create(  # type: ignore[call-overload]
            model=key, messages=REQUEST_MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        chunks = 0
        async for _chunk in stream:
            chunks += 1
        events = chunks + 1  # openai-python consumes [DONE] without yielding it
        self._check(key, events)
        return events


class RawReader(_SessionReader):
    name = "server push: bytes read and dropped"
    note = "no parsing"

    async def read(self, key: str) -> int:
        body = {"model": key, "messages": REQUEST_MESSAGES, "stream": True}
        size = 0
        async with self.session.post(self.url, json=body) as resp:
            async for data in resp.content.iter_any():
                size += len(data)
        served = self.served[spec_of(key)]
        if size != served.nbytes:
            raise AssertionError(f"{self.name} on {key}: {size} bytes, expected {served.nbytes}")
        return served.events


READERS: list[type[Reader]] = [StreamparseReader, BareReader, OpenAIReader, RawReader]


# ---------------------------------------------------------------- measuring


@dataclass
class Sample:
    events: int
    wall_s: float
    cpu_s: float
    server_cpu_s: float
    reads: int = 0  # network reads, for the readers that count them


async def _server_cpu(session: aiohttp.ClientSession, url: str) -> float:
    async with session.get(url) as resp:
        return float(await resp.text())


async def sample(reader: Reader, key: str, streams: int, cpu_url: str, session: aiohttp.ClientSession) -> Sample:
    gc.collect()
    server0 = await _server_cpu(session, cpu_url)
    c0, t0 = time.process_time(), time.perf_counter()
    if streams == 1:
        events = await reader.read(key)
    else:
        events = sum(await asyncio.gather(*(reader.read(key) for _ in range(streams))))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    server1 = await _server_cpu(session, cpu_url)
    return Sample(events, wall, cpu, server1 - server0)


class _Reads:
    """Socket reads of every client in this process: aiohttp's protocol counts each
    non-empty ``data_received`` (one added call per read, alike for all clients)."""

    count = 0

    @classmethod
    def install(cls) -> None:
        from aiohttp.client_proto import ResponseHandler

        received = ResponseHandler.data_received
        if getattr(received, "counted", False):
            return

        def data_received(self: ResponseHandler, data: bytes) -> None:
            if data:  # aiohttp also calls it empty, to resume a paused reader
                cls.count += 1
            received(self, data)

        data_received.counted = True  # type: ignore[attr-defined]
        ResponseHandler.data_received = data_received  # type: ignore[method-assign]


PACED_SETTLE = 0.5  # seconds after the release before the window: every stream is streaming
PACED_WINDOW = 2.0  # seconds measured, in the middle of the streams (they last longer)


def _paced_worker(conn: Any, reader: str, base_url: str, served: dict[str, Served], specs: dict[str, Spec]) -> None:
    """Child process: one client; per round, the parent's ``key`` and ``streams``, then its
    ``start`` and ``stop`` marks; sends back (CPU s, socket reads, streams ended early)."""
    asyncio.run(_paced_client(conn, reader, base_url, served, specs))


async def _paced_client(conn: Any, reader_name: str, base_url: str, served: dict[str, Served], specs: dict[str, Spec]) -> None:
    _raise_fd_limit(4000)
    _Reads.install()
    reader = next(cls for cls in PACED_READERS if cls.__name__ == reader_name)(base_url, served, specs)
    await reader.open()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    asyncio.get_running_loop().add_reader(conn.fileno(), lambda: inbox.put_nowait(conn.recv()))
    try:
        while (job := await inbox.get()) != "quit":
            key, streams = job
            tasks = [asyncio.create_task(reader.read(key)) for _ in range(streams)]
            if await inbox.get() != "start":  # the parent saw every stream open, released them and let them settle
                raise AssertionError("expected start")
            c0, reads0 = time.process_time(), _Reads.count
            conn.send("started")
            if await inbox.get() != "stop":
                raise AssertionError("expected stop")
            cpu, reads = time.process_time() - c0, _Reads.count - reads0
            ended = sum(t.done() for t in tasks)
            try:
                await asyncio.gather(*tasks)  # every stream is still read to its end and checked
            except Exception as exc:
                conn.send(("error", repr(exc)))
                return
            conn.send((cpu, reads, ended))
    finally:
        await reader.close()


class _PacedClients:
    """One process per client, all reading their paced streams at the same time: each
    round measures every client over the same window, so a busy machine weighs on all alike."""

    def __init__(self, server: ServerProcess, specs: dict[str, Spec]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.readers = PACED_READERS
        self.conns = []
        self.procs = []
        for cls in self.readers:
            conn, child = ctx.Pipe()
            proc = ctx.Process(target=_paced_worker, args=(child, cls.__name__, server.base_url, server.served, specs), daemon=True)
            proc.start()
            child.close()
            self.conns.append(conn)
            self.procs.append(proc)

    def close(self) -> None:
        for conn, proc in zip(self.conns, self.procs):
            try:
                conn.send("quit")
            except OSError:
                pass
            proc.join(10)
            if proc.is_alive():
                proc.terminate()

    @staticmethod
    def _answer(conn: Any, what: str) -> Any:
        if not conn.poll(120):
            raise AssertionError(f"a client process did not answer ({what})")
        answer = conn.recv()
        if isinstance(answer, tuple) and answer[0] == "error":
            raise AssertionError(f"a client failed: {answer[1]}")
        return answer

    async def round(self, key: str, streams: int, url: str, session: aiohttp.ClientSession) -> list[Sample]:
        for i, conn in enumerate(self.conns):
            conn.send((f"{key}#{i}", streams))
        t0 = time.monotonic()
        while await _count(session, url + "/waiting") < streams * len(self.conns):
            if time.monotonic() - t0 > 120:
                raise AssertionError("the paced streams did not all open")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # every client has read its opening events and is idle
        await (await session.get(url + "/go")).read()
        await asyncio.sleep(PACED_SETTLE)
        server0 = await _server_cpu(session, url + "/cpu")
        written0 = await _written(session, url)
        for conn in self.conns:
            conn.send("start")
        for conn in self.conns:
            self._answer(conn, "start")
        t1 = time.perf_counter()
        await asyncio.sleep(PACED_WINDOW)
        for conn in self.conns:
            conn.send("stop")
        wall = time.perf_counter() - t1
        written1 = await _written(session, url)
        server_cpu = await _server_cpu(session, url + "/cpu") - server0
        samples = []
        for i, conn in enumerate(self.conns):
            cpu, reads, ended = self._answer(conn, "stop")
            if ended:
                raise AssertionError(f"{self.readers[i].name} on {key}: {ended} streams ended inside the window")
            events = written1.get(str(i), 0) - written0.get(str(i), 0)
            samples.append(Sample(events, wall, cpu, server_cpu / len(self.conns), reads))
        return samples


async def _count(session: aiohttp.ClientSession, url: str) -> float:
    async with session.get(url) as resp:
        return float(await resp.text())


async def _written(session: aiohttp.ClientSession, url: str) -> dict[str, int]:
    async with session.get(url + "/written") as resp:
        written: dict[str, int] = await resp.json()
        return written


@dataclass
class Cell:
    scenario: str
    streams: int
    reader: str
    note: str
    samples: list[Sample]

    @property
    def events(self) -> int:
        return self.samples[0].events

    @property
    def rate(self) -> float:  # events per second of wall time, median
        return statistics.median(s.events / s.wall_s for s in self.samples)

    @property
    def cpu_us(self) -> float:
        return statistics.median(s.cpu_s / s.events * 1e6 for s in self.samples)

    @property
    def server_share(self) -> float:  # server CPU as a share of one core during the sample
        return statistics.median(s.server_cpu_s / s.wall_s for s in self.samples)

    def cpu_ratio(self, other: Cell) -> float:
        """CPU per event against ``other``'s: the median of the rounds' ratios (each round's samples
        are taken one after the other, so a machine busy for a while weighs on both)."""
        return statistics.median(
            (s.cpu_s / s.events) / (o.cpu_s / o.events) for s, o in zip(self.samples, other.samples)
        )

    @property
    def events_per_read(self) -> float:
        return statistics.median(s.events / s.reads for s in self.samples) if self.samples[0].reads else math.nan


@contextlib.asynccontextmanager
async def _opened(readers: list[Reader]) -> AsyncIterator[None]:
    for r in readers:
        await r.open()
    try:
        yield
    finally:
        for r in readers:
            await r.close()


async def _rounds(
    readers: list[Reader], cells: list[Cell], repeats: int, take: Callable[[Reader], Awaitable[Sample]]
) -> None:
    """``repeats`` rounds of one sample per reader, the readers in rotating order."""
    for i in range(repeats):
        order = list(range(len(readers)))
        order = order[i % len(order) :] + order[: i % len(order)]
        for j in order:
            cap = readers[j].max_rounds
            if cap is None or len(cells[j].samples) < cap:
                cells[j].samples.append(await take(readers[j]))


async def measure_case(
    server: ServerProcess,
    specs: dict[str, Spec],
    scenario: str,
    key: str,
    warm_key: str,
    streams: int,
    repeats: int,
    log: Callable[[str], None],
) -> list[Cell]:
    readers = [cls(server.base_url, server.served, specs) for cls in READERS]
    cpu_url = f"http://127.0.0.1:{server.port}/cpu"
    cells = [Cell(scenario, streams, r.name, r.note, []) for r in readers]
    async with aiohttp.ClientSession() as session, _opened(readers):
        for r in readers:  # warm-up on a short reply: imports, connections, caches
            await sample(r, warm_key, streams, cpu_url, session)
        await _rounds(readers, cells, repeats, lambda r: sample(r, key, streams, cpu_url, session))
    for c in cells:
        log(f"  {scenario}, {streams} stream(s), {c.reader}: {c.rate:,.0f} events/s, {c.cpu_us:.2f} µs CPU/event")
    return cells


PACED_READERS: list[type[Reader]] = [StreamparseReader, BareReader, RawReader]


async def measure_paced(
    server: ServerProcess,
    specs: dict[str, Spec],
    scenario: str,
    key: str,
    streams: int,
    repeats: int,
    log: Callable[[str], None],
) -> list[Cell]:
    """Token pace: ``key`` is ``<spec>@<seconds between events>``; each client reads
    ``streams`` streams, all clients at once (see :class:`_PacedClients`)."""
    clients = _PacedClients(server, specs)
    cells = [Cell(scenario, streams, cls.name, cls.note, []) for cls in clients.readers]
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(repeats):
                for cell, one in zip(cells, await clients.round(key, streams, f"http://127.0.0.1:{server.port}", session)):
                    cell.samples.append(one)
    finally:
        clients.close()
    for c in cells:
        log(f"  token pace, {scenario}, {streams} stream(s), {c.reader}: {c.cpu_us:.2f} µs CPU/event")
    return cells


def profile_streamparse(server: ServerProcess, specs: dict[str, Spec], key: str) -> str:
    """cProfile of Client.stream reading ``key`` once (after a warm-up read)."""

    async def run(profiler: cProfile.Profile) -> None:
        reader = StreamparseReader(server.base_url, server.served, specs)
        await reader.open()
        try:
            await reader.read(key)
            profiler.enable()
            await reader.read(key)
            profiler.disable()
        finally:
            await reader.close()

    profiler = cProfile.Profile()
    asyncio.run(run(profiler))
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


def layer_costs(server: ServerProcess, key: str) -> str:
    """CPU µs per SSE event of each layer of ``Client.stream`` and of the bare
    loop, on the stream's bytes without the network (best of 5): cProfile's
    own overhead distorts a profile made of ~1 µs calls; this does not."""
    from streamparse.wire.folding import ChunkFolder
    from streamparse.wire.sse import SSEDecoder
    from streamparse.wire.payloads import DONE, decode_payload

    async def fetch() -> bytes:
        async with _session() as session:
            request = {"model": key, "messages": REQUEST_MESSAGES, "stream": True}
            async with session.post(server.base_url + "/chat/completions", json=request) as resp:
                return await resp.read()

    body = asyncio.run(fetch())
    reads = [body[i : i + WRITE_SIZE] for i in range(0, len(body), WRITE_SIZE)]
    events = server.served[key].events

    def split() -> None:
        sse = SSEDecoder()
        for data in reads:
            sse.feed_data(data)

    def decode() -> None:
        sse = SSEDecoder()
        for data in reads:
            for payload in sse.feed_data(data):
                if payload != DONE:
                    decode_payload(payload)

    def fold() -> None:
        sse = SSEDecoder()
        folder = ChunkFolder("hermes")
        for data in reads:
            for payload in sse.feed_data(data):
                folder.feed(payload)

    def bare() -> None:
        for line in body.split(b"\n"):
            line = line.strip()
            if line and line != b"data: [DONE]":
                json.loads(line.decode().removeprefix("data: "))

    def best(fn: Callable[[], None]) -> float:
        times: list[float] = []
        for _ in range(5):
            gc.collect()
            c0 = time.process_time()
            fn()
            times.append(time.process_time() - c0)
        return min(times) / events * 1e6

    rows = [
        ("Client.stream: SSE split (SSEDecoder.feed_data)", best(split)),
        ("  + msgspec decode of each payload", best(decode)),
        ("  + ChunkFolder: parser, accumulator, events, message", best(fold)),
        ("bare loop: line split + json.loads alone (no aiohttp readline)", best(bare)),
    ]
    return "\n".join(f"  {label:64s} {us:5.2f} µs/event" for label, us in rows)


# ---------------------------------------------------------------- report


def _fmt_rate(x: float) -> str:
    return f"{x / 1e3:,.0f}k" if x >= 1e4 else f"{x:,.0f}"


def _cases(cells: list[Cell]) -> Iterator[tuple[str, int, list[Cell], Cell, Cell, Cell]]:
    """The cells of each (reply, streams) case, with its bare-loop, streamparse and server-push cells."""
    groups: dict[tuple[str, int], list[Cell]] = {}
    for c in cells:
        groups.setdefault((c.scenario, c.streams), []).append(c)
    for (scenario, streams), group in groups.items():
        by_reader = {c.reader: c for c in group}
        yield scenario, streams, group, by_reader[BareReader.name], by_reader[StreamparseReader.name], by_reader[RawReader.name]


def report(
    cells: list[Cell], specs: dict[str, Spec], served: dict[str, Served], repeats: int, env: str, load: str
) -> str:
    sizes = ", ".join(
        f"`{key}` {s.events:,} events / {s.nbytes / 1e6:.1f} MB / {specs[key].calls} calls"
        for key, s in served.items()
        if not key.endswith("-warm") and not is_paced(key)
    )
    lines = [
        "## client.py — reading a live stream: `Client.stream` vs bare aiohttp vs openai-python",
        "",
        env,
        "",
        "### Burst: the server writes as fast as it can (many events per network read)",
        "",
        "Server: a separate process on 127.0.0.1 writing vLLM chunks that the embedded server rendered once "
        "(64 KiB writes, chunked encoding). Each reply: reasoning (~15 % of the characters, `delta.reasoning`), "
        "prose, and a Hermes call every ~1.5 KB (100–700-byte arguments); the same text is sent with the tags "
        "in `content` and server-parsed into `delta.tool_calls`. Per stream: " + sizes + ". "
        f"Medians of {repeats} rounds (openai-python: {min(repeats, OpenAIReader.max_rounds or repeats)}), "
        "clients in rotating order, "
        "after a warm-up on a short reply; the garbage collector on, as users run. "
        f"CPU is the client process alone. Load average before / after the run: {load} "
        "(other processes on the machine lower events/s, not CPU per event).",
        "",
        "| reply | streams | client | events/s (median) | CPU µs per event | × bare loop | rounds "
        "| server CPU (% of a core) | target |",
        "|---|--:|---|--:|--:|--:|--:|--:|---|",
    ]
    verdicts: list[str] = []
    for scenario, streams, group, bare, ours, raw in _cases(cells):
        fastest = max(c.rate for c in group if c is not raw)
        for c in group:
            target = ""
            if c is ours:
                ratio = c.rate / bare.rate
                ok = ratio >= TARGET_RATIO
                target = f"≥ {TARGET_RATIO:g}× bare: {'met' if ok else '**missed**'}"
                verdicts.append(
                    f"{scenario}, {streams} stream{'s' if streams > 1 else ''}: {ratio:.2f}× "
                    f"({'met' if ok else '**missed**'}; CPU per event {bare.cpu_us / c.cpu_us:.2f}× less)"
                )
            elif c is raw:
                headroom = c.rate / fastest
                verdict = "not the bottleneck" if headroom > 1.5 else "**too close**"
                target = f"{headroom:.1f}× the fastest client: {verdict}"
            lines.append(
                f"| {scenario} | {streams} | {c.reader} | {_fmt_rate(c.rate)} | {c.cpu_us:.2f} | "
                f"{c.rate / bare.rate:.2f}× | {len(c.samples)} | {c.server_share * 100:.0f} % | {target} |"
            )
    lines += [
        "",
        "Events/s counts the stream's SSE `data:` events (`[DONE]` included) for every client, so the "
        "rows compare like with like, though the work differs: `Client.stream` yields typed events (text, "
        "reasoning, tool-call start/delta/end, finish) and folds the message; the bare loop yields dicts and "
        "keeps the text; openai-python yields pydantic chunk objects. Every run is checked (event and byte "
        "counts; for `Client.stream` the completed tool calls and the `Finish`). The server-push row reads "
        "and drops the bytes: the most the server and the socket deliver, which every client must stay "
        "well below for its row to measure the client.",
        "",
        f"Target (`Client.stream` ≥ {TARGET_RATIO:g}× the events/s of the bare readline + `json.loads` loop): "
        + "; ".join(verdicts)
        + ".",
    ]
    return "\n".join(lines)


def paced_report(cells: list[Cell], served: dict[str, Served], paced: list[tuple[int, int, float]], repeats: int) -> str:
    lines = [
        "### Token pace: one event per network read",
        "",
        "The server writes one event per write, "
        + ", ".join(f"{1 / interval:g} events/s to each of {n:,} stream{'s' if n > 1 else ''}" for n, _, interval in paced)
        + f" ({', '.join(f'{served[k].events:,}' for k in served if is_paced(k) and k.startswith('tags'))} events "
        "per stream respectively), each stream's phase spread over the interval. The three clients run at once, "
        "each in its own process with its own streams, so that every round measures all of them under the same "
        "load. Every stream first receives its opening events (the role chunk and a first delta) and waits until "
        f"all are open; after the release and {PACED_SETTLE:g} s, each client's CPU is measured over the same "
        f"{PACED_WINDOW:g} s, against the events the server wrote to it meanwhile: the steady state, without "
        "connecting nor the ends of the streams (which are still read and checked). Medians of "
        f"{repeats} rounds; × bare loop is the median of the rounds' ratios. Server CPU is a third of the "
        "server's, for each client. Events per read counts the socket reads of the client process (aiohttp's `data_received`) "
        "over the window: 1.00 is the pace asked for; more means a busy machine delayed the client and reads "
        "batched, which lowers its CPU per event. `Client.stream` reads 64 KiB per socket read; the bare loop and "
        "the push reader keep asyncio's 256 KiB, a buffer glibc maps and unmaps on every read (see "
        "`runner.py --same-reads` for the two loops at the same read size).",
        "",
        "| reply | streams | client | CPU µs per event | × bare loop (CPU) | events per read "
        "| rounds | server CPU (% of a core) | target |",
        "|---|--:|---|--:|--:|--:|--:|--:|---|",
    ]
    verdicts: list[str] = []
    for scenario, streams, group, bare, ours, _ in _cases(cells):
        for c in group:
            target = ""
            ratio = c.cpu_ratio(bare)  # the same windows: paired
            if c is ours:
                ok = ratio < PACED_TARGET
                target = f"< bare loop: {'met' if ok else '**missed**'}"
                verdicts.append(
                    f"{scenario}, {streams:,} stream{'s' if streams > 1 else ''}: {ratio:.2f}× "
                    f"the bare loop's CPU ({'met' if ok else '**missed**'})"
                )
            per_read = f"{c.events_per_read:.2f}"
            lines.append(
                f"| {scenario} | {streams:,} | {c.reader} | {c.cpu_us:.2f} | {ratio:.2f}× | "
                f"{per_read} | {len(c.samples)} | {c.server_share * 100:.0f} % | {target} |"
            )
    lines += ["", "Target (`Client.stream` below the bare loop's CPU per event at token pace): " + "; ".join(verdicts) + "."]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def paced_output(events: int, seed: int) -> tuple[str, str, int]:
    """(reasoning, text, calls) of about ``events`` deltas for token pace:
    ~15 % reasoning, then prose with one Hermes call halfway (the call alone
    is ~30 deltas: shorter replies are prose only)."""
    rng = random.Random(seed)
    nchars = int(events * 3.6)
    reasoning = _prose(rng, nchars * 15 // 100, _THINK + _WORDS[:30])
    if events < 100:
        return reasoning, _prose(rng, nchars - len(reasoning), _WORDS), 0
    half = (nchars - len(reasoning) - 150) // 2
    text = _prose(rng, half, _WORDS) + "\n\n" + _call(rng, 1) + "\n\n" + _prose(rng, half, _WORDS)
    return reasoning, text, 1


def build_specs(single_events: int, each_events: int, paced: list[tuple[int, int, float]]) -> list[Spec]:
    # ~3.6 characters per delta with the default Chunking
    specs = []
    for name, tool_parser in (("tags", False), ("parsed", True)):
        for size, events in (("1", single_events), ("100", each_events), ("warm", 300)):
            reasoning, text, calls = model_output(int(events * 3.6), SEED + events)
            specs.append(Spec(f"{name}-{size}", tool_parser, reasoning, text, calls))
        for streams, events, _ in paced:
            reasoning, text, calls = paced_output(events, SEED + streams)
            specs.append(Spec(f"{name}-p{streams}", tool_parser, reasoning, text, calls))
    return specs


SCENARIOS = {"tags": "tags in content", "parsed": "server-parsed `tool_calls`"}
# Token pace: (streams, target events per stream, seconds between events); ~2-3 s per sample.
# Each stream lasts ~3.5 s, longer than the settling time and the window together. The three
# clients read at once: at most 10k events/s in all, so that a busy 2-core machine still
# delivers one event per read.
PACED = [(1, 1750, 0.002), (100, 120, 0.03), (1000, 12, 0.3)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="smaller streams (noisier: ~50 ms samples)")
    ap.add_argument("--repeats", type=int, default=5, help="rounds per case (default 5; openai-python at most 3)")
    ap.add_argument("--profile", action="store_true", help="print Client.stream's CPU by layer and a cProfile")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    single, each = (20_000, 500) if args.quick else (75_000, 1_000)  # target events; ~0.9x that come out
    repeats = args.repeats
    paced = PACED
    paced_repeats = 3 if args.quick else repeats

    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    load0 = os.getloadavg()[0]
    log("rendering the replies in the server process ...")
    specs = {s.key: s for s in build_specs(single, each, paced)}
    server = ServerProcess(list(specs.values()))
    served = server.served
    try:
        for key, one in served.items():
            log(f"  {key}: {one.events:,} events, {one.nbytes / 1e6:.1f} MB, {specs[key].calls} calls")
        cells: list[Cell] = []
        for scenario, label in SCENARIOS.items():
            for streams in (1, 100):
                key = f"{scenario}-{streams}"
                cells += asyncio.run(measure_case(server, specs, label, key, f"{scenario}-warm", streams, repeats, log))
        _raise_fd_limit(2500)
        paced_cells: list[Cell] = []
        for scenario, label in SCENARIOS.items():
            for streams, _, interval in paced:
                key = f"{scenario}-p{streams}@{interval}"
                paced_cells += asyncio.run(measure_paced(server, specs, label, key, streams, paced_repeats, log))
        if args.profile:
            for scenario in SCENARIOS:
                log(f"CPU by layer, without the network, {scenario}-1:")
                log(layer_costs(server, f"{scenario}-1"))
                log(f"cProfile of Client.stream, {scenario}-1:")
                log(profile_streamparse(server, specs, f"{scenario}-1"))
    finally:
        server.close()
    load = f"{load0:.1f} / {os.getloadavg()[0]:.1f}"
    text = report(cells, specs, served, repeats, environment("streamparse-llm", "aiohttp", "msgspec", "openai"), load)
    text += "\n\n" + paced_report(paced_cells, served, paced, paced_repeats)
    print(text)
    if not args.no_write:
        log(f"updated {write_section('client.py', text)}")
    log(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
