"""The benchmark scripts are not run by the suite (they take minutes); each must at least compile."""

from __future__ import annotations

from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).parent.parent / "benchmarks").glob("*.py"))


def test_there_are_benchmark_scripts() -> None:
    assert len(SCRIPTS) >= 5


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_script_compiles(script: Path) -> None:
    compile(script.read_text(encoding="utf-8"), str(script), "exec")
