"""The browser relay: its two SSE protocols, the request shapes it reads, and its aiohttp
handlers over real sockets (embedded LLM server -> Client -> relay -> aiohttp client).

The AI SDK's own reader checks the same relay in tests/test_web_node.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import msgspec
import pytest
import stamina
from aiohttp import web

from streamparse import (
    Finish,
    InvalidToolCall,
    LLMStreamError,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
)
from streamparse.agent import ToolFinished, ToolStarted
from streamparse.client import Client, Retries
from streamparse.core.events import AnyEvent, Event
from streamparse.errors import ChatRequestError
from streamparse.server import Fault, Reply, Server
from streamparse.web import (
    UI_MESSAGE_STREAM_HEADERS,
    StreamFailed,
    UIMessageChunks,
    add_routes,
    chat_messages,
    ui_message_stream,
)
from streamparse.web.routes import Run

CALL = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2]}}</tool_call>'
BROKEN = '<tool_call>{"name": "get_time", "arguments": {"tz": </tool_call>'
REPLY = Reply(f"Let me look.\n{CALL}\n{BROKEN}\nDone.", reasoning="Weather first.")
USER = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=1):
        yield


# -- the AI SDK's chunks, sans-IO --------------------------------------------


def chunks_of(events: list[Event], *, error: str | None = None) -> list[dict[str, Any]]:
    chunks = UIMessageChunks(message_id="m1")
    out = chunks.start()
    for event in events:
        out += chunks.event(event)
    return out + (chunks.error(error) if error is not None else chunks.finish())


def test_ui_chunks_for_a_response() -> None:
    events: list[Event] = [
        ReasoningDelta(text="Hm"),
        ReasoningDelta(text="m."),
        TextDelta(text="Sure."),
        ToolCallStart(index=0, id="c0", name="f"),
        ToolCallDelta(index=0, arguments='{"a": '),
        ToolCallDelta(index=0, arguments="1}"),
        ToolCallEnd(index=0, id="c0", name="f", arguments={"a": 1}),
        TextDelta(text=""),  # servers send empty deltas: no part for them
        TextDelta(text="Then"),
        Finish(finish_reason="tool_calls"),
    ]
    assert chunks_of(events) == [
        {"type": "start", "messageId": "m1"},
        {"type": "start-step"},
        {"type": "reasoning-start", "id": "reasoning-1"},
        {"type": "reasoning-delta", "id": "reasoning-1", "delta": "Hm"},
        {"type": "reasoning-delta", "id": "reasoning-1", "delta": "m."},
        {"type": "reasoning-end", "id": "reasoning-1"},
        {"type": "text-start", "id": "text-2"},
        {"type": "text-delta", "id": "text-2", "delta": "Sure."},
        {"type": "text-end", "id": "text-2"},
        {"type": "tool-input-start", "toolCallId": "c0", "toolName": "f"},
        {"type": "tool-input-delta", "toolCallId": "c0", "inputTextDelta": '{"a": '},
        {"type": "tool-input-delta", "toolCallId": "c0", "inputTextDelta": "1}"},
        {"type": "tool-input-available", "toolCallId": "c0", "toolName": "f", "input": {"a": 1}},
        {"type": "text-start", "id": "text-3"},
        {"type": "text-delta", "id": "text-3", "delta": "Then"},
        {"type": "text-end", "id": "text-3"},
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "tool-calls"},
    ]


def test_ui_chunks_for_invalid_calls() -> None:
    events: list[Event] = [
        ToolCallStart(index=0, id="c0", name="f"),
        ToolCallDelta(index=0, arguments="{"),
        InvalidToolCall(index=0, raw='<tool_call>{"name": "f", "arguments": {</tool_call>', error="cut"),
        InvalidToolCall(index=1, raw="<tool_call>nope</tool_call>", error="no name"),
    ]
    out = chunks_of(events)
    assert out[4] == {
        "type": "tool-input-error",
        "toolCallId": "c0",
        "toolName": "f",
        "input": '<tool_call>{"name": "f", "arguments": {</tool_call>',
        "errorText": "cut",
    }
    nameless = out[5]
    assert nameless["type"] == "tool-input-error" and nameless["dynamic"] is True and nameless["toolName"] == ""
    assert nameless["input"] == "<tool_call>nope</tool_call>" and nameless["toolCallId"].startswith("invalid-")
    assert out[-1] == {"type": "finish", "finishReason": "stop"}  # a stream without a Finish: it just ended


def test_ui_chunks_for_tool_results() -> None:
    ok = ToolFinished(index=0, id="c0", name="f", status="ok", content='{"temp_c": 18}', at=1.0, duration=0.5)
    text = ToolFinished(index=1, id="c1", name="g", status="ok", content="plain words", at=1.0, duration=0.5)
    failed = ToolFinished(
        index=2, id="c2", name="h", status="timeout", content='{"error": "h did not finish within 1 s"}', at=2.0, duration=1.0
    )
    out = chunks_of([ok, text, failed, ToolStarted(index=3, id="c3", name="i", at=2.0)])
    assert out[1:4] == [
        {"type": "tool-output-available", "toolCallId": "c0", "output": {"temp_c": 18}},
        {"type": "tool-output-available", "toolCallId": "c1", "output": "plain words"},
        {"type": "tool-output-error", "toolCallId": "c2", "errorText": "h did not finish within 1 s"},
    ]
    assert out[4:] == [{"type": "finish", "finishReason": "stop"}]  # no chunk for a tool that started


def test_ui_chunks_when_the_stream_fails() -> None:
    out = chunks_of([TextDelta(text="Half")], error="boom")
    assert [c["type"] for c in out] == [
        "start", "start-step", "text-start", "text-delta", "text-end", "finish-step", "error", "finish"
    ]
    assert out[-2:] == [{"type": "error", "errorText": "boom"}, {"type": "finish", "finishReason": "error"}]


def test_ui_chunks_steps_per_response() -> None:
    events: list[Event] = [TextDelta(text="a"), Finish(finish_reason="tool_calls"), TextDelta(text="b"), Finish(finish_reason="length")]
    types = [c["type"] for c in chunks_of(events)]
    assert types.count("start-step") == types.count("finish-step") == 2
    assert chunks_of(events)[-1] == {"type": "finish", "finishReason": "length"}
    assert chunks_of([Finish(finish_reason="weird")])[-1] == {"type": "finish", "finishReason": "other"}


async def test_ui_message_stream_bytes() -> None:
    async def events() -> AsyncIterator[Event]:
        yield TextDelta(text="line\nbreak")
        raise LLMStreamError("upstream broke")

    out = b"".join([data async for data in ui_message_stream(events(), message_id="m")])
    blocks = out.split(b"\n\n")
    assert blocks[-2:] == [b"data: [DONE]", b""]
    assert all(block.startswith(b"data: ") and b"\n" not in block for block in blocks[:-1])
    chunks = [msgspec.json.decode(block[6:]) for block in blocks[:-2]]
    assert {"type": "text-delta", "id": "text-1", "delta": "line\nbreak"} in chunks
    assert chunks[-2] == {"type": "error", "errorText": "upstream broke"}


# -- request shapes ----------------------------------------------------------


def test_chat_messages_prompt_and_openai_messages() -> None:
    assert chat_messages(b'{"prompt": "Hi"}') == [{"role": "user", "content": "Hi"}]
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert chat_messages({"messages": messages}) == messages


def test_chat_messages_use_chat_shape() -> None:
    body = {
        "id": "chat-1",
        "trigger": "submit-message",
        "messageId": None,
        "model": "ignored: the server chooses",
        "messages": [
            {"id": "s", "role": "system", "parts": [{"type": "text", "text": "Be brief."}]},
            {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Weather?"}]},
            {
                "id": "a1",
                "role": "assistant",
                "parts": [
                    {"type": "step-start"},
                    {"type": "reasoning", "text": "Use the tool."},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool-get_weather", "toolCallId": "c1", "state": "output-available",
                     "input": {"city": "Paris"}, "output": {"temp_c": 18}},
                    {"type": "dynamic-tool", "toolName": "lookup", "toolCallId": "c2", "state": "output-error",
                     "input": "{bad", "errorText": "invalid JSON"},
                    {"type": "tool-never_ran", "toolCallId": "c3", "state": "input-available", "input": {}},
                    {"type": "step-start"},
                    {"type": "text", "text": "18 °C."},
                    {"type": "data-weather", "data": {"x": 1}},
                ],
            },
            {"id": "u2", "role": "user", "parts": [
                {"type": "text", "text": "And this?"},
                {"type": "file", "mediaType": "image/png", "url": "data:image/png;base64,AAAA"},
            ]},
        ],
    }
    assert chat_messages(msgspec.json.encode(body)) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                {"id": "c2", "type": "function", "function": {"name": "lookup", "arguments": "{bad"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp_c":18}'},
        {"role": "tool", "tool_call_id": "c2", "content": '{"error":"invalid JSON"}'},
        {"role": "assistant", "content": "18 °C."},
        {"role": "user", "content": [
            {"type": "text", "text": "And this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ]},
    ]


@pytest.mark.parametrize(
    "body, why",
    [
        (b"not json", "not JSON"),
        (b"[1]", "JSON object"),
        (b"{}", '"prompt"'),
        (b'{"prompt": 3}', "prompt must be"),
        (b'{"messages": [{"role": "wizard", "content": "x"}]}', "messages[0]"),
        (b'{"messages": [{"role": "user", "parts": "x"}]}', "parts must be a list"),
        (b'{"messages": [{"role": "user", "parts": [{"text": "x"}]}]}', "parts[0]"),
        (b'{"messages": [{"role": "user", "parts": [{"type": "file", "mediaType": "application/pdf", "url": "u"}]}]}', "image"),
    ],
)
def test_chat_messages_errors(body: bytes, why: str) -> None:
    with pytest.raises(ChatRequestError, match=why.replace("[", r"\[").replace("]", r"\]")):
        chat_messages(body)


# -- the handlers, over real sockets ------------------------------------------


@contextlib.asynccontextmanager
async def relay(run: Run) -> AsyncIterator[str]:
    """An aiohttp app with the relay's routes; its base URL."""
    app = web.Application()
    add_routes(app, run, page={"prompt": "</script><b>hi"})
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def llm(*replies: Reply, **server: Any) -> AsyncIterator[tuple[Server, Client]]:
    async with Server(list(replies), **server) as srv, Client(srv.base_url, values=True, retries=Retries(attempts=1)) as client:
        yield srv, client


