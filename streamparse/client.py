"""The streaming client: the only module that talks to a server (aiohttp).

``Client.stream`` posts a chat-completions request and yields the parser's
events as the SSE stream arrives: tags in ``content`` go through
:class:`~streamparse.core.parser.Parser`, server-parsed ``delta.tool_calls``
through :class:`~streamparse.wire.server_calls.ToolCallAccumulator`, and the stream
ends with a :class:`~streamparse.core.events.Finish`.  Connecting is retried (with
stamina) only until the response starts; a stream that has produced an event
is never retried or restarted.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from types import SimpleNamespace, TracebackType
from typing import Any, Protocol

import aiohttp
import msgspec
import stamina

from .errors import (
    LLMConnectionError,
    LLMDisconnectedError,
    LLMError,
    LLMResponseError,
    LLMStreamError,
    LLMTimeoutError,
    SSEError,
    UsageError,
)
from .wire.folding import ChunkFolder
from .core.events import Event, Usage
from .core.formats import Format, format_for_model, load_format
from .core.message import Message
from .wire.sse import SSEDecoder
from .wire.payloads import ChunkChoice, StreamPayload, decode_completion, decode_error_body

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_DRAIN_TIMEOUT = 0.1  # seconds to wait, after [DONE], for the end of the HTTP body


class Timeouts(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds; None turns one off.  ``total`` is off by default: long generations are legitimate."""

    connect: float | None = 10.0
    first_byte: float | None = 300.0  # a long prompt on a busy server takes a while to prefill
    idle: float | None = 60.0  # between two reads of the stream
    total: float | None = None


class Retries(msgspec.Struct, frozen=True, kw_only=True):
    """Retries before the first event: exponential backoff with jitter, ``Retry-After`` honoured up to a cap."""

    attempts: int = 3
    wait_initial: float = 1.0
    wait_max: float = 10.0
    wait_jitter: float = 1.0
    max_retry_after: float = 30.0


class Recorder(Protocol):
    """Wire stamps of one stream (``Client.stream(..., recorder=...)``), on the
    ``time.perf_counter_ns()`` clock.

    ``attempt()`` runs as each connection attempt starts (retries included),
    ``sent(ns)`` as the request body is handed to the transport (per attempt:
    the last call is the attempt that streamed), and ``read(ns, payloads)`` once
    per network read of the body with the moment the read returned, taken
    before SSE framing and JSON decoding, and the SSE ``data`` payloads the read
    completed (``[]`` for the end of the body). The events the stream yields
    after a ``read`` call and before the next one came from that read.
    """

    def attempt(self) -> None: ...

    def sent(self, stamp_ns: int) -> None: ...

    def read(self, stamp_ns: int, payloads: list[str]) -> None: ...


async def _on_request_start(session: object, ctx: SimpleNamespace, params: object) -> None:
    if ctx.trace_request_ctx is not None:
        ctx.trace_request_ctx.attempt()


async def _on_chunk_sent(session: object, ctx: SimpleNamespace, params: object) -> None:
    if ctx.trace_request_ctx is not None:
        ctx.trace_request_ctx.sent(time.perf_counter_ns())


def _trace_config() -> aiohttp.TraceConfig:
    """aiohttp's hooks around the socket write, forwarded to a stream's :class:`Recorder`."""
    config = aiohttp.TraceConfig()
    config.on_request_start.append(_on_request_start)
    config.on_request_chunk_sent.append(_on_chunk_sent)
    return config


class Response(msgspec.Struct, frozen=True, kw_only=True):
    """A non-streaming answer, built by the same machinery as a stream."""

    message: Message
    finish_reason: str | None
    usage: Usage | None = None


def _retry_after(value: str | None, cap: float) -> float | None:
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), cap)
    except ValueError:
        return None  # an HTTP date: rare from LLM servers; fall back to backoff


def _retry_on(exc: Exception) -> bool | float:
    """stamina's predicate: what is worth another attempt, and after how long."""
    if isinstance(exc, LLMResponseError):
        if exc.status not in RETRY_STATUSES:
            return False
        return exc.retry_after if exc.retry_after is not None else True
    if isinstance(exc, LLMTimeoutError):
        return exc.timeout == "connect"
    return isinstance(exc, LLMConnectionError)


def _env(*names: str) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


