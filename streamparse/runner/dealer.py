"""The scheduler's side of the shards (worker processes, Ray actors) running its requests.

The engine keeps the load shape and the concurrency slots; a :class:`Dealer`
hands each request to the shard with the fewest in flight (so shards stay
even when responses differ in length), with its due time moved onto that
shard's clock, and routes each record back. A shard that goes away (its
process killed, its node lost) has every request it held recorded here as an
``error`` of kind ``worker_lost``: resume reruns them, and the run goes on
with the shards left. Subclasses carry the bytes (:mod:`.workers`,
:mod:`.ray_actors`).

**Clocks.** Processes of one host (one kernel: one boot id) share
CLOCK_MONOTONIC, which ``perf_counter_ns`` reads, so a due time means the
same instant everywhere and a shard's offset is 0. A shard on another host
gets an offset from round trips (Cristian's method: its clock minus the
midpoint of the shortest round trip), good to half that round trip and not
corrected for drift during the run. Durations are never moved: each is
measured on the host that sent the request; the offset only aligns records
of different hosts (start times, the run's duration, peak concurrency).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

import msgspec

from ..core.message import Message as Reply
from ..errors import WorkerError
from .executor import Execution
from .protocol import Done, Failed, Job, Message, Ready, Report, Stop, frame
from .records import ErrorInfo, Record, Status
from .selfcheck import ProcessStats
from .tasks import CANCELLED, Settings
from .tasks import Done as Finished

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Dealer", "Link", "clock_offset"]

STOP_GRACE_S = 1.0
"""A shard that has not answered a stop by then is given up: its requests end ``cancelled`` here."""
REPORT_TIMEOUT_S = 1.0


def clock_offset(samples: Sequence[tuple[int, int, int]]) -> int:
    """A remote clock minus ours, from ``(sent, remote now, received)`` round trips: the shortest wins."""
    sent, remote, received = min(samples, key=lambda s: s[2] - s[0])
    return remote - (sent + received) // 2


class Link:
    """One shard as the scheduler sees it."""

    def __init__(self, name: str, ready: Ready, *, offset_ns: int = 0) -> None:
        self.name = name
        self.host = ready.host
        self.pid = ready.pid
        self.offset_ns = offset_ns
        self.alive = True
        self.in_flight: dict[int, tuple[Execution, Finished]] = {}
        self.stats: asyncio.Future[ProcessStats] | None = None
        self.out: list[bytes] = []


class Dealer:
    """Deals requests to its :attr:`links`; a subclass starts them and carries the bytes (:meth:`_send`)."""

    lead_ns = 20_000_000
    """Requests are dealt this long before they are due: the message's trip is not their delay."""

    def __init__(self) -> None:
        self.links: list[Link] = []
        self.lost: list[str] = []
        """One line per shard lost: which, and why."""
        self._seq = itertools.count()
        self._flush_at: asyncio.Handle | None = None
        self._give_up_at: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        """Start the shards; each must be up and reach the server, else :class:`~streamparse.errors.WorkerError`."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def _send(self, link: Link, data: bytes) -> None:
        """Carry ``data`` (whole frames) to ``link``'s shard, in order."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- the engine's backend ------------------------------------------------

    async def open(self, settings: Settings) -> None:
        for link in self._live():
            self._post(link, frame(settings))
        self._flush()

    def launch(self, execution: Execution, done: Finished) -> None:
        live = self._live()
        if not live:
            raise WorkerError("no worker left to run requests (" + "; ".join(self.lost) + ")")
        link = min(live, key=lambda link: len(link.in_flight))
        due = execution.scheduled_ns if execution.scheduled_ns is not None else time.perf_counter_ns()
        execution.begin(max(due, time.perf_counter_ns()))  # for a record made here (lost, given up)
        seq = next(self._seq)
        link.in_flight[seq] = (execution, done)
        self._post(link, frame(Job(seq, execution.request, execution.phase, due + link.offset_ns)))

    def cancel(self) -> None:
        for link in self._live():
            self._post(link, frame(Stop()))
        self._flush()
        if self._give_up_at is None and any(link.in_flight for link in self.links):
            self._give_up_at = asyncio.get_running_loop().call_later(STOP_GRACE_S, self._give_up)

    async def stats(self) -> list[ProcessStats]:
        loop = asyncio.get_running_loop()
        asked: list[asyncio.Future[ProcessStats]] = []
        for link in self._live():
            link.stats = loop.create_future()
            asked.append(link.stats)
            self._post(link, frame(Report()))
        self._flush()
        if asked:
            await asyncio.wait(asked, timeout=REPORT_TIMEOUT_S)
        return [f.result() for f in asked if f.done() and not f.cancelled() and f.exception() is None]

    # -- from the transport ----------------------------------------------------

    def received(self, link: Link, messages: list[Message]) -> None:
        for message in messages:
            if isinstance(message, (Done, Failed)):
                entry = link.in_flight.pop(message.seq, None)
                if entry is None:
                    continue  # given up on already
                done = entry[1]
                if isinstance(message, Failed):
                    done(WorkerError(f"{link.name}: {message.error}"))
                else:
                    done(self._our_clock(message.record, link.offset_ns))
                if self._give_up_at is not None and not any(other.in_flight for other in self.links):
                    self._give_up_at.cancel()  # every shard answered the stop
                    self._give_up_at = None
            elif isinstance(message, ProcessStats):
                if link.stats is not None and not link.stats.done():
                    link.stats.set_result(message)

    def lose(self, link: Link, reason: str) -> None:
        """``link``'s shard is gone: what it held ends as ``worker_lost`` errors."""
        if not link.alive:
            return
        link.alive = False
        self.lost.append(f"{link.name}: {reason}")
        error = ErrorInfo(kind="worker_lost", message=f"{link.name} lost: {reason}")
        self._end(link, "error", error)
        if link.stats is not None and not link.stats.done():
            link.stats.cancel()

    # -- inside ------------------------------------------------------------------

    def _live(self) -> list[Link]:
        return [link for link in self.links if link.alive]

    def _post(self, link: Link, data: bytes) -> None:
        link.out.append(data)
        if self._flush_at is None:  # everything dealt in this turn of the loop goes in one message
            self._flush_at = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        for link in self.links:
            if link.out:
                data = b"".join(link.out)
                link.out.clear()
                if link.alive:
                    self._send(link, data)

    def _give_up(self) -> None:
        self._give_up_at = None
        for link in self._live():
            if link.in_flight:
                self.lost.append(f"{link.name}: no answer to a stop within {STOP_GRACE_S:g} s")
                link.alive = False
                self._end(link, "cancelled", CANCELLED)

    def _end(self, link: Link, status: Status, error: ErrorInfo) -> None:
        in_flight, link.in_flight = link.in_flight, {}
        for execution, done in in_flight.values():
            done(execution.record(status, Reply(), error))

    @staticmethod
    def _our_clock(record: Record, offset_ns: int) -> Record:
        if not offset_ns:
            return record
        send = record.mono_send_ns
        return msgspec.structs.replace(
            record, mono_start_ns=record.mono_start_ns - offset_ns, mono_send_ns=None if send is None else send - offset_ns
        )
