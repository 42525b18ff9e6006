"""The client over real sockets on 127.0.0.1, against the embedded server.

Never a mocked client: every test posts a real request to
:class:`~streamparse.server.Server` (or, for bodies that server cannot
produce, a bare aiohttp app) and reads the real SSE bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import re
import socket
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest
import stamina
import stamina.instrumentation
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamparse import (
    Event,
    Finish,
    LLMConnectionError,
    LLMDisconnectedError,
    LLMError,
    LLMResponseError,
    LLMStreamError,
    LLMTimeoutError,
    Message,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    UsageError,
    parse,
)
from streamparse.server.pieces import Chunking
from streamparse.client import Client, Response, Retries, Stream, Timeouts
from streamparse.server import Fault, Reply, Server

from .helpers import merge, run

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
TWO_CALLS = (
    "Sure, checking."
    + CALL
    + '\n<tool_call>\n{"name": "get_time", "arguments": {"tz": "UTC", "fmt": {"h": 24}}}\n</tool_call>'
)
LONG = "The quick brown fox jumps over the lazy dog. " * 40
MODES = pytest.mark.parametrize("tool_parser", [False, True], ids=["tags-in-content", "server-parsed"])
ENV = ("STREAMPARSE_BASE_URL", "STREAMPARSE_MODEL", "STREAMPARSE_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No developer environment leaks in; stamina without waits but with the client's own attempts.

    ``set_testing(True)`` alone would force ``attempts=1`` (no retry at all);
    ``cap=True`` keeps the client's value, up to 10.
    """
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


@contextlib.contextmanager
def retries_seen() -> Iterator[list[stamina.instrumentation.RetryDetails]]:
    """The retries stamina schedules, with the wait it chose for each."""
    seen: list[stamina.instrumentation.RetryDetails] = []

    def hook(details: stamina.instrumentation.RetryDetails) -> None:
        seen.append(details)

    stamina.instrumentation.set_on_retry_hooks([hook])
    try:
        yield seen
    finally:
        stamina.instrumentation.set_on_retry_hooks(None)


async def collect(stream: Stream) -> list[Event]:
    return [event async for event in stream]


async def collect_into(stream: Stream, received: list[Event]) -> None:
    """Like :func:`collect`, keeping what arrived when the stream fails."""
    async for event in stream:
        received.append(event)


def calls(message: Message) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, c.arguments) for c in message.tool_calls]


def text_of(events: list[Event]) -> str:
    return "".join(e.text for e in events if type(e) is TextDelta)


def without_ids(events: list[Event]) -> list[Event]:
    out: list[Event] = []
    for e in events:
        if type(e) in (ToolCallStart, ToolCallEnd):
            e = msgspec.structs.replace(e, id="")
        out.append(e)
    return out


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class RawServer:
    """A bare aiohttp app's address and the request bodies it received."""

    def __init__(self) -> None:
        self.base_url = ""
        self.model = "m"  # a bare app checks no model
        self.requests: list[Any] = []


@contextlib.asynccontextmanager
async def raw_server(status: int, body: bytes, content_type: str = "text/event-stream") -> AsyncIterator[RawServer]:
    """Serve ``body`` as it is, for shapes the scripted server never sends."""
    box = RawServer()

    async def handler(request: web.Request) -> web.StreamResponse:
        box.requests.append(msgspec.json.decode(await request.read()))
        resp = web.StreamResponse(status=status, headers={"Content-Type": content_type})
        await resp.prepare(request)
        await resp.write(body)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    box.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    try:
        yield box
    finally:
        await runner.cleanup()


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
    payload = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"


# -- events -----------------------------------------------------------------------


async def test_stream_gives_the_parser_events_then_finish() -> None:
    async with Server([TWO_CALLS]) as server, Client(server.base_url, server.model) as client:
        stream = client.stream("Weather in Paris?")
        events = await collect(stream)
    *body, finish = events
    assert merge(body) == merge(run([TWO_CALLS]))  # exactly what the parser emits
    assert isinstance(finish, Finish) and finish.finish_reason == "stop"  # no server tool parser: vLLM says stop
    usage = finish.usage
    assert usage is not None and usage.prompt_tokens and usage.completion_tokens
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    # ToolCallEnd for the first call comes before the second call starts.
    kinds = [(type(e).__name__, getattr(e, "index", None)) for e in body if type(e) is not ToolCallDelta]
    assert kinds.index(("ToolCallEnd", 0)) < kinds.index(("ToolCallStart", 1))
    assert stream.message == parse(TWO_CALLS)
    [request] = server.requests
    assert request.json["stream"] is True
    assert request.json["stream_options"] == {"include_usage": True}  # usage by default
    assert request.json["messages"] == [{"role": "user", "content": "Weather in Paris?"}]
    assert request.json["model"] == server.model


