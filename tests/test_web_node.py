"""The relay's AI SDK stream, read by the real ``ai`` npm package in Node.

tests/node/read_ui_stream.mjs posts a ``useChat`` body with the package's own
``DefaultChatTransport`` (which checks every chunk against the package's chunk
schema) and folds the chunks with ``readUIMessageStream``. What it ends with
must hold the same text, reasoning and tool inputs as streamparse's own events
for the same reply, in the same order, with no error; a stream that fails
midway must reach the reader as its error, after the text that came before.
The three major versions that speak protocol v1 are read: ai 5 and 6, and
ai 7, which asks for Node 22 but runs on the Node 20 we have.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import msgspec
import pytest
import stamina
from aiohttp import web

from streamparse import Finish, InvalidToolCall, ReasoningDelta, TextDelta, ToolCallEnd, ToolCallStart
from streamparse.agent import Agent, Tool
from streamparse.cli.demo import demo_script, get_weather
from streamparse.client import Client, Retries
from streamparse.core.events import AnyEvent, Event
from streamparse.server import Fault, Reply, Server
from streamparse.web import add_routes
from streamparse.web.routes import Run

from . import js

PACKAGES = pytest.mark.parametrize("package", ["ai-v5", "ai", "ai-v7"])
VERSIONS = {"ai-v5": "5.", "ai": "6.", "ai-v7": "7."}
CALLS = (
    "Let me check both.\n"
    '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris", "units": {"temp": "C"}, "days": [1, 2]}}</tool_call>\n'
    '<tool_call>{"name": "get_time", "arguments": {"timezone": </tool_call>\n'
    "<tool_call>{not json}</tool_call>\n"
    "One call was cut off; here is the weather."
)
REPLY = Reply(CALLS, reasoning="Two questions; the tools answer both.")
USE_CHAT = [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Weather in Paris? Time in Tokyo?"}]}]
_decode = msgspec.json.Decoder(AnyEvent).decode


@pytest.fixture(autouse=True)
def _tools() -> Iterator[None]:
    js.node_packages(*VERSIONS)
    with stamina.set_testing(True, attempts=1):
        yield


@contextlib.asynccontextmanager
async def serving(run: Run) -> AsyncIterator[str]:
    """The relay's routes for ``run``, listening; their base URL."""
    app = web.Application()
    add_routes(app, run)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def relay(reply: Reply, **server: Any) -> AsyncIterator[str]:
    """Embedded LLM server answering ``reply`` to every request, a Client, and the relay; the relay's URL."""
    async with Server(lambda request: reply, **server) as llm:
        async with Client(llm.base_url, values=True, retries=Retries(attempts=1)) as client:
            async with serving(lambda messages: client.stream(messages)) as url:
                yield url


