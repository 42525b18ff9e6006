"""The agent runner over real sockets, against the embedded server with scripted timing.

Every test ends by checking that no task of the run is left (``agent_tasks``).
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina

from streamparse import (
    available_formats,
    Agent,
    AgentError,
    Client,
    Event,
    Finish,
    InvalidToolCall,
    LLMDisconnectedError,
    LLMResponseError,
    TextDelta,
    Tool,
    ToolCallEnd,
    ToolFinished,
    ToolStarted,
    TurnEnd,
    TurnStart,
    UsageError,
    tool,
)
from streamparse.core.render import render
from streamparse.server import Fault, Reply, Server
from streamparse.server.pieces import Chunking

BRACKETS = Path(__file__).parent / "grammars" / "brackets.lark"
# Every shipped format writes its calls with its own templates; the runner itself knows none of them.
WRITERS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    **{fmt: (lambda name, arguments, fmt=fmt: render(fmt, calls=[(name, arguments)])) for fmt in available_formats()},
    str(BRACKETS): lambda name, arguments: f"[[call]]{json.dumps({'name': name, 'arguments': arguments})}[[/call]]",
}
MODES = pytest.mark.parametrize("tool_parser", [False, True], ids=["tags-in-content", "server-parsed"])
# One event per 4 characters, tags whole: event counts, and so timings, follow from the text.
EVEN = Chunking(min_piece=4, max_piece=4, multi=0, empty=0, whole_tag=1.0)


@pytest.fixture(autouse=True)
def one_attempt() -> Iterator[None]:
    with stamina.set_testing(True):  # no retries, no backoff
        yield


def call(name: str, arguments: dict[str, Any], format: str = "hermes") -> str:
    return WRITERS[format](name, arguments)


def answer_after_tools(first: str, answer: str = "All done.") -> Callable[[dict[str, Any]], Reply]:
    """A scripted model: ``first`` until the request carries tool results, then ``answer``."""

    def script(request: dict[str, Any]) -> Reply:
        return Reply(answer if any(m.get("role") == "tool" for m in request["messages"]) else first)

    return script


def agent_tasks() -> list[asyncio.Task[Any]]:
    """Tasks still running code of the runner (the stream reader, tools, their timeouts)."""
    here = str(Path(__file__).resolve().parents[1] / "streamparse" / "agent")
    out = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if task.get_name().startswith("streamparse-agent") or (code is not None and code.co_filename.startswith(here)):
            out.append(task)
    return out


async def collect(run: Any) -> list[Event]:
    return [event async for event in run]


def of(kind: type[Event], events: list[Event]) -> list[Any]:
    return [e for e in events if type(e) is kind]


# -- the loop, in every format and both server set-ups ----------------------------------


@tool
async def get_weather(city: str, days: int = 1) -> dict[str, Any]:
    """Weather forecast.

    Args:
        city: City name.
        days: How many days.
    """
    await asyncio.sleep(0.01)
    return {"city": city, "days": days, "sky": "clear"}


def get_time(timezone: str) -> str:
    """Local time in a zone."""
    return f"12:00 in {timezone}"


@MODES
@pytest.mark.parametrize("format", list(WRITERS), ids=[Path(f).stem for f in WRITERS])
async def test_two_turns(format: str, tool_parser: bool) -> None:
    first = (
        "Checking."
        + call("get_weather", {"city": "Paris", "days": 2}, format)
        + call("get_time", {"timezone": "UTC"}, format)
    )
    script = answer_after_tools(first, "Clear in Paris; noon in UTC.")
    async with Server(script, tool_parser=tool_parser, tool_format=format) as server:
        async with Client(server.base_url, server.model, format=format) as client:
            run = Agent(client, [get_weather, get_time]).run("Weather and time?", temperature=0)
            events = await collect(run)
    assert agent_tasks() == []
    assert [type(e) for e in events if type(e) in (TurnStart, TurnEnd)] == [TurnStart, TurnEnd] * 2
    ends = of(TurnEnd, events)
    assert [e.stop_reason for e in ends] == [None, "answered"] and ends[0].calls == 2
    assert run.stop_reason == "answered" and run.turns == 2
    # Each tool starts after its own call's end, never after the response's end.
    order = [(type(e).__name__, getattr(e, "index", None)) for e in events if type(e) in (ToolCallEnd, ToolStarted, Finish)]
    assert order.index(("ToolCallEnd", 0)) < order.index(("ToolStarted", 0))
    assert order.index(("ToolStarted", 0)) < order.index(("Finish", None))
    results = sorted(of(ToolFinished, events), key=lambda r: r.index)
    assert [(r.name, r.status) for r in results] == [("get_weather", "ok"), ("get_time", "ok")]
    # The conversation: one tool message per call, in call order, answering its id.
    user, assistant, weather, clock, final = run.messages
    assert user == {"role": "user", "content": "Weather and time?"}
    ids = [c["id"] for c in assistant["tool_calls"]]
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == ["get_weather", "get_time"]
    assert weather == {"role": "tool", "tool_call_id": ids[0], "content": '{"city":"Paris","days":2,"sky":"clear"}'}
    assert clock == {"role": "tool", "tool_call_id": ids[1], "content": "12:00 in UTC"}
    assert final == {"role": "assistant", "content": "Clear in Paris; noon in UTC."}
    # What the server received: the tools' schemas and params every turn, the results in turn 2.
    first_request, second_request = (r.json for r in server.requests)
    assert [t["function"]["name"] for t in first_request["tools"]] == ["get_weather", "get_time"]
    assert first_request["temperature"] == second_request["temperature"] == 0
    assert second_request["messages"] == run.messages[:-1]


# -- the overlap: the acceptance test of the issue ---------------------------------------


@tool
async def half_second(label: str) -> str:
    """Takes 0.5 s."""
    await asyncio.sleep(0.5)
    return f"done {label}"


async def after_response(client: Client, prompt: str) -> tuple[float, float]:
    """The baseline: stream the whole response, then run the calls one after another.

    (response end, wall) in seconds from the request, like TurnEnd's.
    """
    started = time.perf_counter()
    calls = [e async for e in client.stream(prompt, tools=[half_second.spec]) if type(e) is ToolCallEnd]
    response = time.perf_counter() - started
    for c in calls:
        await half_second.bind(c.arguments)()
    return response, time.perf_counter() - started


async def test_tools_overlap_the_response() -> None:
    """Two calls 1 s apart with text after them, tools of 0.5 s each: both tools run while
    the model writes, so the turn is shorter than the baseline's by the time they overlapped."""
    delay = 0.02  # seconds per 4-character event
    reply = (
        "Let me check."
        + call("half_second", {"label": "a"})
        + " This takes a moment, so here is some filler text as a model writes. " * 2
        + call("half_second", {"label": "b"})
        + " Both lookups are on their way; the results follow shortly, then the answer."
        + " More text."
    )
    async with Server([reply, reply], chunking=EVEN, delay=delay) as server, Client(server.base_url, server.model) as client:
        agent = Agent(client, [half_second], max_turns=1)

        async def streamed() -> list[Event]:
            async with agent.run("go") as run:
                return await collect(run)

        events, (base_response, base_wall) = await asyncio.gather(streamed(), after_response(client, "go"))
    assert agent_tasks() == []
    (end,) = of(TurnEnd, events)
    starts = {e.index: e.at for e in of(ToolStarted, events)}
    finishes = {e.index: e for e in of(ToolFinished, events)}
    assert starts[1] - starts[0] >= 0.9, "the scenario: calls about 1 s apart"
    assert all(f.status == "ok" and f.at <= end.response for f in finishes.values()), "both ran during the response"
    overlap = sum(min(f.at, end.response) - starts[i] for i, f in finishes.items())
    assert overlap >= 0.95
    assert end.saved >= overlap - 0.01  # the runner's own account agrees
    # With the tools run during the response the turn ends with it; the baseline's tools ran after its
    # response. Each run is judged against its own response, not the other's: a loaded host stretches
    # the streamed run's tools, which share its loop, more than the baseline's.
    assert end.wall - end.response <= 0.1, (end, base_response, base_wall)
    assert base_wall - base_response >= 1.0


