"""Keep one section per benchmark script in ``benchmarks/RESULTS.md``.

Each script owns the text between its two markers and replaces only that;
sections of other scripts are left untouched, new sections are appended::

    from _results import write_section
    write_section("parser.py", markdown)
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")

_HEADER = (
    "# Benchmark results\n\n"
    "Each section is written by the script it names (`python benchmarks/<script>`);\n"
    "rerun the script to refresh its section. Numbers vary ±50 % between runs and\n"
    "machines; ratios measured in one process are the figures to compare.\n"
)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"


def write_section(name: str, body: str, path: Path = RESULTS) -> Path:
    """Replace (or append) the section owned by ``name`` with ``body``."""
    begin, end = _markers(name)
    block = f"{begin}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else _HEADER
    start = text.find(begin)
    if start >= 0:
        stop = text.find(end, start)
        if stop < 0:
            raise ValueError(f"{path}: {begin!r} has no matching {end!r}")
        text = text[:start] + block + text[stop + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".RESULTS.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def environment(*packages: str) -> str:
    """One Markdown line: when, where and with which versions a run happened."""
    versions = []
    for pkg in packages:
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{pkg} (not installed)")
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        when,
        f"commit {rev or 'n/a'}",
        f"Python {platform.python_version()} ({sys.implementation.name})",
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        *versions,
    ]
    return "_" + " · ".join(parts) + "_"
