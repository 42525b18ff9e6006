"""Values benchmark: streamparse's per-field value events against re-parsing the arguments on every delta.

    python benchmarks/values.py               # table on stdout + section in RESULTS.md
    python benchmarks/values.py --no-write    # stdout only
    python benchmarks/values.py --budget 0.5  # seconds per measurement (default 1)

A UI that fills in a call's fields as they stream needs the decoded values
after every delta.  streamparse reads each fragment once (``values=True``);
the alternatives keep the arguments text so far and partial-parse all of it on
every delta, as openai-python's ``parsed_arguments`` does.  Every row consumes
the same argument fragments of one call (the server chunks that carry them,
for openai-python's stream state), in one process; each result is checked
against the arguments the input was built from.  Runs estimated above
``--skip-after`` seconds (60 by default) are estimated, not run (see parser.py).
"""

from __future__ import annotations

import gc
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE.parent), str(_HERE)):  # the helpers here; the working tree's streamparse
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _results import environment  # noqa: E402
from _streams import (  # noqa: E402
    CONTENT_KINDS,
    LARGE_SIZES,
    SEED,
    Call,
    Stream,
    build,
    dumps,
    large_arguments,
)
from parser import (  # noqa: E402
    FLAT_TARGET,
    PROBE_S,
    Alternative,
    Calls,
    Cell,
    _ratio,
    _us,
    _verdict,
    _x,
    log,
    openai_helper,
    options,
    publish,
    run_all,
)

from streamparse import Parser, ToolCallEnd, ToolCallValue, ToolCallValueDelta  # noqa: E402
from streamparse.core.values import ValueScanner  # noqa: E402

NAME = "write_file"
HEAD = f'<tool_call>\n{{"name": "{NAME}", "arguments": '
TAIL = "}\n</tool_call>"
TOOL = {"type": "function", "function": {"name": NAME, "parameters": {"type": "object"}, "strict": True}}
KINDS: dict[str, tuple[str, Callable[[random.Random, int], str] | None]] = {
    **CONTENT_KINDS,
    "records": ("JSON records", None),
}

# ---------------------------------------------------------------- inputs


