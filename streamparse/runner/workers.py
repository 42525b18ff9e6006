"""Worker processes on this host: one scheduler, N event loops, one writer.

::

    async with Workers(ClientSpec(base_url=url), count=4) as workers:
        engine = Engine(workers, load=Load(max_concurrency=1000, request_rate=200))
        async for record in engine.run(requests):
            writer.write(record)

Each worker is a spawned process (nothing inherited but what it is sent) with
its own event loop (uvloop when installed) and its own client; it talks to
the scheduler over a socket pair in frames (:mod:`.protocol`). The engine in
this process keeps the load shape and the concurrency slots, so the cap, the
rate and the warm-up are those of one process; all processes read the same
CLOCK_MONOTONIC, so due times are exact. Workers ignore SIGINT: Ctrl-C
reaches the whole process group, and the scheduler stops them in order.
A worker that dies has its requests in flight recorded as ``worker_lost``
errors (see :mod:`.dealer`); the run goes on with the others. As with any
spawned process, a script that starts workers needs the
``if __name__ == "__main__":`` guard (the workers import its main module).
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import signal
import socket
from multiprocessing.process import BaseProcess

import msgspec

from ..errors import UsageError, WorkerError
from .dealer import Dealer, Link
from .load import Load
from .loop import LoopName, loop_name, run
from .protocol import ClientSpec, Ready, frame, read_frames
from .shard import Shard

__all__ = ["EVENTS_PER_PROCESS", "STREAM_EVENTS_PER_S", "Workers", "auto_count", "cores"]

EVENTS_PER_PROCESS = {"uvloop": 15_000, "asyncio": 8_000}
"""Token events per second to plan per process: well below the CPU ceiling that
benchmarks/runner.py and benchmarks/scale.py measure (25–45 µs of CPU per event), since a
process's stamps run late long before it is CPU-bound."""
STREAM_EVENTS_PER_S = 50
"""Token events per second a stream is assumed to bring (20 ms per token), to size ``auto``."""
START_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 10.0
"""How long a new worker waits for the server's answer to ``GET /models``."""
_READ_SIZE = 1 << 16


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def auto_count(load: Load, requests: int, *, cpus: int | None = None, loop: LoopName = "auto") -> int:
    """Processes for ``--workers auto``: enough that none carries more streams than its share of
    :data:`EVENTS_PER_PROCESS` (at :data:`STREAM_EVENTS_PER_S` each), at most one per CPU.
    Streams are the concurrency cap, else every request at once; a rate without a cap gives
    no bound, so then one per CPU."""
    cpus = cpus or cores()
    streams = load.max_concurrency or (requests if math.isinf(load.request_rate) else None)
    if streams is None:
        return cpus
    per_process = EVENTS_PER_PROCESS[loop_name(loop)] // STREAM_EVENTS_PER_S
    return max(1, min(cpus, math.ceil(streams / per_process)))


