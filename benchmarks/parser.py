"""Parser benchmark: streamparse against the usual ways of parsing streamed tool calls.

    python benchmarks/parser.py               # table on stdout + section in RESULTS.md
    python benchmarks/parser.py --no-write    # stdout only
    python benchmarks/parser.py --budget 0.5  # seconds per measurement (default 1)

Every alternative consumes the same deterministic input in the same process and
maintains at least "the calls completed so far"; each result is checked
against the calls the input was built from. One sample is one complete stream
(parser construction, every delta, close); the figure reported is the median
sample divided by the number of deltas (or chunks). A case whose run is
estimated above ``--skip-after`` seconds (60 by default) is not run.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, cast

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE.parent), str(_HERE)):  # the helpers here; the working tree's streamparse
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _results import environment, write_section  # noqa: E402
from _streams import CONTENT_KINDS, Stream, all_streams  # noqa: E402
from _timing import Timing, measure, measure_interleaved, time_once  # noqa: E402

OPEN, CLOSE = "<tool_call>", "</tool_call>"
Calls = list[tuple[str, Any]]

# ---------------------------------------------------------------- alternatives


def load_streamparse() -> tuple[Any, Any, str]:
    """The Parser class and the ToolCallEnd class, or None and why not."""
    try:
        from streamparse import Parser
    except ImportError:
        try:
            from streamparse.core.parser import Parser
        except ImportError as exc:
            return None, None, f"{type(exc).__name__}: {exc}"
    try:
        from streamparse.core.events import ToolCallEnd
    except ImportError as exc:
        return None, None, f"{type(exc).__name__}: {exc}"
    return Parser, ToolCallEnd, ""


def streamparse_per_delta(parser_cls: Any, end_cls: type) -> Callable[[Stream], Any]:
    """A consumer that looks at every event and keeps the completed calls."""

    def run(stream: Stream) -> Any:
        deltas = stream.deltas
        parser = parser_cls("hermes")
        feed = parser.feed
        calls: list[Any] = []
        for delta in deltas:
            for event in feed(delta):
                if event.__class__ is end_cls:
                    calls.append(event)
        for event in parser.close():
            if event.__class__ is end_cls:
                calls.append(event)
        return calls

    return run


def streamparse_whole(parser_cls: Any, end_cls: type) -> Callable[[Stream], Any]:
    def run(stream: Stream) -> Any:
        parser = parser_cls("hermes")
        events = parser.feed(stream.raw)
        events += parser.close()
        return [event for event in events if event.__class__ is end_cls]

    return run


def streamparse_calls(events: Any) -> Calls:
    return [(e.name, e.arguments) for e in events]


_CALL_RE = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


def naive_regex(stream: Stream) -> Calls:
    """Append, then regex + json.loads over the whole buffer, on every delta."""
    deltas = stream.deltas
    findall = _CALL_RE.findall
    loads = json.loads
    buf = ""
    calls: list[Any] = []
    for delta in deltas:
        buf += delta
        calls = [loads(body) for body in findall(buf)]
    return [(c["name"], c["arguments"]) for c in calls]


def partial_per_delta(parse_partial: Callable[[str], Any]) -> Callable[[Stream], Calls]:
    """Track the tags incrementally; on every delta inside a call, parse the
    call's JSON-so-far with ``parse_partial``; json.loads it once it closes.

    The tag tracking is linear and cheap: what this measures is the partial
    JSON parse per delta, the way vLLM-style parsers use these libraries.
    """

    def run(stream: Stream) -> Calls:
        deltas = stream.deltas
        loads = json.loads
        calls: list[Any] = []
        latest: Any = None  # the open call as parsed so far
        in_call = False
        pending = ""  # text outside calls that could still start OPEN
        body = ""
        for delta in deltas:
            if not in_call:
                pending += delta
                i = pending.find(OPEN)
                if i < 0:
                    pending = pending[-(len(OPEN) - 1) :]
                    continue
                body = pending[i + len(OPEN) :]
                pending = ""
                in_call = True
                start = 0
            else:
                start = len(body) - len(CLOSE) + 1
                body += delta
            while in_call:
                if body[:1].isspace():
                    body, start = body.lstrip(), 0
                j = body.find(CLOSE, max(start, 0))
                if j < 0:
                    # leave out a partial closing tag: it is not JSON
                    k = body.find("<", len(body) - len(CLOSE) + 1)
                    if k >= 0 and CLOSE.startswith(body[k:]):
                        if body[:k].strip():
                            latest = parse_partial(body[:k])
                    elif body:
                        latest = parse_partial(body)
                    break
                calls.append(loads(body[:j]))
                latest = None
                rest = body[j + len(CLOSE) :]
                body = ""
                in_call = False
                i = rest.find(OPEN)
                if i < 0:
                    pending = rest[-(len(OPEN) - 1) :]
                else:
                    body, in_call, start = rest[i + len(OPEN) :], True, 0
        del latest
        return [(c["name"], c["arguments"]) for c in calls]

    return run


def openai_helper(stream: Stream, input_tools: list[dict[str, Any]] | None = None) -> Calls:
    """openai-python's ChatCompletionStreamState fed the server-side chunks.

    Timed per chunk: construct_type(ChatCompletionChunk, dict) (what the client
    does with each decoded SSE payload when strict validation is off, the
    default) + state.handle_chunk(chunk) + json.loads of a call's arguments
    when its done event arrives.  With ``input_tools`` (strict function tools)
    the state also partial-parses a call's arguments on every chunk
    (``parsed_arguments``).
    """
    from openai._models import construct_type
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    chunks = stream.chunks
    state = ChatCompletionStreamState(input_tools=input_tools) if input_tools else ChatCompletionStreamState()
    handle = state.handle_chunk
    loads = json.loads
    calls: Calls = []
    for data in chunks:
        chunk = cast(ChatCompletionChunk, construct_type(type_=ChatCompletionChunk, value=data))
        for event in handle(chunk):
            if event.type == "tool_calls.function.arguments.done":
                calls.append((event.name, loads(event.arguments)))
    return calls


def _pjp() -> Callable[[str], Any]:
    import partial_json_parser

    loads: Callable[[str], Any] = partial_json_parser.loads
    return loads


def _jiter() -> Callable[[str], Any]:
    import jiter

    from_json = jiter.from_json
    return lambda text: from_json(text.encode(), partial_mode="trailing-strings")


@dataclass(frozen=True)
class Alternative:
    key: str
    label: str
    run: Callable[[Stream], Any] | None
    calls: Callable[[Any], Calls] = lambda result: result
    unit: str = "delta"  # "delta", "chunk" or "stream"
    missing: str = ""


def alternatives() -> list[Alternative]:
    parser_cls, end_cls, why = load_streamparse()
    if parser_cls is None:
        sp = [
            Alternative("sp", "streamparse feed() per delta", None, missing=why),
            Alternative("sp-whole", "streamparse fed whole", None, unit="stream", missing=why),
        ]
    else:
        sp = [
            Alternative(
                "sp", "streamparse feed() per delta", streamparse_per_delta(parser_cls, end_cls), streamparse_calls
            ),
            Alternative(
                "sp-whole",
                "streamparse fed whole",
                streamparse_whole(parser_cls, end_cls),
                streamparse_calls,
                unit="stream",
            ),
        ]
    out = [*sp, Alternative("naive", "naive: regex + json.loads on whole buffer", naive_regex)]
    for key, label, factory, pkg in (
        ("pjp", "partial-json-parser on open call", _pjp, "partial-json-parser"),
        ("jiter", "jiter partial on open call", _jiter, "jiter"),
    ):
        try:
            out.append(Alternative(key, label, partial_per_delta(factory())))
        except ImportError as exc:
            out.append(Alternative(key, label, None, missing=f"pip install {pkg} ({exc})"))
    try:
        import openai.lib.streaming.chat  # noqa: F401

        out.append(Alternative("openai", "openai ChatCompletionStreamState", openai_helper, unit="chunk"))
    except ImportError as exc:
        out.append(Alternative("openai", "openai ChatCompletionStreamState", None, unit="chunk", missing=str(exc)))
    return out


# ------------------------------------------------------------------ measuring


@dataclass
class Cell:
    alt: Alternative
    stream: Stream
    timing: Timing | None = None
    estimate_s: float | None = None  # set when skipped
    note: str = ""  # "missing: ...", "WRONG RESULT", ...

    @property
    def units(self) -> int:
        return len(self.stream.chunks) if self.alt.unit == "chunk" else len(self.stream.deltas)

    @property
    def total_s(self) -> float | None:
        """CPU seconds per run (median), or the estimate of a skipped case."""
        if self.timing is not None:
            return self.timing.cpu_median_ns / 1e9
        return self.estimate_s

    @property
    def per_unit_us(self) -> float | None:
        """CPU µs per delta or chunk; for 'fed whole', per delta of the same stream."""
        total = self.total_s
        return None if total is None else total * 1e6 / self.units

    @property
    def wall_per_unit_us(self) -> float | None:
        return None if self.timing is None else self.timing.median_ns / 1e3 / self.units

    @property
    def mb_per_s(self) -> float | None:
        """Raw stream megabytes per CPU second."""
        total = self.total_s
        return None if not total else self.stream.nbytes / 1e6 / total


def estimate(history: list[tuple[int, float]], n: int) -> float:
    """Seconds for a run over ``n`` deltas, from runs at smaller sizes.

    One earlier size: quadratic growth. Two or more: fit t = a·n + b·n²
    through the two largest (a, b >= 0).
    """
    if len(history) == 1:
        n1, t1 = history[0]
        return t1 * (n / n1) ** 2
    (n1, t1), (n2, t2) = history[-2], history[-1]
    b = max((t2 / n2 - t1 / n1) / (n2 - n1), 0.0)
    a = max((t2 - b * n2 * n2) / n2, 0.0)
    return a * n + b * n * n


PROBE_S = 3.0  # seconds a costly case runs before its full time is extrapolated


class _Abort(Exception):
    pass


class _Clocked(list):  # type: ignore[type-arg]
    """A list whose iteration notes (items done, CPU seconds) as it goes and
    stops with ``_Abort`` once ``limit_s`` has passed."""

    def __init__(self, items: list[Any], limit_s: float) -> None:
        super().__init__(items)
        self.limit_s = limit_s
        self.marks: list[tuple[int, float]] = []

    def __iter__(self) -> Any:
        step = max(1, len(self) // 512)
        marks, limit = self.marks, self.limit_s
        clock = time.thread_time  # CPU time: a neighbour's load does not bend the curve
        t0 = clock()
        for i, item in enumerate(list.__iter__(self)):
            if i % step == 0:
                t = clock() - t0
                marks.append((i, t))
                if t > limit:
                    raise _Abort
            yield item


def _fit_quadratic(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b·x + c·x² (x centred by the caller)."""
    s = [sum(x**k for x in xs) for k in range(5)]
    t = [sum(y * x**k for x, y in zip(xs, ys)) for k in range(3)]
    m = [[s[0], s[1], s[2]], [s[1], s[2], s[3]], [s[2], s[3], s[4]]]

    def det(a: list[list[float]]) -> float:
        return (
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        )

    d = det(m)
    if d == 0:
        return 0.0, 0.0, 0.0
    out = []
    for col in range(3):
        mc = [row[:] for row in m]
        for i in range(3):
            mc[i][col] = t[i]
        out.append(det(mc) / d)
    return out[0], out[1], out[2]


