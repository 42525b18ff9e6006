"""The client's self-check: how busy a process running requests is while it measures.

A busy process stamps late: its event loop wakes up after the moment a read
arrived. :class:`LoopCheck` samples how late the loop wakes and how much CPU
the process spends per token event; each process running requests (the one
process, each worker, each Ray actor) keeps one and reports it as
:class:`ProcessStats`, and :func:`client_stats` sums them up for the summary.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from collections.abc import Sequence
from typing import Any

import msgspec

from .records import Record
from .summary import percentile

__all__ = ["LoopCheck", "ProcessStats", "client_stats"]

# Seconds between two looks at the event loop's lateness. Each look is a timer, and a timer that wakes
# an idle loop costs about 0.2 ms of CPU here (a tenth of a slow stream's own cost at 10 looks/s), so
# while the loop is quiet (on time, the process mostly idle) the looks thin out, doubling up to
# _QUIET_INTERVAL; the first late or busy look brings them back to _WATCH_INTERVAL. The price: in a
# quiet process, a stall shorter than the interval (a blocking call, not CPU) is seen only if a
# look falls due during it. A busy client, the one whose stamps run late, is looked at every 0.1 s.
_WATCH_INTERVAL = 0.1
_QUIET_INTERVAL = 0.8
_QUIET_LAG = 0.002  # seconds: an idle loop wakes up to about 1 ms late here
_QUIET_CPU = 0.1  # share of one core


class ProcessStats(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """One process's self-check over the measured phase."""

    host: str
    pid: int
    cpu_s: float
    wall_s: float
    token_events: int
    p99_loop_lag_ms: float | None
    max_loop_lag_ms: float | None


class LoopCheck:
    """Samples this event loop's lateness; adds up CPU and wall time between :meth:`begin` and :meth:`end`."""

    def __init__(self) -> None:
        self._lags: collections.deque[float] = collections.deque(maxlen=100_000)
        self._cpu_s = 0.0
        self._wall_s = 0.0
        self._since: tuple[float, float] | None = None
        self._events = 0
        self._timer: asyncio.TimerHandle | None = None
        self._interval = _WATCH_INTERVAL
        self._last_cpu = 0.0

    def start(self) -> None:
        if self._timer is None:
            self._interval = _WATCH_INTERVAL
            self._last_cpu = time.process_time()
            self._look(time.perf_counter(), first=True)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def begin(self) -> None:
        """The measured phase starts: lateness so far (warm-up, start-up) is dropped."""
        self._lags.clear()
        self._since = (time.process_time(), time.perf_counter())

    def end(self) -> None:
        if self._since is not None:
            cpu, wall = self._since
            self._cpu_s += time.process_time() - cpu
            self._wall_s += time.perf_counter() - wall
            self._since = None

    def count(self, record: Record) -> None:
        """A measured record's token events."""
        if record.phase == "measure" and record.t.ttft_ms is not None:
            self._events += len(record.itl_ms) + 1

    def stats(self, host: str) -> ProcessStats:
        lags = sorted(self._lags)
        return ProcessStats(
            host=host,
            pid=os.getpid(),
            cpu_s=self._cpu_s,
            wall_s=self._wall_s,
            token_events=self._events,
            p99_loop_lag_ms=percentile(lags, 99) * 1e3 if lags else None,
            max_loop_lag_ms=lags[-1] * 1e3 if lags else None,
        )

    def _look(self, due: float, first: bool = False) -> None:
        # A bare timer callback: one handle per look, no task or future.
        now = time.perf_counter()
        cpu = time.process_time()
        if not first:
            lag = max(0.0, now - due)
            self._lags.append(lag)
            quiet = lag < _QUIET_LAG and cpu - self._last_cpu < _QUIET_CPU * self._interval
            self._interval = min(self._interval * 2, _QUIET_INTERVAL) if quiet else _WATCH_INTERVAL
        self._last_cpu = cpu
        self._timer = asyncio.get_running_loop().call_later(self._interval, self._look, now + self._interval)


def _share(stats: ProcessStats) -> float | None:
    return stats.cpu_s / stats.wall_s if stats.wall_s else None


def client_stats(scheduler: ProcessStats, workers: Sequence[ProcessStats]) -> dict[str, Any]:
    """The summary's ``client`` section. Without ``workers`` the scheduler ran the requests
    itself; with them, the busiest worker's CPU share and lag speak for the client (its
    stamps suffer first), CPU per event counts every process, the scheduler's included."""
    if not workers:
        return {
            "cpu_share": _share(scheduler),
            "cpu_us_per_event": scheduler.cpu_s / scheduler.token_events * 1e6 if scheduler.token_events else None,
            "token_events": scheduler.token_events,
            "p99_loop_lag_ms": scheduler.p99_loop_lag_ms,
            "max_loop_lag_ms": scheduler.max_loop_lag_ms,
        }
    events = sum(w.token_events for w in workers)
    shares = [s for s in map(_share, workers) if s is not None]
    p99s = [w.p99_loop_lag_ms for w in workers if w.p99_loop_lag_ms is not None]
    maxes = [w.max_loop_lag_ms for w in workers if w.max_loop_lag_ms is not None]
    return {
        "cpu_share": max(shares, default=None),
        "cpu_us_per_event": (scheduler.cpu_s + sum(w.cpu_s for w in workers)) / events * 1e6 if events else None,
        "token_events": events,
        "p99_loop_lag_ms": max(p99s, default=None),
        "max_loop_lag_ms": max(maxes, default=None),
        "processes": len(workers),
        "scheduler_cpu_share": _share(scheduler),
        "scheduler_p99_loop_lag_ms": scheduler.p99_loop_lag_ms,
        "workers": [msgspec.structs.asdict(w) for w in workers],
    }