def arguments(kind: str, size: str, rng: random.Random) -> dict[str, Any]:
    """A call's arguments of about ``size`` UTF-8 bytes of JSON: one long text field, or records."""
    target = LARGE_SIZES[size]
    make = KINDS[kind][1]
    if make is None:
        return large_arguments(rng, target)
    head = {"path": f"docs/{kind}.txt", "mode": "overwrite"}
    content = make(rng, target)
    whole = len(dumps({**head, "content": content}).encode())
    return {**head, "content": content[: len(content) * target // whole]}


def inputs(kind: str) -> list[Stream]:
    """The three sizes of one kind; ``deltas`` are the argument fragments the server chunks carry."""
    out = []
    for k, size in enumerate(LARGE_SIZES):
        seed = SEED + 100 * (list(KINDS).index(kind) + 1) + k
        args = arguments(kind, size, random.Random(seed))
        stream = build(f"args-{size}", f"{KINDS[kind][0]}, {size[:-2]} {size[-2:]}", [("call", Call(NAME, args))], seed)
        fragments = [
            tc["function"]["arguments"]
            for c in stream.chunks
            for tc in c["choices"][0]["delta"].get("tool_calls", ())
            if tc["function"].get("arguments")
        ]
        assert "".join(fragments) == dumps(args)
        out.append(replace(stream, deltas=fragments, raw=dumps(args)))
    return out


# ---------------------------------------------------------------- alternatives


def scanner(stream: Stream) -> list[Any]:
    """streamparse's value scanner on the fragments: every value event, as it comes."""
    scan = ValueScanner(0)
    feed = scan.feed
    events: list[Any] = []
    for delta in stream.deltas:
        feed(delta, events)
    return events


def values_seen(events: list[Any]) -> Calls:
    """The arguments the value events describe; nothing when a text field's deltas do not join to its value."""
    args = {e.path[0]: e.value for e in events if type(e) is ToolCallValue and len(e.path) == 1}
    text = "".join(e.text for e in events if type(e) is ToolCallValueDelta and e.path == ("content",))
    if text != args.get("content", ""):
        return []
    return [(NAME, args)]


def parser(values: bool) -> Callable[[Stream], list[Any]]:
    """The whole Parser on the model's text: the tool-call tag, the same fragments, the closing tag."""

    def run(stream: Stream) -> list[Any]:
        p = Parser("hermes", values=values)
        feed = p.feed
        events = feed(HEAD)
        for delta in stream.deltas:
            events += feed(delta)
        return events + feed(TAIL) + p.close()

    return run


def parser_calls(values: bool) -> Callable[[list[Any]], Calls]:
    def calls(events: list[Any]) -> Calls:
        ends = [(e.name, e.arguments) for e in events if type(e) is ToolCallEnd]
        return ends if not values or values_seen(events) == ends else []

    return calls


def reparse(parse: Callable[[str], Any]) -> Callable[[Stream], Calls]:
    """Keep the arguments so far; partial-parse all of them on every delta."""

    def run(stream: Stream) -> Calls:
        buf = ""
        latest: Any = None
        for delta in stream.deltas:
            buf += delta
            latest = parse(buf)
        return [(NAME, latest)]

    return run


def _jiter(mode: Any) -> Callable[[str], Any]:
    from jiter import from_json

    return lambda text: from_json(bytes(text, "utf-8"), partial_mode=mode)


def _pjp() -> Callable[[str], Any]:
    import partial_json_parser

    loads: Callable[[str], Any] = partial_json_parser.loads
    return loads


def alternatives() -> list[Alternative]:
    out = [
        Alternative("sp", "streamparse `ValueScanner` (values on)", scanner, values_seen),
        Alternative("sp-on", "streamparse `Parser(values=True)`, whole", parser(True), parser_calls(True)),
        Alternative("sp-off", "streamparse `Parser()`, values off", parser(False), parser_calls(False)),
    ]
    for key, label, factory, pkg in (
        ("openai-parse", "openai-python's partial parse: jiter `partial_mode=True`", partial(_jiter, True), "jiter"),
        ("jiter", "jiter `partial_mode='trailing-strings'`", partial(_jiter, "trailing-strings"), "jiter"),
        ("pjp", "partial-json-parser `loads`", _pjp, "partial-json-parser"),
    ):
        try:
            out.append(Alternative(key, label, reparse(factory())))
        except ImportError as exc:
            out.append(Alternative(key, label, None, missing=f"pip install {pkg} ({exc})"))
    label = "openai `ChatCompletionStreamState`, strict tool (`parsed_arguments`)"
    try:
        import openai.lib.streaming.chat  # noqa: F401

        out.append(Alternative("openai", label, partial(openai_helper, input_tools=[TOOL]), unit="chunk"))
    except ImportError as exc:
        out.append(Alternative("openai", label, None, unit="chunk", missing=str(exc)))
    return out


# ---------------------------------------------------------------- reporting


def report(results: dict[str, list[Cell]], *, budget_s: float, skip_after_s: float, env: str) -> str:
    lines = [
        "| arguments | alternative | deltas | CPU µs per delta (median) | wall µs | × streamparse | growth vs 4 KB |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    summary = ["| arguments | streamparse µs per delta, 4 KB / 64 KB / 1 MB | 1 MB ÷ 4 KB | values on − off (`Parser`), per delta | × faster than re-parsing at 64 KB | at 1 MB |", "|---|--:|--:|--:|---|---|"]
    for kind, cells in results.items():
        sp = {c.stream.key: c for c in cells if c.alt.key == "sp"}
        base = {c.alt.key: c for c in cells if c.stream.key == "args-4KB"}
        for cell in cells:
            est = cell.timing is None and cell.estimate_s is not None
            tilde = "~" if est else ""
            units = f"{cell.units:,}" + (" chunks" if cell.alt.unit == "chunk" else "")
            per = wall = ratio = growth = ""
            if cell.per_unit_us is None:
                per = cell.note or "n/a"
            elif est:
                per = f"skipped (est. {cell.estimate_s:,.0f} s)"
            else:
                per = _us(cell.per_unit_us) + (f" — {cell.note}" if cell.note else "")
                wall = _us(cell.wall_per_unit_us)  # type: ignore[arg-type]
            r = _ratio(cell, sp.get(cell.stream.key))
            if r is not None:
                ratio = "1×" if cell.alt.key == "sp" else tilde + _x(r)
            b = base.get(cell.alt.key)
            if cell.stream.key != "args-4KB" and cell.per_unit_us is not None and b is not None and b.per_unit_us:
                growth = tilde + _x(cell.per_unit_us / b.per_unit_us)
            lines.append(f"| {cell.stream.label} | {cell.alt.label} | {units} | {per} | {wall} | {ratio} | {growth} |")

        by = {(c.alt.key, c.stream.key): c for c in cells}
        per_size = [sp[k].per_unit_us for k in ("args-4KB", "args-64KB", "args-1MB") if k in sp]
        flat = ""
        if len(per_size) == 3 and all(per_size):
            g = per_size[2] / per_size[0]  # type: ignore[operator]
            flat = f"{_x(g)} (≤ {FLAT_TARGET:g}×: {_verdict(g <= FLAT_TARGET)})"
        added = []
        for size in LARGE_SIZES:
            on, off = by.get(("sp-on", f"args-{size}")), by.get(("sp-off", f"args-{size}"))
            if on and off and on.per_unit_us is not None and off.per_unit_us is not None:
                added.append(f"{on.per_unit_us - off.per_unit_us:+.2f}")
        ratios = {}
        for size in ("64KB", "1MB"):
            parts = []
            for key in ("openai-parse", "jiter", "pjp", "openai"):
                cell = by.get((key, f"args-{size}"))
                r = _ratio(cell, sp.get(f"args-{size}")) if cell else None
                if cell is not None and r is not None:
                    parts.append(f"{key} {'~' if cell.timing is None else ''}{_x(r)}")
            ratios[size] = ", ".join(parts)
        shown = " / ".join(_us(v) for v in per_size if v is not None)
        summary.append(
            f"| {KINDS[kind][0]} | {shown} | {flat} | {' / '.join(added)} µs | {ratios['64KB']} | {ratios['1MB']} |"
        )

    notes = f"""\
What is timed: one run = one call's whole stream (construction, every fragment); a sample = enough back-to-back \
runs to last ≥ 20 ms, `gc` off; the median CPU time (`time.thread_time_ns`) within {budget_s:g} s per measurement \
(a run longer than that runs once), divided by the number of fragments (server chunks for the openai row). The \
scanner's three sizes are sampled round-robin. Every row's result is checked against the arguments the input was \
built from (for streamparse also: the text deltas of `content` join to its value).

- Inputs: a `write_file` call whose arguments are `{{"path", "mode", "content"}}` with `content` ASCII prose, \
ASCII Python source (escape-heavy in JSON: `\\n`, `\\"`, `\\\\`) or non-ASCII text (CJK, Cyrillic, Greek, Arabic, \
Devanagari, emoji; raw UTF-8), or the parser benchmark's nested JSON records; about 4 KB, 64 KB and 1 MB of \
UTF-8 arguments JSON, cut into fragments of 1–7 characters (mean 4), seed fixed.
- **streamparse `ValueScanner`**: `ValueScanner(0).feed(fragment, events)` per fragment (what `values=True` runs \
per `ToolCallDelta`). **`Parser(values=True)` / `Parser()`**: the whole parser on the model's text (`<tool_call>` \
and the name, the same fragments, the closing tag); their difference is the added cost of the option.
- **re-parse rows**: `buf += fragment`, then a partial parse of all of `buf` per fragment. openai-python's \
`ChatCompletionStreamState` calls `jiter.from_json(bytes(arguments, "utf-8"), partial_mode=True)` for strict tools, \
which leaves out a string still open (a `content` field shows nothing until it closes) and reports a number's \
prefix (`12` of `123`); `trailing-strings` includes the open string; partial-json-parser \
`loads(buf)` (its default: everything partial allowed).
- **openai `ChatCompletionStreamState`**: per server chunk `construct_type(ChatCompletionChunk, chunk)` + \
`handle_chunk` with `input_tools=[strict write_file]`, i.e. what `client.chat.completions.stream(...)` does to \
keep `parsed_arguments`; it also rebuilds the message snapshot (the whole arguments string) per chunk.
- × streamparse = the row's CPU µs per delta ÷ the scanner's on the same input; growth = ÷ the same row's at 4 KB. \
"skipped (est. N s)": estimated from the smaller sizes and a run stopped after ~{PROBE_S:g} s of CPU, skipped above \
{skip_after_s:g} s (see parser.py); ~ marks figures from that estimate (±2× at 64 KB, rougher at 1 MB).
"""
    return "\n".join(
        [
            "## values.py — per-field argument values: streamparse vs re-parsing on every delta",
            "",
            env,
            "",
            *summary,
            "",
            *lines,
            "",
            notes,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = options(__doc__, argv)
    t0 = time.perf_counter()
    alts = alternatives()
    for alt in alts:
        if alt.run is None:
            log(f"  {alt.key}: not available ({alt.missing})")
    results: dict[str, list[Cell]] = {}
    for kind in KINDS:
        log(f"building {kind} inputs ...")
        streams = inputs(kind)
        gc.collect()
        gc.freeze()
        # One kind at a time: the estimates of skipped runs come from the same kind's smaller sizes.
        results[kind] = run_all(alts, streams, budget_s=args.budget, skip_after_s=args.skip_after, log=log)
        gc.unfreeze()
    env = environment("streamparse-llm", "msgspec", "jiter", "partial-json-parser", "openai", "pydantic")
    text = report(results, budget_s=args.budget, skip_after_s=args.skip_after, env=env)
    return publish("values.py", text, args, t0)


if __name__ == "__main__":
    sys.exit(main())