_decode_event = msgspec.json.Decoder(AnyEvent).decode


def sse_payloads(body: bytes) -> list[bytes]:
    blocks = body.split(b"\n\n")
    assert blocks[-1] == b"" and all(block.startswith(b"data: ") for block in blocks[:-1])
    return [block[6:] for block in blocks[:-1]]


async def direct(reply: Reply, **server: Any) -> list[Event]:
    async with llm(reply, **server) as (_, client):
        return [event async for event in client.stream(USER)]


@pytest.mark.parametrize("tool_parser", [False, True], ids=["tags-in-content", "server-parsed"])
async def test_own_events_relay_the_stream(tool_parser: bool) -> None:
    expected = await direct(REPLY, tool_parser=tool_parser)
    async with llm(REPLY, tool_parser=tool_parser) as (_, client), relay(lambda m: client.stream(m)) as url:
        async with aiohttp.ClientSession() as session, session.post(f"{url}/api/events", json={"prompt": "hi"}) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
            got = [_decode_event(p) for p in sse_payloads(await resp.read())]

    def same(events: list[Event]) -> list[Event]:  # server-parsed call ids are random per response
        return [msgspec.structs.replace(e, id="") if hasattr(e, "id") else e for e in events]

    assert same(got) == same(expected)
    kinds = {type(e).__name__ for e in got}
    assert {"ToolCallValueDelta", "ToolCallValue", "InvalidToolCall", "ReasoningDelta"} <= kinds