class Client:
    """An OpenAI-compatible chat client that returns streamparse events.

    ``base_url``, ``model`` and ``api_key`` default to ``STREAMPARSE_BASE_URL``,
    ``STREAMPARSE_MODEL`` and ``STREAMPARSE_API_KEY``, then ``OPENAI_BASE_URL``
    and ``OPENAI_API_KEY``; with no model the server's first model is used.
    Use it as an async context manager: one pooled session per client, with
    no cap on concurrent connections.
    """

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        *,
        format: str | Format = "hermes",
        timeouts: Timeouts = Timeouts(),
        retries: Retries = Retries(),
        headers: dict[str, str] | None = None,
        max_event_size: int = 16 * 1024 * 1024,
        in_reasoning: bool = False,
        skip_special_tokens: bool | None = None,
        values: bool = False,
    ) -> None:
        """``format``: how the model writes its calls (a format name, ``"auto"`` to pick it from the
        model's name, or a :class:`Format`).  ``skip_special_tokens``: sent with every request when
        set; by default ``false`` is sent when the format's literals are special tokens, so the
        server keeps them in the text."""
        self.base_url = (base_url or _env("STREAMPARSE_BASE_URL", "OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.model = model or _env("STREAMPARSE_MODEL")
        key = api_key or _env("STREAMPARSE_API_KEY", "OPENAI_API_KEY")
        self._headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
        self._headers.update(headers or {})
        self.format = format
        self.timeouts = timeouts
        self.retries = retries
        self.max_event_size = max_event_size
        self.in_reasoning = in_reasoning  # content starts inside a reasoning block (Qwen3 thinking, no reasoning parser)
        self.skip_special_tokens = skip_special_tokens
        self.values = values  # streams add the values inside each call's arguments (ToolCallValueDelta, ToolCallValue)
        self._session: aiohttp.ClientSession | None = None

    def parsing_format(self) -> Format:
        """The format the model's text is parsed with (``"auto"``: from the model's name, once known)."""
        fmt = self.format
        if isinstance(fmt, Format):
            return fmt
        if fmt == "auto":
            if self.model is None:
                raise UsageError('format="auto" needs the model\'s name; pass model= or send a request first')
            fmt = format_for_model(self.model)
        return load_format(fmt)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # limit=0: aiohttp's default of 100 connections would silently queue streams.
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector, headers=self._headers, trace_configs=[_trace_config()]
            )
        return self._session

    # -- requests ------------------------------------------------------------

    async def models(self) -> list[str]:
        """The ids the server serves (``GET /models``)."""
        body = await self._read(await self._request("GET", "/models", None))
        try:
            return [m["id"] for m in msgspec.json.decode(body)["data"]]
        except (msgspec.DecodeError, KeyError, TypeError) as exc:
            raise LLMStreamError(f"unexpected /models answer: {body[:200]!r}") from exc

    def stream(
        self,
        messages: str | Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        recorder: Recorder | None = None,
        **params: Any,
    ) -> Stream:
        """Stream a completion: ``async for event in client.stream(...)``.

        Extra keyword arguments go into the request body as they are
        (``temperature``, ``max_tokens``, ``tool_choice``, ``extra_body``...).
        ``headers`` are added to this request's; ``recorder`` receives its
        wire stamps (see :class:`Recorder`).
        """
        return Stream(
            self, self._body(messages, tools, params, stream=True), tools=tools, headers=headers, recorder=recorder
        )

    async def chat(
        self,
        messages: str | Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        **params: Any,
    ) -> Response:
        """A non-streaming completion, parsed by the same machinery as a stream."""
        resp, _ = await self._open(self._body(messages, tools, params, stream=False))
        raw = await self._read(resp)
        try:
            completion = decode_completion(raw)
        except msgspec.DecodeError as exc:
            raise LLMStreamError(f"undecodable response: {exc}") from exc
        choice = completion.choices[0] if completion.choices else None
        out = ChunkFolder(self.parsing_format(), tools=tools, in_reasoning=self.in_reasoning)
        if choice is not None and choice.message is not None:
            # A whole message has the shape of one delta; its calls have no index: their position is it.
            calls = [msgspec.structs.replace(call, index=i) for i, call in enumerate(choice.message.tool_calls or ())]
            delta = msgspec.structs.replace(choice.message, tool_calls=calls)
            out.chunk(StreamPayload(choices=[ChunkChoice(delta=delta)]))
        out.close()
        return Response(
            message=out.message, finish_reason=choice.finish_reason if choice else None, usage=completion.usage
        )

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        """A whole (non-streamed) response body; the connection goes back to the pool."""
        try:
            return await resp.read()
        except asyncio.TimeoutError as exc:
            raise self._timeout_error(exc, started=False) from exc
        except aiohttp.ClientError as exc:
            raise LLMConnectionError(f"connection lost: {exc}") from exc
        finally:
            resp.release()

    def _body(
        self, messages: str | Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]] | None, params: dict[str, Any], *, stream: bool
    ) -> dict[str, Any]:
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "stream": stream}
        if tools:
            body["tools"] = list(tools)
        if stream:
            body["stream_options"] = {"include_usage": True}
        extra = params.pop("extra_body", None) or {}
        body.update(params)
        body.update(extra)
        return body

    async def _open(
        self,
        body: dict[str, Any],
        *,
        first_read: bool = False,
        headers: dict[str, str] | None = None,
        recorder: Recorder | None = None,
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        """POST the request, retrying until a response with a good status starts.

        With ``first_read`` (streams), the body's first bytes are read within
        the attempt too: nothing has been handed out yet, so a connection lost
        before them is still worth another try.
        """
        if body.get("model") is None:
            if self.model is None:
                models = await self.models()
                if not models:
                    raise LLMStreamError("the server serves no model; pass model=")
                self.model = models[0]
            body = {**body, "model": self.model}
        if "skip_special_tokens" not in body:
            skip = self.skip_special_tokens
            if skip is None and self.parsing_format().special_tokens != "no":
                skip = False  # the format's literals are special tokens: keep them in the text
            if skip is not None:
                body = {**body, "skip_special_tokens": skip}
        data = msgspec.json.encode(body)
        r = self.retries
        async for attempt in stamina.retry_context(
            on=_retry_on,
            attempts=r.attempts,
            timeout=None,
            wait_initial=r.wait_initial,
            wait_max=r.wait_max,
            wait_jitter=r.wait_jitter,
        ):
            with attempt:
                resp = await self._request("POST", "/chat/completions", data, headers=headers, recorder=recorder)
                return resp, (await self._first_read(resp) if first_read else b"")
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def _first_read(self, resp: aiohttp.ClientResponse) -> bytes:
        try:
            if resp.content_type == "application/json":
                # An error answered with a good status instead of a stream.
                message, error_type, code, _ = decode_error_body(await resp.read())
                raise LLMStreamError(message, error_type=error_type, code=code)
            return await resp.content.readany()
        except asyncio.TimeoutError as exc:
            resp.close()
            raise self._timeout_error(exc, started=False) from exc
        except aiohttp.ClientError as exc:
            resp.close()
            raise LLMConnectionError(f"connection lost before the first event: {exc}") from exc
        except LLMError:
            resp.close()
            raise

    async def _request(
        self,
        method: str,
        path: str,
        data: bytes | None,
        *,
        headers: dict[str, str] | None = None,
        recorder: Recorder | None = None,
    ) -> aiohttp.ClientResponse:
        t = self.timeouts
        timeout = aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, sock_read=t.first_byte)
        try:
            resp = await self._get_session().request(
                method, self.base_url + path, data=data, timeout=timeout, headers=headers, trace_request_ctx=recorder
            )
        except asyncio.TimeoutError as exc:
            raise self._timeout_error(exc, started=False) from exc
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
            raise UsageError(f"invalid base_url {self.base_url!r}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise LLMConnectionError(f"cannot reach {self.base_url}: {exc}") from exc
        if resp.status >= 400:
            try:
                body = await resp.read()
            except (aiohttp.ClientError, asyncio.TimeoutError):
                body = b""
            finally:
                resp.release()
            message, error_type, code, param = decode_error_body(body)
            retry_after = _retry_after(resp.headers.get("Retry-After"), self.retries.max_retry_after)
            raise LLMResponseError(
                message, status=resp.status, error_type=error_type, code=code, param=param, retry_after=retry_after
            )
        return resp

    def _timeout_error(self, exc: BaseException, *, started: bool, partial: Message | None = None) -> LLMTimeoutError:
        t = self.timeouts
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return LLMTimeoutError("connect", t.connect or 0.0, partial=partial)
        if isinstance(exc, aiohttp.SocketTimeoutError):
            if started:
                return LLMTimeoutError("idle", t.idle or 0.0, partial=partial)
            return LLMTimeoutError("first_byte", t.first_byte or 0.0, partial=partial)
        return LLMTimeoutError("total", t.total or 0.0, partial=partial)


class Stream:
    """The events of one streamed completion; iterate with ``async for``.

    Leaving the loop early (``break``) closes the connection at once when the
    stream is not kept in a variable; otherwise use ``async with client.stream(...)
    as stream:`` or call :meth:`aclose`, so the server stops generating.
    """

    def __init__(
        self,
        client: Client,
        body: dict[str, Any],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self._client = client
        self._body = body
        self._tools = tools
        self._headers = headers
        self._recorder = recorder
        self._resp: aiohttp.ClientResponse | None = None
        self._sse = SSEDecoder(max_event_size=client.max_event_size)
        self._folder_made: ChunkFolder | None = None  # made once the model (and so an "auto" format) is known
        self._ready: list[Event] = []
        self._next = 0
        self._started = False  # a byte of the body arrived: no more retries, idle timeout now
        self._done = False  # [DONE] seen or the stream failed: nothing more to read
        self._over = False  # every event was handed out
        self._error: LLMError | None = None  # raised once the events before it are handed out

    @property
    def _folder(self) -> ChunkFolder:
        folder = self._folder_made
        if folder is None:
            client = self._client
            folder = self._folder_made = ChunkFolder(
                client.parsing_format(), tools=self._tools, in_reasoning=client.in_reasoning, values=client.values
            )
        return folder

    @property
    def message(self) -> Message:
        """What was received so far, folded into a message."""
        if self._folder_made is None:
            return Message()
        return self._folder.message

    def __aiter__(self) -> Stream:
        return self

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def __anext__(self) -> Event:
        while self._next >= len(self._ready):
            if self._error is not None:
                error, self._error = self._error, None
                self._over = True
                raise error
            if self._over or self._done:
                self._over = True
                await self._drain()
                raise StopAsyncIteration
            self._ready = []
            self._next = 0
            await self._fill()
        event = self._ready[self._next]
        self._next += 1
        return event

    async def aclose(self) -> None:
        """Stop reading and close the connection."""
        self._close_connection()
        self._done = self._over = True

    def __del__(self) -> None:
        self._close_connection()

    def _close_connection(self) -> None:
        if self._resp is not None:
            self._resp.close()
            self._resp = None

    async def _fill(self) -> None:
        """One network read: its events go to ``_ready``."""
        try:
            if self._resp is None:
                self._resp, data = await self._client._open(
                    self._body, first_read=True, headers=self._headers, recorder=self._recorder
                )
            else:
                data = await self._resp.content.readany()
            stamp = time.perf_counter_ns()  # the arrival: before any framing or decoding
            resp = self._resp
        except LLMError as exc:
            self._fail(exc)
            return
        except asyncio.TimeoutError as exc:
            self._fail(self._client._timeout_error(exc, started=self._started))
            return
        except aiohttp.ClientError as exc:
            if self._folder.finish_reason is None:
                self._fail(LLMDisconnectedError(f"connection lost mid-stream: {exc}"))
                return
            data = b""  # the answer was complete; only its [DONE] was lost
            stamp = time.perf_counter_ns()
        if not data:
            if self._recorder is not None:
                self._recorder.read(stamp, [])
            try:
                self._sse.close()  # raises an event-too-large error the decoder held back
            except SSEError as exc:
                self._fail(LLMStreamError(str(exc)))
                return
            try:
                self._ready += self._folder.eof()
            except LLMStreamError as exc:
                self._fail(exc)
                return
            self._end()
            return
        if not self._started:
            self._started = True
            if resp.connection is not None and resp.connection.protocol is not None:
                protocol = resp.connection.protocol
                protocol.read_timeout = self._client.timeouts.idle
                # The timer running now was armed by this read with first_byte:
                # re-arm it, or a stall right after the first read waits first_byte.
                # Only while aiohttp keeps one: not after EOF (a late timer would
                # poison the pooled connection), not while reading is paused for
                # a full buffer (a slow consumer is not an idle server).
                transport = protocol.transport
                if transport is not None and transport.is_reading() and not resp.content.is_eof():
                    protocol.start_timeout()
        try:
            payloads = self._sse.feed_data(data)
        except SSEError as exc:  # an event above max_event_size
            self._fail(LLMStreamError(str(exc)))
            return
        if self._recorder is not None:
            self._recorder.read(stamp, payloads)
        ready = self._ready
        folder = self._folder
        for payload in payloads:
            try:
                ready += folder.feed(payload)
            except LLMStreamError as exc:
                self._fail(exc)
                return
            if folder.done:  # [DONE]: the folder added the flushed events and Finish
                self._end()
                return

    def _end(self) -> None:
        """The stream is complete (its Finish is in ``_ready``): release the connection."""
        self._done = True
        resp = self._resp
        if resp is not None and resp.content.is_eof():
            resp.release()
            self._resp = None
        # Else the body's last chunk is still on its way: released by _drain,
        # as releasing it unread would close the connection, not pool it.

    async def _drain(self) -> None:
        """After ``[DONE]``: read the rest of the HTTP body, then pool the connection."""
        resp, self._resp = self._resp, None
        if resp is None:
            return
        read = False
        try:
            await asyncio.wait_for(resp.content.read(), _DRAIN_TIMEOUT)
            read = True
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
        finally:  # also when cancelled
            if read:
                resp.release()
            else:
                resp.close()

    def _fail(self, error: LLMError) -> None:
        """Hand out what came before, then raise ``error`` carrying everything received."""
        if self._folder_made is not None:
            self._folder_made.close()
        error.partial = self.message
        self._error = error
        self._done = True
        self._close_connection()