@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
async def test_reasoning_from_either_server_field(field: str) -> None:
    reply = Reply("It is sunny.", reasoning="The user asks about the weather.")
    async with Server([reply], reasoning_field=field) as server, Client(server.base_url, server.model) as client:
        stream = client.stream("Weather?")
        events = await collect(stream)
    reasoning = "".join(e.text for e in events if type(e) is ReasoningDelta)
    assert reasoning == "The user asks about the weather."
    first_text = next(i for i, e in enumerate(events) if type(e) is TextDelta)
    assert all(type(e) is ReasoningDelta for e in events[:first_text])
    assert stream.message.reasoning == "The user asks about the weather."
    assert stream.message.content == "It is sunny."
    assert events[-1] == Finish(finish_reason="stop", usage=events[-1].usage)  # type: ignore[attr-defined]


async def test_think_block_in_content_is_reasoning() -> None:
    async with Server(["<think>hmm</think>Hello"]) as server, Client(server.base_url, server.model) as client:
        stream = client.stream("hi")
        await collect(stream)
    assert stream.message.reasoning == "hmm" and stream.message.content == "Hello"


@MODES
async def test_both_tool_call_sources_give_the_same_events(tool_parser: bool) -> None:
    async with Server([TWO_CALLS], tool_parser=tool_parser) as server, Client(server.base_url, server.model) as client:
        stream = client.stream("Weather and time?")
        events = await collect(stream)
    assert without_ids(merge(events[:-1])) == without_ids(merge(run([TWO_CALLS])))
    assert calls(stream.message) == [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "UTC", "fmt": {"h": 24}})]
    assert stream.message.content == "Sure, checking."
    starts = [e for e in events if type(e) is ToolCallStart]
    if tool_parser:  # the server's ids are kept
        assert all(re.fullmatch(r"chatcmpl-tool-[0-9a-f]{32}", e.id) for e in starts)
    else:
        assert [e.id for e in starts] == ["call_0", "call_1"]


# -- configuration ------------------------------------------------------------------


async def test_settings_come_from_streamparse_env(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Server(["hi"] * 2, model="env-model", aliases=["explicit"]) as server:
        monkeypatch.setenv("STREAMPARSE_BASE_URL", server.base_url)
        monkeypatch.setenv("STREAMPARSE_MODEL", "env-model")
        monkeypatch.setenv("STREAMPARSE_API_KEY", "sp-key")
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")  # loses to STREAMPARSE_*
        monkeypatch.setenv("OPENAI_API_KEY", "openai-key")
        async with Client() as client:
            await collect(client.stream("hi"))
        async with Client(model="explicit", api_key="arg-key") as client:  # arguments win
            await collect(client.stream("hi"))
    first, second = server.requests
    assert first.json["model"] == "env-model"
    assert first.headers["authorization"] == "Bearer sp-key"
    assert second.json["model"] == "explicit"
    assert second.headers["authorization"] == "Bearer arg-key"


async def test_settings_fall_back_to_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Server(["hi"], model="m") as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url + "/")
        monkeypatch.setenv("OPENAI_API_KEY", "openai-key")
        async with Client(model="m") as client:
            await collect(client.stream("hi"))
    assert server.requests[0].headers["authorization"] == "Bearer openai-key"


async def test_no_key_sends_no_authorization() -> None:
    async with Server(["hi"]) as server, Client(server.base_url, server.model) as client:
        await collect(client.stream("hi"))
    assert "authorization" not in server.requests[0].headers


async def test_without_a_model_the_client_asks_the_server() -> None:
    async with Server(["hi", "again"], model="served-model") as server, Client(server.base_url) as client:
        await collect(client.stream("hi"))
        await collect(client.stream("hi"))
        assert client.model == "served-model"
    assert [r.json["model"] for r in server.requests] == ["served-model"] * 2


async def test_extra_request_fields_pass_through() -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}]
    async with Server(["hi"]) as server, Client(server.base_url, server.model) as client:
        await collect(
            client.stream(
                messages,
                tools=tools,
                temperature=0.2,
                max_tokens=64,
                tool_choice="auto",
                extra_body={"top_k": 20, "chat_template_kwargs": {"enable_thinking": False}},
            )
        )
    body = server.requests[0].json
    assert body["messages"] == messages and body["tools"] == tools
    assert (body["temperature"], body["max_tokens"], body["tool_choice"]) == (0.2, 64, "auto")
    assert body["top_k"] == 20 and body["chat_template_kwargs"] == {"enable_thinking": False}
    assert "extra_body" not in body


# -- chat() -------------------------------------------------------------------------


@MODES
async def test_chat_builds_the_same_message(tool_parser: bool) -> None:
    reply = Reply(TWO_CALLS, reasoning="Two tools needed.")
    async with Server([reply], tool_parser=tool_parser) as server, Client(server.base_url, server.model) as client:
        response = await client.chat("Weather and time?", temperature=0)
    assert isinstance(response, Response)
    assert response.finish_reason == ("tool_calls" if tool_parser else "stop")
    assert response.usage is not None and response.usage.completion_tokens
    message = response.message
    assert message.content == "Sure, checking."
    assert message.reasoning == "Two tools needed."
    assert calls(message) == calls(parse(TWO_CALLS))
    if tool_parser:
        assert all(c.id.startswith("chatcmpl-tool-") for c in message.tool_calls)
    body = server.requests[0].json
    assert body["stream"] is False and "stream_options" not in body and body["temperature"] == 0