async def test_own_events_end_with_the_error() -> None:
    reply = Reply("Partial answer that breaks", fault=Fault(error_after=4, message="overloaded"))
    async with llm(reply) as (_, client), relay(lambda m: client.stream(m)) as url:
        async with aiohttp.ClientSession() as session, session.post(f"{url}/api/events", json={"prompt": "hi"}) as resp:
            payloads = sse_payloads(await resp.read())
    assert msgspec.json.decode(payloads[-1], type=StreamFailed) == StreamFailed(error="LLMStreamError", message="overloaded")
    text = "".join(e.text for e in map(_decode_event, payloads[:-1]) if isinstance(e, TextDelta))
    assert text and "Partial answer that breaks".startswith(text)


async def test_ui_protocol_headers_and_end() -> None:
    async with llm(REPLY) as (_, client), relay(lambda m: client.stream(m)) as url:
        async with aiohttp.ClientSession() as session, session.post(f"{url}/api/chat", json={"prompt": "hi"}) as resp:
            for name, value in UI_MESSAGE_STREAM_HEADERS.items():
                assert resp.headers[name] == value
            payloads = sse_payloads(await resp.read())
    assert payloads[-1] == b"[DONE]"
    chunks = [msgspec.json.decode(p) for p in payloads[:-1]]
    assert chunks[0]["type"] == "start" and chunks[-1] == {"type": "finish", "finishReason": "stop"}


