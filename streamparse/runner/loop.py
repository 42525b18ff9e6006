"""Which event loop a run's processes use: uvloop's when it is installed, else asyncio's.

uvloop is optional (``pip install uvloop``): a busy process wakes up closer to
each read with it, so its stamps run less late (see the README's runner
performance note). ``loop="asyncio"`` keeps the standard loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

from ..errors import UsageError

__all__ = ["LoopName", "loop_name", "run"]

T = TypeVar("T")
LoopName = Literal["auto", "uvloop", "asyncio"]


def loop_name(loop: LoopName = "auto") -> Literal["uvloop", "asyncio"]:
    """The loop ``run(..., loop=loop)`` uses."""
    if loop == "asyncio":
        return "asyncio"
    if importlib.util.find_spec("uvloop") is not None:
        return "uvloop"
    if loop == "uvloop":
        raise UsageError("uvloop is not installed (pip install uvloop)")
    return "asyncio"


def run(main: Coroutine[Any, Any, T], *, loop: LoopName = "auto") -> T:
    """Run ``main`` to its end on a new event loop of the kind ``loop`` names."""
    if loop_name(loop) == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