async def test_chat_errors_and_retries() -> None:
    async with Server(["ok", Reply("x", fault=Fault(status=404, message="no such model"))], fail_first=1) as server:
        async with Client(server.base_url, server.model) as client:
            assert (await client.chat("hi")).message.content == "ok"
            with pytest.raises(LLMResponseError) as info:
                await client.chat("hi")
    assert info.value.status == 404 and info.value.server_message == "no such model"
    assert len(server.requests) == 3


# -- property: any output x any chunking x both sources ---------------------------------

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=10)
    | st.sampled_from(["</tool_call>", "<tool_call>", '{"a": "}"}', "\\", "\n"])
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
TOOL_CALL = st.tuples(
    st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True), st.dictionaries(st.text(max_size=6), JSON, max_size=4)
)
PROSE = st.text(st.characters(codec="utf-8", exclude_characters="<"), max_size=40) | st.sampled_from(
    ["a < b", "<tool", "<b>bold</b>", "</tool_call", " 東京 🌸 ", "\n\n"]
)


def hermes(name: str, arguments: dict[str, Any], ascii: bool) -> str:
    call = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=ascii)
    return f"<tool_call>\n{call}\n</tool_call>"


@st.composite
def model_outputs(draw: st.DrawFn) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    parts: list[str] = []
    expected: list[tuple[str, dict[str, Any]]] = []
    for _ in range(draw(st.integers(0, 4))):
        parts.append(draw(PROSE))
        if draw(st.booleans()):
            name, arguments = draw(TOOL_CALL)
            parts.append(hermes(name, arguments, draw(st.booleans())))
            expected.append((name, arguments))
    parts.append(draw(PROSE))
    return "".join(parts), expected


CHUNKINGS = st.builds(
    Chunking,
    seed=st.integers(0, 2**32),
    max_piece=st.integers(1, 12),
    whole_tag=st.sampled_from([0.0, 0.5, 1.0]),
    empty=st.sampled_from([0.0, 0.1]),
)


@pytest.fixture(scope="module")
def echo() -> Iterator[tuple[asyncio.AbstractEventLoop, dict[bool, Server], Client]]:
    """One loop, one client and two servers (both tool-call sources) for every example.

    The servers answer with the request's user message: the model output travels in the request.
    """
    loop = asyncio.new_event_loop()

    def reply(body: dict[str, Any]) -> str:
        content: str = body["messages"][-1]["content"]
        return content

    servers = {mode: Server(reply, tool_parser=mode, model="m") for mode in (False, True)}
    for server in servers.values():
        loop.run_until_complete(server.start())
    client = Client("http://127.0.0.1:1/v1", "m")
    try:
        yield loop, servers, client
    finally:
        loop.run_until_complete(client.close())
        for server in servers.values():
            loop.run_until_complete(server.stop())
        loop.close()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(output=model_outputs(), raw_chunking=CHUNKINGS, parsed_chunking=CHUNKINGS)
def test_any_output_any_chunking_either_source_same_message(
    echo: tuple[asyncio.AbstractEventLoop, dict[bool, Server], Client],
    output: tuple[str, list[tuple[str, dict[str, Any]]]],
    raw_chunking: Chunking,
    parsed_chunking: Chunking,
) -> None:
    loop, servers, client = echo
    text, expected = output
    servers[False].chunking = raw_chunking
    servers[True].chunking = parsed_chunking

    async def both() -> list[Message]:
        messages = []
        for mode, server in servers.items():
            client.base_url = server.base_url
            stream = client.stream(text)
            events = await collect(stream)
            assert type(events[-1]) is Finish
            assert events[-1].finish_reason == ("tool_calls" if mode and expected else "stop")
            messages.append(stream.message)
        return messages

    raw, parsed = loop.run_until_complete(both())
    reference = parse(text)
    assert calls(raw) == calls(parsed) == calls(reference) == expected
    assert raw.content == parsed.content == reference.content
    assert raw.invalid_tool_calls == parsed.invalid_tool_calls == []


# -- retries --------------------------------------------------------------------------


async def test_connection_refused_is_retried_then_raised() -> None:
    async with Client(f"http://127.0.0.1:{closed_port()}/v1", "m", retries=Retries(attempts=3)) as client:
        with retries_seen() as seen, pytest.raises(LLMConnectionError) as info:
            await collect(client.stream("hi"))
    assert len(seen) == 2  # three attempts
    assert all(isinstance(d.caused_by, LLMConnectionError) for d in seen)
    assert info.value.partial == Message()


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried(status: int) -> None:
    failure = Fault(status=status, message="busy")
    async with Server(["Hello!"], fail_first=2, failure=failure) as server:
        async with Client(server.base_url, server.model, retries=Retries(attempts=3)) as client:
            stream = client.stream("hi")
            await collect(stream)
    assert stream.message.content == "Hello!"
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_client_errors_are_not_retried(status: int) -> None:
    async with Server([Reply("x", fault=Fault(status=status, message="nope")), "spare"]) as server:
        async with Client(server.base_url, server.model) as client:
            with pytest.raises(LLMResponseError) as info:
                await collect(client.stream("hi"))
    assert info.value.status == status
    assert len(server.requests) == 1