def probe(run: Callable[[Stream], Any], stream: Stream, unit: str, limit_s: float) -> float:
    """Seconds a full run would take, from one run stopped after ``limit_s``.

    The run notes its elapsed time t(k) every 1/512 of the stream. A quadratic
    fit of log t against log k over the last two doublings gives the growth
    exponent and its trend (partial-json-parser's exponent rises with size,
    openai's stays near 1); the exponent is extrapolated to the full length,
    rising by at most 0.5 and kept within 1..3. Expect ±2× when extrapolating
    4× (64 KB), worse over 16× or more (1 MB).
    """
    items = _Clocked(stream.chunks if unit == "chunk" else stream.deltas, limit_s)
    clocked = replace(stream, chunks=items) if unit == "chunk" else replace(stream, deltas=items)
    gc.disable()
    t0 = time.thread_time()
    try:
        run(clocked)
    except _Abort:
        pass
    else:
        return time.thread_time() - t0
    finally:
        gc.enable()
    n = len(items)
    k_end, t_end = items.marks[-1]
    window = [(k, t) for k, t in items.marks if k >= k_end / 4 and k > 0 and t > 0]
    if len(window) < 8:
        return t_end * (n / max(k_end, 1)) ** 2
    u_end = math.log(k_end)
    xs = [math.log(k) - u_end for k, _ in window]
    _, b, c = _fit_quadratic(xs, [math.log(t) for _, t in window])
    du = math.log(n / k_end)
    c = min(max(c, 0.0), 0.25 / du)  # the exponent may rise, by at most 0.5 over the extrapolated range
    grow = b * du + c * du * du  # ∫ (b + 2c·x) dx from 0 to du
    grow = min(max(grow, du), 3 * du)
    return t_end * math.exp(grow)


