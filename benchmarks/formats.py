"""Per-format parser cost: every shipped format, text and one large call, per 4-character delta.

    python benchmarks/formats.py                  # table on stdout + section in RESULTS.md (parser.py includes the table too)
    python benchmarks/formats.py --quick          # 4 KB and 64 KB only, shorter budgets
    python benchmarks/formats.py --baseline DIR   # also Hermes with the streamparse checked out in DIR
    python benchmarks/formats.py --baseline DIR --instructions   # ... and its instructions per delta (valgrind)

Each input is written in the format by ``streamparse.core.render`` (the
format's own templates): 64 KB of prose with no call, and a call
``write_file(path, content)`` whose ``content`` is 4 KB, 64 KB or 1 MB of
ASCII prose, ASCII source code or non-ASCII text (the kinds of ``values.py``).  Deltas are token-like
(mean 4 characters).  The figure is the median CPU time of a whole stream
(parser made, every delta fed, closed) divided by its number of deltas; the
result is checked against the call it was built from.  "flat" is the
largest ratio of the 1 MB cost to the 4 KB cost over the three kinds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median
from typing import Any

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE.parent), str(_HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _results import environment, write_section  # noqa: E402
from _streams import CONTENT_KINDS, SEED, ascii_prose, cut  # noqa: E402
from _timing import measure  # noqa: E402

TARGET_US = 2.0
KINDS = tuple(CONTENT_KINDS)
SIZES = {"4K": 4 * 1024, "64K": 64 * 1024, "1M": 1024 * 1024}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "write_file",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
            },
        },
    }
]


def case_deltas(fmt: str, kind: str, nchars: int) -> tuple[list[str], dict[str, str] | None]:
    """The deltas of one input and the arguments of its call (None: a text-only input)."""
    import random

    from streamparse.core.render import render

    rng = random.Random(SEED)
    if kind == "text":
        return cut(render(fmt, text=ascii_prose(rng, nchars)), rng), None
    arguments = {"path": "notes/out.txt", "content": CONTENT_KINDS[kind][1](rng, nchars)[:nchars]}
    return cut(render(fmt, text="Writing it now.", calls=[("write_file", arguments)]), rng), arguments


def per_delta_us(make: Callable[[], Any], deltas: list[str], expected: dict[str, str] | None, budget: float) -> float:
    """Median CPU µs per delta of a whole stream through a parser from ``make``; checks the result."""
    from streamparse import ToolCallEnd

    def once() -> list[Any]:
        parser = make()
        feed = parser.feed
        events: list[Any] = []
        for delta in deltas:
            events += feed(delta)
        closed: list[Any] = parser.close()
        return events + closed

    got = [e.arguments for e in once() if isinstance(e, ToolCallEnd)]
    if got != ([] if expected is None else [expected]):
        raise SystemExit(f"wrong result {str(got)[:200]}")
    return measure(once, budget_s=budget).cpu_median_ns / len(deltas) / 1000


def cases(fmt: str, sizes: dict[str, int]) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    found = {"text 64K": case_deltas(fmt, "text", 64 * 1024)}
    for kind in KINDS:
        for label, nchars in sizes.items():
            found[f"{kind} {label}"] = case_deltas(fmt, kind, nchars)
    return found


def run_format(fmt: str, sizes: dict[str, int], budget: float) -> dict[str, float]:
    from streamparse import Parser

    return {
        key: per_delta_us(lambda: Parser(fmt, tools=TOOLS), deltas, expected, budget)
        for key, (deltas, expected) in cases(fmt, sizes).items()
    }


def side_by_side(directory: str, sizes: dict[str, int], budget: float, rounds: int) -> list[tuple[dict[str, float], dict[str, float]]]:
    """The same Hermes inputs through this checkout's parser and another's, each in a process that
    imports it, in turn (A B A B ...): ``rounds`` pairs of (this, baseline)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(cases("hermes", sizes), f)

    def run(checkout: Path) -> dict[str, float]:
        command = [*_child(checkout), "--measure-file", f.name, "--budget", str(budget)]
        out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=checkout)
        result: dict[str, float] = json.loads(out.stdout)
        return result

    try:
        return [(run(_HERE.parent), run(Path(directory).resolve())) for _ in range(rounds)]
    finally:
        os.unlink(f.name)


def _child(checkout: Path) -> list[str]:
    """The command line of this script run for ``checkout``'s parser (see :func:`import_checkout`)."""
    return [sys.executable, str(Path(__file__).resolve()), "--checkout", str(checkout.resolve())]


def import_checkout(checkout: str) -> None:
    """``--checkout``: make ``import streamparse`` load that checkout, ahead of this one and of an
    installed copy, and fail if it does not."""
    sys.path.insert(0, checkout)
    import streamparse

    if not Path(streamparse.__file__).resolve().is_relative_to(Path(checkout).resolve()):
        raise SystemExit(f"streamparse came from {streamparse.__file__}, not from {checkout}")


