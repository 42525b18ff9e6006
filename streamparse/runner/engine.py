"""The engine: requests in, records out, under a load shape, through one client.

::

    engine = Engine(client, load=Load(max_concurrency=8))
    async for record in engine.run(requests, warmups=1):
        writer.write(record)

The load shape (:mod:`.load`) only says when each request may start; the
dispatcher waits for that moment and for a concurrency slot, then hands the
request to an :class:`~.executor.Execution`. Records come out as requests end,
so one writer can take records from any number of engines or processes.
:meth:`Engine.stop` (Ctrl-C) stops dispatching and cancels what is in flight:
those requests end as ``cancelled`` records, and the iterator ends.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from ..core.message import Message
from .executor import Execution, request_params
from .inputs import Request
from .load import Load, arrival_offsets
from .records import ErrorInfo, Record
from .scoring import score
from .summary import percentile

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["Engine"]

_WATCH_INTERVAL = 0.05  # seconds between two looks at the event loop's lateness (each costs a wake-up)
_CANCELLED = ErrorInfo(kind="cancelled", message="run stopped")


class Engine:
    """Runs requests through ``client`` under ``load``.

    ``params`` are body options every request gets (a request's own
    ``params`` win); ``scoring`` scores records of requests that carry
    ``expected``; ``continuous_usage`` asks vLLM for usage on every chunk (its
    token counts split ITL per token).
    """

    def __init__(
        self,
        client: Client,
        *,
        load: Load = Load(),
        params: dict[str, Any] | None = None,
        scoring: bool = False,
        continuous_usage: bool = False,
        run: str | None = None,
    ) -> None:
        self.client = client
        self.load = load
        self.params = dict(params or {})
        if continuous_usage:
            self.params["stream_options"] = {"include_usage": True, "continuous_usage_stats": True}
        self.scoring = scoring
        self.run_id = run or secrets.token_hex(4)
        self._stopping = False
        self._dispatcher: asyncio.Task[None] | None = None
        self._executions: dict[asyncio.Task[Record], Execution] = {}
        self._lags: collections.deque[float] = collections.deque(maxlen=100_000)
        self._cpu_s = 0.0
        self._wall_s = 0.0
        self._events = 0

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Send nothing more; cancel the requests in flight (their records say ``cancelled``)."""
        self._stopping = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        for task, execution in self._executions.items():
            execution.stopping = True
            task.cancel()

    async def run(self, requests: Sequence[Request], *, warmups: int = 0) -> AsyncIterator[Record]:
        """Records of ``warmups`` requests (the first ones, repeated; phase ``warmup``, at most
        ``max_concurrency`` at once, no rate), then of every request, as each ends."""
        if self.client.model is None and requests:
            # Once, before the burst: else every request of the first wave asks /models.
            models = await self.client.models()
            self.client.model = models[0] if models else None
        watcher = asyncio.create_task(self._watch())
        try:
            if warmups and requests and not self._stopping:
                warm = [requests[i % len(requests)] for i in range(warmups)]
                async for record in self._phase(warm, "warmup", Load(max_concurrency=self.load.max_concurrency)):
                    yield record
            self._lags.clear()  # the self-check covers the measured phase only
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                async for record in self._phase(requests, "measure", self.load):
                    if record.t.ttft_ms is not None:
                        self._events += len(record.itl_ms) + 1
                    yield record
            finally:
                self._cpu_s += time.process_time() - cpu
                self._wall_s += time.perf_counter() - wall
        finally:
            watcher.cancel()

    def client_stats(self) -> dict[str, Any]:
        """The client's self-check: its CPU and its event loop's lateness while measuring."""
        lags = sorted(self._lags)
        return {
            "cpu_share": self._cpu_s / self._wall_s if self._wall_s else None,
            "cpu_us_per_event": self._cpu_s / self._events * 1e6 if self._events else None,
            "token_events": self._events,
            "p99_loop_lag_ms": percentile(lags, 99) * 1e3 if lags else None,
            "max_loop_lag_ms": lags[-1] * 1e3 if lags else None,
        }

    async def _watch(self) -> None:
        """How late the loop wakes up: a busy client stamps late."""
        while True:
            t = time.perf_counter()
            await asyncio.sleep(_WATCH_INTERVAL)
            self._lags.append(max(0.0, time.perf_counter() - t - _WATCH_INTERVAL))

    async def _phase(self, requests: Sequence[Request], phase: str, load: Load) -> AsyncIterator[Record]:
        queue: asyncio.Queue[Record | BaseException | None] = asyncio.Queue()
        slots = asyncio.Semaphore(load.max_concurrency) if load.max_concurrency else None
        executions = self._executions

        async def one(execution: Execution) -> Record:
            record = await execution.execute(self.client, request_params(execution.request, self.params))
            if self.scoring:
                record = msgspec.structs.replace(record, score=score(record, execution.request))
            return record

        def finished(task: asyncio.Task[Record]) -> None:
            execution = executions.pop(task)
            if slots is not None:
                slots.release()
            if task.cancelled():  # stopped before it started, or torn down
                queue.put_nowait(execution.record("cancelled", Message(), _CANCELLED))
            elif task.exception() is not None:
                queue.put_nowait(task.exception())
            else:
                queue.put_nowait(task.result())

        async def dispatch() -> None:
            offsets = arrival_offsets(len(requests), load)
            start = time.perf_counter_ns()
            deadline = start + int(load.duration * 1e9) if load.duration else None
            try:
                for request, offset in zip(requests, offsets):
                    at = start + int(offset * 1e9)
                    wait = at - time.perf_counter_ns()
                    if wait > 0:
                        await asyncio.sleep(wait / 1e9)
                    if slots is not None:
                        await slots.acquire()
                    if deadline is not None and time.perf_counter_ns() >= deadline:
                        if slots is not None:
                            slots.release()
                        break
                    execution = Execution(request, phase=phase, run=self.run_id, scheduled_ns=at)
                    task = asyncio.create_task(one(execution))
                    executions[task] = execution
                    task.add_done_callback(finished)
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
            while executions:
                try:
                    await asyncio.wait(list(executions))
                except asyncio.CancelledError:  # stop() while waiting: the requests end cancelled
                    if not self._stopping:
                        raise
            queue.put_nowait(None)

        if self._stopping:
            return
        self._dispatcher = asyncio.create_task(dispatch())
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._dispatcher.cancel()
            for task in list(executions):
                task.cancel()
            self._dispatcher = None
