"""The engine: requests in, records out, under a load shape.

::

    engine = Engine(client, load=Load(max_concurrency=8))
    async for record in engine.run(requests, warmups=1):
        writer.write(record)

The load shape (:mod:`.load`) only says when each request may start; the
dispatcher waits for that moment and for a concurrency slot, then hands the
request to a backend that runs it: :class:`~.tasks.Tasks` on this loop
(given a :class:`~streamparse.client.Client`), or worker processes
(:class:`~.workers.Workers`) or Ray actors (:class:`~.ray_actors.RayActors`),
to which requests are dealt with their due times shortly ahead. The slots
are the engine's alone, so the cap holds across every process. Records come
out as requests end, so one writer takes them all.
:meth:`Engine.stop` (Ctrl-C) stops dispatching and cancels what is in flight:
those requests end as ``cancelled`` records, and the iterator ends.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, Union

from .executor import HOST, Execution
from .inputs import Request
from .load import Load, arrival_offsets
from .records import Record
from .selfcheck import LoopCheck, ProcessStats, client_stats
from .tasks import Done, Settings, Tasks

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["Backend", "Engine"]


class Backend(Protocol):
    """Where requests run: :class:`~.tasks.Tasks`, :class:`~.workers.Workers`, :class:`~.ray_actors.RayActors`."""

    @property
    def lead_ns(self) -> int:
        """How long before its due time a request is handed over (the hand-over's own delay)."""

    async def open(self, settings: Settings) -> None:
        """Before a run: what every request gets."""

    def launch(self, execution: Execution, done: Done) -> None:
        """Run it (from ``execution.scheduled_ns`` on); ``done`` gets its record. Raises
        :class:`~streamparse.errors.WorkerError` when nothing is left to run it."""

    def cancel(self) -> None:
        """Cancel everything in flight: each still gets its (``cancelled``) record, soon."""

    async def stats(self) -> list[ProcessStats]:
        """End of the measured phase: the self-check of each process that ran requests (none: this one)."""


class Engine:
    """Runs requests through ``client`` (or another :class:`Backend`) under ``load``.

    ``params`` are body options every request gets (a request's own
    ``params`` win); ``scoring`` scores records of requests that carry
    ``expected``; ``continuous_usage`` asks vLLM for usage on every chunk (its
    token counts split ITL per token).
    """

    def __init__(
        self,
        client: Union[Client, Backend],
        *,
        load: Load = Load(),
        params: dict[str, Any] | None = None,
        scoring: bool = False,
        continuous_usage: bool = False,
        run: str | None = None,
    ) -> None:
        from ..client import Client

        self.backend: Backend = Tasks(client) if isinstance(client, Client) else client
        self.load = load
        self.params = dict(params or {})
        if continuous_usage:
            self.params["stream_options"] = {"include_usage": True, "continuous_usage_stats": True}
        self.scoring = scoring
        self.run_id = run or secrets.token_hex(4)
        self._stopping = False
        self._dispatcher: asyncio.Task[None] | None = None
        self._check = LoopCheck()
        self._workers: list[ProcessStats] = []

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Send nothing more; cancel the requests in flight (their records say ``cancelled``)."""
        self._stopping = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        self.backend.cancel()

    async def run(self, requests: Sequence[Request], *, warmups: int = 0) -> AsyncIterator[Record]:
        """Records of ``warmups`` requests (the first ones, repeated; phase ``warmup``, at most
        ``max_concurrency`` at once, no rate), then of every request, as each ends."""
        if not requests or self._stopping:
            return
        await self.backend.open(Settings(params=self.params, scoring=self.scoring, run=self.run_id))
        self._check.start()
        try:
            if warmups and not self._stopping:
                warm = [requests[i % len(requests)] for i in range(warmups)]
                async for record in self._phase(warm, "warmup", Load(max_concurrency=self.load.max_concurrency)):
                    yield record
            self._check.begin()  # the self-check covers the measured phase only
            try:
                async for record in self._phase(requests, "measure", self.load):
                    self._check.count(record)
                    yield record
            finally:
                self._check.end()
                self._workers = await self.backend.stats()
        finally:
            self._check.stop()

    def client_stats(self) -> dict[str, Any]:
        """The client's self-check: CPU and event-loop lateness of the processes that ran the
        requests, while measuring (see :func:`~.selfcheck.client_stats`)."""
        return client_stats(self._check.stats(HOST), self._workers)

    async def _phase(self, requests: Sequence[Request], phase: str, load: Load) -> AsyncIterator[Record]:
        if self._stopping:
            return
        queue: asyncio.Queue[Record | BaseException | None] = asyncio.Queue()
        slots = asyncio.Semaphore(load.max_concurrency) if load.max_concurrency else None
        backend = self.backend
        pending = 0
        dealt = False

        def done(item: Record | BaseException) -> None:
            nonlocal pending
            pending -= 1
            if slots is not None:
                slots.release()
            queue.put_nowait(item)
            if dealt and not pending:
                queue.put_nowait(None)

        async def dispatch() -> None:
            nonlocal pending, dealt
            lead = backend.lead_ns
            offsets = arrival_offsets(len(requests), load)
            # Dealt ahead, even the first wave starts on time, together across processes.
            start = time.perf_counter_ns() + lead
            deadline = start + int(load.duration * 1e9) if load.duration else None
            try:
                for request, offset in zip(requests, offsets):
                    at = start + int(offset * 1e9)
                    wait = at - lead - time.perf_counter_ns()
                    if wait > 0:
                        await asyncio.sleep(wait / 1e9)
                    if slots is not None:
                        await slots.acquire()
                    if deadline is not None and max(time.perf_counter_ns(), at) >= deadline:
                        if slots is not None:
                            slots.release()
                        break
                    execution = Execution(request, phase=phase, run=self.run_id, scheduled_ns=at)
                    try:
                        backend.launch(execution, done)
                    except BaseException:
                        if slots is not None:
                            slots.release()
                        raise
                    pending += 1
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
            except Exception as exc:  # nothing left to run requests: what ran is recorded, then this
                queue.put_nowait(exc)
            dealt = True
            if not pending:
                queue.put_nowait(None)

        def dispatched(task: asyncio.Task[None]) -> None:
            nonlocal dealt
            if not dealt:  # cancelled before it ran
                dealt = True
                if not pending:
                    queue.put_nowait(None)

        self._dispatcher = asyncio.create_task(dispatch())
        self._dispatcher.add_done_callback(dispatched)
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._dispatcher.cancel()
            self._dispatcher = None
            if pending:  # the consumer left early: nothing may keep running
                backend.cancel()