def _check(cell: Cell, result: Any, expected: Calls) -> None:
    got = cell.alt.calls(result)
    if got != expected:
        cell.note = f"WRONG RESULT: {len(got)} calls, expected {len(expected)}"


def _measure_cell(cell: Cell, budget_s: float) -> None:
    result: list[Any] = []
    run, stream = cell.alt.run, cell.stream
    assert run is not None

    def once() -> None:
        if result:
            run(stream)
        else:
            result.append(run(stream))

    cell.timing = measure(once, budget_s=budget_s)
    _check(cell, result[0], [(c.name, c.arguments) for c in stream.calls])


def run_all(
    alts: list[Alternative],
    streams: list[Stream],
    *,
    budget_s: float,
    skip_after_s: float,
    log: Callable[[str], None],
) -> list[Cell]:
    cells = [Cell(alt, stream) for stream in streams for alt in alts]

    def show(cell: Cell, seconds: float) -> None:
        unit = "chunk" if cell.alt.unit == "chunk" else "delta"
        assert cell.timing is not None and cell.per_unit_us is not None
        log(
            f"  {cell.stream.key:10} {cell.alt.key:9} {cell.per_unit_us:10.3f} CPU µs/{unit}"
            f" ({cell.wall_per_unit_us:.3f} wall)"
            f"  {cell.timing.repeats:>3} x {cell.timing.number:<3} ({seconds:.1f} s)  {cell.note}"
        )

    # streamparse on the three argument sizes: sampled round-robin, since the
    # ratio between them (flat per-delta cost) is a target.
    flat = [c for c in cells if c.alt.key == "sp" and c.alt.run is not None and c.stream.key.startswith("args-")]
    if flat:
        t0 = time.perf_counter()
        run = flat[0].alt.run
        assert run is not None
        runs: list[Callable[[], object]] = [partial(run, c.stream) for c in flat]
        for cell, timing in zip(flat, measure_interleaved(runs, budget_s=3 * budget_s)):
            cell.timing = timing
            _check(cell, run(cell.stream), [(c.name, c.arguments) for c in cell.stream.calls])
        for cell in flat:
            show(cell, (time.perf_counter() - t0) / len(flat))

    history: dict[tuple[str, str], list[tuple[int, float]]] = {}  # (alternative, input family): (size, s)
    for cell in cells:
        alt, stream = cell.alt, cell.stream
        family, _, size = stream.key.rpartition("-")
        large = size.endswith(("KB", "MB"))
        if alt.run is None:
            cell.note = f"not run: {alt.missing}"
            continue
        t0 = time.perf_counter()
        if cell.timing is None:
            hist = history.get((alt.key, family))
            # From the smaller sizes; a costly case is also probed, and the larger
            # estimate decides (neither alone is reliable on a busy machine).
            est = estimate(hist, cell.units) if large and hist else 0.0
            if budget_s < est <= 10 * skip_after_s:
                est = max(est, probe(alt.run, stream, alt.unit, limit_s=PROBE_S))
            if est > skip_after_s:
                cell.estimate_s = est
                log(f"  {stream.key:10} {alt.key:9} skipped (est. {est:.0f} s; {time.perf_counter() - t0:.1f} s spent)")
                continue
            _measure_cell(cell, budget_s)
            show(cell, time.perf_counter() - t0)
        if large:
            history.setdefault((alt.key, family), []).append((cell.units, cell.timing.cpu_median_ns / 1e9))  # type: ignore[union-attr]
    return cells