@pytest.mark.parametrize("attempts", [1, 2, 4])
async def test_attempts_are_configurable(attempts: int) -> None:
    async with Server(["never"], fail_first=10) as server:
        async with Client(server.base_url, server.model, retries=Retries(attempts=attempts)) as client:
            with pytest.raises(LLMResponseError) as info:
                await collect(client.stream("hi"))
    assert info.value.status == 503
    assert len(server.requests) == attempts


async def test_retry_after_is_honoured_and_only_finite_delays_count() -> None:
    replies: list[Reply | str] = [
        Reply("x", fault=Fault(status=429, retry_after=0.02)),  # honoured
        Reply("x", fault=Fault(status=429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")),  # an HTTP date, past: 0
        Reply("x", fault=Fault(status=503, retry_after="nan")),  # not a delay: backoff
        Reply("x", fault=Fault(status=503, retry_after="inf")),
        Reply("x", fault=Fault(status=503, retry_after="-5")),
        "done",
    ]
    retries = Retries(attempts=6, wait_initial=0.001, wait_max=0.001, wait_jitter=0.0, max_retry_after=0.05)
    # Real waits: stamina's testing mode replaces a custom wait with 0.
    with stamina.set_testing(False), retries_seen() as seen:
        async with Server(replies) as server, Client(server.base_url, server.model, retries=retries) as client:
            stream = client.stream("hi")
            await collect(stream)
    assert stream.message.content == "done"
    assert [round(d.wait_for, 3) for d in seen] == [0.02, 0.0, 0.001, 0.001, 0.001]


@pytest.mark.parametrize("retry_after", ["99999", "in-100-s"])
async def test_retry_after_above_the_cap_fails_fast(retry_after: str) -> None:
    if retry_after == "in-100-s":
        retry_after = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(seconds=100), usegmt=True)
    replies: list[Reply | str] = [Reply("x", fault=Fault(status=429, retry_after=retry_after)), "never"]
    with stamina.set_testing(False), retries_seen() as seen:
        async with Server(replies) as server, Client(server.base_url, server.model, retries=Retries(max_retry_after=30)) as client:
            started = time.monotonic()
            with pytest.raises(LLMResponseError) as info:
                await collect(client.stream("hi"))
    assert time.monotonic() - started < 2 and seen == [] and len(server.requests) == 1
    assert info.value.status == 429 and info.value.retry_after is not None and info.value.retry_after > 90


async def test_a_retry_wait_past_the_total_timeout_fails_fast() -> None:
    replies: list[Reply | str] = [Reply("x", fault=Fault(status=503, retry_after=5)), "never"]
    retries = Retries(max_retry_after=30)
    with stamina.set_testing(False):
        async with Server(replies) as server:
            async with Client(server.base_url, server.model, retries=retries, timeouts=Timeouts(total=2)) as client:
                started = time.monotonic()
                with pytest.raises(LLMResponseError):
                    await collect(client.stream("hi"))
    assert time.monotonic() - started < 1.5 and len(server.requests) == 1


async def test_a_stream_that_produced_events_is_never_retried() -> None:
    async with Server([Reply(LONG, fault=Fault(drop_after=6)), "spare"]) as server:
        async with Client(server.base_url, server.model) as client:
            received: list[Event] = []
            with pytest.raises(LLMConnectionError) as info:
                async for event in client.stream("hi"):
                    received.append(event)
    assert len(server.requests) == 1
    assert len(received) >= 1 and all(type(e) is TextDelta for e in received)
    partial = info.value.partial
    assert partial is not None and partial.content == text_of(received).strip()
    assert LONG.startswith(text_of(received))


async def test_a_dropped_stream_keeps_a_completed_call_and_reports_an_open_one() -> None:
    # ~90 pieces before the second call, ~600 inside its arguments: event 200 is inside them.
    text = "Hi." + CALL + hermes("write", {"text": "slow " * 500}, ascii=True)
    async with Server([Reply(text, fault=Fault(drop_after=200))], tool_parser=True) as server:
        async with Client(server.base_url, server.model) as client:
            with pytest.raises(LLMConnectionError) as info:
                await collect(client.stream("hi"))
    partial = info.value.partial
    assert partial is not None
    assert partial.content == "Hi."
    assert calls(partial) == [("get_weather", {"city": "Paris"})]
    [invalid] = partial.invalid_tool_calls
    assert invalid.index == 1 and invalid.raw.startswith('{"text": "slow slow')
    assert len(server.requests) == 1


# -- timeouts -------------------------------------------------------------------------


async def test_first_byte_timeout() -> None:
    async with Server([Reply("late", fault=Fault(headers_delay=10))]) as server:
        async with Client(server.base_url, server.model, timeouts=Timeouts(first_byte=0.2)) as client:
            with pytest.raises(LLMTimeoutError) as info:
                await asyncio.wait_for(collect(client.stream("hi")), 5)
    assert info.value.timeout == "first_byte" and info.value.seconds == 0.2
    assert info.value.partial == Message()
    assert len(server.requests) == 1  # a timeout is not retried


@pytest.mark.parametrize(
    ("stall_after", "delay"), [(2, 0.0), (5, 0.01)], ids=["after-the-first-read", "after-later-reads"]
)
async def test_idle_timeout(stall_after: int, delay: float) -> None:
    # After the first read, the running timer was armed with first_byte: the client must re-arm it.
    fault = Fault(stall_after=stall_after, stall=10)
    async with Server([Reply(LONG, fault=fault)], delay=delay) as server:
        async with Client(server.base_url, server.model, timeouts=Timeouts(first_byte=30, idle=0.2)) as client:
            received: list[Event] = []
            with pytest.raises(LLMTimeoutError) as info:
                await asyncio.wait_for(collect_into(client.stream("hi"), received), 5)
    assert info.value.timeout == "idle" and info.value.seconds == 0.2
    assert received and info.value.partial == Message(content=text_of(received).strip())


async def test_total_timeout() -> None:
    async with Server([LONG], delay=0.01) as server:
        async with Client(server.base_url, server.model, timeouts=Timeouts(total=0.3)) as client:
            received: list[Event] = []
            with pytest.raises(LLMTimeoutError) as info:
                await asyncio.wait_for(collect_into(client.stream("hi"), received), 5)
    assert info.value.timeout == "total"
    assert received and info.value.partial == Message(content=text_of(received).strip())


async def test_connect_timeout() -> None:
    # A listener whose accept queue is full drops further SYNs: connect() hangs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        try:
            probe = socket.socket()
            probe.settimeout(0.2)
            try:
                probe.connect(("127.0.0.1", port))
                pytest.skip("this kernel accepts past the backlog: cannot make connect() hang")
            except OSError:
                pass
            finally:
                probe.close()
            url = f"http://127.0.0.1:{port}/v1"
            async with Client(url, "m", timeouts=Timeouts(connect=0.2), retries=Retries(attempts=1)) as client:
                with pytest.raises(LLMTimeoutError) as info:
                    await asyncio.wait_for(collect(client.stream("hi")), 5)
        finally:
            for filler in fillers:
                filler.close()
    assert info.value.timeout == "connect"


async def test_many_concurrent_streams_through_one_client() -> None:
    n = 150
    arrived = 0
    all_in = asyncio.Event()

    async def one(client: Client) -> Message:
        nonlocal arrived
        stream = client.stream("hi")
        await stream.__anext__()
        # Hold the connection open until every stream has its first event:
        # a connection cap below n would deadlock here.
        arrived += 1
        if arrived == n:
            all_in.set()
        await all_in.wait()
        await collect(stream)
        return stream.message

    async with Server(lambda body: "Hello there, general Kenobi!") as server, Client(server.base_url, server.model) as client:
        messages = await asyncio.wait_for(asyncio.gather(*(one(client) for _ in range(n))), 15)
    assert [m.content for m in messages] == ["Hello there, general Kenobi!"] * n
    assert len(server.requests) == n


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("error_format", ["current", "flat"])
async def test_http_error_in_both_body_shapes(error_format: str) -> None:
    fault = Fault(
        status=400,
        message="max_tokens is too large",
        error_format=error_format,  # type: ignore[arg-type]
        error_type="BadRequestError",
    )
    async with Server([Reply("x", fault=fault)]) as server, Client(server.base_url, server.model) as client:
        with pytest.raises(LLMResponseError) as info:
            await collect(client.stream("hi"))
    error = info.value
    assert (error.status, error.server_message, error.error_type, error.code) == (
        400,
        "max_tokens is too large",
        "BadRequestError",
        400,
    )
    assert "max_tokens is too large" in str(error)


async def test_http_error_with_a_non_json_body() -> None:
    async with raw_server(400, b"<html><body>Bad Request</body></html>\n", "text/html") as server:
        async with Client(server.base_url, server.model) as client:
            with pytest.raises(LLMResponseError) as info:
                await collect(client.stream("hi"))
    assert info.value.status == 400
    assert info.value.server_message == "<html><body>Bad Request</body></html>"
    assert info.value.error_type is None and info.value.code is None


async def test_retryable_status_with_a_non_json_body() -> None:
    async with raw_server(502, b"Bad Gateway", "text/plain") as server:
        async with Client(server.base_url, server.model, retries=Retries(attempts=2)) as client:
            with pytest.raises(LLMResponseError) as info:
                await collect(client.stream("hi"))
    assert (info.value.status, info.value.server_message) == (502, "Bad Gateway")
    assert len(server.requests) == 2


@pytest.mark.parametrize("error_format", ["current", "flat"])
async def test_in_band_error_event(error_format: str) -> None:
    fault = Fault(error_after=4, message="engine died", error_format=error_format)  # type: ignore[arg-type]
    async with Server([Reply(LONG, fault=fault), "spare"]) as server, Client(server.base_url, server.model) as client:
        received: list[Event] = []
        with pytest.raises(LLMStreamError) as info:
            async for event in client.stream("hi"):
                received.append(event)
    error = info.value
    assert "engine died" in str(error)
    assert (error.error_type, error.code) == ("InternalServerError", 500)
    assert len(received) == 3 and error.partial == Message(content=text_of(received).strip())
    assert len(server.requests) == 1


async def test_stream_without_done_and_without_finish_reason() -> None:
    body = chunk({"role": "assistant", "content": ""}) + chunk({"content": "Hel"}) + chunk({"content": "lo"})
    async with raw_server(200, body) as server, Client(server.base_url, server.model) as client:
        received: list[Event] = []
        with pytest.raises(LLMStreamError) as info:
            async for event in client.stream("hi"):
                received.append(event)
    assert "without [DONE]" in str(info.value)
    assert text_of(received) == "Hello" and info.value.partial == Message(content="Hello")


async def test_stream_without_done_but_with_finish_reason_is_complete() -> None:
    # Fault(done=False) still sends the finish_reason chunk (and usage): accepted.
    async with Server([Reply("Hi there", fault=Fault(done=False))]) as server, Client(server.base_url, server.model) as client:
        events = await collect(client.stream("hi"))
    assert text_of(events) == "Hi there"
    assert type(events[-1]) is Finish and events[-1].finish_reason == "stop" and events[-1].usage is not None


async def test_undecodable_event() -> None:
    body = chunk({"role": "assistant", "content": ""}) + chunk({"content": "Hi"}) + b'data: {"choices": [\n\n'
    async with raw_server(200, body) as server, Client(server.base_url, server.model) as client:
        with pytest.raises(LLMStreamError) as info:
            await collect(client.stream("hi"))
    assert "undecodable" in str(info.value) and '{"choices": [' in str(info.value)
    assert info.value.partial == Message(content="Hi")


async def test_event_above_max_event_size() -> None:
    async with Server([Reply("x" * 5000, fault=Fault(one_event=True))]) as server:
        async with Client(server.base_url, server.model, max_event_size=1000) as client:
            with pytest.raises(LLMStreamError) as info:
                await collect(client.stream("hi"))
    assert "larger than 1000 bytes" in str(info.value)
    assert info.value.partial == Message()


@MODES
async def test_keep_alive_comments_and_crlf(tool_parser: bool) -> None:
    fault = Fault(keep_alive=True, crlf=True)
    server = Server([TWO_CALLS], fault=fault, tool_parser=tool_parser)
    async with server, Client(server.base_url, server.model) as client:
        stream = client.stream("hi")
        events = await collect(stream)
    assert type(events[-1]) is Finish and events[-1].finish_reason == ("tool_calls" if tool_parser else "stop")
    assert calls(stream.message) == calls(parse(TWO_CALLS))
    assert stream.message.content == "Sure, checking."


async def test_sequential_streams_reuse_one_connection() -> None:
    # Paced events, as a model server sends them: the end of the HTTP body
    # arrives after [DONE], and the connection must still go back to the pool.
    server = Server(lambda body: "Hello there, " * 20, delay=0.001)
    peers: set[Any] = set()

    async def note(request: web.Request, response: web.StreamResponse) -> None:
        assert request.transport is not None
        peers.add(request.transport.get_extra_info("peername"))

    server.app.on_response_prepare.append(note)
    async with server, Client(server.base_url, server.model) as client:
        for _ in range(4):
            assert text_of(await collect(client.stream("hi"))) == "Hello there, " * 20
        await client.chat("hi")
    assert len(server.requests) == 5 and len(peers) == 1


# -- leaving early --------------------------------------------------------------------


async def test_break_closes_the_connection_at_once() -> None:
    async with Server([LONG * 5, "next"], delay=0.05) as server, Client(server.base_url, server.model) as client:
        seen = 0
        async for _ in client.stream("hi"):
            seen += 1
            if seen == 3:
                break
        await server.wait_for_disconnects(1, timeout=2)
        # The client is still usable.
        assert text_of(await collect(client.stream("hi"))) == "next"
    assert server.disconnects == 1


async def test_aclose_closes_the_connection_at_once() -> None:
    async with Server([LONG * 5], delay=0.05) as server, Client(server.base_url, server.model) as client:
        stream = client.stream("hi")
        await stream.__anext__()
        await stream.aclose()
        await server.wait_for_disconnects(1, timeout=2)
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()


# -- content --------------------------------------------------------------------------


@MODES
async def test_non_ascii_content_and_arguments(tool_parser: bool) -> None:
    prose = "Grüße aus 東京 🌸, ça va? Ελληνικά, עברית, 😀👍🏽. " * 60
    arguments = {"city": "東京", "note": "naïve 🙂 — \u2028 \\ \""}
    text = prose + hermes("get_weather", arguments, ascii=False) + "終わり"
    # Whole-char pieces, but the TCP reads still cut the UTF-8 bytes anywhere.
    async with Server([text], tool_parser=tool_parser, chunking=Chunking(seed=3)) as server:
        async with Client(server.base_url, server.model) as client:
            stream = client.stream("hi")
            await collect(stream)
    assert stream.message == msgspec.structs.replace(parse(text), tool_calls=stream.message.tool_calls)
    assert calls(stream.message) == [("get_weather", arguments)]


@MODES
@pytest.mark.parametrize("one_event", [False, True], ids=["many-events", "one-event"])
async def test_multi_megabyte_tool_call_argument(tool_parser: bool, one_event: bool) -> None:
    blob = ('ab"c\\dé世🙂\n' * 300_000)[:3_000_000]
    text = "Writing the file." + hermes("write_file", {"path": "a.txt", "content": blob}, ascii=False)
    chunking = Chunking(seed=5, min_piece=2000, max_piece=4000, max_multi=4000)
    fault = Fault(one_event=True) if one_event else None
    async with Server([Reply(text, fault=fault)], tool_parser=tool_parser, chunking=chunking) as server:
        async with Client(server.base_url, server.model) as client:
            stream = client.stream("hi")
            events = await collect(stream)
    assert calls(stream.message) == [("write_file", {"path": "a.txt", "content": blob})]
    assert stream.message.content == "Writing the file."
    assert sum(len(e.arguments) for e in events if type(e) is ToolCallDelta) >= len(blob)
    ends = [e for e in events if type(e) is ToolCallEnd]
    assert len(ends) == 1 and events.index(ends[0]) < len(events) - 1


async def test_a_response_is_read_in_pieces_the_heap_can_serve() -> None:
    # asyncio reads into a fresh 256 KiB buffer, which glibc maps and unmaps on every read;
    # at one event per read that cost a quarter of the CPU (the test above: large bodies still whole).
    async with Server(["Hello there, " * 20], delay=0.01) as server, Client(server.base_url, server.model) as client:
        async with client.stream("hi") as stream:
            await stream.__anext__()
            assert stream._resp is not None and stream._resp.connection is not None
            transport = stream._resp.connection.transport
            assert transport is not None and 0 < transport.max_size <= 64 * 1024  # type: ignore[attr-defined]


async def test_errors_are_llm_errors() -> None:
    for cls in (LLMConnectionError, LLMResponseError, LLMStreamError, LLMTimeoutError):
        assert issubclass(cls, LLMError)


async def test_stream_as_context_manager_closes_on_exit() -> None:
    async with Server([Reply("x" * 20_000)], delay=0.001) as server:
        async with Client(server.base_url, server.model) as client:
            async with client.stream("hi") as stream:
                async for _event in stream:
                    break
            await server.wait_for_disconnects(1, timeout=2)
            assert server.disconnects == 1


async def test_content_starting_inside_reasoning() -> None:
    text = 'Paris, then.</think>Sure.<tool_call>{"name": "f"}</tool_call>'
    async with Server([Reply(text)] * 2) as server:
        async with Client(server.base_url, server.model, in_reasoning=True) as client:
            streamed = [e async for e in client.stream("hi")]
            response = await client.chat("hi")
    assert merge(streamed)[0] == ReasoningDelta(text="Paris, then.")
    assert response.message.reasoning == "Paris, then." and response.message.content == "Sure."


async def test_a_connection_lost_before_the_first_event_is_retried() -> None:
    async with Server(["Hello!"], fail_first=1, failure=Fault(drop_after=0)) as server:
        async with Client(server.base_url, server.model, retries=Retries(attempts=2)) as client:
            stream = client.stream("hi")
            await collect(stream)
    assert stream.message.content == "Hello!"
    assert len(server.requests) == 2


async def test_a_connection_lost_after_the_finish_reason_still_finishes() -> None:
    # one_event: role (1), content (2), finish_reason (3), usage (4), then [DONE] never comes.
    reply = Reply("Hello!", fault=Fault(one_event=True, drop_after=4))
    async with Server([reply]) as server:
        async with Client(server.base_url, server.model) as client:
            events = await collect(client.stream("hi"))
    assert events[-1] == Finish(finish_reason="stop", usage=events[-1].usage)  # type: ignore[union-attr]
    assert merge(events)[0] == TextDelta(text="Hello!")


async def test_a_stream_cut_mid_way_is_both_a_connection_and_a_stream_error() -> None:
    async with Server([Reply("Hello there, how are you?", fault=Fault(drop_after=3))]) as server:
        async with Client(server.base_url, server.model) as client:
            with pytest.raises(LLMDisconnectedError) as info:
                await collect(client.stream("hi"))
    assert isinstance(info.value, LLMConnectionError) and isinstance(info.value, LLMStreamError)
    assert info.value.partial is not None and info.value.partial.content


async def test_an_error_answered_as_json_with_a_good_status() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "model overloaded", "type": "Overloaded", "code": 42}})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with Client(f"http://127.0.0.1:{port}/v1", "m") as client:
            with pytest.raises(LLMStreamError, match="model overloaded") as info:
                await collect(client.stream("hi"))
        assert info.value.code == 42
    finally:
        await runner.cleanup()


