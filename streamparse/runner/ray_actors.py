"""Ray actors across a cluster: one scheduler (the driver), many event loops, one writer.

::

    async with RayActors(ClientSpec(base_url=url), address="auto", count=8) as actors:
        engine = Engine(actors, load=Load(max_concurrency=4000))
        async for record in engine.run(requests):
            writer.write(record)

Each actor is an async Ray actor (one CPU, spread over the nodes) holding a
:class:`~.shard.Shard`: its own client and as many streams as it is dealt.
The driver's engine keeps the load shape and the slots and deals requests
in batches, each to the actor with the fewest in flight (see :mod:`.dealer`);
each actor answers a long-polled ``receive`` with every record finished
since, so records stream back to the driver's one writer. At start every
actor must answer ``ready`` in time, having reached the server itself
(``GET /models``): else a :class:`~streamparse.errors.WorkerError` names the
actor and its node. Records carry their ``host``; durations are measured on
it, and only the alignment of start times crosses hosts (the clock offsets
of :mod:`.dealer`). streamparse-llm must be installed on every node.
Ray is imported only here, only when used (``pip install 'streamparse-llm[ray]'``).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import msgspec

from ..errors import UsageError, WorkerError
from .dealer import Dealer, Link, clock_offset
from .load import Load
from .protocol import ClientSpec, Ready, boot_id, read_frames
from .shard import Shard
from .workers import READY_TIMEOUT_S, auto_count

__all__ = ["RayActors"]

START_TIMEOUT_S = 60.0
"""How long actors may take to be placed, start and answer ``ready``."""
_PINGS = 5
_CLOSE_TIMEOUT_S = 2.0
_ENV_PREFIXES = ("STREAMPARSE_", "OPENAI_")
"""Variables the client reads: actors on other nodes get the driver's."""


class _Actor:
    """The Ray actor (``ray.remote`` is applied when Ray is imported): a shard behind four methods."""

    def __init__(self, spec: bytes) -> None:
        self._shard = Shard(msgspec.json.decode(spec, type=ClientSpec))
        self._buffer = bytearray()

    async def ready(self, timeout: float) -> tuple[bytes, str]:
        import ray

        ready = await self._shard.ready(timeout)
        return msgspec.json.encode(ready), ray.util.get_node_ip_address()

    async def ping(self) -> int:
        return time.perf_counter_ns()

    async def send(self, data: bytes) -> None:
        self._buffer += data
        for message in read_frames(self._buffer):
            self._shard.handle(message)

    async def receive(self) -> bytes:
        return await self._shard.outgoing()

    async def close(self) -> None:
        await self._shard.close()