# -- how each call ends ---------------------------------------------------------------------

cancelled: list[str] = []
threads: list[int] = []


@tool
async def quick(seconds: float = 0.0) -> dict[str, float]:
    """Returns after ``seconds``."""
    await asyncio.sleep(seconds)
    return {"slept": seconds}


async def boom() -> str:
    """Always fails."""
    raise ValueError("no luck today")


@tool(timeout=0.05)
async def hang(label: str) -> str:
    """Never returns in time."""
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        cancelled.append(label)
        raise
    return "unreachable"


def blocking(n: int) -> list[int]:
    """A sync tool: runs in a worker thread."""
    threads.append(threading.get_ident())
    time.sleep(0.02)
    return list(range(n))


def unencodable() -> object:
    """Returns something JSON cannot hold."""
    return object()


@MODES
async def test_each_way_a_call_ends(tool_parser: bool) -> None:
    cancelled.clear()
    threads.clear()
    reply = "".join(
        [
            call("quick", {"seconds": 0.05}),
            call("boom", {}),
            call("hang", {"label": "h"}),
            call("nope", {"x": 1}),
            call("quick", {"seconds": "soon"}),
            call("quick", {"seconds": 0, "extra": True}),
            '<tool_call>\n{"name": "boom", "arguments": {oops}}\n</tool_call>',
            call("blocking", {"n": 3}),
            call("unencodable", {}),
            "That is all.",
        ]
    )
    async with Server(answer_after_tools(reply), tool_parser=tool_parser) as server:
        async with Client(server.base_url, server.model) as client:
            agent = Agent(client, [quick, boom, hang, blocking, unencodable])
            run = agent.run("go")
            events = await collect(run)
    assert agent_tasks() == []
    assert cancelled == ["h"], "the timed-out tool was cancelled"
    assert threads and threads[0] != threading.get_ident(), "a sync tool runs in a worker thread"
    results = sorted(of(ToolFinished, events), key=lambda r: r.index)
    expected = [
        ("quick", "ok", {"slept": 0.05}),
        ("boom", "error", {"error": "ValueError: no luck today"}),
        ("hang", "timeout", {"error": "hang did not finish within 0.05 s"}),
        ("blocking", "ok", [0, 1, 2]),
    ]
    assert [(r.name, r.status, json.loads(r.content)) for r in results[:-1]] == expected
    assert results[-1].status == "error" and "not JSON-encodable" in results[-1].content
    started = sorted(e.index for e in of(ToolStarted, events))
    assert started == [r.index for r in results if r.status != "invalid_arguments"]
    # The agent sends its tools, so the parser itself reports a call to an unknown tool and arguments
    # the schema refuses, like the block that is not JSON: no ToolFinished, each quoted in a note.
    # (With server-parsed calls the embedded server streams the bad block as tool_calls, so what the
    # client sees of it is its name and its arguments' text.)
    invalid = of(InvalidToolCall, events)
    assert [(i.name, i.kind) for i in invalid if i.kind != "malformed"] == [
        ("nope", "unknown_tool"), ("quick", "invalid_arguments"), ("quick", "invalid_arguments")
    ]
    assert not {i.index for i in invalid} & {r.index for r in results}
    # The conversation carries every outcome, in call order, and the invalid block verbatim.
    turn = run.messages[1:-1]
    assistant, tools, note = turn[0], turn[1:-1], turn[-1]
    assert [m["tool_call_id"] for m in tools] == [c["id"] for c in assistant["tool_calls"]]
    assert [m["content"] for m in tools] == [r.content for r in results]
    assert note["role"] == "user" and note["content"].count("- call ") == len(invalid)
    bad = '{oops}' if tool_parser else '{"name": "boom", "arguments": {oops}}'
    assert bad in note["content"]
    assert server.requests[1].json["messages"] == run.messages[:-1]
    assert run.stop_reason == "answered"