def instructions(directory: str, sizes: dict[str, int]) -> list[tuple[str, float, float]]:
    """The same Hermes inputs (text, and the calls up to 64 KB) through this checkout's parser and
    another's, counted by valgrind's callgrind: machine instructions per delta, which other
    processes on the machine do not change.  A stream run twice minus the stream run once, so that
    start-up and imports cancel out: ``(input, this, baseline)``."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    found = cases("hermes", {k: n for k, n in sizes.items() if n <= 64 * 1024})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(found, f)

    def collected(checkout: Path, key: str, repeats: int) -> int:
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                   *_child(checkout), "--replay", f.name, key, str(repeats)]
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts in every run
        out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=checkout, env=env)
        m = re.search(r"Collected : (\d+)", out.stderr)
        if m is None:
            raise SystemExit(f"no instruction count from valgrind:\n{out.stderr[-2000:]}")
        return int(m.group(1))

    def per_delta(checkout: Path, key: str) -> float:
        return (collected(checkout, key, 2) - collected(checkout, key, 1)) / len(found[key][0])

    try:
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            jobs = [(key, pool.submit(per_delta, _HERE.parent, key), pool.submit(per_delta, Path(directory), key)) for key in found]
            return [(key, now.result(), base.result()) for key, now, base in jobs]
    finally:
        os.unlink(f.name)


def replay(path: str, key: str, repeats: int) -> None:
    """``--replay``: one input of :func:`instructions` through ``Parser("hermes")``, ``repeats`` times."""
    from streamparse import Parser

    deltas, expected = json.loads(Path(path).read_text())[key]
    Parser("hermes").close()  # the grammar loaded and compiled outside the difference
    for _ in range(repeats):
        parser = Parser("hermes")
        feed = parser.feed
        for delta in deltas:
            for _event in feed(delta):
                pass
        parser.close()


def measure_file(path: str, budget: float) -> dict[str, float]:
    """``--measure-file``: Hermes inputs written by :func:`side_by_side`, through whatever streamparse
    imports, as ``Parser("hermes")`` with no tools (what any checkout's parser takes)."""
    from streamparse import Parser

    data = json.loads(Path(path).read_text())
    return {key: per_delta_us(lambda: Parser("hermes"), deltas, expected, budget) for key, (deltas, expected) in data.items()}


def table(rows: dict[str, dict[str, float]], sizes: dict[str, int]) -> str:
    columns = ["text 64K"] + [f"{k} {s}" for k in KINDS for s in sizes]
    lines = [
        "| format | " + " | ".join(columns) + " | flat (1M/4K) | ≤ 2 µs |",
        "|---|" + "---:|" * (len(columns) + 2),
    ]
    for fmt, row in rows.items():
        small, large = min(sizes, key=sizes.__getitem__), max(sizes, key=sizes.__getitem__)
        flat = max(row[f"{k} {large}"] / row[f"{k} {small}"] for k in KINDS)
        worst = max(row.values())
        cells = " | ".join(f"{row[c]:.2f}" for c in columns)
        lines.append(f"| {fmt} | {cells} | {flat:.2f}× | {'yes' if worst <= TARGET_US else 'NO'} ({worst:.2f}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 KB and 64 KB only, short budgets")
    parser.add_argument("--budget", type=float, default=0.4, help="seconds per measurement (default 0.4)")
    parser.add_argument("--baseline", metavar="DIR", help="a checkout whose Hermes parser to run beside this one")
    parser.add_argument("--rounds", type=int, default=3, help="with --baseline: pairs of runs, this one then the baseline (default 3)")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--instructions", action="store_true", help="with --baseline: also count instructions per delta (valgrind)")
    parser.add_argument("--measure-file", help=argparse.SUPPRESS)
    parser.add_argument("--replay", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--checkout", help=argparse.SUPPRESS)
    parser.add_argument("formats", nargs="*", help="formats to run (default: all)")
    args = parser.parse_args(argv)
    if args.checkout:
        import_checkout(args.checkout)
    if args.measure_file:
        print(json.dumps(measure_file(args.measure_file, args.budget)))
        return 0
    if args.replay:
        replay(args.replay[0], args.replay[1], int(args.replay[2]))
        return 0
    if args.instructions and not args.baseline:
        parser.error("--instructions needs --baseline")
    from streamparse import available_formats

    sizes = {k: v for k, v in SIZES.items() if not (args.quick and k == "1M")}
    budget = 0.15 if args.quick else args.budget
    rows: dict[str, dict[str, float]] = {}
    for fmt in args.formats or available_formats():
        rows[fmt] = run_format(fmt, sizes, budget)
        print(f"{fmt}: " + ", ".join(f"{k} {v:.2f}" for k, v in rows[fmt].items()), file=sys.stderr)
    text = [
        "## formats.py — parser cost per 4-character delta, every format (CPU µs, median)",
        "",
        environment(),
        "",
        table(rows, sizes),
    ]
    if args.baseline:
        pairs = side_by_side(args.baseline, sizes, budget, args.rounds)
        text += [
            "",
            f"Hermes against the parser in `{Path(args.baseline).name}`: the same inputs, no tools on either side, "
            f"each checkout in its own process, in turn ({args.rounds} rounds; medians, and the median of the rounds' ratios):",
            "",
            "| input | this | baseline | this / baseline |",
            "|---|---:|---:|---:|",
        ]
        for k in pairs[0][0]:
            now, base = median(p[0][k] for p in pairs), median(p[1][k] for p in pairs)
            text.append(f"| {k} | {now:.2f} | {base:.2f} | {median(p[0][k] / p[1][k] for p in pairs):.2f}× |")
    if args.instructions:
        counted = instructions(args.baseline, sizes)
        text += [
            "",
            "The same, counted in machine instructions per delta (valgrind's callgrind; a stream run twice minus "
            "once; inputs up to 64 KB): the same on any load.",
            "",
            "| input | this | baseline | this / baseline |",
            "|---|---:|---:|---:|",
        ]
        text += [f"| {k} | {now:,.0f} | {base:,.0f} | {now / base:.3f}× |" for k, now, base in counted]
    report = "\n".join(text)
    print(report)
    if not args.no_write and not args.quick:
        write_section("formats.py", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
