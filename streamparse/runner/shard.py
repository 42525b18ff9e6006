"""The inside of a worker process or Ray actor: runs the requests a scheduler deals it.

A :class:`Shard` holds its own client and runs each :class:`~.protocol.Job`
as a task (:class:`~.tasks.Tasks`) from the moment it is due; what it has to
say (records, its self-check) waits in an outbox that the transport (a
socket, a Ray method) drains. It knows nothing of load shapes: the scheduler
alone decides what runs when.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from typing import Union

from ..core.message import Message as Reply
from ..errors import FormatError, LLMError
from .executor import HOST, Execution
from .protocol import ClientSpec, Done, Failed, Job, Message, Ready, Report, Stop, boot_id, frame
from .records import Record
from .selfcheck import LoopCheck
from .tasks import CANCELLED, Settings, Tasks

__all__ = ["Shard"]


class Shard:
    def __init__(self, spec: ClientSpec) -> None:
        self.spec = spec
        self._tasks: Tasks | None = None
        self._check = LoopCheck()
        self._measuring = False
        self._stopping = False
        self._out: list[bytes] = []
        self._wake = asyncio.Event()

    async def ready(self, timeout: float) -> Ready:
        """Build the client, ask the server for its models (also warming the connection pool), build the format."""
        client = self.spec.client()
        self._tasks = Tasks(client)
        self._check.start()
        error = None
        models: list[str] = []
        try:
            models = await asyncio.wait_for(self._tasks.prepare(ask=True), timeout)
        except (LLMError, FormatError) as exc:
            error = str(exc)
        except asyncio.TimeoutError:
            error = f"no answer from {client.base_url} within {timeout:g} s"
        return Ready(host=HOST, pid=os.getpid(), boot_id=boot_id(), now_ns=time.perf_counter_ns(), models=models, error=error)

    def handle(self, message: Message) -> None:
        tasks = self._tasks
        if tasks is None:
            raise RuntimeError("Shard.ready() first")
        if isinstance(message, Job):
            execution = Execution(message.request, phase=message.phase, run=tasks.settings.run, scheduled_ns=message.at_ns)
            finished = functools.partial(self._finished, message.seq)
            if self._stopping:  # dealt before the stop, arrived after it
                finished(execution.record("cancelled", Reply(), CANCELLED))
                return
            if message.phase == "measure" and not self._measuring:
                self._measuring = True
                self._check.begin()
            tasks.launch(execution, finished)
        elif isinstance(message, Settings):
            tasks.settings = message
            self._stopping = self._measuring = False
        elif isinstance(message, Stop):
            self._stopping = True
            tasks.cancel()
        elif isinstance(message, Report):
            self._check.end()
            self._measuring = False
            self._post(frame(self._check.stats(HOST)))

    async def outgoing(self) -> bytes:
        """What there is to send (frames), once there is something."""
        await self._wake.wait()
        self._wake.clear()
        data = b"".join(self._out)
        self._out.clear()
        return data

    async def close(self) -> None:
        self._check.stop()
        if self._tasks is not None:
            self._stopping = True
            self._tasks.cancel()
            await self._tasks.drain()
            await self._tasks.client.close()

    def _finished(self, seq: int, item: Union[Record, BaseException]) -> None:
        if isinstance(item, Record):
            self._check.count(item)
            self._post(frame(Done(seq, item)))
        else:
            self._post(frame(Failed(seq, f"{type(item).__name__}: {item}")))

    def _post(self, data: bytes) -> None:
        self._out.append(data)
        self._wake.set()
