"""A self-contained HTML report: the TTFT, ITL and E2EL distributions and latency over time.

Inline SVG drawn here, no script and no external resource: the file opens
offline in any browser and can be mailed or archived as it is.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from .records import Record, latest
from .summary import metric_samples, percentile

__all__ = ["html_report"]

_W, _H = 560, 260
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 56, 16, 28, 40
_BINS = 40
_COLORS = {"ttft": "#1f77b4", "itl": "#2ca02c", "e2el": "#d62728", "first_call": "#9467bd"}


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if step * m >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _frame(title: str, x_label: str, y_label: str, x: tuple[float, float], y: tuple[float, float], body: list[str]) -> str:
    (x0, x1), (y0, y1) = x, y
    pw, ph = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    parts = [
        f'<svg width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" role="img">',
        f'<text x="{_W / 2}" y="18" text-anchor="middle" font-weight="bold">{html.escape(title)}</text>',
        f'<rect x="{_PAD_L}" y="{_PAD_T}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>',
    ]
    for v in _ticks(x0, x1):
        px = _PAD_L + (v - x0) / (x1 - x0 or 1) * pw
        parts.append(f'<text x="{px:.1f}" y="{_H - _PAD_B + 14}" text-anchor="middle" font-size="10">{v:g}</text>')
    for v in _ticks(y0, y1):
        py = _PAD_T + ph - (v - y0) / (y1 - y0 or 1) * ph
        parts.append(f'<text x="{_PAD_L - 4}" y="{py + 3:.1f}" text-anchor="end" font-size="10">{v:g}</text>')
        parts.append(f'<line x1="{_PAD_L}" x2="{_PAD_L + pw}" y1="{py:.1f}" y2="{py:.1f}" stroke="#eee"/>')
    parts.append(f'<text x="{_PAD_L + pw / 2}" y="{_H - 6}" text-anchor="middle" font-size="11">{html.escape(x_label)}</text>')
    parts.append(
        f'<text x="12" y="{_PAD_T + ph / 2}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 12 {_PAD_T + ph / 2})">{html.escape(y_label)}</text>'
    )
    return "".join(parts + body + ["</svg>"])


def _histogram(values: Sequence[float], title: str, color: str) -> str:
    if not values:
        return f"<p>{html.escape(title)}: no samples</p>"
    data = sorted(values)
    lo, hi = data[0], percentile(data, 99.5)  # the far tail would squeeze the body into one bin
    hi = hi if hi > lo else lo + 1.0
    width = (hi - lo) / _BINS
    counts = [0] * _BINS
    over = 0
    for v in data:
        if v > hi:
            over += 1
        else:
            counts[min(int((v - lo) / width), _BINS - 1)] += 1
    top = max(counts)
    pw, ph = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    bars = []
    for i, n in enumerate(counts):
        if n:
            h = n / top * ph
            bars.append(
                f'<rect x="{_PAD_L + i * pw / _BINS:.1f}" y="{_PAD_T + ph - h:.1f}" width="{pw / _BINS - 1:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{lo + i * width:.3g}–{lo + (i + 1) * width:.3g} ms: {n}</title></rect>'
            )
    note = f"{title} (n={len(data)}" + (f", {over} above {hi:.3g} ms not shown)" if over else ")")
    return _frame(note, "ms", "requests" if "ITL" not in title else "gaps", (lo, hi), (0, top), bars)


def _over_time(series: list[tuple[str, str, list[tuple[float, float]]]]) -> str:
    points = [p for _, _, pts in series for p in pts]
    if not points:
        return "<p>latency over time: no samples</p>"
    x1 = max(p[0] for p in points) or 1.0
    y1 = max(p[1] for p in points) or 1.0
    pw, ph = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    body = []
    for i, (name, color, pts) in enumerate(series):
        body.append(f'<text x="{_PAD_L + 8 + i * 90}" y="{_PAD_T + 14}" fill="{color}" font-size="11">● {name}</text>')
        for x, y in pts:
            body.append(
                f'<circle cx="{_PAD_L + x / x1 * pw:.1f}" cy="{_PAD_T + ph - y / y1 * ph:.1f}" r="2" fill="{color}" fill-opacity="0.6"/>'
            )
    return _frame("Latency over time (by request start)", "seconds from the first request", "ms", (0, x1), (0, y1), body)


def html_report(records: Sequence[Record], summary: dict[str, Any], *, title: str = "streamparse run") -> str:
    kept = latest(records)
    ok = [r for r in kept if r.status == "ok"]
    samples = metric_samples(ok)
    t0 = min((r.mono_start_ns for r in kept), default=0)
    series = [
        (name, _COLORS[key], [((r.mono_start_ns - t0) / 1e9, v) for r in ok if (v := getattr(r.t, attr)) is not None])
        for name, key, attr in (("TTFT", "ttft", "ttft_ms"), ("E2EL", "e2el", "e2e_ms"))
    ]
    rows = "".join(
        f"<tr><th>{html.escape(key)}</th><td>{value:.3f}</td></tr>" if isinstance(value, float)
        else f"<tr><th>{html.escape(key)}</th><td>{html.escape(str(value))}</td></tr>"
        for key, value in summary.items()
        if isinstance(value, (int, float, str)) and not isinstance(value, bool)
    )
    charts = [
        _histogram(samples["ttft"], "TTFT", _COLORS["ttft"]),
        _histogram(samples["itl"], "ITL (per event)", _COLORS["itl"]),
        _histogram(samples["e2el"], "E2EL", _COLORS["e2el"]),
        _over_time(series),
    ]
    if samples["first_call"]:
        charts.insert(3, _histogram(samples["first_call"], "Time to first tool call", _COLORS["first_call"]))
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in summary.get("warnings", []))
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}svg{margin:.5em;font-family:sans-serif}"
        "table{border-collapse:collapse}th,td{padding:2px 8px;text-align:left;border-bottom:1px solid #eee}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>"
        + (f"<ul>{warnings}</ul>" if warnings else "")
        + "<div>"
        + "".join(charts)
        + f"</div><h2>Summary</h2><table>{rows}</table></body></html>\n"
    )