class Workers(Dealer):
    """``count`` worker processes, started by ``async with`` (or :meth:`start`), stopped by :meth:`close`."""

    def __init__(self, spec: ClientSpec, *, count: int, loop: LoopName = "auto") -> None:
        super().__init__()
        if count < 1:
            raise UsageError("workers: count must be at least 1")
        self.spec = spec
        self.count = count
        self.loop = loop
        self._procs: list[BaseProcess] = []
        self._writers: dict[Link, asyncio.StreamWriter] = {}
        self._streams: list[asyncio.StreamWriter] = []
        self._readers: list[asyncio.Task[None]] = []
        self._closing = False

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p.pid is not None]

    async def start(self) -> None:
        loop_name(self.loop)  # uvloop asked for and missing: say so here, not in each worker
        ctx = multiprocessing.get_context("spawn")
        spec = msgspec.json.encode(self.spec)
        streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        for index in range(self.count):
            ours, theirs = socket.socketpair()
            proc = ctx.Process(
                target=_worker_main, args=(theirs, spec, self.loop), name=f"streamparse-worker-{index}", daemon=True
            )
            proc.start()
            theirs.close()  # else our copy keeps its end open: no EOF when the worker dies
            self._procs.append(proc)
            streams.append(await asyncio.open_connection(sock=ours))
            self._streams.append(streams[-1][1])
        try:
            readies = await asyncio.wait_for(
                asyncio.gather(*(_first_message(reader) for reader, _ in streams)), START_TIMEOUT_S + READY_TIMEOUT_S
            )
        except asyncio.TimeoutError:
            await self.close()
            raise WorkerError(f"workers did not start within {START_TIMEOUT_S + READY_TIMEOUT_S:g} s") from None
        except WorkerError:
            await self.close()
            raise
        for index, ((reader, writer), ready) in enumerate(zip(streams, readies)):
            name = f"worker {index} (pid {ready.pid})"
            if ready.error is not None:
                await self.close()
                raise WorkerError(f"{name} on {ready.host}: {ready.error}")
            link = Link(name, ready)
            self.links.append(link)
            self._writers[link] = writer
            self._readers.append(asyncio.create_task(self._read(link, reader, self._procs[index])))

    async def close(self) -> None:
        """Close the sockets (workers end at EOF) and wait for the processes; terminate stragglers."""
        self._closing = True
        for writer in self._streams:
            writer.close()
        loop = asyncio.get_running_loop()
        for proc in self._procs:
            await loop.run_in_executor(None, proc.join, 5.0)
            if proc.is_alive():
                proc.terminate()
                await loop.run_in_executor(None, proc.join, 5.0)
        for task in self._readers:
            task.cancel()

    def _send(self, link: Link, data: bytes) -> None:
        self._writers[link].write(data)

    async def _read(self, link: Link, reader: asyncio.StreamReader, proc: BaseProcess) -> None:
        buffer = bytearray()
        try:
            while chunk := await reader.read(_READ_SIZE):
                buffer += chunk
                self.received(link, read_frames(buffer))
        except ConnectionError:
            pass
        if self._closing:
            return
        await asyncio.get_running_loop().run_in_executor(None, proc.join, 1.0)
        code = proc.exitcode
        if code is None:
            reason = "closed its connection"
        elif code < 0:
            reason = f"killed by {signal.Signals(-code).name}"
        else:
            reason = f"exited with status {code}"
        self.lose(link, reason)


async def _first_message(reader: asyncio.StreamReader) -> Ready:
    buffer = bytearray()
    while True:
        chunk = await reader.read(_READ_SIZE)
        if not chunk:
            raise WorkerError("a worker exited while starting (its error is above)")
        buffer += chunk
        messages = read_frames(buffer)
        if messages:
            ready = messages[0]
            if not isinstance(ready, Ready) or len(messages) > 1 or buffer:
                raise WorkerError(f"a worker said {type(ready).__name__} before it was ready")
            return ready


# -- in the worker process --------------------------------------------------------


def _worker_main(sock: socket.socket, spec: bytes, loop: LoopName) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the scheduler decides when to stop
    run(_serve(sock, msgspec.json.decode(spec, type=ClientSpec)), loop=loop)


async def _serve(sock: socket.socket, spec: ClientSpec) -> None:
    reader, writer = await asyncio.open_connection(sock=sock)
    shard = Shard(spec)
    writer.write(frame(await shard.ready(READY_TIMEOUT_S)))

    async def pump() -> None:
        while True:
            writer.write(await shard.outgoing())
            await writer.drain()

    pumping = asyncio.create_task(pump())
    buffer = bytearray()
    try:
        while chunk := await reader.read(_READ_SIZE):
            buffer += chunk
            for message in read_frames(buffer):
                shard.handle(message)
    except ConnectionError:
        pass  # the scheduler is gone: stop
    finally:
        await shard.close()
        pumping.cancel()
        writer.close()
