"""Running the JavaScript side of the web tests: Node scripts in tests/node/.

Their tools are installed by ``.ci/run``: Node, npm and Debian's chromium (apt-get),
then the npm packages of tests/node/package-lock.json (``.ci/js-deps``). A missing tool
fails the test, saying how to install it; only ``STREAMPARSE_SKIP_JS_TESTS=1``
outside CI turns that into a skip.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"
OPT_OUT = "STREAMPARSE_SKIP_JS_TESTS"


def require(what: str, present: bool) -> None:
    if present:
        return
    message = f"{what} is missing: install nodejs, npm and chromium (apt-get) and run .ci/js-deps, as .ci/run does"
    if os.environ.get(OPT_OUT) == "1" and not os.environ.get("CI"):
        pytest.skip(f"{message}; skipped because {OPT_OUT}=1")
    pytest.fail(f"{message}, or set {OPT_OUT}=1 to skip the JavaScript tests on this machine", pytrace=False)


def node_packages(*names: str) -> None:
    """Node and the named packages of tests/node/ are there."""
    require("node", shutil.which("node") is not None)
    for name in names:
        require(f"the npm package {name} (tests/node/node_modules)", (NODE_DIR / "node_modules" / name / "package.json").is_file())


def chromium() -> str:
    """Debian's chromium (or ``STREAMPARSE_CHROMIUM``)."""
    path = os.environ.get("STREAMPARSE_CHROMIUM", "/usr/bin/chromium")
    require(f"chromium ({path})", os.access(path, os.X_OK))
    return path


async def node(script: str, *args: str, timeout: float = 60.0) -> Any:
    """Run ``tests/node/<script>``; the JSON object it prints."""
    proc = await asyncio.create_subprocess_exec(
        "node", script, *args, cwd=NODE_DIR, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, f"node {script} failed ({proc.returncode}):\n{err.decode()}"
    return json.loads(out.decode().strip().splitlines()[-1])
