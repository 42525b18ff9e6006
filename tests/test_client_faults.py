"""The client against hostile servers and broken transports, over real sockets.

Each test guards one promise: every body read is capped, a stream never
hangs whatever the transport does, ``Client.close()`` ends what is running,
and a server that keeps a stream busy without generating is timed out. The
faults the embedded server cannot produce come from a tiny raw asyncio
server that writes whatever bytes a test gives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
import pytest
import stamina

from streamparse import (
    ClientClosedError,
    Event,
    Finish,
    LLMError,
    LLMResponseError,
    LLMResponseTooLargeError,
    LLMStreamError,
    LLMTimeoutError,
    Message,
    TextDelta,
)
from streamparse.client import Client, Retries, Timeouts
from streamparse.server import Fault, Reply, Server

from .test_client import collect_into

Respond = Callable[[asyncio.StreamWriter], Awaitable[None]]
SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
ONE_TRY = Retries(attempts=1)


@pytest.fixture(autouse=True)
def _no_waits() -> Any:
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


@contextlib.asynccontextmanager
async def tcp_server(respond: Respond) -> AsyncIterator[str]:
    """A raw HTTP/1.1 server on 127.0.0.1: after reading a request, ``respond`` writes any bytes it likes.

    Yields the base URL; handlers still running at the end are cancelled.
    """
    handlers: set[asyncio.Task[Any]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"content-length: *(\d+)", head, re.I)
            await reader.readexactly(int(length.group(1)) if length else 0)
            await respond(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client left: what these tests expect
        finally:
            writer.close()
            handlers.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        for task in list(handlers):
            task.cancel()
        server.close()


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def sse(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return b"data: " + msgspec.json.encode({"object": "chat.completion.chunk", "choices": [choice]}) + b"\n\n"


async def endless(writer: asyncio.StreamWriter, piece: bytes, *, chunked: bool = True) -> None:
    """Write ``piece`` until the client goes away."""
    data = http_chunk(piece) if chunked else piece
    while True:
        writer.write(data)
        await writer.drain()


# -- every body read is capped --------------------------------------------------------


@pytest.mark.parametrize("framing", ["chunked-endless", "content-length-100MB"])
async def test_a_huge_error_body_gives_a_bounded_message(framing: str) -> None:
    async def respond(writer: asyncio.StreamWriter) -> None:
        if framing == "chunked-endless":
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
            await endless(writer, b"x" * 65536)
        else:
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 100000000\r\n\r\n")
            await endless(writer, b"x" * 65536, chunked=False)

    async with tcp_server(respond) as url, Client(url, "m", retries=ONE_TRY) as client:
        with pytest.raises(LLMResponseError) as info:
            await asyncio.wait_for(client.chat("hi"), 10)
    assert info.value.status == 500
    assert info.value.server_message.startswith("xxxx") and len(info.value.server_message) < 3000
    assert "cut at 2048 bytes" in info.value.server_message
    assert info.value.partial == Message()


async def test_an_endless_json_answer_is_cut_with_a_typed_error() -> None:
    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(http_chunk(b'{"choices": [{"message": {"content": "'))
        await endless(writer, b"y" * 65536)

    async with tcp_server(respond) as url, Client(url, "m", max_event_size=1 << 20) as client:
        with pytest.raises(LLMResponseTooLargeError) as info:
            await asyncio.wait_for(client.chat("hi"), 10)
    assert info.value.limit == 1 << 20
    assert info.value.excerpt.startswith(b'{"choices"') and len(info.value.excerpt) == 2048
    assert len(str(info.value)) < 3000 and info.value.partial == Message()


def gzip_bomb(prefix: bytes, blocks: int) -> bytes:
    """A valid gzip body that inflates to ``prefix`` then ``blocks`` MiB of ``a`` (about 1 KB per MiB).

    Every block is deflated after a full flush, so all compress to the same
    bytes: a 1 GiB bomb is built in a blink instead of deflating 1 GiB.
    """
    block = b"a" * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    packed = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    size = len(prefix) + len(block) * blocks
    trailer = packer.flush() + crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + head + packed * blocks + trailer


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """About 1 MB on the wire: ``data: `` then 1 GiB of ``a`` once inflated."""
    return gzip_bomb(b"data: ", 1024)


def test_the_bomb_is_a_valid_gzip_body(bomb: bytes) -> None:
    assert zlib.decompress(gzip_bomb(b"data: ", 3), 31) == b"data: " + b"a" * (3 << 20)
    assert len(bomb) < 1_100_000


def gzip_response(content_type: bytes, body: bytes) -> Respond:
    async def respond(writer: asyncio.StreamWriter) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Encoding: gzip\r\n" % content_type
        writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()

    return respond


async def test_a_gzip_bomb_answer_is_cut_with_a_typed_error(bomb: bytes) -> None:
    async with tcp_server(gzip_response(b"application/json", bomb)) as url:
        async with Client(url, "m", max_event_size=4 << 20) as client:
            with pytest.raises(LLMResponseTooLargeError) as info:
                await asyncio.wait_for(client.chat("hi"), 10)
    assert info.value.excerpt == b"data: " + b"a" * 2042


async def test_a_gzip_bomb_stream_hits_the_event_cap(bomb: bytes) -> None:
    async with tcp_server(gzip_response(b"text/event-stream", bomb)) as url:
        async with Client(url, "m", max_event_size=4 << 20) as client:
            with pytest.raises(LLMStreamError, match="larger than 4194304 bytes"):
                await asyncio.wait_for(client.stream("hi").__anext__(), 10)


async def test_an_error_with_a_good_status_and_an_endless_body_is_cut() -> None:
    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        await endless(writer, b"z" * 65536)

    async with tcp_server(respond) as url, Client(url, "m", retries=ONE_TRY) as client:
        with pytest.raises(LLMStreamError) as info:
            await asyncio.wait_for(client.stream("hi").__anext__(), 10)
    assert "cut at 2048 bytes" in str(info.value) and len(str(info.value)) < 3000


async def test_an_endless_body_after_done_is_not_read_whole() -> None:
    left = asyncio.Event()
    written = 0

    async def respond(writer: asyncio.StreamWriter) -> None:
        nonlocal written
        writer.write(SSE_HEAD + http_chunk(sse({"content": "Hi"}, "stop") + b"data: [DONE]\n\n"))
        junk = http_chunk(b": junk\n" * 8192)
        try:
            while True:
                writer.write(junk)
                await writer.drain()
                written += len(junk)
        finally:
            left.set()

    async with tcp_server(respond) as url, Client(url, "m") as client:
        events = [e async for e in client.stream("hi")]
        await asyncio.wait_for(left.wait(), 5)  # the client closed the connection
    assert events == [TextDelta(text="Hi"), Finish(finish_reason="stop")]
    # The client stops after 64 KiB; the rest is what the sockets' buffers took in.
    assert written < 16 << 20, written


# -- the stream's own watchdog: no hang whatever the transport does ----------------------


async def test_malformed_chunked_encoding_mid_stream_times_out_on_idle() -> None:
    # One good chunk, then a chunk size that is not hex, then close: aiohttp's parser never raises.
    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD + http_chunk(sse({"content": "Hi"})))
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(b"zz\r\n")
        await writer.drain()

    async with tcp_server(respond) as url, Client(url, "m", timeouts=Timeouts(idle=0.3)) as client:
        received: list[Event] = []
        started = time.monotonic()
        with pytest.raises(LLMTimeoutError) as info:
            await asyncio.wait_for(collect_into(client.stream("hi"), received), 5)
    assert info.value.timeout == "idle" and time.monotonic() - started < 2
    assert received == [TextDelta(text="Hi")] and info.value.partial == Message(content="Hi")


async def test_malformed_chunked_encoding_before_the_first_byte_times_out_on_first_byte() -> None:
    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD)
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(b"zz\r\n")
        await writer.drain()
        await asyncio.sleep(10)

    async with tcp_server(respond) as url, Client(url, "m", timeouts=Timeouts(first_byte=0.3)) as client:
        with pytest.raises(LLMTimeoutError) as info:
            await asyncio.wait_for(client.stream("hi").__anext__(), 5)
    assert info.value.timeout == "first_byte"


async def test_a_slow_consumer_is_not_an_idle_server() -> None:
    # The whole answer is in the buffer: pauses between reads longer than idle are the consumer's.
    async with Server(["Hello there, general Kenobi!"]) as server:
        async with Client(server.base_url, server.model, timeouts=Timeouts(idle=0.1, progress=0.1)) as client:
            stream = client.stream("hi")
            seen = 0
            async for _ in stream:
                seen += 1
                if seen <= 3:
                    await asyncio.sleep(0.15)
    assert stream.message.content == "Hello there, general Kenobi!"


# -- a busy stream that generates nothing trips `progress` ----------------------------------


@pytest.mark.parametrize("filler", ["keep-alive", "empty-choices", "trickle"])
async def test_a_stream_busy_without_tokens_trips_the_progress_timeout(filler: str) -> None:
    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD + http_chunk(sse({"role": "assistant", "content": ""}) + sse({"content": "Hi"})))
        if filler == "trickle":  # one byte at a time of an event that never ends
            writer.write(http_chunk(b'data: {"choices": [{"index": 0, "delta": {"content": "'))
        while True:
            await asyncio.sleep(0.02)
            if filler == "keep-alive":
                writer.write(http_chunk(b": keep-alive\n\n"))
            elif filler == "empty-choices":
                writer.write(http_chunk(b'data: {"choices": []}\n\n'))
            else:
                writer.write(http_chunk(b"x"))
            await writer.drain()

    timeouts = Timeouts(idle=1, progress=0.4)
    async with tcp_server(respond) as url, Client(url, "m", timeouts=timeouts) as client:
        received: list[Event] = []
        started = time.monotonic()
        with pytest.raises(LLMTimeoutError) as info:
            await asyncio.wait_for(collect_into(client.stream("hi"), received), 5)
    assert info.value.timeout == "progress" and info.value.seconds == 0.4
    assert 0.35 < time.monotonic() - started < 2
    assert received == [TextDelta(text="Hi")]


async def test_tokens_keep_a_long_stream_alive_past_the_progress_timeout() -> None:
    async with Server(["word " * 60], delay=0.01) as server:
        async with Client(server.base_url, server.model, timeouts=Timeouts(progress=0.2)) as client:
            stream = client.stream("hi")
            started = time.monotonic()
            async for _ in stream:
                pass
    assert time.monotonic() - started > 0.4  # outlived progress several times over
    assert stream.message.content == ("word " * 60).strip()


async def test_total_timeout_spans_every_attempt() -> None:
    failure = Fault(status=503, headers_delay=0.2)
    retries = Retries(attempts=10, wait_initial=0.05, wait_max=0.05, wait_jitter=0)
    async with Server(["never"], fail_first=100, failure=failure) as server:
        async with Client(server.base_url, server.model, retries=retries, timeouts=Timeouts(total=0.6)) as client:
            started = time.monotonic()
            with pytest.raises(LLMTimeoutError) as info:
                await asyncio.wait_for(collect_into(client.stream("hi"), []), 5)
    assert info.value.timeout == "total"
    assert 0.55 < time.monotonic() - started < 1.5
    assert 2 <= len(server.requests) <= 3  # not ten attempts of 0.6 s each


# -- Client.close() ends what is running -------------------------------------------------


async def test_client_close_ends_a_stream_being_read() -> None:
    async with Server([Reply("Hello there " * 50, fault=Fault(stall_after=3, stall=30))]) as server:
        client = Client(server.base_url, server.model)
        received: list[Event] = []
        reading = asyncio.create_task(collect_into(client.stream("hi"), received))
        while not received:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await client.close()
        with pytest.raises(ClientClosedError) as info:
            await asyncio.wait_for(reading, 2)
    assert time.monotonic() - started < 1
    assert info.value.partial == Message(content="".join(e.text for e in received).strip())  # type: ignore[attr-defined]


@pytest.mark.parametrize("call", ["stream", "chat"])
async def test_client_close_ends_a_request_waiting_for_its_answer(call: str) -> None:
    async with Server([Reply("late", fault=Fault(headers_delay=30))]) as server:
        client = Client(server.base_url, server.model)
        if call == "stream":
            waiting = asyncio.create_task(collect_into(client.stream("hi"), []))
        else:
            waiting = asyncio.create_task(client.chat("hi"))
        while not server.requests:
            await asyncio.sleep(0.01)
        await client.close()
        with pytest.raises(ClientClosedError) as info:
            await asyncio.wait_for(waiting, 2)
    assert info.value.partial == Message()
    assert len(server.requests) == 1  # closing is not retried


async def test_a_closed_client_can_be_used_again() -> None:
    async with Server(["one", "two"]) as server:
        client = Client(server.base_url, server.model)
        assert (await client.chat("hi")).message.content == "one"
        await client.close()
        assert (await client.chat("hi")).message.content == "two"
        await client.close()


# -- chat() errors carry .partial like stream errors -----------------------------------------


@pytest.mark.parametrize("fault", ["http-error", "timeout", "undecodable"])
async def test_chat_errors_carry_partial(fault: str) -> None:
    async def respond(writer: asyncio.StreamWriter) -> None:
        if fault == "http-error":
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\nnope")
        elif fault == "undecodable":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 6\r\n\r\n{oops}")
        await writer.drain()
        await asyncio.sleep(10)

    timeouts = Timeouts(first_byte=0.3)
    async with tcp_server(respond) as url, Client(url, "m", timeouts=timeouts, retries=ONE_TRY) as client:
        with pytest.raises(LLMError) as info:
            await asyncio.wait_for(client.chat("hi"), 5)
    assert info.value.partial == Message()
    if fault == "timeout":
        assert isinstance(info.value, LLMTimeoutError) and info.value.timeout == "first_byte"


# -- a lone surrogate escape does not kill the stream ---------------------------------------


async def test_a_lone_surrogate_escape_in_a_delta_becomes_a_replacement_character() -> None:
    body = (
        http_chunk(b'data: {"choices":[{"index":0,"delta":{"content":"caf\\ud83d!"}}]}\n\n')
        + http_chunk(sse({"content": " ok \\ud800"}, "stop"))  # an escaped backslash stays text
        + http_chunk(b"data: [DONE]\n\n")
        + b"0\r\n\r\n"
    )

    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD + body)
        await writer.drain()

    async with tcp_server(respond) as url, Client(url, "m") as client:
        stream = client.stream("hi")
        events = [e async for e in stream]
    assert stream.message.content == "caf\ufffd! ok \\ud800"
    assert events[-1] == Finish(finish_reason="stop")


@pytest.mark.parametrize("phase", ["request", "body"])
async def test_a_cancellation_from_outside_stays_a_cancellation(phase: str) -> None:
    # The watchdog cancels the request itself to time it out: someone else's cancellation must not turn into that.
    fault = Fault(headers_delay=30) if phase == "request" else Fault(stall_after=3, stall=30)
    async with Server([Reply("Hello there " * 20, fault=fault)]) as server:
        # Armed watchdogs that a stalled host cannot reach before the cancellation does.
        async with Client(server.base_url, server.model, timeouts=Timeouts(first_byte=5, total=5)) as client:
            stream = client.stream("hi")
            if phase == "body":
                await stream.__anext__()
            task = asyncio.create_task(collect_into(stream, []))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
