"""Requests run as tasks on this event loop, through one client.

The engine's backend when it runs in one process, and the inside of every
worker process and Ray actor. A request dealt ahead of its time waits for
it here, so that the moment it is due does not depend on how fast the
scheduler's message travelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Union

import msgspec

from ..core.message import Message
from .executor import Execution, request_params
from .records import ErrorInfo, Record
from .scoring import score
from .selfcheck import ProcessStats

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["CANCELLED", "Done", "Settings", "Tasks"]

Done = Callable[[Union[Record, BaseException]], None]
"""Told once per request: its record, or the exception a bug raised."""
CANCELLED = ErrorInfo(kind="cancelled", message="run stopped")


class Settings(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """What every request of a run gets: body options (a request's own win), scoring, the run id."""

    params: dict[str, Any] = {}
    scoring: bool = False
    run: str = ""


class Tasks:
    """Runs executions through ``client``: one task each, on the running loop."""

    lead_ns = 0
    """How long before its time a request is dealt: here, at its time."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.settings = Settings()
        self._running: dict[asyncio.Task[Record], tuple[Execution, Done]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def open(self, settings: Settings) -> None:
        self.settings = settings
        await self.prepare()

    async def prepare(self, *, ask: bool = False) -> list[str]:
        """Before the burst, once: the model (else every request of the first wave asks ``/models``)
        and its format's grammar (else the first requests build it, late). ``ask``: ask for the
        models even when the model is known (a check that the server answers). The models asked for."""
        client = self.client
        models: list[str] = []
        if ask or client.model is None:
            models = await client.models()
            if client.model is None:
                client.model = models[0] if models else None
        client.parsing_format()
        return models

    def launch(self, execution: Execution, done: Done) -> None:
        task = asyncio.create_task(self._one(execution))
        self._running[task] = (execution, done)
        task.add_done_callback(self._finished)

    def cancel(self) -> None:
        """Cancel every request in flight; each still ends with a record (``cancelled``)."""
        for task, (execution, _) in self._running.items():
            execution.stopping = True
            task.cancel()

    async def drain(self) -> None:
        """Until nothing is in flight."""
        await asyncio.gather(*self._running, return_exceptions=True)

    async def stats(self) -> list[ProcessStats]:
        return []  # this process ran the requests: the engine's own check covers them

    async def _one(self, execution: Execution) -> Record:
        if execution.scheduled_ns is not None:
            wait = execution.scheduled_ns - time.perf_counter_ns()
            if wait > 0:
                await asyncio.sleep(wait / 1e9)
        request = execution.request
        record = await execution.execute(self.client, request_params(request, self.settings.params))
        if self.settings.scoring:
            record = msgspec.structs.replace(record, score=score(record, request))
        return record

    def _finished(self, task: asyncio.Task[Record]) -> None:
        execution, done = self._running.pop(task)
        if task.cancelled():  # stopped before it started, or torn down
            done(execution.record("cancelled", Message(), CANCELLED))
        elif (exc := task.exception()) is not None:
            done(exc)
        else:
            done(task.result())
