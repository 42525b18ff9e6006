"""The demo's offline tools and its scripted model (for ``streamparse demo`` and ``serve``)."""

from __future__ import annotations

import asyncio
import functools
import json
import zlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from ..agent import Tool
from ..core.formats import Format, load_format
from ..core.render import render

if TYPE_CHECKING:  # the server loads aiohttp
    from ..server import Reply


P = ParamSpec("P")
R = TypeVar("R")

DEMO_PROMPT = "What's the weather in Paris, and what time is it in Tokyo?"

# The tools are offline stand-ins, deterministic so the demo and its tests
# always tell the same story: a weather table and a fixed clock
# (2025-06-01 12:00 UTC; offsets are that day's, summer time included).
_WEATHER = {
    "paris": (18, "partly cloudy"),
    "tokyo": (24, "sunny"),
    "london": (15, "light rain"),
    "berlin": (17, "overcast"),
    "new york": (22, "clear"),
}
_CONDITIONS = ("clear", "sunny", "partly cloudy", "overcast", "light rain", "windy")
_DEMO_UTC_MINUTES = 12 * 60
_ZONES = {
    "UTC": 0,
    "Europe/London": 60,
    "Europe/Paris": 120,
    "Europe/Berlin": 120,
    "America/New_York": -240,
    "America/Los_Angeles": -420,
    "Asia/Kolkata": 330,
    "Asia/Tokyo": 540,
    "Australia/Sydney": 600,
}


def get_weather(city: str) -> dict[str, Any]:
    """Current weather in a city.

    Args:
        city: City name, e.g. Paris
    """
    # Known cities from a table, others from a checksum of the name.
    known = _WEATHER.get(city.strip().lower())
    if known is None:
        seed = zlib.crc32(city.strip().lower().encode())
        known = (5 + seed % 25, _CONDITIONS[seed % len(_CONDITIONS)])
    return {"city": city, "temp_c": known[0], "conditions": known[1]}


def get_time(timezone: str) -> dict[str, Any]:
    """Current local time in an IANA time zone.

    Args:
        timezone: e.g. Asia/Tokyo
    """
    # An IANA zone (or its city, e.g. "Tokyo") on the demo's fixed date.
    wanted = timezone.strip().replace(" ", "_").lower()
    zone = next((z for z in _ZONES if wanted in (z.lower(), z.rsplit("/", 1)[-1].lower())), None)
    if zone is None:
        return {"error": f"unknown timezone {timezone!r}; known: {', '.join(_ZONES)}"}
    minutes = (_DEMO_UTC_MINUTES + _ZONES[zone]) % (24 * 60)
    place = zone.rsplit("/", 1)[-1].replace("_", " ")
    return {"timezone": zone, "place": place, "time": f"{minutes // 60:02d}:{minutes % 60:02d}"}


def _remote(function: Callable[P, R], latency: float) -> Callable[P, Awaitable[R]]:
    """``function`` after ``latency`` seconds, as a remote API's round trip would take."""

    @functools.wraps(function)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        await asyncio.sleep(latency)
        return function(*args, **kwargs)

    return call


def demo_tools(latency: float = 0.0) -> list[Tool[..., Any]]:
    """The demo's tools for the agent runner, each taking ``latency`` seconds."""
    return [Tool(_remote(function, latency)) for function in (get_weather, get_time)]


# Turn 1: reasoning, a sentence, two parallel calls (written in the format the demo runs).
DEMO_REASONING = (
    "Two independent questions: the weather in Paris and the time in Tokyo. I can look both up at once."
)
DEMO_TEXT = "Let me check both at once.\n"
DEMO_TOOL_CALLS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("get_weather", {"city": "Paris"}),
    ("get_time", {"timezone": "Asia/Tokyo"}),
)


def demo_output(fmt: str | Format = "hermes") -> str:
    """Turn 1 as a model of format ``fmt`` writes it (its reasoning in the format's markup, if it has some).

    Raises :class:`~streamparse.errors.FormatError` for a format that declares no way to write calls.
    """
    fmt = fmt if isinstance(fmt, Format) else load_format(fmt)
    reasoning = DEMO_REASONING if "RENDER_REASONING" in fmt.options else None
    return render(fmt, reasoning=reasoning, text=DEMO_TEXT, calls=DEMO_TOOL_CALLS)


def _fact(name: str, content: Any) -> str:
    """One clause of the final answer, from one tool result."""
    try:
        data = json.loads(content) if isinstance(content, str) else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        if name == "get_weather" and {"city", "temp_c", "conditions"} <= data.keys():
            return f"it is {data['temp_c']} °C and {data['conditions']} in {data['city']}"
        if name == "get_time" and {"place", "time"} <= data.keys():
            return f"the local time in {data['place']} is {data['time']}"
    return f"{name} returned {content}"


def demo_script(fmt: str | Format = "hermes") -> Callable[[dict[str, Any]], Reply]:
    """The scripted model, writing format ``fmt``: it calls the tools, then answers from their results
    once the request carries them.  A format with no reasoning markup sends its reasoning in the
    server's reasoning field instead."""
    from ..server import Reply

    fmt = fmt if isinstance(fmt, Format) else load_format(fmt)
    first = Reply(demo_output(fmt), reasoning=None if "RENDER_REASONING" in fmt.options else DEMO_REASONING)

    def script(request: dict[str, Any]) -> Reply:
        messages = [m for m in request.get("messages") or () if isinstance(m, dict)]
        names = {
            call.get("id"): (call.get("function") or {}).get("name", "tool")
            for m in messages
            if m.get("role") == "assistant"
            for call in m.get("tool_calls") or ()
            if isinstance(call, dict)
        }
        results = [
            (names.get(m.get("tool_call_id"), "tool"), m.get("content")) for m in messages if m.get("role") == "tool"
        ]
        if not results:
            return first
        answer = ", and ".join(_fact(name, content) for name, content in results)
        return Reply(render(fmt, text=f"Right now {answer}."))

    return script
