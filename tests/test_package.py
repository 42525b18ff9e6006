"""The package as users get it: its import boundary and both install modes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USE = (
    "import streamparse, sys, pathlib; "
    "assert 'aiohttp' not in sys.modules; "
    "m = streamparse.parse('<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>'); "
    "assert m.tool_calls[0].name == 'f', m; "
    "print(pathlib.Path(streamparse.__file__).parent)"
)


def test_importing_does_not_import_aiohttp() -> None:
    subprocess.run([sys.executable, "-c", "import streamparse, sys; assert 'aiohttp' not in sys.modules"], check=True)


def test_client_is_exported_lazily() -> None:
    code = (
        "import streamparse, sys; assert 'aiohttp' not in sys.modules; "
        "from streamparse import Client; assert 'aiohttp' in sys.modules and Client.__name__ == 'Client'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_agent_is_exported_lazily_without_aiohttp() -> None:
    code = (
        "import streamparse, sys; assert 'asyncio' not in sys.modules; "
        "from streamparse import Agent, tool; assert Agent.__name__ == 'Agent' and callable(tool); "
        "assert 'aiohttp' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_grammars_found_from_this_install(tmp_path: Path) -> None:
    # The suite runs from the README's editable install: grammars come from the top-level folder.
    out = subprocess.run([sys.executable, "-c", USE], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert Path(out.stdout.strip()) == ROOT / "streamparse"


def test_grammars_found_from_a_wheel(tmp_path: Path) -> None:
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)], check=True)
    (wheel,) = wheels.glob("*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    assert (target / "streamparse" / "grammars" / "hermes.lark").is_file()
    # Only the wheel's copy may be importable: run outside the checkout, wheel first on the path.
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", USE], check=True, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert Path(out.stdout.strip()) == target / "streamparse"