# -- failures and stopping: nothing left running ------------------------------------------


@MODES
async def test_stream_failing_midway(tool_parser: bool) -> None:
    cancelled.clear()
    head = "Two lookups." + call("quick", {}) + call("hang", {"label": "mid"})
    reply = Reply(head + " and then a long explanation" * 20, fault=Fault(drop_after=len(EVEN.split(head)) + 4))
    hang_long = Tool(hang.function, timeout=math.inf)  # it would run for 10 s: only the failure stops it
    async with Server([reply], chunking=EVEN, delay=0.005, tool_parser=tool_parser) as server:
        async with Client(server.base_url, server.model) as client:
            run = Agent(client, [quick, hang_long]).run("go")
            events: list[Event] = []
            with pytest.raises(AgentError) as caught:
                async for event in run:
                    events.append(event)
    assert agent_tasks() == []
    assert cancelled == ["mid"]
    error = caught.value
    assert isinstance(error.error, LLMDisconnectedError) and error.__cause__ is error.error
    assert error.turn == 1 and error.partial is not None and len(error.partial.tool_calls) == 2
    assert (error.partial.content or "").startswith("Two lookups. and then")
    user, assistant, done, stopped = error.messages
    assert assistant["content"] == error.partial.content and len(assistant["tool_calls"]) == 2
    assert json.loads(done["content"]) == {"slept": 0.0}
    assert json.loads(stopped["content"]) == {"error": "hang was cancelled: the response failed before it finished"}
    assert run.messages == error.messages
    assert any(type(e) is TextDelta for e in events) and not of(TurnEnd, events)