@pytest.mark.parametrize("path", ["/api/chat", "/api/events"])
async def test_bad_request_is_400(path: str) -> None:
    async with llm() as (srv, client), relay(lambda m: client.stream(m)) as url:
        async with aiohttp.ClientSession() as session, session.post(url + path, data=b"{}") as resp:
            assert resp.status == 400
            assert '"prompt"' in (await resp.json())["error"]
        assert srv.requests == []


@pytest.mark.parametrize("path", ["/api/chat", "/api/events"])
async def test_refused_before_the_stream_is_502(path: str) -> None:
    refused = Reply(fault=Fault(status=400, message="model not found"))
    async with llm(refused) as (_, client), relay(lambda m: client.stream(m)) as url:
        async with aiohttp.ClientSession() as session, session.post(url + path, json={"prompt": "hi"}) as resp:
            assert resp.status == 502
            assert (await resp.json()) == {"error": "HTTP 400: model not found"}


async def test_a_browser_that_leaves_stops_the_stream() -> None:
    async with llm(Reply("word " * 200), delay=0.01) as (srv, client), relay(lambda m: client.stream(m)) as url:
        async with aiohttp.ClientSession() as session:
            resp = await session.post(f"{url}/api/events", json={"prompt": "hi"})
            assert (await resp.content.readline()).startswith(b"data: ")
            resp.close()  # the browser tab closes
        await srv.wait_for_disconnects(1, timeout=5)


async def test_the_page() -> None:
    async with llm() as (_, client), relay(lambda m: client.stream(m)) as url:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/") as resp:
            assert resp.status == 200 and resp.content_type == "text/html"
            html = await resp.text()
    assert "/*CONFIG*/" not in html and "<script" in html
    config = html.split('<script id="config" type="application/json">', 1)[1].split("</script>", 1)[0]
    assert msgspec.json.decode(config) == {"endpoint": "/api/events", "prompt": "</script><b>hi"}
    # Self-contained: nothing is loaded from elsewhere.
    assert "http://" not in html and "https://" not in html and " src=" not in html