def json_loads_per_chunk(stream: Stream) -> float:
    """µs per chunk for json.loads of the SSE payloads (not in the openai row)."""
    payloads = [json.dumps(c, separators=(",", ":"), ensure_ascii=False) for c in stream.chunks]
    loads = json.loads

    def run() -> None:
        for p in payloads:
            loads(p)

    return min(time_once(run).cpu_ns for _ in range(5)) / 1e3 / len(payloads)


# ------------------------------------------------------------------ reporting

TEXT_TARGET_US = 2.0  # µs per delta, streamparse
FLAT_TARGET = 1.3  # 1 MB per-delta cost over 4 KB's
RATIO_TARGETS = {  # alternative: (times slower than streamparse per delta, on which input; None = every input)
    "jiter": (50.0, "args-64KB"),
    "pjp": (1000.0, "args-64KB"),
    "openai": (50.0, None),
}


def _us(v: float) -> str:
    return f"{v:,.3f}" if v < 10 else f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"


def _x(v: float) -> str:
    return f"{v:,.2f}×" if v < 10 else f"{v:,.0f}×"


def _verdict(ok: bool, est: bool = False) -> str:
    return ("met" if ok else "**missed**") + (" (est.)" if est else "")


def _ratio(cell: Cell, sp: Cell | None) -> float | None:
    if sp is None or sp.timing is None or cell.per_unit_us is None or not sp.per_unit_us:
        return None
    return cell.per_unit_us / sp.per_unit_us