async def test_an_invalid_base_url_is_a_usage_error_not_retried() -> None:
    async with Client("localhost:8000", "m") as client:
        with pytest.raises(UsageError):
            await collect(client.stream("hi"))


# -- other servers' stream shapes -----------------------------------------------------


def raw_chunk(choices: list[dict[str, Any]], **fields: Any) -> bytes:
    payload = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices}
    return b"data: " + msgspec.json.encode({**payload, **fields}) + b"\n\n"


async def test_calls_sharing_index_zero_are_all_kept() -> None:
    # Ollama's /v1 sends every parallel call whole, each with index 0.
    def call(id: str, name: str, arguments: str) -> bytes:
        entry = {"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": arguments}}
        return chunk({"role": "assistant", "content": "", "tool_calls": [entry]})

    body = (
        call("call_1", "get_weather", '{"city":"Paris"}')
        + call("call_2", "get_time", '{"tz":"Asia/Tokyo"}')
        + chunk({}, "tool_calls")
        + b"data: [DONE]\n\n"
    )
    async with raw_server(200, body) as server, Client(server.base_url, server.model) as client:
        stream = client.stream("hi")
        await collect(stream)
    assert calls(stream.message) == [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "Asia/Tokyo"})]
    assert [c.id for c in stream.message.tool_calls] == ["call_1", "call_2"]


