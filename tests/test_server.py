"""The scripted server over real sockets, read by a bare aiohttp client."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from streamparse.server.pieces import Chunking
from streamparse.server import Fault, RecordedRequest, Reply, Server, load_script

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
TWO_CALLS = (
    "Sure."
    + CALL
    + '\n<tool_call>\n{"name": "get_time", "arguments": {"tz": "UTC"}}\n</tool_call>'
)
CHAT_ID = re.compile(r"chatcmpl-[0-9a-f]{32}")
TOOL_ID = re.compile(r"chatcmpl-tool-[0-9a-f]{32}")
STREAM: dict[str, Any] = {"model": "streamparse-hermes", "stream": True, "messages": [{"role": "user", "content": "Weather in Paris?"}]}


async def post(server: Server, body: dict[str, Any] | None = None, **kwargs: Any) -> tuple[int, Any, bytes]:
    async with aiohttp.ClientSession() as session:
        url = server.base_url + "/chat/completions"
        async with session.post(url, json=STREAM if body is None else body, **kwargs) as resp:
            return resp.status, resp.headers, await resp.read()


def split_events(raw: bytes, nl: bytes = b"\n") -> list[bytes]:
    """The ``data:`` payloads; asserts the exact framing on the way."""
    assert raw.endswith(nl + nl)
    blocks = raw[: -2 * len(nl)].split(nl + nl)
    assert all(block.startswith(b"data: ") for block in blocks), blocks
    return [block[len(b"data: ") :] for block in blocks]


def chunks(raw: bytes) -> list[dict[str, Any]]:
    payloads = split_events(raw)
    assert payloads[-1] == b"[DONE]"
    out = []
    for payload in payloads[:-1]:
        assert msgspec.json.encode(json.loads(payload)) == payload  # compact JSON
        out.append(json.loads(payload))
    return out


def deltas(raw: bytes) -> list[dict[str, Any]]:
    """The deltas between the role chunk and the final chunk."""
    choices = [c["choices"][0] for c in chunks(raw) if c["choices"]]
    assert choices[-1]["finish_reason"] is not None
    return [c["delta"] for c in choices[1:-1]]


def joined(items: list[dict[str, Any]], key: str) -> str:
    return "".join(d[key] for d in items if d.get(key))


def arguments(items: list[dict[str, Any]], index: int) -> str:
    return "".join(
        e["function"].get("arguments", "")
        for d in items
        for e in d.get("tool_calls", [])
        if e["index"] == index
    )


# -- streaming, raw content ----------------------------------------------------


async def test_raw_stream_has_vllm_shapes() -> None:
    text = "Sure." + CALL
    async with Server([text]) as server:
        status, headers, raw = await post(server)
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream; charset=utf-8"
    all_chunks = chunks(raw)
    first, last = all_chunks[0], all_chunks[-1]
    assert CHAT_ID.fullmatch(first["id"])
    assert list(first) == ["id", "object", "created", "model", "choices"]
    assert first["object"] == "chat.completion.chunk"
    assert first["model"] == "streamparse-hermes"
    assert isinstance(first["created"], int)
    assert {c["id"] for c in all_chunks} == {first["id"]}
    assert first["choices"] == [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}
    ]
    assert last["choices"] == [
        {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop", "stop_reason": None}
    ]
    middle = deltas(raw)
    assert all(list(d) == ["content"] for d in middle)
    assert joined(middle, "content") == text  # tags stay in the content
    assert raw.endswith(b"\n\ndata: [DONE]\n\n")


async def test_chunking_is_token_like_and_deterministic() -> None:
    text = "Hello! " * 200 + CALL * 20
    chunking = Chunking(seed=7, empty=0.1)
    async with Server([text, text], chunking=chunking) as server:
        first = deltas((await post(server))[2])
        second = deltas((await post(server))[2])
    pieces = [d["content"] for d in first]
    assert pieces == [d["content"] for d in second] == chunking.split(text)
    assert "".join(pieces) == text
    assert "" in pieces  # empty deltas are real
    assert "<tool_call>" in pieces and any(p.endswith("<tool") for p in pieces)
    assert {len(p) for p in pieces} >= {1, 2, 3, 4, 5, 6} and max(map(len, pieces)) > 6


async def test_long_stream_is_whole_in_both_modes() -> None:
    # Several write batches and event groups: every event survives the joins.
    text = "word " * 5000 + CALL
    async with Server([Reply(text, reasoning="hmm " * 1000)] * 2) as server:
        raw = deltas((await post(server))[2])
        server.tool_parser = True
        parsed = deltas((await post(server))[2])
    assert len(raw) > 2000  # many event groups and write batches
    assert joined(raw, "reasoning") == joined(parsed, "reasoning") == "hmm " * 1000
    assert joined(raw, "content") == text
    assert joined(parsed, "content") == "word " * 5000
    assert arguments(parsed, 0) == '{"city": "Paris"}'


async def test_usage_chunk_when_asked() -> None:
    async with Server(["Hello there, how are you?"]) as server:
        _, _, raw = await post(server, {**STREAM, "stream_options": {"include_usage": True}})
    usage_chunk = chunks(raw)[-1]
    assert usage_chunk["choices"] == []
    assert list(usage_chunk) == ["id", "object", "created", "model", "choices", "usage"]
    usage = usage_chunk["usage"]
    assert usage["completion_tokens"] == len(deltas(raw))
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] == len(json.dumps(STREAM["messages"], separators=(",", ":"))) // 4


async def test_no_usage_chunk_by_default() -> None:
    async with Server(["Hi"]) as server:
        _, _, raw = await post(server)
    assert all(c["choices"] for c in chunks(raw))


async def test_reasoning_goes_in_its_own_field() -> None:
    async with Server([Reply("It is sunny.", reasoning="The user asks about weather.")] * 2) as server:
        current = deltas((await post(server))[2])
        server.reasoning_field = "reasoning_content"
        old = deltas((await post(server))[2])
    assert joined(current, "reasoning") == "The user asks about weather."
    assert joined(old, "reasoning_content") == "The user asks about weather."
    assert joined(current, "content") == "It is sunny."
    # Reasoning comes first, as a reasoning parser sends it.
    kinds = [next(iter(d)) for d in current if next(iter(d.values()))]
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning")


# -- streaming, server-side tool parsing -----------------------------------


async def test_tool_parser_stream_has_vllm_shapes() -> None:
    async with Server([TWO_CALLS], tool_parser=True) as server:
        _, _, raw = await post(server)
    all_chunks = chunks(raw)
    assert all_chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "tool_calls",
        "stop_reason": None,
    }
    middle = deltas(raw)
    assert joined(middle, "content").strip() == "Sure."
    entries = [e for d in middle for e in d.get("tool_calls", [])]
    starts = [e for e in entries if "id" in e]
    assert [list(e) for e in starts] == [["id", "type", "index", "function"]] * 2
    assert [(e["index"], e["type"], e["function"]) for e in starts] == [
        (0, "function", {"name": "get_weather"}),
        (1, "function", {"name": "get_time"}),
    ]
    assert all(TOOL_ID.fullmatch(e["id"]) for e in starts)
    assert starts[0]["id"] != starts[1]["id"]
    fragments = [e for e in entries if "id" not in e]
    assert all(list(e) == ["index", "function"] and list(e["function"]) == ["arguments"] for e in fragments)
    assert arguments(middle, 0) == '{"city": "Paris"}'
    assert arguments(middle, 1) == '{"tz": "UTC"}'
    # content:null rides on every delta that carries tool calls.
    assert all(d["content"] is None for d in middle if "tool_calls" in d and not d["content"])
    assert "<tool_call>" not in raw.decode()


async def test_tool_parser_sends_an_invalid_call_as_content() -> None:
    text = "<tool_call>\n{not json}\n</tool_call> after"
    async with Server([text], tool_parser=True) as server:
        _, _, raw = await post(server)
    middle = deltas(raw)
    assert not any("tool_calls" in d for d in middle)
    assert joined(middle, "content").replace(" ", "") == text.replace(" ", "")
    assert chunks(raw)[-1]["choices"][0]["finish_reason"] == "stop"


async def test_finish_reason_override() -> None:
    async with Server([Reply(CALL, finish_reason="length")], tool_parser=True) as server:
        _, _, raw = await post(server)
    assert chunks(raw)[-1]["choices"][0]["finish_reason"] == "length"


# -- non-streaming ---------------------------------------------------------------


async def test_non_streaming_raw() -> None:
    async with Server([Reply("Sure." + CALL, reasoning="thinking"), " \n "]) as server:
        status, headers, body = await post(server, {"messages": [{"role": "user", "content": "hi"}]})
        _, _, blank = await post(server, {"messages": []})
    assert status == 200 and headers["Content-Type"] == "application/json"
    result = json.loads(body)
    assert CHAT_ID.fullmatch(result["id"]) and result["object"] == "chat.completion"
    assert result["model"] == "streamparse-hermes"
    choice = result["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": "Sure." + CALL,
        "tool_calls": [],
        "reasoning": "thinking",
    }
    assert choice["finish_reason"] == "stop" and choice["stop_reason"] is None
    usage = result["usage"]
    assert usage["completion_tokens"] > 1
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert json.loads(blank)["choices"][0]["message"]["content"] is None


async def test_non_streaming_tool_parser() -> None:
    async with Server([TWO_CALLS, CALL], tool_parser=True, aliases=["x"]) as server:
        _, _, body = await post(server, {"model": "x", "messages": [{"role": "user", "content": "hi"}]})
        _, _, only_call = await post(server, {"messages": [{"role": "user", "content": "hi"}]})
    result = json.loads(body)
    assert result["model"] == "x"
    message = result["choices"][0]["message"]
    assert message["content"].strip() == "Sure."
    calls = message["tool_calls"]
    assert [c["function"] for c in calls] == [
        {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"name": "get_time", "arguments": '{"tz": "UTC"}'},
    ]
    assert all(TOOL_ID.fullmatch(c["id"]) and c["type"] == "function" for c in calls)
    assert result["choices"][0]["finish_reason"] == "tool_calls"
    assert json.loads(only_call)["choices"][0]["message"]["content"] is None


# -- other routes ----------------------------------------------------------------


async def test_models_and_health() -> None:
    async with Server(model="qwen") as server, aiohttp.ClientSession() as session:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1" and server.port > 0
        async with session.get(server.base_url + "/models") as resp:
            models = await resp.json()
        async with session.get(server.url + "/health") as resp:
            assert resp.status == 200 and await resp.read() == b""
    assert models["object"] == "list"
    assert [(m["id"], m["object"]) for m in models["data"]] == [("qwen", "model")]


# -- the script ------------------------------------------------------------------


async def test_callable_script_sees_the_request() -> None:
    def script(request: dict[str, Any]) -> Reply | str:
        if request["messages"][-1]["role"] == "tool":
            return "It is sunny in Paris."
        return Reply(CALL)

    async with Server(script, tool_parser=True) as server:
        first = deltas((await post(server))[2])
        follow_up = {**STREAM, "messages": [*STREAM["messages"], {"role": "tool", "content": "sunny"}]}
        second = deltas((await post(server, follow_up))[2])
    assert arguments(first, 0) == '{"city": "Paris"}'
    assert joined(second, "content") == "It is sunny in Paris."


async def test_exhausted_script_is_a_clear_500() -> None:
    async with Server(["only one"]) as server:
        await post(server)
        status, _, body = await post(server)
    assert status == 500
    error = json.loads(body)["error"]
    assert "exhausted" in error["message"] and error["type"] == "InternalServerError" and error["code"] == 500


async def test_script_error_is_a_500_not_a_crash() -> None:
    async with Server(lambda request: request["nope"]) as server:
        status, _, body = await post(server)
    assert status == 500 and "KeyError" in json.loads(body)["error"]["message"]


async def test_bad_request_body_is_a_400() -> None:
    async with Server(["x"]) as server, aiohttp.ClientSession() as session:
        async with session.post(server.base_url + "/chat/completions", data=b"{not json") as resp:
            status, body = resp.status, await resp.read()
    assert status == 400 and json.loads(body)["error"]["type"] == "BadRequestError"
    assert server.requests == []


def test_a_single_string_is_not_a_script() -> None:
    with pytest.raises(TypeError):
        Server("hello")


def test_load_script(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(
        json.dumps(
            [
                "Hello!",
                {"text": CALL, "reasoning": "weather"},
                {"text": "late", "fault": {"status": 429, "retry_after": 2}},
            ]
        )
    )
    assert load_script(path) == [
        Reply("Hello!"),
        Reply(CALL, reasoning="weather"),
        Reply("late", fault=Fault(status=429, retry_after=2)),
    ]
    path.write_text(json.dumps([{"txt": "typo"}]))
    with pytest.raises(msgspec.ValidationError):
        load_script(path)


# -- the request log -------------------------------------------------------------


async def test_requests_are_recorded() -> None:
    async with Server(["a", "b"]) as server:
        await post(server, headers={"Authorization": "Bearer sk-test", "X-Trace": "1"})
        await post(server, {"messages": [], "tools": [{"type": "function"}]})
    assert [r.json for r in server.requests] == [STREAM, {"messages": [], "tools": [{"type": "function"}]}]
    first = server.requests[0]
    assert isinstance(first, RecordedRequest)
    assert first.headers["authorization"] == "Bearer sk-test" and first.headers["x-trace"] == "1"


# -- faults --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error_format", "shape"),
    [
        ("current", lambda e: e["error"]),
        ("flat", lambda e: {k: v for k, v in e.items() if k != "object"} if e["object"] == "error" else None),
    ],
)
async def test_error_status_in_both_shapes(error_format: str, shape: Any) -> None:
    fault = Fault(status=400, message="bad model", error_format=error_format)  # type: ignore[arg-type]
    async with Server([Reply("x", fault=fault)]) as server:
        status, headers, body = await post(server)
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert shape(json.loads(body)) == {"message": "bad model", "type": "BadRequestError", "param": None, "code": 400}


async def test_429_with_retry_after() -> None:
    async with Server([Reply("x", fault=Fault(status=429, retry_after=3))]) as server:
        status, headers, body = await post(server)
    assert status == 429 and headers["Retry-After"] == "3"
    assert json.loads(body)["error"]["type"] == "RateLimitError"


async def test_delay_before_headers() -> None:
    async with Server([Reply("x", fault=Fault(headers_delay=0.2))]) as server:
        start = time.monotonic()
        status, _, _ = await post(server)
    assert status == 200 and time.monotonic() - start >= 0.2


async def test_delay_between_events() -> None:
    async with Server(["abcdefghijkl"], delay=0.02, chunking=Chunking(min_piece=3, max_piece=3, multi=0, empty=0)) as server:
        arrivals = []
        async with aiohttp.ClientSession() as session:
            async with session.post(server.base_url + "/chat/completions", json=STREAM) as resp:
                async for _ in resp.content.iter_chunks():
                    arrivals.append(time.monotonic())
    # role + 4 deltas + final + [DONE], each its own write.
    assert len(arrivals) >= 5 and arrivals[-1] - arrivals[0] >= 0.08


async def test_connection_dropped_after_n_events() -> None:
    async with Server([Reply("Hello there, world!", fault=Fault(drop_after=3)), "ok"]) as server:
        received = b""
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientPayloadError):
                async with session.post(server.base_url + "/chat/completions", json=STREAM) as resp:
                    async for data in resp.content.iter_any():
                        received += data
            assert len(split_events(received)) == 3
            # The next request gets the next reply on a fresh connection.
            async with session.post(server.base_url + "/chat/completions", json=STREAM) as resp:
                assert joined(deltas(await resp.read()), "content") == "ok"
    assert server.disconnects == 0  # the server's own drop is not the client leaving


async def test_non_streaming_drop_gives_no_answer() -> None:
    async with Server([Reply("x", fault=Fault(drop_after=0))]) as server:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await post(server, {"messages": [{"role": "user", "content": "hi"}]})


@pytest.mark.parametrize("error_format", ["current", "flat"])
async def test_in_band_error_then_done(error_format: str) -> None:
    fault = Fault(error_after=2, message="engine died", error_format=error_format)  # type: ignore[arg-type]
    async with Server([Reply("Hello there, world!", fault=fault)]) as server:
        status, _, raw = await post(server)
    assert status == 200
    payloads = split_events(raw)
    assert len(payloads) == 4 and payloads[-1] == b"[DONE]"
    error = json.loads(payloads[2])
    info = error["error"] if error_format == "current" else error
    assert info["message"] == "engine died" and info["code"] == 500


async def test_no_done_at_the_end() -> None:
    async with Server([Reply("Hi", fault=Fault(done=False))]) as server:
        _, _, raw = await post(server)
    payloads = split_events(raw)
    assert b"[DONE]" not in payloads
    assert json.loads(payloads[-1])["choices"][0]["finish_reason"] == "stop"


async def test_keep_alive_comments_and_crlf() -> None:
    async with Server(["Hello"], fault=Fault(keep_alive=True, crlf=True)) as server:
        _, _, raw = await post(server)
    assert b"\n\n" not in raw.replace(b"\r\n", b"")  # no bare LF anywhere
    blocks = raw[:-4].split(b"\r\n\r\n")
    assert blocks[0].startswith(b"data: ")
    assert blocks[1::2] == [b": keep-alive"] * (len(blocks) // 2)
    assert all(b.startswith(b"data: ") for b in blocks[::2]) and blocks[-1] == b"data: [DONE]"


async def test_one_huge_event() -> None:
    text = "x" * 5_000_000
    async with Server([Reply(text, fault=Fault(one_event=True))]) as server:
        _, _, raw = await post(server)
    middle = deltas(raw)
    assert len(middle) == 1 and middle[0]["content"] == text


async def test_stall_mid_stream() -> None:
    fault = Fault(stall_after=2, stall=0.3)
    async with Server([Reply("Hello there", fault=fault)]) as server, aiohttp.ClientSession() as session:
        async with session.post(server.base_url + "/chat/completions", json=STREAM) as resp:
            start = time.monotonic()
            await resp.content.readuntil(b"\n\n")
            await resp.content.readuntil(b"\n\n")
            assert time.monotonic() - start < 0.2
            await resp.content.readuntil(b"\n\n")
            assert time.monotonic() - start >= 0.3


async def test_fail_first_requests_then_succeed() -> None:
    async with Server(["ok"], fail_first=2) as server:
        results = [await post(server) for _ in range(3)]
    assert [status for status, _, _ in results[:2]] == [503, 503]
    assert json.loads(results[0][2])["error"]["type"] == "ServiceUnavailableError"
    assert results[2][0] == 200 and joined(deltas(results[2][2]), "content") == "ok"
    assert len(server.requests) == 3


async def test_fail_first_with_a_mid_stream_fault_keeps_the_reply() -> None:
    async with Server(["Hello there, world!"], fail_first=1, failure=Fault(drop_after=2)) as server:
        with pytest.raises(aiohttp.ClientPayloadError):
            await post(server)
        _, _, raw = await post(server)
    assert joined(deltas(raw), "content") == "Hello there, world!"


async def test_server_wide_fault_yields_to_the_reply_fault() -> None:
    replies: list[Reply | str] = ["a", Reply("b", fault=Fault(status=404))]
    async with Server(replies, fault=Fault(status=500, error_format="flat")) as server:
        first, _, body = await post(server)
        second, _, _ = await post(server)
    assert (first, second) == (500, 404)
    assert json.loads(body)["object"] == "error"


# -- disconnects and lifecycle ---------------------------------------------------


async def test_client_leaving_early_is_counted() -> None:
    async with Server(["x" * 2000], delay=0.005) as server, aiohttp.ClientSession() as session:
        async with session.post(server.base_url + "/chat/completions", json=STREAM) as resp:
            await resp.content.readuntil(b"\n\n")
            await resp.content.readuntil(b"\n\n")
        await server.wait_for_disconnects(1, timeout=2)
        assert server.disconnects == 1


async def test_stop_does_not_wait_for_open_streams() -> None:
    server = Server(["x" * 5000], delay=0.05)
    await server.start()
    async with aiohttp.ClientSession() as session:
        async with session.post(server.base_url + "/chat/completions", json=STREAM) as resp:
            await resp.content.readuntil(b"\n\n")
            start = time.monotonic()
            await server.stop()
            assert time.monotonic() - start < 0.5
    assert server.disconnects == 0


async def test_serve_forever_on_a_given_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = Server(["hi"], port=port)
    task = asyncio.create_task(server.serve_forever())
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/health") as resp:
                        assert resp.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.01)
            else:
                pytest.fail("server did not come up")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert server.base_url == f"http://127.0.0.1:{port}/v1"


# -- requests checked like vLLM checks them; every error OpenAI-style JSON -----------------


def error_of(status: int, body: bytes) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == status
    return error


async def test_an_unknown_model_is_a_404_and_aliases_are_served() -> None:
    async with Server(["a", "b"], model="qwen", aliases=["qwen-alias"]) as server:
        status, _, body = await post(server, {**STREAM, "model": "gpt-4o"})
        assert status == 404
        error = error_of(404, body)
        assert error["message"] == "The model `gpt-4o` does not exist."
        assert (error["type"], error["param"]) == ("NotFoundError", "model")
        for model in ("qwen-alias", None):  # an alias, and no model at all (the served one)
            status, _, _ = await post(server, {**STREAM, "model": model})
            assert status == 200
        async with aiohttp.ClientSession() as session, session.get(server.base_url + "/models") as resp:
            listed = [m["id"] for m in (await resp.json())["data"]]
    assert listed == ["qwen", "qwen-alias"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"model": "streamparse-hermes"}, "missing required field `messages`"),
        ({"messages": "hi"}, "Expected `array`, got `str` - at `$.messages`"),
        ({"messages": ["hi"]}, "Expected `object`, got `str` - at `$.messages[0]`"),
        ({"messages": [{"content": "hi"}]}, "messages[0] has no role"),
        ({"messages": [], "stream": "yes"}, "Expected `bool | null`, got `str` - at `$.stream`"),
        ({"messages": [], "n": 2}, "n=2"),
        ([1, 2], "must be a JSON object"),
    ],
)
async def test_a_malformed_request_is_a_400_that_says_why(body: Any, says: str) -> None:
    async with Server(["unused"]) as server:
        status, _, raw = await post(server, body)
    assert status == 400
    error = error_of(400, raw)
    assert says in error["message"] and error["type"] == "BadRequestError"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/nothing-here", 404), ("GET", "/v1/chat/completions", 405), ("DELETE", "/v1/models", 405)],
)
async def test_404_and_405_are_openai_style_json(method: str, path: str, status: int) -> None:
    async with Server() as server, aiohttp.ClientSession() as session:
        async with session.request(method, server.url + path) as resp:
            got, content_type, body = resp.status, resp.content_type, await resp.read()
            allow = resp.headers.get("Allow")
    assert got == status and content_type == "application/json"
    error = error_of(status, body)
    assert path in error["message"]
    if status == 405:
        assert allow is not None and allow


# -- CORS, as vLLM allows it by default ----------------------------------------------------


async def test_cors_allows_any_origin_by_default_even_on_streams() -> None:
    origin = {"Origin": "http://localhost:3000"}
    async with Server(["Hi"] * 2) as server, aiohttp.ClientSession() as session:
        preflight = {**origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}
        async with session.options(server.base_url + "/chat/completions", headers=preflight) as resp:
            assert resp.status == 200
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert "POST" in resp.headers["Access-Control-Allow-Methods"]
            assert resp.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
        async with session.post(server.base_url + "/chat/completions", json=STREAM, headers=origin) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert (await resp.read()).endswith(b"data: [DONE]\n\n")
        async with session.get(server.base_url + "/models", headers=origin) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
        async with session.get(server.base_url + "/nope", headers=origin) as resp:  # errors too
            assert resp.status == 404 and resp.headers["Access-Control-Allow-Origin"] == "*"


async def test_cors_origins_are_configurable() -> None:
    allowed, other = "https://app.example", "https://evil.example"
    preflight = {"Access-Control-Request-Method": "POST"}
    async with Server(["Hi"], allowed_origins=[allowed]) as server, aiohttp.ClientSession() as session:
        url = server.base_url + "/chat/completions"
        async with session.options(url, headers={**preflight, "Origin": allowed}) as resp:
            assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == allowed
        async with session.options(url, headers={**preflight, "Origin": other}) as resp:
            assert resp.status == 400 and "Access-Control-Allow-Origin" not in resp.headers
        async with session.get(server.base_url + "/models", headers={"Origin": other}) as resp:
            assert "Access-Control-Allow-Origin" not in resp.headers
        async with session.get(server.base_url + "/models", headers={"Origin": allowed}) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == allowed and "Origin" in resp.headers["Vary"]
    async with Server(allowed_origins=[]) as server, aiohttp.ClientSession() as session:
        async with session.get(server.base_url + "/models", headers={"Origin": allowed}) as resp:
            assert "Access-Control-Allow-Origin" not in resp.headers


# -- --tool-parser: a malformed call goes out once -------------------------------------------


async def test_tool_parser_sends_a_malformed_started_call_once() -> None:
    text = 'Hi.<tool_call>\n{"name": "f", "arguments": {"a": 1,,}}\n</tool_call> after'
    async with Server([text], tool_parser=True) as server:
        _, _, raw = await post(server)
    middle = deltas(raw)
    assert arguments(middle, 0) == '{"a": 1,,}'  # streamed as fragments, as it came
    assert joined(middle, "content") == "Hi. after"  # and not again as raw text
    assert b"tool_call>" not in raw
