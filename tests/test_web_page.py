"""The live page in a real browser: ``streamparse demo --web`` driven in Debian's chromium.

tests/node/drive_page.mjs (Playwright) loads the page, sends the demo's prompt,
records every state each tool card and argument field goes through, waits for
the answer, reads the DOM and saves a screenshot under the test's tmp_path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from streamparse import parse
from streamparse.cli.demo import DEMO_PROMPT, demo_output, get_time, get_weather

from . import js

ANSWER = "Right now it is 18 °C and partly cloudy in Paris, and the local time in Tokyo is 21:00."
PAGE_URL = re.compile(r"(?:open|the live page at) (http://127\.0\.0\.1:\d+/)[ ;]")


@contextlib.asynccontextmanager
async def command(*args: str) -> AsyncIterator[str]:
    """``streamparse ARGS`` (a command serving the page) in a process of its own; the page's URL.

    Stopped with SIGTERM on the way out, it must exit cleanly, saying so.
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streamparse", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        banner = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        match = PAGE_URL.search(banner)
        assert match, banner
        yield match.group(1)
    finally:
        proc.terminate()
        out, err = await proc.communicate()
    assert proc.returncode == 0 and out.decode() == f"streamparse {args[0]}: stopped\n", err.decode()


async def test_the_live_page(tmp_path: Path) -> None:
    js.node_packages("playwright-core")
    chromium = js.chromium()
    shot = tmp_path / "web-demo.png"
    async with command("demo", "--web", "--port", "0", "--delay", "0.01") as url:
        page = await js.node("drive_page.mjs", url, DEMO_PROMPT, str(shot), chromium)

    assert page["consoleErrors"] == [] and page["errors"] == []
    assert page["state"] == "done" and page["you"] == DEMO_PROMPT
    message = parse(demo_output())
    assert page["reasoning"] == [(message.reasoning or "").strip()]
    assert re.fullmatch(r"Thoughtfor \d+\.\d\d s", page["reasoningLabels"][0])
    assert page["texts"] == [(message.content or "").strip(), ANSWER] and page["answer"] == ANSWER

    calls = {call.name: call.arguments for call in message.tool_calls}
    assert [tool["name"] for tool in page["tools"]] == ["get_weather", "get_time"]
    for tool in page["tools"]:
        ((key, value),) = calls[tool["name"]].items()
        assert tool["fields"] == [{"path": key, "value": value, "kind": "str", "done": "true"}]
        # The done mark and its time since the prompt was sent, then the tool's result.
        assert tool["state"] == "result" and re.fullmatch(r"✓done \d+\.\d\d s", tool["status"])
        result = get_weather(value) if tool["name"] == "get_weather" else get_time(value)
        assert all(str(v) in tool["result"] for v in result.values())
        # Seen live: the card streaming, then done, then with its result; the field filling
        # in (a strict prefix of the value first, not yet done) before it was complete.
        assert page["seen"]["cards"][tool["name"]] == ["streaming", "done", "result"]
        seen = page["seen"]["fields"][f"{tool['name']}.{key}"]
        assert seen[-1] == f"true:{value}"
        filling = [s.removeprefix("false:") for s in seen if s.startswith("false:")]
        assert filling and all(value.startswith(part) for part in filling) and filling[0] != value

    assert re.search(r"calls complete \d+\.\d\d s · \d+\.\d\d s", page["stats"])
    assert page["lanes"] == ["reasoning", "text", "get_weather", "get_time"]
    for kind in ("reasoning_delta", "tool_call_value_delta", "tool_call_value", "tool_call_end", "tool_finished", "finish"):
        assert kind in page["wireTypes"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


async def test_serve_ui_adds_the_page() -> None:
    """``serve --ui``: the page and its relay next to the OpenAI routes, the relay running the demo's agent."""
    async with command("serve", "--ui", "--port", "0", "--delay", "0") as url:
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as resp:
                assert resp.status == 200 and "streamparse" in await resp.text()
            async with session.post(url + "api/events", json={"prompt": DEMO_PROMPT}) as resp:
                lines = (await resp.read()).decode().split("\n\n")[:-1]
    events = [json.loads(line.removeprefix("data: ")) for line in lines]
    assert [e["name"] for e in events if e["type"] == "tool_finished"] == ["get_weather", "get_time"]
    assert "".join(e["text"] for e in events[events.index({"type": "turn_start", "turn": 2}):] if e["type"] == "text_delta") == ANSWER


async def test_the_page_shows_an_invalid_call_and_a_failure(tmp_path: Path) -> None:
    """``serve --ui --script``: a call that cannot be read next to one that runs, then a stream that breaks."""
    js.node_packages("playwright-core")
    chromium = js.chromium()
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        'Checking.<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'
        '<tool_call>{"name": "get_time", "arguments": {"timezone": </tool_call>',
        {"text": "It is mild in Oslo, and the clock", "fault": {"error_after": 6, "message": "the GPU fell over"}},
    ]))
    async with command("serve", "--ui", "--port", "0", "--delay", "0.01", "--script", str(script)) as url:
        page = await js.node("drive_page.mjs", url, "Weather in Oslo?", str(tmp_path / "failed.png"), chromium)
    assert page["consoleErrors"] == [] and page["state"] == "error"
    weather, broken = page["tools"]
    assert weather["state"] == "result" and weather["fields"][0]["value"] == "Oslo" and "Oslo" in weather["result"]
    assert broken["name"] == "get_time" and broken["state"] == "invalid"
    assert broken["raw"] == '<tool_call>{"name": "get_time", "arguments": {"timezone": </tool_call>'
    assert broken["status"].startswith("✕ ")
    assert page["errors"] == ["AgentError agent turn 2: the GPU fell over"]
    assert page["texts"][0] == "Checking." and "It is mild in Oslo, and the clock".startswith(page["texts"][-1])
    assert page["answer"] is None  # no answer is marked on a stream that failed