async def test_an_empty_finish_reason_is_not_a_finish() -> None:
    # SGLang-based APIs send finish_reason "" on every chunk: a stream cut after them is cut.
    body = chunk({"role": "assistant", "content": ""}, "") + chunk({"content": "Hel"}, "") + chunk({"content": "lo"}, "")
    async with raw_server(200, body) as server, Client(server.base_url, server.model) as client:
        with pytest.raises(LLMDisconnectedError) as info:
            await collect(client.stream("hi"))
    assert info.value.partial == Message(content="Hello")


async def test_an_empty_finish_reason_then_a_real_one() -> None:
    body = chunk({"content": "Hi"}, "") + chunk({}, "stop") + b"data: [DONE]\n\n"
    async with raw_server(200, body) as server, Client(server.base_url, server.model) as client:
        events = await collect(client.stream("hi"))
    assert events[-1] == Finish(finish_reason="stop")


@pytest.mark.parametrize("where", ["argument", "extra_body"])
async def test_n_above_one_is_refused_before_sending(where: str) -> None:
    params: dict[str, Any] = {"n": 2} if where == "argument" else {"extra_body": {"n": 2}}
    async with Server(["unused"]) as server, Client(server.base_url, server.model) as client:
        with pytest.raises(UsageError, match="n=2"):
            client.stream("hi", **params)
        with pytest.raises(UsageError, match="n=2"):
            await client.chat("hi", **params)
        await collect(client.stream("hi", n=1))  # n=1 is fine
    assert len(server.requests) == 1