async def own_events(url: str) -> list[Event | dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/api/events", json={"messages": USE_CHAT}) as resp:
            body = await resp.read()
    out: list[Event | dict[str, Any]] = []
    for block in body.split(b"\n\n")[:-1]:
        payload = block.removeprefix(b"data: ")
        out.append(msgspec.json.decode(payload) if b'"type":"error"' in payload else _decode(payload))
    return out


def expected_parts(events: list[Event | dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a UI message should hold: text and reasoning runs (a call or a response's end
    ends a run), and each call where it started, with its name, final state and input."""
    parts: list[tuple[Any, ...]] = []
    started: dict[int, int] = {}  # call index -> its part's position
    run_open = False
    for e in events:
        if isinstance(e, (TextDelta, ReasoningDelta)):
            kind = "text" if isinstance(e, TextDelta) else "reasoning"
            if not e.text:
                continue
            if run_open and parts[-1][0] == kind:
                parts[-1] = (kind, parts[-1][1] + e.text)
            else:
                parts.append((kind, e.text))
            run_open = True
            continue
        if isinstance(e, (ToolCallStart, ToolCallEnd, InvalidToolCall, Finish)):
            run_open = False
        if isinstance(e, ToolCallStart):
            started[e.index] = len(parts)
            parts.append(("tool", e.name, "input-streaming"))
        elif isinstance(e, ToolCallEnd):
            parts[started[e.index]] = ("tool", e.name, "input-available", e.arguments)
        elif isinstance(e, InvalidToolCall):
            if e.index in started:
                parts[started[e.index]] = ("tool", parts[started[e.index]][1], "output-error", e.raw, e.error)
            else:
                parts.append(("tool", "", "output-error", e.raw, e.error))
    return parts


def read_parts(message: dict[str, Any]) -> list[tuple[Any, ...]]:
    parts: list[tuple[Any, ...]] = []
    for part in message["parts"]:
        kind = part["type"]
        if kind in ("text", "reasoning"):
            assert part["state"] == "done"
            parts.append((kind, part["text"]))
        elif kind == "dynamic-tool" or kind.startswith("tool-"):
            name = part["toolName"] if kind == "dynamic-tool" else kind.removeprefix("tool-")
            if part["state"] == "output-error":
                # ai 5 and 6 keep input that failed as rawInput on a static tool's part; ai 7 and dynamic parts as input.
                raw = part.get("rawInput", part.get("input"))
                parts.append(("tool", name, part["state"], raw, part["errorText"]))
            else:
                parts.append(("tool", name, part["state"], part["input"]))
        else:
            assert kind == "step-start", part
    return parts


@PACKAGES
@pytest.mark.parametrize("tool_parser", [False, True], ids=["tags-in-content", "server-parsed"])
async def test_the_ai_sdk_reads_what_the_events_say(package: str, tool_parser: bool) -> None:
    async with relay(REPLY, tool_parser=tool_parser) as url:
        ours = await own_events(url)
        read = await js.node("read_ui_stream.mjs", package, f"{url}/api/chat", msgspec.json.encode(USE_CHAT).decode())
    assert read["errors"] == []
    assert read["version"].startswith(VERSIONS[package])
    expected = expected_parts(ours)
    assert read_parts(read["message"]) == expected
    # The reply has all of it: reasoning, text around the calls, a call, a cut-off call and a nameless block.
    assert ("tool", "get_weather", "input-available", {"city": "Paris", "units": {"temp": "C"}, "days": [1, 2]}) in expected
    assert any(p[:3] == ("tool", "get_time", "output-error") for p in expected)
    assert ("tool", "", "output-error", "<tool_call>{not json}</tool_call>", "tool call is not valid JSON: JSON is malformed: object keys must be strings (byte 1)") in expected
    assert expected[0] == ("reasoning", REPLY.reasoning) and expected[-1][0] == "text"
    types = [c["type"] for c in read["chunks"]]
    assert types[0] == "start" and types[-1] == "finish" and "tool-input-delta" in types
    finish = [e for e in ours if isinstance(e, Finish)][-1]
    assert (finish.finish_reason, read["chunks"][-1]) == (
        ("tool_calls", {"type": "finish", "finishReason": "tool-calls"})  # vLLM's reason when it parsed calls
        if tool_parser
        else ("stop", {"type": "finish", "finishReason": "stop"})
    )


def broken_clock(timezone: str) -> dict[str, str]:
    """Current local time in an IANA time zone."""
    raise ConnectionError(f"the time service is down ({timezone})")


@PACKAGES
async def test_the_ai_sdk_reads_an_agent_run(package: str) -> None:
    """Tool results of an agent run, one tool failing, then the answer: parts in step order."""
    async with Server(demo_script()) as llm, Client(llm.base_url, retries=Retries(attempts=1)) as client:
        agent = Agent(client, [get_weather, Tool(broken_clock, name="get_time")])
        async with serving(lambda messages: agent.run(messages)) as url:
            read = await js.node("read_ui_stream.mjs", package, f"{url}/api/chat", msgspec.json.encode(USE_CHAT).decode())
    assert read["errors"] == []
    tools = [p for p in read["message"]["parts"] if p["type"].startswith("tool-")]
    assert [(p["type"], p["state"], p["input"]) for p in tools] == [
        ("tool-get_weather", "output-available", {"city": "Paris"}),
        ("tool-get_time", "output-error", {"timezone": "Asia/Tokyo"}),
    ]
    assert tools[0]["output"] == get_weather("Paris")
    assert tools[1]["errorText"] == "ConnectionError: the time service is down (Asia/Tokyo)"
    texts = [p["text"] for p in read["message"]["parts"] if p["type"] == "text"]
    assert texts[-1].startswith("Right now it is 18 °C and partly cloudy in Paris, and get_time returned")
    types = [c["type"] for c in read["chunks"]]
    assert types.count("start-step") == types.count("finish-step") == 2  # one step per turn
    assert read["chunks"][-1] == {"type": "finish", "finishReason": "stop"}


@PACKAGES
async def test_the_ai_sdk_reads_a_failure_midway(package: str) -> None:
    reply = Reply("The answer is forty-two, as everyone knows.", fault=Fault(error_after=5, message="model crashed"))
    async with relay(reply) as url:
        ours = await own_events(url)
        read = await js.node("read_ui_stream.mjs", package, f"{url}/api/chat", msgspec.json.encode(USE_CHAT).decode())
    assert ours[-1] == {"type": "error", "error": "LLMStreamError", "message": "model crashed"}
    assert read["errors"] == ["model crashed"]
    text = "".join(e.text for e in ours if isinstance(e, TextDelta))
    assert text and reply.text.startswith(text) and text != reply.text
    assert read_parts(read["message"]) == [("text", text)]
    assert read["chunks"][-2:] == [{"type": "error", "errorText": "model crashed"}, {"type": "finish", "finishReason": "error"}]
