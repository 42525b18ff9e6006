"""Metrics over a run's records: vLLM ``bench serve``'s names and statistics, plus tool calls and scores.

Statistics are computed as vLLM does with numpy: mean, median, population
standard deviation and linear-interpolation percentiles (type 7), over the
successful requests only; ITL samples of all requests are pooled. Keys are
vLLM's (``mean_ttft_ms``, ``p99_itl_ms``, ``request_throughput``...). A
metric without samples is null here (vLLM writes 0).

A file written by several runs (a resumed run) counts each id once: its last
record. Durations are per run (stamps of two runs do not compare) and add up.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from .records import Record, latest

__all__ = ["DEFAULT_PERCENTILES", "METRICS", "distribution", "format_summary", "metric_samples", "percentile", "summarize"]

DEFAULT_PERCENTILES = (50.0, 90.0, 99.0)
METRICS = (
    "ttft",
    "tpot",
    "itl",
    "itl_per_token",
    "e2el",
    "ttfe",
    "ttfot",
    "first_call",
    "first_complete_call",
    "tool_call",
    "client_queue_time",
    "send_lag",
)
"""Every latency metric summarised, in milliseconds. ``first_call`` and
``first_complete_call`` time the first ``ToolCallStart`` / ``ToolCallEnd`` of
a request, ``tool_call`` each call's end − start; ``send_lag`` is send − start
(building, serialising, connecting: the client's own delay)."""
SLO_METRICS = ("ttft", "tpot", "e2el")
CLIENT_LAG_WARN_MS = 10.0
"""A p99 send lag or event-loop lag above this means the client, not the server, may set the pace."""


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (type 7, numpy's default) of sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    h = (len(sorted_values) - 1) * p / 100.0
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def _pkey(p: float) -> str:
    return f"p{int(p) if p == int(p) else p}"


def distribution(values: Iterable[float], percentiles: Sequence[float], name: str) -> dict[str, float | None]:
    """``mean_<name>_ms``, ``median_…``, ``std_…`` and ``p<P>_…`` of ``values``; nulls when empty."""
    data = sorted(values)
    out: dict[str, float | None] = {}
    if data:
        mean = math.fsum(data) / len(data)
        out[f"mean_{name}_ms"] = mean
        out[f"median_{name}_ms"] = percentile(data, 50)
        out[f"std_{name}_ms"] = math.sqrt(math.fsum((x - mean) ** 2 for x in data) / len(data))
    else:
        out[f"mean_{name}_ms"] = out[f"median_{name}_ms"] = out[f"std_{name}_ms"] = None
    for p in percentiles:
        out[f"{_pkey(p)}_{name}_ms"] = percentile(data, p) if data else None
    return out


def _end_ns(record: Record) -> int:
    end = record.t.end_ms
    return record.origin_ns + int((end or 0.0) * 1e6)


def metric_samples(ok: Sequence[Record]) -> dict[str, list[float]]:
    """Each metric's samples (ms) over ``ok``, the successful records."""
    samples: dict[str, list[float]] = {name: [] for name in METRICS}
    for r in ok:
        t = r.t
        for name, value in (
            ("ttft", t.ttft_ms),
            ("tpot", t.tpot_ms),
            ("e2el", t.e2e_ms),
            ("ttfe", t.ttfe_ms),
            ("ttfot", t.ttfot_ms),
        ):
            if value is not None:
                samples[name].append(value)
        samples["itl"] += r.itl_ms
        counts = r.itl_tokens if r.itl_tokens is not None and len(r.itl_tokens) == len(r.itl_ms) else None
        for i, gap in enumerate(r.itl_ms):
            k = counts[i] if counts else 1
            samples["itl_per_token"] += [gap / k] * k
        starts = [c.start_ms for c in t.tool_calls if c.start_ms is not None]
        ends = [c.end_ms for c in t.tool_calls if c.end_ms is not None]
        if starts:
            samples["first_call"].append(min(starts))
        if ends:
            samples["first_complete_call"].append(min(ends))
        samples["tool_call"] += [c.end_ms - c.start_ms for c in t.tool_calls if c.end_ms is not None and c.start_ms is not None]
        if t.start_ms is not None and t.scheduled_ms is not None:
            samples["client_queue_time"].append(t.start_ms - t.scheduled_ms)
        if r.mono_send_ns is not None and t.start_ms is not None:
            samples["send_lag"].append(-t.start_ms)
    return samples


def _peak_concurrency(records: list[Record]) -> int:
    moments = sorted(
        [(r.mono_start_ns, 1) for r in records] + [(_end_ns(r), -1) for r in records],
        key=lambda m: (m[0], m[1]),  # an end before a start at the same instant
    )
    peak = level = 0
    for _, step in moments:
        level += step
        peak = max(peak, level)
    return peak


def _peak_events_per_s(records: list[Record]) -> int:
    """Token events in the busiest one-second bucket (vLLM's ``max_output_tokens_per_s`` counts events)."""
    if not records:
        return 0
    start = min(r.mono_start_ns for r in records)
    buckets: Counter[int] = Counter()
    for r in records:
        if r.t.ttft_ms is None:
            continue
        at = r.origin_ns / 1e6 + r.t.ttft_ms
        buckets[int((at - start / 1e6) // 1000)] += 1
        for gap in r.itl_ms:
            at += gap
            buckets[int((at - start / 1e6) // 1000)] += 1
    return max(buckets.values(), default=0)


def _within(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summarize(
    records: Iterable[Record],
    *,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    goodput: dict[str, float] | None = None,
    client: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary of a run (or of a file of records).

    ``goodput`` maps SLO metrics (ttft, tpot, e2el) to limits in ms; ``client``
    adds the engine's own self-check (event-loop lag, CPU) to the summary.
    """
    kept = latest(records)
    ok = [r for r in kept if r.status == "ok"]
    runs: dict[str, list[Record]] = defaultdict(list)
    for r in kept:
        runs[r.run].append(r)
    duration = sum((max(map(_end_ns, rs)) - min(r.mono_start_ns for r in rs)) / 1e9 for rs in runs.values())
    out_tokens = sum(r.output_tokens for r in ok)
    in_tokens = sum(r.usage.prompt_tokens or 0 for r in ok if r.usage is not None)
    summary: dict[str, Any] = {
        "num_prompts": len(kept),
        "completed": len(ok),
        "failed": len(kept) - len(ok),
        "status": dict(Counter(r.status for r in kept)),
        "errors": dict(
            Counter(
                f"{r.error.kind} {r.error.status}" if r.error.status is not None else r.error.kind
                for r in kept
                if r.error is not None
            )
        ),
        "duration": duration,
        "runs": len(runs),
        "total_input_tokens": in_tokens,
        "total_output_tokens": out_tokens,
        "output_tokens_from_events": sum(r.output_tokens_source == "events" for r in ok),
        "request_throughput": len(ok) / duration if duration else None,
        "request_goodput": None,
        "output_throughput": out_tokens / duration if duration else None,
        "total_token_throughput": (in_tokens + out_tokens) / duration if duration else None,
        "max_output_tokens_per_s": max(_peak_events_per_s(rs) for rs in runs.values()) if runs else 0,
        "max_concurrent_requests": max(_peak_concurrency(rs) for rs in runs.values()) if runs else 0,
    }
    if goodput:
        good = 0
        for r in ok:
            measured = {"ttft": r.t.ttft_ms, "tpot": r.t.tpot_ms or 0.0, "e2el": r.t.e2e_ms}
            good += all(_within(measured.get(m), limit) for m, limit in goodput.items())
        summary["request_goodput"] = good / duration if duration else None
        summary["goodput_slos_ms"] = dict(goodput)
    samples = metric_samples(ok)
    for name in METRICS:
        summary.update(distribution(samples[name], percentiles, name))
    calls = sum(len(r.calls) for r in kept)
    invalid = sum(len(r.invalid_calls) for r in kept)
    summary["tool_calls"] = {
        "requests_with_calls": sum(bool(r.calls or r.invalid_calls) for r in kept),
        "calls": calls,
        "invalid_calls": invalid,
        "validity_rate": _rate(calls, calls + invalid),
    }
    scored = [r for r in kept if r.score is not None]
    if scored:
        categories: dict[str, list[Record]] = defaultdict(list)
        for r in scored:
            categories[r.category or "all"].append(r)
        summary["accuracy"] = {
            name: {
                "n": len(rs),
                "valid": _rate(sum(r.score.valid for r in rs if r.score), len(rs)),
                "bfcl_valid": _rate(sum(r.score.bfcl_valid for r in rs if r.score), len(rs)),
            }
            for name, rs in sorted(categories.items())
        }
        summary["accuracy_overall"] = {
            "n": len(scored),
            "valid": _rate(sum(r.score.valid for r in scored if r.score), len(scored)),
            "bfcl_valid": _rate(sum(r.score.bfcl_valid for r in scored if r.score), len(scored)),
            "error_types": dict(Counter(r.score.error_type for r in scored if r.score and r.score.error_type)),
        }
    warnings: list[str] = []
    lag = summary.get("p99_send_lag_ms")
    if lag is not None and lag > CLIENT_LAG_WARN_MS:
        warnings.append(f"p99 send lag {lag:.1f} ms: the client (building, connecting) delays requests")
    if client:
        summary["client"] = dict(client)
        loop_lag = client.get("p99_loop_lag_ms")
        if loop_lag is not None and loop_lag > CLIENT_LAG_WARN_MS:
            warnings.append(f"p99 event-loop lag {loop_lag:.1f} ms: the client is busy, its stamps run late")
        cpu = client.get("cpu_share")
        if cpu is not None and cpu > 0.9:
            warnings.append(f"client CPU at {cpu:.0%} of a core: the client may be the bottleneck; shard the load (--workers)")
    if summary["output_tokens_from_events"]:
        warnings.append(
            f"{summary['output_tokens_from_events']} request(s) without usage: output tokens counted as token events (a lower bound)"
        )
    summary["warnings"] = warnings
    return summary


def _fmt(value: Any, spec: str = ".2f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def format_summary(
    summary: dict[str, Any],
    *,
    metrics: Sequence[str] = METRICS,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    title: str = "Benchmark Result",
    rule: str = "strict",
) -> str:
    """The summary as a table: vLLM's headline rows, one row per latency metric
    (mean, median, percentiles), then tool calls, accuracy (``rule`` first) and
    the client's self-check."""
    shown = [p for p in percentiles if p != 50]
    width = 34 + 10 * (2 + len(shown))
    lines = [f"{' ' + title + ' ':=^{width}}"]

    def row(label: str, value: Any, spec: str = ".2f") -> None:
        lines.append(f"{label:<40}{_fmt(value, spec):>12}")

    row("Successful requests:", summary["completed"])
    row("Failed requests:", summary["failed"])
    for status, n in sorted(summary["status"].items()):
        if status != "ok":
            row(f"  {status}:", n)
    for kind, n in sorted(summary["errors"].items()):
        row(f"  error {kind}:", n)
    row("Benchmark duration (s):", summary["duration"])
    row("Total input tokens:", summary["total_input_tokens"])
    row("Total generated tokens:", summary["total_output_tokens"])
    row("Request throughput (req/s):", summary["request_throughput"])
    if summary.get("request_goodput") is not None:
        row("Request goodput (req/s):", summary["request_goodput"])
    row("Output token throughput (tok/s):", summary["output_throughput"])
    row("Total token throughput (tok/s):", summary["total_token_throughput"])
    row("Peak token events in one second:", summary["max_output_tokens_per_s"])
    row("Peak concurrent requests:", summary["max_concurrent_requests"])
    header = f"{'latency (ms)':<34}{'mean':>10}{'median':>10}" + "".join(f"{_pkey(p):>10}" for p in shown)
    lines += ["-" * width, header]
    for name in metrics:
        if summary.get(f"mean_{name}_ms") is None:
            continue
        cells = [summary[f"mean_{name}_ms"], summary[f"median_{name}_ms"]]
        cells += [summary[f"{_pkey(p)}_{name}_ms"] for p in shown]
        lines.append(f"{name:<34}" + "".join(f"{_fmt(c):>10}" for c in cells))
    calls = summary["tool_calls"]
    if calls["calls"] or calls["invalid_calls"]:
        lines.append("-" * width)
        row("Requests with tool calls:", calls["requests_with_calls"])
        row("Calls valid / invalid:", f"{calls['calls']} / {calls['invalid_calls']}")
        row("Call validity rate:", calls["validity_rate"], ".3f")
    if "accuracy" in summary:
        first, second = ("bfcl_valid", "valid") if rule == "bfcl" else ("valid", "bfcl_valid")
        names = {"valid": "strict", "bfcl_valid": "BFCL AST"}
        lines += ["-" * width, f"{'accuracy':<34}{'n':>10}{names[first]:>10}{names[second]:>10}"]
        rows = list(summary["accuracy"].items()) if len(summary["accuracy"]) > 1 else []
        for name, acc in rows + [("overall", summary["accuracy_overall"])]:
            lines.append(f"{name:<34}{acc['n']:>10}{_fmt(acc[first], '.3f'):>10}{_fmt(acc[second], '.3f'):>10}")
    client = summary.get("client")
    if client:
        lines.append("-" * width)
        if client.get("processes"):
            row("Client processes (the busiest below):", client["processes"])
        row("Client CPU (share of one core):", client.get("cpu_share"))
        row("Client CPU per token event (us):", client.get("cpu_us_per_event"), ".1f")
        row("Event-loop lag p99 / max (ms):", f"{_fmt(client.get('p99_loop_lag_ms'))} / {_fmt(client.get('max_loop_lag_ms'))}")
    lines.append("=" * width)
    lines += [f"warning: {w}" for w in summary["warnings"]]
    return "\n".join(lines)
