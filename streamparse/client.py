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
import email.utils
import math
import os
import sys
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timezone
from types import SimpleNamespace, TracebackType
from typing import Any, Protocol

import aiohttp
import msgspec
import stamina

from .errors import (
    ClientClosedError,
    LLMConnectionError,
    LLMDisconnectedError,
    LLMError,
    LLMResponseError,
    LLMResponseTooLargeError,
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
_DRAIN_LIMIT = 64 * 1024  # bytes read after [DONE]; past them the connection is closed, not pooled
_ERROR_BODY_LIMIT = 64 * 1024  # bytes read of an error body: error JSON is far smaller
_EXCERPT = 2048  # bytes of an oversized body kept in the error
_READ_SIZE = 64 * 1024  # bytes per socket read of a response (asyncio's default: 256 KiB)
# A timer may run up to one tick of the loop's clock early (1 ms for uvloop): a deadline within it has passed.
_CLOCK_TICK = 0.001


class Timeouts(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds; None turns one off.  ``total`` is off by default: long generations are legitimate.

    ``first_byte`` and ``idle`` bound how long one wait for the server may
    last with no byte arriving; ``progress`` bounds the time between tokens
    whatever else arrives, so a server that keeps a stream busy without
    generating (keep-alive comments, empty chunks, bytes trickled one at a
    time) is still timed out.  The client enforces them itself, whatever the
    transport does.
    """

    connect: float | None = 10.0
    first_byte: float | None = 300.0  # until the headers, then until the body's first byte: prefill takes a while
    idle: float | None = 60.0  # one read of the body waiting with no byte arriving
    progress: float | None = 300.0  # streams: from the request, then from each token, to the next token
    total: float | None = None  # the whole call: every attempt and every wait between them


class Retries(msgspec.Struct, frozen=True, kw_only=True):
    """Retries before the first event: exponential backoff with jitter, ``Retry-After`` honoured up to a cap."""

    attempts: int = 3
    wait_initial: float = 1.0
    wait_max: float = 10.0
    wait_jitter: float = 1.0
    max_retry_after: float = 30.0


class Response(msgspec.Struct, frozen=True, kw_only=True):
    """A non-streaming answer, built by the same machinery as a stream."""

    message: Message
    finish_reason: str | None
    usage: Usage | None = None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date); None if absent or unusable."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=timezone.utc)
        return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)
    # nan, inf and negative numbers are no delay at all: fall back to backoff.
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class _Watchdog:
    """The timeouts of one call, every attempt included, enforced by one coarse timer.

    aiohttp re-arms a timer on every network read; at a model's pace (one
    event per read) that is a fifth of the client's CPU.  Here a read only
    stamps when it starts waiting (``waiting``), and the timer fires at the
    earliest moment a limit could be passed, checks, and re-arms itself:
    about once per ``idle`` period while a stream flows.  It holds whatever
    the transport does (a connection that neither delivers nor fails still
    times out), and :meth:`expire` is also how :meth:`Client.close` ends a
    call at once.

    An expiry fails the body being read (``reader``) or, before there is
    one, cancels the task sending the request (``task``), which turns the
    cancellation into ``expired``.
    """

    __slots__ = (
        "clock",
        "_loop",
        "_timeouts",
        "_total_at",
        "_recheck",
        "_handle",
        "_calls",
        "waiting",
        "started",
        "token_at",
        "reader",
        "task",
        "expired",
        "_cancelled",
    )

    def __init__(self, timeouts: Timeouts, calls: set[_Watchdog], *, progress: bool) -> None:
        self._loop = asyncio.get_running_loop()
        # Stamps are the hot path: the C clock itself, and timers set by delay (any loop's own clock works).
        self.clock = time.monotonic
        now = self.clock()
        self._timeouts = timeouts if progress else msgspec.structs.replace(timeouts, progress=None)
        self._total_at = now + timeouts.total if timeouts.total is not None else None
        # Any wait that starts after a check ends no sooner than this after it.
        limits = [x for x in (self._timeouts.first_byte, self._timeouts.idle, self._timeouts.progress) if x is not None]
        self._recheck = min(limits, default=None)
        self._handle: asyncio.TimerHandle | None = None
        self._calls = calls  # the client's running calls, for Client.close()
        calls.add(self)
        self.waiting: float | None = None  # when the pending wait for the server began
        self.started = False  # a byte of the body arrived: idle, not first_byte, from now on
        self.token_at = now  # the last token seen (streams)
        self.reader: aiohttp.StreamReader | None = None
        self.task: asyncio.Task[Any] | None = None
        self.expired: LLMError | None = None
        self._cancelled = False  # the expiry cancelled ``task``
        self._check()

    def _check(self) -> None:
        self._handle = None
        t = self._timeouts
        now = self.clock() + _CLOCK_TICK
        due: list[tuple[float, str, float]] = []  # (deadline, which, seconds)
        if self._total_at is not None:
            due.append((self._total_at, "total", t.total or 0.0))
        if self._recheck is not None:
            due.append((now + self._recheck, "", 0.0))
        waiting = self.waiting
        if waiting is not None:
            # Only while waiting: a consumer slow between reads is not a slow server.
            limit, which = (t.idle, "idle") if self.started else (t.first_byte, "first_byte")
            if limit is not None:
                due.append((waiting + limit, which, limit))
            if t.progress is not None:
                due.append((self.token_at + t.progress, "progress", t.progress))
        if not due:
            return
        deadline, which, seconds = min(due)
        if deadline <= now and which:
            self.expire(LLMTimeoutError(which, seconds))
        else:
            self._handle = self._loop.call_later(max(deadline - now, 0.0), self._check)

    def expire(self, error: LLMError) -> None:
        """End the call now with ``error`` (raised where it waits, or at its next read)."""
        if self.expired is not None:
            return
        self.expired = error
        self._stop()
        if self.reader is not None:
            self.reader.set_exception(error)
        elif self.task is not None:
            self.task.cancel()
            self._cancelled = True

    def cancelled(self) -> LLMError | None:
        """The error an expiry's cancellation stands for (None: a cancellation from elsewhere)."""
        task = self.task
        if not self._cancelled or task is None:
            return None
        if sys.version_info >= (3, 11) and task.uncancel():
            return None  # also cancelled from elsewhere: that wins
        return self.expired

    def close(self) -> None:
        """The call is over."""
        self._stop()
        self.reader = None
        self.task = None

    def _stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._calls.discard(self)


class Recorder(Protocol):
    """Wire stamps of one stream (``Client.stream(..., recorder=...)``), on the
    ``time.perf_counter_ns()`` clock.

    ``attempt()`` runs as each connection attempt starts (retries included),
    ``sent(ns)`` as the request body is handed to the transport (per attempt:
    the last call is the attempt that streamed), ``read(ns)`` once per network
    read of the body (its end included) with the moment the read returned, taken
    before SSE framing and JSON decoding, and ``chunk(chunk, output)`` for each
    chunk that read completed, decoded and folded, with what it carried (0: no
    model output, 1: reasoning only, 2: content or a tool-call name or argument
    fragment); ``chunk(None, 0)`` for ``[DONE]``. The events the stream yields
    after a ``read`` call and before the next one came from that read.
    """

    def attempt(self) -> None: ...

    def sent(self, stamp_ns: int) -> None: ...

    def read(self, stamp_ns: int) -> None: ...

    def chunk(self, chunk: StreamPayload | None, output: int) -> None: ...


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


def _env(*names: str) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


class Client:
    """An OpenAI-compatible chat client that returns streamparse events.

    ``base_url``, ``model`` and ``api_key`` default to ``STREAMPARSE_BASE_URL``,
    ``STREAMPARSE_MODEL`` and ``STREAMPARSE_API_KEY``, then ``OPENAI_BASE_URL``
    and ``OPENAI_API_KEY``; with no model the server's first model is used.
    Use it as an async context manager: one pooled session per client, with
    no cap on concurrent connections.  ``max_event_size`` caps one SSE event
    and one whole (non-streamed) response body, in bytes.
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
        server keeps them in the text.  ``values``: streams add the values inside each call's
        arguments (``ToolCallValueDelta``, ``ToolCallValue``)."""
        self.base_url = (base_url or _env("STREAMPARSE_BASE_URL", "OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.model = model or _env("STREAMPARSE_MODEL")
        key = api_key or _env("STREAMPARSE_API_KEY", "OPENAI_API_KEY")
        self._headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
        self._headers.update(headers or {})
        # Built once: a grammar file would otherwise be read and compiled for every request.
        self.format: Format | str = format if isinstance(format, Format) or format == "auto" else load_format(format)
        self.timeouts = timeouts
        self.retries = retries
        self.max_event_size = max_event_size
        self.in_reasoning = in_reasoning  # content starts inside a reasoning block (Qwen3 thinking, no reasoning parser)
        self.skip_special_tokens = skip_special_tokens
        self.values = values
        self._session: aiohttp.ClientSession | None = None
        self._calls: set[_Watchdog] = set()  # calls running now: close() ends them

    def parsing_format(self) -> Format:
        """The format the model's text is parsed with (``"auto"``: from the model's name, once known)."""
        fmt = self.format
        if isinstance(fmt, Format):
            return fmt
        if self.model is None:
            raise UsageError('format="auto" needs the model\'s name; pass model= or send a request first')
        return load_format(format_for_model(self.model))

    def _folder(self, tools: Sequence[dict[str, Any]] | None, *, values: bool = False) -> ChunkFolder:
        return ChunkFolder(self.parsing_format(), tools=tools, in_reasoning=self.in_reasoning, values=values)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections; a call still running ends at once with :class:`ClientClosedError`."""
        for call in list(self._calls):
            call.expire(ClientClosedError("the client was closed during the call"))
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # limit=0: aiohttp's default of 100 connections would silently queue streams.
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
            # Read timeouts are the calls' own watchdogs: aiohttp's would re-arm on every read.
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.timeouts.connect, sock_read=None)
            self._session = aiohttp.ClientSession(
                connector=connector, headers=self._headers, timeout=timeout, trace_configs=[_trace_config()]
            )
        return self._session

    def _watchdog(self, *, progress: bool = False) -> _Watchdog:
        return _Watchdog(self.timeouts, self._calls, progress=progress)

    # -- requests ------------------------------------------------------------

    async def models(self) -> list[str]:
        """The ids the server serves (``GET /models``)."""
        watchdog = self._watchdog()
        try:
            return await self._models(watchdog)
        finally:
            watchdog.close()

    async def _models(self, watchdog: _Watchdog) -> list[str]:
        body = await self._read(await self._request("GET", "/models", None, watchdog), watchdog)
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
        ``tools`` also reach the parser (see :class:`~streamparse.core.parser.Parser`);
        ``headers`` are added to this request's; ``recorder`` receives its wire
        stamps (see :class:`Recorder`).
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
        """A non-streaming completion, parsed by the same machinery as a stream.

        Its errors carry ``.partial`` like a stream's (the message decoded so far, if any).
        """
        body = self._body(messages, tools, params, stream=False)
        out: ChunkFolder | None = None  # made once the model (and so an "auto" format) is known
        watchdog = self._watchdog()
        try:
            resp, _ = await self._open(body, watchdog)
            out = self._folder(tools)
            raw = await self._read(resp, watchdog)
            try:
                completion = decode_completion(raw)
            except msgspec.DecodeError as exc:
                raise LLMStreamError(f"undecodable response: {exc}") from exc
            choices: list[ChunkChoice] = []
            for choice in completion.choices or ():
                message = choice.message
                if message is not None:
                    # A whole message has the shape of one delta; its calls have no index: their position is it.
                    calls = [msgspec.structs.replace(call, index=i) for i, call in enumerate(message.tool_calls or ())]
                    message = msgspec.structs.replace(message, tool_calls=calls)
                choices.append(ChunkChoice(index=choice.index, delta=message, finish_reason=choice.finish_reason))
            out.chunk(StreamPayload(choices=choices))
        except LLMError as exc:
            if out is not None:
                out.close()
            exc.partial = out.message if out is not None else Message()
            raise
        finally:
            watchdog.close()
        out.close()
        return Response(message=out.message, finish_reason=out.finish_reason, usage=completion.usage)

    async def _read(self, resp: aiohttp.ClientResponse, watchdog: _Watchdog) -> bytes:
        """A whole (non-streamed) response body, up to ``max_event_size``; the connection goes back to the pool."""
        body, whole = await self._read_body(resp, watchdog, self.max_event_size)
        if not whole:
            raise LLMResponseTooLargeError(self.max_event_size, body[:_EXCERPT])
        return body

    async def _read_body(self, resp: aiohttp.ClientResponse, watchdog: _Watchdog, limit: int) -> tuple[bytes, bool]:
        """At most ``limit`` bytes of the body, under the call's watchdog, and whether that was all of it.

        Read whole, the connection goes back to the pool; cut short, it is closed.
        """
        reader = watchdog.reader = resp.content
        watchdog.started = False
        clock = watchdog.clock
        parts: list[bytes] = []
        size = 0
        try:
            while size <= limit:
                watchdog.waiting = clock()
                data = await reader.readany()
                watchdog.waiting = None
                if not data:
                    resp.release()
                    return b"".join(parts), True
                watchdog.started = True
                parts.append(data)
                size += len(data)
        except aiohttp.ClientError as exc:
            raise LLMConnectionError(f"connection lost: {exc}") from exc
        finally:
            watchdog.waiting = None
            watchdog.reader = None
            if size > limit or not reader.is_eof():
                resp.close()
        return b"".join(parts)[:limit], False

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
        if body.get("n", 1) not in (None, 1):
            # One parser per response: n choices would need n parsers and choice-tagged events.
            raise UsageError(f"n={body['n']!r}: streamparse parses one choice per response; send n separate requests")
        return body

    async def _open(
        self,
        body: dict[str, Any],
        watchdog: _Watchdog,
        *,
        first_read: bool = False,
        headers: dict[str, str] | None = None,
        recorder: Recorder | None = None,
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        """POST the request, retrying until a response with a good status starts.

        With ``first_read`` (streams), the body's first bytes are read within
        the attempt too: nothing has been handed out yet, so a connection lost
        before them is still worth another try.  The watchdog's expiry cancels
        this, wherever it waits (connecting, retry waits), into its error.
        """
        watchdog.task = asyncio.current_task()
        try:
            return await self._attempts(body, watchdog, first_read, headers, recorder)
        except asyncio.CancelledError:
            error = watchdog.cancelled()
            if error is None:
                raise
            raise error from None
        finally:
            watchdog.task = None

    async def _attempts(
        self,
        body: dict[str, Any],
        watchdog: _Watchdog,
        first_read: bool,
        headers: dict[str, str] | None,
        recorder: Recorder | None,
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        if body.get("model") is None:
            if self.model is None:
                models = await self._models(watchdog)
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
        total = self.timeouts.total
        ends = None if total is None else watchdog.clock() + total

        def retry_on(exc: Exception) -> bool | float:
            """stamina's predicate: what is worth another attempt, and after how long."""
            if isinstance(exc, LLMResponseError):
                if exc.status not in RETRY_STATUSES:
                    return False
                wait = exc.retry_after
                if wait is None:
                    return True
                # A wait above the cap, or past the total timeout, fails now rather than later.
                left = math.inf if ends is None else ends - watchdog.clock()
                return wait if wait <= min(r.max_retry_after, left) else False
            if isinstance(exc, LLMTimeoutError):
                return exc.timeout == "connect"
            return isinstance(exc, LLMConnectionError)

        async def attempt_once() -> tuple[aiohttp.ClientResponse, bytes]:
            resp = await self._request("POST", "/chat/completions", data, watchdog, headers=headers, recorder=recorder)
            return resp, (await self._first_read(resp, watchdog) if first_read else b"")

        # stamina's set-up costs more than the rest of a request's own work: the first attempt goes
        # without it, and its failure, raised again as stamina's first attempt, gets the same verdict.
        try:
            return await attempt_once()
        except Exception as exc:
            failed: Exception | None = exc
        async for attempt in stamina.retry_context(
            on=retry_on,
            attempts=r.attempts,
            timeout=None,
            wait_initial=r.wait_initial,
            wait_max=r.wait_max,
            wait_jitter=r.wait_jitter,
        ):
            with attempt:
                if failed is not None:
                    error, failed = failed, None
                    raise error
                return await attempt_once()
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def _first_read(self, resp: aiohttp.ClientResponse, watchdog: _Watchdog) -> bytes:
        if resp.content_type == "application/json":
            # An error answered with a good status instead of a stream.
            body, whole = await self._read_body(resp, watchdog, _ERROR_BODY_LIMIT)
            message, error_type, code, _ = decode_error_body(body) if whole else (_excerpt(body), None, None, None)
            raise LLMStreamError(message, error_type=error_type, code=code)
        reader = watchdog.reader = resp.content
        watchdog.started = False
        watchdog.waiting = watchdog.clock()
        try:
            return await reader.readany()
        except BaseException as exc:
            resp.close()
            watchdog.reader = None  # between attempts, an expiry cancels the retry wait
            if isinstance(exc, aiohttp.ClientError):
                raise LLMConnectionError(f"connection lost before the first event: {exc}") from exc
            raise
        finally:
            watchdog.waiting = None

    async def _request(
        self,
        method: str,
        path: str,
        data: bytes | None,
        watchdog: _Watchdog,
        *,
        headers: dict[str, str] | None = None,
        recorder: Recorder | None = None,
    ) -> aiohttp.ClientResponse:
        watchdog.reader = None
        watchdog.started = False
        watchdog.waiting = watchdog.clock()  # first_byte runs until the headers
        try:
            resp = await self._get_session().request(
                method, self.base_url + path, data=data, headers=headers, trace_request_ctx=recorder
            )
        except asyncio.TimeoutError as exc:  # aiohttp's only timeout left: sock_connect
            raise LLMTimeoutError("connect", self.timeouts.connect or 0.0) from exc
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
            raise UsageError(f"invalid base_url {self.base_url!r}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise LLMConnectionError(f"cannot reach {self.base_url}: {exc}") from exc
        finally:
            watchdog.waiting = None
        _small_reads(resp)
        if resp.status >= 400:
            try:
                body, whole = await self._read_body(resp, watchdog, _ERROR_BODY_LIMIT)
            except LLMError as exc:
                if exc is watchdog.expired:  # a timeout or Client.close(): the call is over
                    raise
                body, whole = b"", True  # the status says enough
            message, error_type, code, param = decode_error_body(body) if whole else (_excerpt(body), None, None, None)
            raise LLMResponseError(
                message,
                status=resp.status,
                error_type=error_type,
                code=code,
                param=param,
                retry_after=_retry_after(resp.headers.get("Retry-After")),
            )
        return resp


def _small_reads(resp: aiohttp.ClientResponse) -> None:
    """Read the body in pieces of at most ``_READ_SIZE``.

    asyncio reads a socket into a fresh 256 KiB buffer, which glibc maps and
    unmaps on every read (mmap, mremap, munmap and fresh pages): at a model's
    pace, one event per read, that was a quarter of the CPU per event at 256
    streams.  Below the allocator's mmap threshold the buffer comes from the heap.
    Plain TCP only: asyncio's TLS layer (https) and uvloop's transports read
    with sizes of their own, which are left alone.
    """
    connection = resp.connection
    transport = connection.transport if connection is not None else None
    if getattr(transport, "max_size", 0) > _READ_SIZE:
        transport.max_size = _READ_SIZE  # type: ignore[union-attr]


def _excerpt(body: bytes) -> str:
    """The start of a body too large to read whole, for an error message."""
    return f"{body[:_EXCERPT].decode('utf-8', 'replace')}… (cut at {_EXCERPT} bytes)"


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
        self._watchdog: _Watchdog | None = None  # the call's timeouts, from the first read on
        self._sse = SSEDecoder(max_event_size=client.max_event_size)
        self._folder_made: ChunkFolder | None = None  # made once the model (and so an "auto" format) is known
        self._ready: deque[Event] = deque()  # events not handed out yet (popped as they go: none kept after)
        self._tokens = 0  # the folder's token count when the watchdog last heard of it
        self._done = False  # [DONE] seen or the stream failed: nothing more to read
        self._over = False  # every event was handed out
        self._error: LLMError | None = None  # raised once the events before it are handed out

    @property
    def _folder(self) -> ChunkFolder:
        folder = self._folder_made
        if folder is None:
            folder = self._folder_made = self._client._folder(self._tools, values=self._client.values)
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
        while not self._ready:
            if self._error is not None:
                error, self._error = self._error, None
                self._over = True
                raise error
            if self._over or self._done:
                self._over = True
                await self._drain()
                raise StopAsyncIteration
            await self._fill()
        return self._ready.popleft()

    async def aclose(self) -> None:
        """Stop reading and close the connection."""
        self._close_connection()
        self._done = self._over = True

    def __del__(self) -> None:
        self._close_connection()

    def _close_connection(self) -> None:
        if self._watchdog is not None:
            self._watchdog.close()
        if self._resp is not None:
            self._resp.close()
            self._resp = None

    async def _fill(self) -> None:
        """One network read: its events go to ``_ready``."""
        watchdog = self._watchdog
        if watchdog is None:  # the call starts: its timeouts from now on
            watchdog = self._watchdog = self._client._watchdog(progress=True)
        resp = self._resp
        try:
            if resp is None:
                self._resp, data = await self._client._open(
                    self._body, watchdog, first_read=True, headers=self._headers, recorder=self._recorder
                )
            else:
                # The watchdog's only cost per read: when this wait began, and whether tokens came.
                now = watchdog.clock()
                tokens = self._folder.tokens
                if tokens != self._tokens:
                    self._tokens = tokens
                    watchdog.token_at = now
                watchdog.waiting = now
                data = await resp.content.readany()
                watchdog.waiting = None
            stamp = time.perf_counter_ns() if self._recorder is not None else 0  # before any framing or decoding
        except LLMError as exc:
            self._fail(exc)
            return
        except aiohttp.ClientError as exc:
            if self._folder.finish_reason is None:
                self._fail(LLMDisconnectedError(f"connection lost mid-stream: {exc}"))
                return
            data = b""  # the answer was complete; only its [DONE] was lost
            stamp = time.perf_counter_ns()
        if not data:
            if self._recorder is not None:
                self._recorder.read(stamp)
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
        watchdog.started = True  # a byte of the body arrived: idle, not first_byte, from now on
        try:
            payloads = self._sse.feed_data(data)
        except SSEError as exc:  # an event above max_event_size
            self._fail(LLMStreamError(str(exc)))
            return
        recorder = self._recorder
        if recorder is not None:
            recorder.read(stamp)
        ready = self._ready
        folder = self._folder
        for payload in payloads:
            try:
                chunk = folder.decode(payload)
                if chunk is None:  # [DONE]: the flushed events and Finish
                    if recorder is not None:
                        recorder.chunk(None, 0)
                    ready += folder.end()
                    self._end()
                    return
                ready += folder.chunk(chunk)
                if recorder is not None:
                    recorder.chunk(chunk, folder.output)
            except LLMStreamError as exc:
                self._fail(exc)
                return

    def _end(self) -> None:
        """The stream is complete (its Finish is in ``_ready``): release the connection."""
        self._done = True
        if self._watchdog is not None:
            self._watchdog.close()
        resp = self._resp
        if resp is not None and resp.content.is_eof():
            resp.release()
            self._resp = None
        # Else the body's last chunk is still on its way: released by _drain,
        # as releasing it unread would close the connection, not pool it.

    async def _drain(self) -> None:
        """After ``[DONE]``: read the rest of the HTTP body (a little at most), then pool the connection."""
        resp, self._resp = self._resp, None
        if resp is None or self._watchdog is None:
            return
        try:
            await asyncio.wait_for(self._client._read_body(resp, self._watchdog, _DRAIN_LIMIT), _DRAIN_TIMEOUT)
        except (LLMError, asyncio.TimeoutError):
            pass  # the connection was closed instead of pooled

    def _fail(self, error: LLMError) -> None:
        """Hand out what came before, then raise ``error`` carrying everything received."""
        if self._folder_made is not None:
            self._folder_made.close()
        error.partial = self.message
        self._error = error
        self._done = True
        self._close_connection()