async def test_a_second_choice_is_never_mixed_into_the_first() -> None:
    body = (
        raw_chunk([{"index": 0, "delta": {"content": "Hello"}}, {"index": 1, "delta": {"content": "Bonjour"}}])
        + b"data: [DONE]\n\n"
    )
    async with raw_server(200, body) as server, Client(server.base_url, server.model) as client:
        with pytest.raises(LLMStreamError, match="only n=1") as info:
            await collect(client.stream("hi"))
    assert info.value.partial == Message(content="Hello")


async def test_a_second_choice_in_a_whole_response_is_refused() -> None:
    answer = {
        "id": "c",
        "object": "chat.completion",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"},
            {"index": 1, "message": {"role": "assistant", "content": "Bonjour"}, "finish_reason": "stop"},
        ],
    }
    async with raw_server(200, msgspec.json.encode(answer), "application/json") as server:
        async with Client(server.base_url, server.model) as client:
            with pytest.raises(LLMStreamError, match="only n=1") as info:
                await client.chat("hi")
    assert info.value.partial == Message(content="Hello")


async def test_cached_prompt_tokens_reach_the_finish_and_the_response() -> None:
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 1,
        "total_tokens": 11,
        "prompt_tokens_details": {"cached_tokens": 8},
    }
    body = chunk({"content": "Hi"}, "stop") + raw_chunk([], usage=usage) + b"data: [DONE]\n\n"
    async with raw_server(200, body) as server, Client(server.base_url, server.model) as client:
        events = await collect(client.stream("hi"))
    finish = events[-1]
    assert isinstance(finish, Finish) and finish.usage is not None
    assert finish.usage.prompt_tokens_details == {"cached_tokens": 8}
    answer = {"choices": [{"index": 0, "message": {"content": "Hi"}, "finish_reason": "stop"}], "usage": usage}
    async with raw_server(200, msgspec.json.encode(answer), "application/json") as server:
        async with Client(server.base_url, server.model) as client:
            response = await client.chat("hi")
    assert response.usage is not None and response.usage.prompt_tokens_details == {"cached_tokens": 8}


async def test_a_malformed_call_from_the_tool_parser_server_is_one_invalid_call() -> None:
    text = 'Hi.<tool_call>\n{"name": "f", "arguments": {"a": 1,,}}\n</tool_call> after'
    async with Server([text], tool_parser=True) as server, Client(server.base_url, server.model) as client:
        stream = client.stream("hi")
        await collect(stream)
    assert stream.message.content == "Hi. after"
    [invalid] = stream.message.invalid_tool_calls
    assert invalid.raw == '{"a": 1,,}' and stream.message.tool_calls == []


async def test_a_grammar_file_is_built_once_per_client(tmp_path: Any) -> None:
    grammar = tmp_path / "mine.lark"
    grammar.write_text((Path(__file__).parent.parent / "grammars" / "hermes.lark").read_text())
    async with Server([CALL] * 3) as server:
        client = Client(server.base_url, server.model, format=str(grammar))
        grammar.unlink()  # a client that read it again for each request would fail now
        async with client:
            for _ in range(2):
                stream = client.stream("hi")
                await collect(stream)
                assert calls(stream.message) == [("get_weather", {"city": "Paris"})]
            assert calls((await client.chat("hi")).message) == [("get_weather", {"city": "Paris"})]
