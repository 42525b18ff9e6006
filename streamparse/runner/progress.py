"""The live progress line: done/total, rate, running median TTFT, errors.

On a terminal one line is redrawn in place, at most 4 times a second; when
the output is not a terminal a plain line is printed every few seconds.
"""

from __future__ import annotations

import collections
import statistics
import sys
import time
from typing import TextIO

from .records import Record

__all__ = ["Progress"]

_REDRAW_S = 0.25
_PLAIN_S = 5.0
_WINDOW = 200  # the running median covers the last requests: it follows a changing load


class Progress:
    def __init__(self, total: int, *, out: TextIO | None = None, label: str = "") -> None:
        self.total = total
        self.out = out or sys.stdout
        self.label = label
        self.tty = self.out.isatty()
        self.done = 0
        self.errors = 0
        self._ttfts: collections.deque[float] = collections.deque(maxlen=_WINDOW)
        self._start = time.monotonic()
        self._shown = 0.0
        self._drawn = False

    def update(self, record: Record) -> None:
        if record.phase != "measure":
            return
        self.done += 1
        if record.status != "ok":
            self.errors += 1
        elif record.t.ttft_ms is not None:
            self._ttfts.append(record.t.ttft_ms)
        now = time.monotonic()
        if now - self._shown >= (_REDRAW_S if self.tty else _PLAIN_S):
            self._shown = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        ttft = f"{statistics.median(self._ttfts):.1f} ms" if self._ttfts else "-"
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "." * (width - filled)
        prefix = f"{self.label} " if self.label else ""
        return (
            f"{prefix}[{bar}] {self.done}/{self.total} {rate:.1f} req/s  "
            f"p50 TTFT {ttft}  errors {self.errors}  {elapsed:.0f} s"
        )

    def _draw(self, now: float) -> None:
        if self.tty:
            self.out.write("\r\x1b[K" + self.line(now))
            self._drawn = True
        else:
            self.out.write(self.line(now) + "\n")
        self.out.flush()

    def close(self) -> None:
        """The final state, and the cursor on a fresh line."""
        self._draw(time.monotonic())
        if self._drawn:
            self.out.write("\n")
            self.out.flush()
