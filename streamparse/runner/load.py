"""Load shapes: when each request arrives, and how many may run at once.

Sans-IO: :func:`arrival_offsets` precomputes every arrival, so the shape can
be dealt out by one process and run by another. Follows vLLM ``bench serve``:
gaps of ``Gamma(shape=B, scale=1/(R·B))`` (mean ``1/R``, coefficient of
variation ``1/√B``; ``B = 1`` is a Poisson process), ``1/R`` apart when ``B``
is infinite, all at once when ``R`` is; the cumulative delays are then scaled
so the last arrival is exactly ``N/R``.
"""

from __future__ import annotations

import math
import random

import msgspec

from ..errors import UsageError

__all__ = ["Load", "arrival_offsets", "parse_sweep"]


class Load(msgspec.Struct, frozen=True, kw_only=True):
    """A load shape; ``max_concurrency`` None is no cap, ``duration`` None no time limit."""

    max_concurrency: int | None = None
    request_rate: float = math.inf
    burstiness: float = 1.0
    seed: int = 0
    duration: float | None = None
    """Seconds after which no new request is sent; those running finish."""

    def __post_init__(self) -> None:
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise UsageError("max_concurrency must be at least 1")
        if not self.request_rate > 0:
            raise UsageError("request_rate must be positive (inf: all at once)")
        if not self.burstiness > 0:
            raise UsageError("burstiness must be positive (inf: evenly spaced)")
        if self.duration is not None and not self.duration > 0:
            raise UsageError("duration must be positive")


def arrival_offsets(count: int, load: Load) -> list[float]:
    """Seconds from the start at which each of ``count`` requests arrives."""
    rate, shape = load.request_rate, load.burstiness
    if math.isinf(rate):
        return [0.0] * count
    rng = random.Random(load.seed)
    if math.isinf(shape):
        gaps = [1.0 / rate] * count
    else:
        scale = 1.0 / (rate * shape)
        gaps = [rng.gammavariate(shape, scale) for _ in range(count)]
    offsets: list[float] = []
    total = 0.0
    for gap in gaps:
        total += gap
        offsets.append(total)
    if offsets and total > 0:
        factor = count / rate / total
        offsets = [offset * factor for offset in offsets]
    return offsets


_SWEEPABLE = {"max-concurrency": "max_concurrency", "request-rate": "request_rate", "burstiness": "burstiness"}


def parse_sweep(spec: str, base: Load) -> list[tuple[str, Load]]:
    """``max-concurrency=1,8,64`` -> one ``(label, load)`` per step."""
    name, _, values = spec.partition("=")
    field = _SWEEPABLE.get(name.strip())
    if field is None or not values:
        raise UsageError(f"--sweep wants NAME=V1,V2,... with NAME one of {', '.join(_SWEEPABLE)}; got {spec!r}")
    steps: list[tuple[str, Load]] = []
    for value in values.split(","):
        text = value.strip()
        try:
            number: float | int = int(text) if field == "max_concurrency" else float(text)
        except ValueError as exc:
            raise UsageError(f"--sweep: {text!r} is not a number") from exc
        steps.append((f"{name.strip()}={text}", msgspec.structs.replace(base, **{field: number})))
    return steps
