"""Timing helpers: medians of repeated runs inside a time budget.

Each sample times ``number`` back-to-back calls (each a whole stream) with the
cyclic garbage collector off, so a collection triggered by an earlier run is
not billed to this one. Short runs are repeated until a sample lasts ~20 ms,
so that a 1 ms stream is not timed with the caches another, larger run just
evicted; samples are stored per call.

Every sample records two clocks: wall time (``time.perf_counter_ns``) and
this thread's CPU time (``time.thread_time_ns``). On a quiet machine they
agree; on a shared one the wall clock also counts the time other processes
held the core, and CPU time is the figure to judge a parser by.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MIN_SAMPLE_S = 0.02


@dataclass(frozen=True)
class Sample:
    wall_ns: float  # per call
    cpu_ns: float  # per call


@dataclass(frozen=True)
class Timing:
    samples: tuple[Sample, ...]
    number: int = 1  # calls per sample

    @property
    def median_ns(self) -> float:
        """Median wall time per call."""
        return statistics.median(s.wall_ns for s in self.samples)

    @property
    def cpu_median_ns(self) -> float:
        """Median CPU time per call."""
        return statistics.median(s.cpu_ns for s in self.samples)

    @property
    def repeats(self) -> int:
        return len(self.samples)


def time_once(fn: Callable[[], object], number: int = 1) -> Sample:
    """Wall and CPU nanoseconds per call of ``fn`` over ``number`` calls, the collector off."""
    gc.collect()
    gc.disable()
    try:
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        for _ in range(number):
            fn()
        t1 = time.perf_counter_ns()
        c1 = time.thread_time_ns()
        return Sample((t1 - t0) / number, (c1 - c0) / number)
    finally:
        gc.enable()


def _number(first: Sample) -> int:
    return max(1, int(MIN_SAMPLE_S * 1e9 / max(first.wall_ns, 1.0)))


def measure(
    fn: Callable[[], object],
    *,
    budget_s: float = 1.0,
    min_repeats: int = 5,
    max_repeats: int = 1000,
) -> Timing:
    """Median-ready samples of ``fn``: at least ``min_repeats`` unless one run
    alone exceeds the budget, then as many as fit in ``budget_s``.

    The first run is the warm-up; when it alone takes longer than the budget it
    is kept as the only sample instead of being thrown away (slow cases run once).
    """
    first = time_once(fn)
    if first.wall_ns / 1e9 >= budget_s:
        return Timing((first,))
    number = _number(first)
    samples: list[Sample] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < max_repeats:
        samples.append(time_once(fn, number))
        if len(samples) >= min_repeats and time.perf_counter() >= deadline:
            break
        # a slow case: stop once the next sample would overrun the budget by a lot
        if time.perf_counter() + samples[-1].wall_ns * number / 1e9 > deadline + budget_s:
            break
    return Timing(tuple(samples), number)


def measure_interleaved(
    fns: Sequence[Callable[[], object]], *, budget_s: float = 3.0, min_repeats: int = 5, max_repeats: int = 1000
) -> list[Timing]:
    """Samples for several functions taken round-robin, so that a change in
    machine load hits all of them alike (use it when their ratio is the result)."""
    for fn in fns:
        time_once(fn)  # warm-up
    numbers = [_number(time_once(fn)) for fn in fns]
    samples: list[list[Sample]] = [[] for _ in fns]
    deadline = time.perf_counter() + budget_s
    rounds = 0
    while rounds < max_repeats:
        for fn, number, out in zip(fns, numbers, samples):
            out.append(time_once(fn, number))
        rounds += 1
        if rounds >= min_repeats and time.perf_counter() >= deadline:
            break
    return [Timing(tuple(s), n) for s, n in zip(samples, numbers)]