class RayActors(Dealer):
    """``count`` actors (None: by :func:`~.workers.auto_count` over the cluster's CPUs and ``load``)
    on the cluster at ``address`` (None: ``ray.init()``'s own choice; an initialized Ray is used as it is)."""

    lead_ns = 100_000_000  # a Ray call takes about a millisecond on one host, more across a network

    def __init__(
        self,
        spec: ClientSpec,
        *,
        address: str | None = None,
        count: int | None = None,
        load: Load = Load(),
        requests: int = 0,
        num_cpus: float = 1.0,
    ) -> None:
        super().__init__()
        if count is not None and count < 1:
            raise UsageError("ray: the number of actors must be at least 1")
        self.spec = spec
        self.address = address
        self.count = count
        self._load = load
        self._requests = requests
        self.num_cpus = num_cpus
        self._actors: dict[Link, Any] = {}
        self._pending: dict[Link, list[bytes]] = {}
        self._senders: dict[Link, asyncio.Task[None]] = {}
        self._receivers: list[asyncio.Task[None]] = []
        self._started_ray = False
        self._closing = False

    async def start(self) -> None:
        try:
            import ray
        except ImportError as exc:
            raise UsageError("--ray needs Ray: pip install 'streamparse-llm[ray]'") from exc
        if not ray.is_initialized():
            ray.init(address=self.address)
            self._started_ray = True
        count = self.count or auto_count(
            self._load, self._requests, cpus=max(1, int(ray.cluster_resources().get("CPU", 1) // self.num_cpus)), loop="asyncio"
        )
        env = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
        actor_class = ray.remote(_Actor).options(
            num_cpus=self.num_cpus, scheduling_strategy="SPREAD", runtime_env={"env_vars": env} if env else None
        )
        spec = msgspec.json.encode(self.spec)
        actors = [actor_class.remote(spec) for _ in range(count)]
        calls = [asyncio.ensure_future(actor.ready.remote(READY_TIMEOUT_S)) for actor in actors]
        finished, waiting = await asyncio.wait(calls, timeout=START_TIMEOUT_S)
        problems = [f"Ray actor {i} was not ready within {START_TIMEOUT_S:g} s (not placed? the cluster has "
                    f"{ray.cluster_resources().get('CPU', 0):g} CPUs for {count} actors of {self.num_cpus:g})"
                    for i, call in enumerate(calls) if call in waiting]  # fmt: skip
        readies: list[tuple[Ready, str]] = []
        for index, call in enumerate(calls):
            if call in waiting:
                call.cancel()
                continue
            try:
                data, node = call.result()
            except Exception as exc:  # the actor died starting: Ray's error says where and why
                problems.append(f"Ray actor {index} failed to start: {exc}")
                continue
            ready = msgspec.json.decode(data, type=Ready)
            readies.append((ready, node))
            if ready.error is not None:
                problems.append(f"Ray actor {index} on node {node} ({ready.host}): {ready.error}")
        if problems:
            await _end(actors)
            await self._shutdown()
            raise WorkerError("; ".join(problems))
        ours = boot_id()
        for index, (actor, (ready, node)) in enumerate(zip(actors, readies)):
            offset = 0 if ready.boot_id is not None and ready.boot_id == ours else await self._offset(actor)
            link = Link(f"Ray actor {index} on node {node} ({ready.host})", ready, offset_ns=offset)
            self.links.append(link)
            self._actors[link] = actor
            self._receivers.append(asyncio.create_task(self._receive(link, actor)))

    async def close(self) -> None:
        self._closing = True
        await _end(list(self._actors.values()))
        for task in [*self._receivers, *self._senders.values()]:
            task.cancel()
        await self._shutdown()

    async def _shutdown(self) -> None:
        if self._started_ray:
            import ray

            ray.shutdown()
            self._started_ray = False

    async def _offset(self, actor: Any) -> int:
        samples = []
        for _ in range(_PINGS):
            sent = time.perf_counter_ns()
            remote = await actor.ping.remote()
            samples.append((sent, remote, time.perf_counter_ns()))
        return clock_offset(samples)

    def _send(self, link: Link, data: bytes) -> None:
        # One call at a time per actor, in order (an async actor may run concurrent calls out of
        # order); what is dealt meanwhile goes in the next call.
        self._pending.setdefault(link, []).append(data)
        if link not in self._senders:
            self._senders[link] = asyncio.create_task(self._sender(link))

    async def _sender(self, link: Link) -> None:
        actor = self._actors[link]
        pending = self._pending[link]
        try:
            while pending:
                data = b"".join(pending)
                pending.clear()
                await actor.send.remote(data)
        except Exception as exc:  # the actor is gone: its receive says so too
            if not self._closing:
                self.lose(link, _why(exc))
        finally:
            del self._senders[link]

    async def _receive(self, link: Link, actor: Any) -> None:
        buffer = bytearray()
        try:
            while True:
                buffer += await actor.receive.remote()
                self.received(link, read_frames(buffer))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self._closing:
                self.lose(link, _why(exc))


async def _end(actors: list[Any]) -> None:
    """Close each actor's client (a moment at most), then end the actors."""
    import ray

    closing = [asyncio.ensure_future(a.close.remote()) for a in actors]
    if closing:
        await asyncio.wait(closing, timeout=_CLOSE_TIMEOUT_S)
    for call in closing:
        if call.done():
            call.exception()  # a dead actor does not close: nothing to report
        else:
            call.cancel()
    for actor in actors:
        ray.kill(actor)


def _why(exc: BaseException) -> str:
    """Ray's error in one line (its first): the actor died, and why."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