def targets(cells: list[Cell]) -> tuple[dict[int, str], list[tuple[str, str, str]]]:
    """The target cell of each table row (by id) and the summary rows."""
    sp = {c.stream.key: c for c in cells if c.alt.key == "sp"}
    per_row: dict[int, str] = {}
    summary: list[tuple[str, str, str]] = []
    measured = {k: c for k, c in sp.items() if c.timing is not None}

    # ≤ 2 µs per delta
    for key, cell in sp.items():
        if cell.timing is None:
            per_row[id(cell)] = f"≤ {TEXT_TARGET_US:g} µs: pending"
        else:
            per_row[id(cell)] = f"≤ {TEXT_TARGET_US:g} µs: {_verdict(cell.per_unit_us <= TEXT_TARGET_US)}"  # type: ignore[operator]
    for what, keys in (
        ("text: (a), (b)", ("text", "think")),
        ("text + 2 small calls: (c)", ("calls",)),
        ("arguments: (d) 4 KB, 64 KB, 1 MB", ("args-4KB", "args-64KB", "args-1MB")),
    ):
        got = [measured[k] for k in keys if k in measured]
        name = f"streamparse ≤ {TEXT_TARGET_US:g} µs per delta, {what}"
        if len(got) < len(keys):
            summary.append((name, "—", "pending"))
        else:
            worst_us = max(c.per_unit_us or 0.0 for c in got)
            shown = f"{_us(worst_us)} µs" + (" (worst)" if len(got) > 1 else "")
            summary.append((name, shown, _verdict(worst_us <= TEXT_TARGET_US)))

    # flat per-delta cost
    name = f"streamparse per-delta cost at 1 MB ≤ {FLAT_TARGET:g}× of 4 KB"
    small, big = measured.get("args-4KB"), measured.get("args-1MB")
    if small is not None and big is not None:
        g = big.per_unit_us / small.per_unit_us  # type: ignore[operator]
        per_row[id(big)] += f"; ≤ {FLAT_TARGET:g}× of 4 KB: {_verdict(g <= FLAT_TARGET)}"
        summary.append((name, _x(g), _verdict(g <= FLAT_TARGET)))
    else:
        summary.append((name, "—", "pending"))

    # ratios against the alternatives
    for key, (need, where) in RATIO_TARGETS.items():
        rows = [c for c in cells if c.alt.key == key and (where is None or c.stream.key == where)]
        if not rows:
            continue
        label = rows[0].alt.label
        worst: tuple[float, Cell] | None = None
        for cell in rows:
            r = _ratio(cell, sp.get(cell.stream.key))
            est = cell.timing is None
            if r is None:
                per_row[id(cell)] = f"≥ {need:,.0f}×: " + ("pending" if cell.per_unit_us is not None else "n/a")
                continue
            per_row[id(cell)] = f"≥ {need:,.0f}×: {_verdict(r >= need, est)}"
            # the worst measured ratio; estimated ones only if nothing was measured
            if worst is None or (est, r) < (worst[1].timing is None, worst[0]):
                worst = (r, cell)
        if where:
            name = f"≥ {need:,.0f}× faster than {label} (at 64 KB)"
        else:
            name = f"≥ {need:,.0f}× less CPU per delta than {label} per chunk (worst input)"
        if worst is None:
            summary.append((name, "—", "pending"))
        else:
            r, cell = worst
            est = cell.timing is None
            shown = ("~" if est else "") + _x(r) + ("" if where else f" on {cell.stream.label}")
            summary.append((name, shown, _verdict(r >= need, est)))
    return per_row, summary