async def test_request_failing_on_a_later_turn() -> None:
    replies = ["One lookup." + call("quick", {}), Reply(fault=Fault(status=400, message="prompt too long"))]
    async with Server(replies) as server, Client(server.base_url, server.model) as client:
        run = Agent(client, [quick]).run("go")
        with pytest.raises(AgentError) as caught:
            await collect(run)
    assert agent_tasks() == []
    error = caught.value
    assert isinstance(error.error, LLMResponseError) and error.error.status == 400 and error.turn == 2
    assert [m["role"] for m in error.messages] == ["user", "assistant", "tool"]  # turn 2 received nothing


async def test_caller_leaving_early_cancels_everything() -> None:
    cancelled.clear()
    reply = "Looking." + call("hang", {"label": "left"}) + " and a long explanation" * 50
    hang_long = Tool(hang.function, timeout=math.inf)
    async with Server([reply], delay=0.005) as server, Client(server.base_url, server.model) as client:
        async with Agent(client, [hang_long]).run("go") as run:
            async for event in run:
                if type(event) is ToolStarted:
                    break
        assert agent_tasks() == []
        await server.wait_for_disconnects(1, timeout=2)  # the stream was closed, not left to run
    assert cancelled == ["left"]


async def test_caller_cancelled_cancels_everything() -> None:
    cancelled.clear()
    reply = "Looking." + call("hang", {"label": "caller"}) + " and a long explanation" * 50
    hang_long = Tool(hang.function, timeout=math.inf)
    started = asyncio.Event()
    async with Server([reply], delay=0.005) as server, Client(server.base_url, server.model) as client:

        async def consume() -> None:
            async for event in Agent(client, [hang_long]).run("go"):
                if type(event) is ToolStarted:
                    started.set()

        caller = asyncio.create_task(consume())
        await asyncio.wait_for(started.wait(), 10)  # cancelled once the tool runs, however slow the host
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert agent_tasks() == []
    assert cancelled == ["caller"]


async def self_cancelling() -> str:
    """Raises CancelledError though nobody cancelled it."""
    raise asyncio.CancelledError


class Abort(BaseException):
    """Not an Exception: no tool error handler may swallow it."""


async def aborting() -> str:
    """Raises a BaseException."""
    raise Abort


async def test_tools_raising_base_exceptions() -> None:
    async with Server(answer_after_tools(call("self_cancelling", {}))) as server, Client(server.base_url, server.model) as client:
        # wait_for: without a result for each call, the turn would wait forever.
        events = await asyncio.wait_for(collect(Agent(client, [self_cancelling]).run("go")), 5)
        (result,) = of(ToolFinished, events)
        assert (result.status, json.loads(result.content)) == ("error", {"error": "self_cancelling was cancelled"})
    async with Server([call("aborting", {})]) as server, Client(server.base_url, server.model) as client:
        with pytest.raises(Abort):  # raised to the caller, not left in a task while the turn waits
            await asyncio.wait_for(collect(Agent(client, [aborting]).run("go")), 5)
    assert agent_tasks() == []


async def test_turn_limit() -> None:
    always = "Again." + call("quick", {})
    async with Server([always] * 3) as server, Client(server.base_url, server.model) as client:
        run = Agent(client, [quick], max_turns=2).run("go")
        events = await collect(run)
    assert len(server.requests) == 2 and run.turns == 2 and run.stop_reason == "max_turns"
    assert [e.stop_reason for e in of(TurnEnd, events)] == [None, "max_turns"]
    # The last turn's tools still ran: the conversation can be sent again as it is.
    assert [m["role"] for m in run.messages] == ["user", "assistant", "tool", "assistant", "tool"]


async def test_bounded_concurrency() -> None:
    reply = "".join(call("quick", {"seconds": 0.02}) for _ in range(4))
    async with Server([reply, "ok"]) as server, Client(server.base_url, server.model) as client:
        events = await collect(Agent(client, [quick], max_concurrency=2).run("go"))
    running = peak = 0
    for event in events:
        running += (type(event) is ToolStarted) - (type(event) is ToolFinished)
        peak = max(peak, running)
    assert peak == 2 and len(of(ToolFinished, events)) == 4


async def test_agent_options_are_checked() -> None:
    async with Client("http://127.0.0.1:9/v1", "m") as client:
        with pytest.raises(UsageError, match="two tools are named 'quick'"):
            Agent(client, [quick, quick])
        with pytest.raises(UsageError, match="at least 1"):
            Agent(client, [quick], max_turns=0)
        with pytest.raises(UsageError, match="timeout"):
            Agent(client, [quick], timeout=0)