def report(cells: list[Cell], *, budget_s: float, skip_after_s: float, loads_us: float, env: str) -> str:
    sp_by_stream = {c.stream.key: c for c in cells if c.alt.key == "sp"}
    base_4k = {c.alt.key: c for c in cells if c.stream.key == "args-4KB"}
    per_row, summary_rows = targets(cells)
    lines = [
        "| input | alternative | deltas | CPU µs per delta (median) | wall µs | MB/s | × streamparse | growth vs 4 KB | target |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for cell in cells:
        alt, stream = cell.alt, cell.stream
        est = cell.timing is None and cell.estimate_s is not None
        tilde = "~" if est else ""
        units = f"{cell.units:,}" + (" chunks" if alt.unit == "chunk" else "")
        per = wall = mbs = ratio = growth = ""
        if cell.per_unit_us is None:
            per = cell.note or "n/a"
        elif est:
            per = f"skipped (est. {cell.estimate_s:,.0f} s)"
        else:
            if alt.unit == "stream":
                per = f"{_us(cell.per_unit_us)} ({_us(cell.total_s * 1e6)} µs per stream)"  # type: ignore[operator]
            else:
                per = _us(cell.per_unit_us)
            if cell.note:
                per += f" — {cell.note}"
            mbs = f"{cell.mb_per_s:,.2f}" if cell.mb_per_s < 10 else f"{cell.mb_per_s:,.0f}"  # type: ignore[operator]
            wall = _us(cell.wall_per_unit_us)  # type: ignore[arg-type]
        r = _ratio(cell, sp_by_stream.get(stream.key))
        if r is not None:
            ratio = "1×" if alt.key == "sp" else tilde + _x(r)
        base = base_4k.get(alt.key)
        if (
            stream.key in ("args-64KB", "args-1MB")
            and cell.per_unit_us is not None
            and base is not None
            and base.per_unit_us
        ):
            growth = tilde + _x(cell.per_unit_us / base.per_unit_us)
        target = per_row.get(id(cell), "")
        lines.append(
            f"| {stream.label} | {alt.label} | {units} | {per} | {wall} | {mbs} | {ratio} | {growth} | {target} |"
        )

    summary = ["| target | measured | verdict |", "|---|--:|---|"]
    summary += [f"| {name} | {got} | {verdict} |" for name, got, verdict in summary_rows]
    kinds = by_content_kind(cells)

    notes = f"""\
What is timed: one run = one whole stream (construction, every delta, close); a sample = enough back-to-back \
runs to last ≥ 20 ms, `gc` disabled, timed by `time.perf_counter_ns` (wall) and `time.thread_time_ns` (CPU); the \
median sample within {budget_s:g} s per measurement (a case slower than that runs once). Ratios, growth, MB/s \
and targets use CPU time: on a shared machine the wall clock also counts other processes' turns on the core \
(wall well above CPU means the machine was busy). \
streamparse's three argument sizes are sampled round-robin so that load changes hit them alike. Every \
alternative's result is checked against the calls the input was built from.

- **streamparse feed() per delta**: `Parser("hermes")`, then for every delta `for ev in p.feed(delta)`, \
keeping the `ToolCallEnd` events; the same for `p.close()`. **fed whole**: one `p.feed(raw)` + `p.close()`; \
its µs-per-delta figure is the stream's time divided by the same delta count.
- **naive**: `buf += delta`, then `[json.loads(b) for b in re.findall(r"<tool_call>(.*?)</tool_call>", buf, re.DOTALL)]` \
on every delta.
- **partial-json-parser / jiter**: incremental tag tracking, then on every delta inside a call \
`partial_json_parser.loads(json_so_far)` / `jiter.from_json(json_so_far.encode(), partial_mode="trailing-strings")` \
(a partial closing tag left out); `json.loads` once the call closes. On inputs without calls these rows only \
look for `<tool_call>` and emit nothing: they are the floor of a Python loop over the deltas, not a text parser.
- **openai**: per server chunk, `construct_type(type_=ChatCompletionChunk, value=chunk_dict)` (what the client \
does with each SSE payload; strict validation off, its default) + `ChatCompletionStreamState().handle_chunk(chunk)` \
(no `input_tools`, so it never partial-parses arguments) + `json.loads(arguments)` on each \
`tool_calls.function.arguments.done` event. Not timed: HTTP, SSE splitting and `json.loads` of each payload \
(≈ {loads_us:.2f} µs more per chunk). The chunks are what vLLM sends for the same message: one per text or \
reasoning token (`delta.reasoning`), a header entry per call (id, type, name), one per arguments fragment; \
its "µs per delta" is per chunk and its ratio compares CPU per chunk with streamparse's per delta.
- Deltas: the raw model text cut into pieces of 1–7 characters (mean 4), seed fixed. MB/s = raw stream bytes ÷ \
CPU time. × streamparse = the row's CPU µs per delta ÷ streamparse's on the same input. Growth = CPU µs per \
delta ÷ the same alternative's at 4 KB.
- "skipped (est. N s)": the run's time is estimated from the smaller sizes (quadratic from one, a·n + b·n² \
from two); when that exceeds the budget, the case is also run once with a clock and stopped after \
~{PROBE_S:g} s of CPU, its full time extrapolated from the growth seen so far; the larger estimate is kept and the \
case skipped above {skip_after_s:g} s. ~ marks figures from that estimate: ±2× at 64 KB, rougher at 1 MB.
"""

    return "\n".join(
        ["## parser.py — streamparse vs other ways to parse streamed tool calls", "", env, "",
         *lines, "", "### Targets", "", *summary, "", "### By content kind (inputs (e))", "", *kinds, "", notes]
    )


def by_content_kind(cells: list[Cell]) -> list[str]:
    """How many times streamparse's CPU per delta each alternative costs, per argument content kind and size."""
    others = [a for a in dict.fromkeys(c.alt.key for c in cells) if a not in ("sp", "sp-whole")]
    labels = {c.alt.key: c.alt.label for c in cells}
    lines = [
        "| arguments | streamparse µs per delta | " + " | ".join(f"{labels[a]} (×)" for a in others) + " |",
        "|---|--:|" + "--:|" * len(others),
    ]
    by = {(c.alt.key, c.stream.key): c for c in cells}
    for kind, (label, _) in CONTENT_KINDS.items():
        for size in ("64KB", "1MB"):
            sp = by.get(("sp", f"{kind}-{size}"))
            if sp is None or sp.per_unit_us is None:
                continue
            shown = []
            for alt in others:
                cell = by.get((alt, f"{kind}-{size}"))
                r = _ratio(cell, sp) if cell is not None else None
                shown.append("—" if r is None else ("~" if cell is not None and cell.timing is None else "") + _x(r))
            lines.append(f"| {size[:-2]} {size[-2:]} of {label} | {_us(sp.per_unit_us)} | " + " | ".join(shown) + " |")
    return lines


def options(doc: str, argv: list[str] | None) -> argparse.Namespace:
    """The command line of the benchmarks that time alternatives (this one, values.py, schema.py)."""
    ap = argparse.ArgumentParser(description=doc.split("\n", 1)[0])
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per measurement (default 1)")
    ap.add_argument("--skip-after", type=float, default=60.0, help="skip runs estimated above this (s)")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    return ap.parse_args(argv)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def publish(name: str, text: str, args: argparse.Namespace, t0: float) -> int:
    """Print the section, write it into RESULTS.md unless ``--no-write``, and say how long the run took."""
    print(text)
    if not args.no_write:
        log(f"updated {write_section(name, text)}")
    log(f"total {time.perf_counter() - t0:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = options(__doc__, argv)
    t0 = time.perf_counter()
    log("building inputs ...")
    streams = all_streams()
    gc.collect()
    gc.freeze()  # the inputs are millions of objects: keep them out of every later collection
    alts = alternatives()
    for alt in alts:
        if alt.run is None:
            log(f"  {alt.key}: not available ({alt.missing})")
    cells = run_all(alts, streams, budget_s=args.budget, skip_after_s=args.skip_after, log=log)
    loads_us = json_loads_per_chunk(next(s for s in streams if s.key == "calls"))
    env = environment("streamparse-llm", "msgspec", "lark", "jiter", "partial-json-parser", "openai", "pydantic")
    text = report(cells, budget_s=args.budget, skip_after_s=args.skip_after, loads_us=loads_us, env=env)
    log("every format ...")
    text += "\n" + every_format(args.budget)
    return publish("parser.py", text, args, t0)


def every_format(budget_s: float) -> str:
    """The per-format table (``benchmarks/formats.py``, which also compares Hermes with an older checkout)."""
    import formats
    from streamparse import available_formats

    rows = {}
    for fmt in available_formats():
        rows[fmt] = formats.run_format(fmt, formats.SIZES, min(budget_s, 0.5))
        log(f"  {fmt}: worst {max(rows[fmt].values()):.2f} µs per delta")
    return "\n".join(
        [
            "### Every format: CPU µs per 4-character delta",
            "",
            "Each format's own markup (written by its grammar's templates): 64 KB of prose with no call, and one",
            "call whose `content` argument is 4 KB, 64 KB or 1 MB of each kind. Target: ≤ 2 µs everywhere, flat.",
            "",
            formats.table(rows, formats.SIZES),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
