"""An embedded OpenAI-compatible server that streams scripted replies.

It speaks vLLM's current wire format byte for byte, so the test
suite, ``streamparse demo`` and users' own UI tests can run against a real
socket without a GPU::

    async with Server(["Hi!", Reply("Sure.<tool_call>...</tool_call>")]) as server:
        ...  # point any OpenAI client at server.base_url

Each request to ``/v1/chat/completions`` takes the next reply of a list, or
asks a callable ``(request_json) -> Reply | str``. A :class:`Fault` on a
reply (or on the whole server) breaks the response in one of the ways real
servers and proxies do.

Script files (``streamparse serve --script FILE``, :func:`load_script`) are
JSON: a list whose items are either a string (the raw model output) or an
object with the fields of :class:`Reply`, ``fault`` being an object with the
fields of :class:`Fault`::

    [
      "Hello! How can I help?",
      {"text": "<tool_call>\\n{\\"name\\": \\"get_weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\"}}\\n</tool_call>",
       "reasoning": "The user wants the weather."},
      {"text": "It is sunny.", "fault": {"status": 429, "retry_after": 1}}
    ]

Unknown fields are an error, so a typo cannot silently do nothing.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Union

import msgspec
from aiohttp import web

from .pieces import Chunking
from ..core.events import (
    Event,
    InvalidToolCall,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
)
from ..core.formats import Format
from ..errors import UsageError
from ..core.parser import Parser

__all__ = ["Fault", "RecordedRequest", "Reply", "Script", "Server", "load_script"]


class Fault(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Ways to break one response (or every response, set on the server).

    Event counts (``drop_after``, ``error_after``, ``stall_after``) count
    ``data:`` events: the role chunk is event 1, ``[DONE]`` counts too.
    Options that only make sense while streaming are ignored for
    ``stream: false`` requests, except ``drop_after``, which then closes the
    connection without an answer.
    """

    status: int | None = None
    """Answer with this HTTP error status and an error JSON, no stream."""
    error_format: Literal["current", "flat"] = "current"
    """``current``: ``{"error":{...}}``; ``flat``: vLLM < 0.10.1's ``{"object":"error",...}``."""
    message: str = "injected fault"
    error_type: str | None = None
    """Error ``type``; default derived from the status (``RateLimitError`` for 429...)."""
    retry_after: float | str | None = None
    """Send a ``Retry-After`` header with the error status."""
    headers_delay: float = 0.0
    """Seconds to wait before sending the response headers."""
    drop_after: int | None = None
    """Abort the TCP connection after this many events."""
    error_after: int | None = None
    """After this many events send ``data: {"error":...}`` (code 500), then ``[DONE]``."""
    done: bool = True
    """False: end the stream without ``data: [DONE]``."""
    keep_alive: bool = False
    """Send ``: keep-alive`` comments between events."""
    crlf: bool = False
    """End lines with CRLF instead of LF."""
    one_event: bool = False
    """Send the whole text (and the whole reasoning) in a single delta each,
    e.g. one multi-megabyte event."""
    stall_after: int | None = None
    """Pause for ``stall`` seconds after this many events (idle-timeout tests)."""
    stall: float = 0.0


class Reply(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One scripted answer: the raw model output and how to deliver it."""

    text: str = ""
    """Raw model output, tool-call tags included."""
    reasoning: str | None = None
    """Sent first, in ``delta.reasoning`` (``message.reasoning``)."""
    finish_reason: str | None = None
    """Override the finish reason (e.g. ``length`` for a truncated call)."""
    fault: Fault | None = None
    """Overrides the server-wide fault for this reply."""
    ttft: float = 0.0
    """Seconds from the role chunk (sent at once) to the first event after it."""
    itl: float | list[float] = 0.0
    """Seconds before each later event up to the finish chunk: one value, or
    one per event (the last repeats). 0 puts an event in the previous one's
    write. The usage chunk and ``[DONE]`` go out with the finish chunk."""
    tokens_per_event: int = 1
    """Token-like pieces joined into each reasoning or content event
    (multi-token chunks); usage counts the pieces."""

    @property
    def timed(self) -> bool:
        return self.ttft > 0 or self.itl != 0.0


Script = Union[Sequence[Union[Reply, str]], Callable[[dict[str, Any]], Union[Reply, str]]]
"""Replies in request order, or a function of the request JSON."""


class RecordedRequest(msgspec.Struct, frozen=True):
    """A chat-completions request as the server received it."""

    json: dict[str, Any]
    headers: dict[str, str]
    """Header names lowercased; a repeated header keeps its last value."""
    received_ns: int = 0
    """``time.perf_counter_ns()`` when the body had been read."""
    writes: list[int] = msgspec.field(default_factory=list)
    """``time.perf_counter_ns()`` as each write of the stream's body was handed
    to the transport (one write per event when the reply is timed)."""


def load_script(path: str | Path) -> list[Reply]:
    """Read a JSON script file (format in the module docstring)."""
    items = msgspec.json.decode(Path(path).read_bytes(), type=list[Union[Reply, str]])
    return [Reply(item) if isinstance(item, str) else item for item in items]


_WRITE_BATCH = 64 * 1024
"""Bytes gathered before one ``resp.write`` when there is no delay: one
write per event would make syscalls, not encoding, the bottleneck."""
_GROUP = 256
"""Events encoded together in one join (about 50 KB of small deltas)."""
_SHUTDOWN_GRACE = 0.25
"""Seconds aiohttp waits for handlers other than chat completions at ``stop``."""
_DROP_FLUSH = 1.0
"""Longest wait for written events to leave the buffer before an abort."""

_ERROR_TYPES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}
_NO_FAULT = Fault()
_encode = msgspec.json.encode


def _error_json(status: int, message: str, error_type: str | None, fmt: str, param: str | None = None) -> bytes:
    info = {
        "message": message,
        "type": error_type
        or _ERROR_TYPES.get(status, "InternalServerError" if status >= 500 else "BadRequestError"),
        "param": param,
        "code": status,
    }
    return _encode({"object": "error", **info} if fmt == "flat" else {"error": info})


def _error_response(
    status: int, message: str, fault: Fault = _NO_FAULT, *, param: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    headers = dict(headers or {})
    if fault.retry_after is not None:
        retry = fault.retry_after
        headers["Retry-After"] = retry if isinstance(retry, str) else format(retry, "g")
    return web.Response(
        status=status,
        body=_error_json(status, message, fault.error_type, fault.error_format, param),
        content_type="application/json",
        headers=headers,
    )


class _ChatRequest(msgspec.Struct):
    """The fields of a chat-completions request the server checks, as vLLM's validation does."""

    messages: list[dict[str, Any]]
    model: str | None = None
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    n: int | None = None
    tools: list[dict[str, Any]] | None = None


def _invalid(body: dict[str, Any]) -> str | None:
    """Why a chat-completions request body is invalid; None when it is fine."""
    try:
        request = msgspec.convert(body, _ChatRequest)
    except msgspec.ValidationError as exc:
        return str(exc)
    for i, message in enumerate(request.messages):
        if not isinstance(message.get("role"), str):
            return f"messages[{i}] has no role"
    if request.n not in (None, 1):
        return f"n={request.n}: the streamparse test server answers with one choice"
    return None


@web.middleware
async def _json_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Every error is OpenAI-style JSON: aiohttp's own 404, 405 and 413 included."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _error_response(exc.status, f"{exc.reason}: {request.method} {request.path}", headers=headers)


def _cors(allowed_origins: Sequence[str]) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """The ``on_response_prepare`` hook: CORS headers on every answer (streams included) to an allowed origin."""
    any_origin = "*" in allowed_origins

    async def add(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if origin is None:
            return
        if any_origin:
            response.headers["Access-Control-Allow-Origin"] = "*"
        elif origin in allowed_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers.add("Vary", "Origin")

    return add


def _preflight(allowed_origins: Sequence[str]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware answering CORS preflight requests (``OPTIONS`` with ``Access-Control-Request-Method``)."""

    @web.middleware
    async def preflight(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        method = request.headers.get("Access-Control-Request-Method")
        if request.method != "OPTIONS" or method is None or "Origin" not in request.headers:
            return await handler(request)
        if "*" not in allowed_origins and request.headers["Origin"] not in allowed_origins:
            return _error_response(400, "Disallowed CORS origin")
        headers = {
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Max-Age": "600",
        }
        if "Access-Control-Request-Headers" in request.headers:
            headers["Access-Control-Allow-Headers"] = request.headers["Access-Control-Request-Headers"]
        return web.Response(headers=headers)

    return preflight


class _ToolDeltas:
    """Maps parser events to vLLM delta objects, numbering calls as they start."""

    def __init__(self, reasoning_key: str) -> None:
        self.reasoning_key = reasoning_key
        self.calls = 0
        self._wire_index: dict[int, int] = {}

    def delta(self, events: Sequence[Event]) -> bytes | None:
        if len(events) == 1:
            # Most pieces give one text or argument fragment: skip the dicts.
            event = events[0]
            if type(event) is TextDelta:
                return b'{"content":' + _encode(event.text) + b"}"
            if type(event) is ToolCallDelta:
                return b"".join(
                    (
                        b'{"content":null,"tool_calls":[{"index":',
                        str(self._wire_index[event.index]).encode(),
                        b',"function":{"arguments":',
                        _encode(event.arguments),
                        b"}}]}",
                    )
                )
        content: list[str] = []
        reasoning: list[str] = []
        entries: list[dict[str, Any]] = []
        for event in events:
            if isinstance(event, TextDelta):
                content.append(event.text)
            elif isinstance(event, ReasoningDelta):
                reasoning.append(event.text)
            elif isinstance(event, ToolCallStart):
                index = self._wire_index[event.index] = len(self._wire_index)
                entries.append(
                    {
                        "id": event.id,
                        "type": "function",
                        "index": index,
                        "function": {"name": event.name},
                    }
                )
            elif isinstance(event, ToolCallDelta):
                index = self._wire_index[event.index]
                last = entries[-1] if entries else None
                if last is not None and last["index"] == index and "arguments" in last["function"]:
                    last["function"]["arguments"] += event.arguments
                else:
                    entries.append({"index": index, "function": {"arguments": event.arguments}})
            elif isinstance(event, ToolCallEnd):
                self.calls += 1
            elif isinstance(event, InvalidToolCall) and event.index not in self._wire_index:
                # vLLM hands a block it cannot parse back as plain content; a call
                # whose fragments already went out as tool_calls is not sent twice.
                content.append(event.raw)
        if not (content or reasoning or entries):
            return None
        delta: dict[str, Any] = {}
        if content or entries:
            delta["content"] = "".join(content) if content else None
        if reasoning:
            delta[self.reasoning_key] = "".join(reasoning)
        if entries:
            delta["tool_calls"] = entries
        return _encode(delta)


def _tool_id(index: int) -> str:
    """The parser's ``id_factory``: vLLM's random call ids, not ``call_<index>``."""
    return f"chatcmpl-tool-{secrets.token_hex(16)}"


class Server:
    """The scripted OpenAI-compatible server; an async context manager.

    ``tool_parser=True`` parses tool calls server-side like vLLM's
    ``--enable-auto-tool-choice --tool-call-parser hermes`` (calls go in
    ``delta.tool_calls``); False sends the raw text, tags included, as
    content. The first ``fail_first`` chat requests get ``failure`` instead
    of their reply, without using up a script entry.

    Requests are checked as vLLM checks them: a ``model`` other than
    ``model`` (or one of ``aliases``) is a 404, a body that is not a chat
    request (no ``messages``, wrong types) a 400; every error is OpenAI-style
    JSON. ``allowed_origins`` are the origins browsers may call it from
    (CORS; ``"*"``, the default as in vLLM, allows any; empty turns CORS off).
    """

    def __init__(
        self,
        script: Script = (),
        *,
        tool_parser: bool = False,
        tool_format: str | Format = "hermes",
        model: str | None = None,
        aliases: Sequence[str] = (),
        allowed_origins: Sequence[str] = ("*",),
        chunking: Chunking = Chunking(),
        delay: float = 0.0,
        fault: Fault | None = None,
        fail_first: int = 0,
        failure: Fault = Fault(status=503, message="service unavailable"),
        reasoning_field: str = "reasoning",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if isinstance(script, str):
            raise TypeError("script must be a list of replies or a callable, not one string")
        self._script: Callable[[dict[str, Any]], Reply | str] | None = None
        self.replies: list[Reply | str] = []
        """The list script; tests may append to it while the server runs."""
        if callable(script):
            self._script = script
        else:
            self.replies = list(script)
        self.tool_parser = tool_parser
        self.tool_format = tool_format
        # By default the id names the format, so a client's format="auto" finds it.
        self.model = model or f"streamparse-{tool_format if isinstance(tool_format, str) else tool_format.name}"
        self.models = (self.model, *aliases)
        """Every model id the server answers to (``/v1/models`` lists them)."""
        self.chunking = chunking
        self.delay = delay
        self.fault = fault
        self.fail_first = fail_first
        self.failure = failure
        self.reasoning_field = reasoning_field
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0
        """Streams the client left before the end (seen as a reset or a cancel)."""
        self.open_streams = 0
        """Streamed responses being written now; ``max_open_streams`` is the peak."""
        self.max_open_streams = 0
        self._served = 0
        self._next_reply = 0
        self._stopping = False
        self._handlers: set[asyncio.Task[Any]] = set()
        self._disconnected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        # Benchmarks stream the same long reply many times, and cutting it
        # is a third of an event's cost. Per server, so the memory goes with it.
        self._split = functools.lru_cache(maxsize=4)(_split)
        middlewares = [_json_errors, *([_preflight(allowed_origins)] if allowed_origins else [])]
        self.app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=middlewares)
        if allowed_origins:
            self.app.on_response_prepare.append(_cors(allowed_origins))
        self.app.router.add_post("/v1/chat/completions", self._chat)
        self.app.router.add_get("/v1/models", self._models)
        self.app.router.add_get("/health", self._health)

    # -- lifecycle ---------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port``, the real port once started."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``: ``http://host:port/v1``."""
        return f"{self.url}/v1"

    async def start(self) -> None:
        """Listen on ``host:port``; port 0 picks a free port."""
        if self._runner is not None:
            return
        self._stopping = False
        # handler_cancellation: a client that goes away cancels its handler
        # at once, even mid-sleep, so the disconnect is seen (and counted).
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_GRACE,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening and cancel running responses."""
        if self._runner is None:
            return
        self._stopping = True
        # aiohttp would first wait for running handlers; a test server
        # ends them at once, so a stalled stream cannot slow a test down.
        for task in self._handlers:
            task.cancel()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def serve_forever(self) -> None:
        """Run until cancelled (Ctrl-C under ``asyncio.run``), then stop."""
        await self.start()
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            await self.stop()

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def wait_for_disconnects(self, count: int = 1, *, timeout: float = 5.0) -> None:
        """Wait until ``disconnects >= count``; ``TimeoutError`` after ``timeout``."""

        async def reached() -> None:
            while self.disconnects < count:
                await self._disconnected.wait()

        await asyncio.wait_for(reached(), timeout)

    def _note_disconnect(self) -> None:
        self.disconnects += 1
        self._disconnected.set()
        self._disconnected = asyncio.Event()

    # -- routes ------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response()

    async def _models(self, request: web.Request) -> web.Response:
        created = int(time.time())
        models = [{"id": m, "object": "model", "created": created, "owned_by": "streamparse"} for m in self.models]
        body = _encode({"object": "list", "data": models})
        return web.Response(body=body, content_type="application/json")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            return await self._answer(request)
        except (ConnectionResetError, asyncio.CancelledError):
            if not self._stopping:
                self._note_disconnect()
            raise
        finally:
            self._handlers.discard(task)

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        try:
            body = msgspec.json.decode(await request.read())
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            return _error_response(400, f"invalid JSON body: {exc}")
        if not isinstance(body, dict):
            return _error_response(400, "the request body must be a JSON object")
        log = RecordedRequest(body, {k.lower(): v for k, v in request.headers.items()}, time.perf_counter_ns())
        self.requests.append(log)
        problem = _invalid(body)
        if problem is not None:
            return _error_response(400, problem)
        if body.get("model") is not None and body["model"] not in self.models:
            return _error_response(404, f"The model `{body['model']}` does not exist.", param="model")

        failing = self._served < self.fail_first
        self._served += 1
        reply = Reply()
        if not (failing and self.failure.status is not None):
            try:
                next_reply = self._reply(body, consume=not failing)
            except Exception as exc:  # the user's script: report it to the client
                return _error_response(500, f"script raised {exc!r}")
            if next_reply is None:
                message = f"streamparse test server: script exhausted after {len(self.replies)} replies"
                return _error_response(500, message)
            reply = next_reply
        fault = self.failure if failing else reply.fault or self.fault or _NO_FAULT
        if fault.headers_delay:
            await asyncio.sleep(fault.headers_delay)
        if fault.status is not None:
            return _error_response(fault.status, fault.message, fault)
        if body.get("stream") is True:
            return await self._stream(request, body, reply, fault, log.writes)
        if fault.drop_after is not None:
            return await _drop(request, web.StreamResponse())
        return self._complete(body, reply)

    def _reply(self, body: dict[str, Any], *, consume: bool) -> Reply | None:
        """The reply for this request; None when the list is used up."""
        if self._script is not None:
            reply = self._script(body)
        elif self._next_reply < len(self.replies):
            reply = self.replies[self._next_reply]
            self._next_reply += consume
        else:
            return None
        return Reply(reply) if isinstance(reply, str) else reply

    # -- responses ---------------------------------------------------------

    def _pieces(self, text: str, fault: Fault, per_event: int = 1) -> Sequence[str]:
        if fault.one_event:
            return (text,) if text else ()
        pieces = self._split(self.chunking, text)
        if per_event > 1:
            return ["".join(pieces[i : i + per_event]) for i in range(0, len(pieces), per_event)]
        return pieces

    def _parser(self, body: dict[str, Any]) -> Parser:
        """The server-side tool parser: like vLLM's, it types raw values by the request's tools but
        checks nothing against them (that is the client's job)."""
        tools = body.get("tools")
        try:
            return Parser(self.tool_format, id_factory=_tool_id, tools=tools or None, check_tools=False)
        except UsageError:  # tools the schema compiler refuses: the values stay untyped
            return Parser(self.tool_format, id_factory=_tool_id)

    def _events(
        self, body: dict[str, Any], reply: Reply, fault: Fault, group: int, continuous: bool = False
    ) -> Iterator[tuple[int, bytes]]:
        """The response's ``data:`` events, encoded and framed, up to ``group``
        per item: ``(how many, bytes)``. ``continuous`` (one event per item):
        cumulative usage on every chunk, as vLLM's ``continuous_usage_stats``."""
        nl2 = b"\r\n\r\n" if fault.crlf else b"\n\n"
        head = b"".join(
            (
                b'data: {"id":"chatcmpl-',
                secrets.token_hex(16).encode(),
                b'","object":"chat.completion.chunk","created":',
                str(int(time.time())).encode(),
                b',"model":',
                _encode(body.get("model") or self.model),
            )
        )
        choice = head + b',"choices":[{"index":0,"delta":'
        tail = b',"logprobs":null,"finish_reason":null}]}' + nl2

        def usage_tail(tokens: int) -> bytes:
            return b',"logprobs":null,"finish_reason":null}],"usage":' + _usage(body, tokens) + b"}" + nl2

        yield 1, choice + b'{"role":"assistant","content":""}' + (usage_tail(0) if continuous else tail)
        tools = _ToolDeltas(self.reasoning_field)
        tokens = 0
        for count, pieces, deltas in self._deltas(body, reply, fault, tools, group, tail + choice):
            tokens += pieces
            yield count, choice + deltas + (usage_tail(tokens) if continuous else tail)
        total = len(self._pieces(reply.reasoning or "", fault)) + len(self._pieces(reply.text, fault))
        finish = reply.finish_reason or ("tool_calls" if tools.calls else "stop")
        end = b',"logprobs":null,"finish_reason":' + _encode(finish) + b',"stop_reason":null}]'
        yield 1, choice + b"{}" + end + (b',"usage":' + _usage(body, total) if continuous else b"") + b"}" + nl2
        if _include_usage(body):
            yield 1, head + b',"choices":[],"usage":' + _usage(body, total) + b"}" + nl2
        if fault.done:
            yield 1, b"data: [DONE]" + nl2

    def _deltas(
        self, body: dict[str, Any], reply: Reply, fault: Fault, tools: _ToolDeltas, group: int, joint: bytes
    ) -> Iterator[tuple[int, int, bytes]]:
        """Delta objects after the role chunk, up to ``group`` of them joined by
        ``joint`` (the bytes that close one event and open the next):
        ``(events, token-like pieces, bytes)``."""
        per = reply.tokens_per_event
        yield from self._plain(self.reasoning_field, reply.reasoning or "", fault, group, joint, per)
        if not self.tool_parser:
            yield from self._plain("content", reply.text, fault, group, joint, per)
            return
        parser = self._parser(body)
        batch: list[bytes] = []
        pending = 0  # pieces whose delta is still to come (the parser held them back)
        for piece in self._pieces(reply.text, fault, per):
            pending += per
            # feed("") gives nothing, yet servers do send empty deltas.
            delta = tools.delta(parser.feed(piece)) if piece else b'{"content":""}'
            if delta is not None:
                batch.append(delta)
                if len(batch) == group:
                    yield group, pending, joint.join(batch)
                    batch, pending = [], 0
        delta = tools.delta(parser.close())
        if delta is not None:
            batch.append(delta)
        if batch:
            yield len(batch), pending, joint.join(batch)

    def _plain(
        self, key: str, text: str, fault: Fault, group: int, joint: bytes, per: int
    ) -> Iterator[tuple[int, int, bytes]]:
        """``{key: piece}`` deltas, grouped like :meth:`_deltas`."""
        # One C-level join per group and no per-event concatenation: the
        # benchmarks push millions of events through here.
        pieces = self._pieces(text, fault, per)
        opener = b'{"' + key.encode() + b'":'
        between = b"}" + joint + opener
        total = len(self._pieces(text, fault)) if per > 1 else len(pieces)
        for start in range(0, len(pieces), group):
            chunk = pieces[start : start + group]
            tokens = min((start + len(chunk)) * per, total) - start * per
            yield len(chunk), tokens, opener + between.join(map(_encode, chunk)) + b"}"

    async def _stream(
        self, request: web.Request, body: dict[str, Any], reply: Reply, fault: Fault, writes: list[int]
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await resp.prepare(request)
        self.open_streams += 1
        self.max_open_streams = max(self.max_open_streams, self.open_streams)
        counted = True

        async def write(data: bytes) -> None:
            writes.append(time.perf_counter_ns())
            await resp.write(data)

        try:
            nl2 = b"\r\n\r\n" if fault.crlf else b"\n\n"
            marks = {n for n in (fault.drop_after, fault.stall_after, fault.error_after) if n is not None}
            delay = self.delay
            options = body.get("stream_options")
            continuous = _include_usage(body) and isinstance(options, dict) and options.get("continuous_usage_stats") is True
            # Faults, delays and timing act between single events; otherwise
            # events go out in groups and several groups per write.
            timed = reply.timed
            group = 1 if marks or delay or fault.keep_alive or timed or continuous else _GROUP
            items: Iterator[tuple[int, bytes]] = self._events(body, reply, fault, group, continuous)
            gaps: Iterator[float] = itertools.repeat(0.0)
            if timed:
                listed = list(items)
                items = iter(listed)
                gaps = iter(_gaps(reply, len(listed), _include_usage(body) + fault.done))
            loop = asyncio.get_running_loop()
            deadline = loop.time()
            batch: list[bytes] = []
            size = 0
            sent = 0
            for count, data in items:
                gap = next(gaps)
                if gap > 0:
                    if batch:
                        await write(b"".join(batch))
                        batch, size = [], 0
                    deadline += gap  # from the schedule, not the last wake-up: no drift
                    await asyncio.sleep(max(0.0, deadline - loop.time()))
                if sent in marks:
                    if batch:
                        await write(b"".join(batch))
                        batch, size = [], 0
                    if sent == fault.drop_after:
                        return await _drop(request, resp)
                    if sent == fault.stall_after:
                        await asyncio.sleep(fault.stall)
                    if sent == fault.error_after:
                        error = _error_json(500, fault.message, fault.error_type, fault.error_format)
                        batch.append(b"data: " + error + nl2)
                        if fault.done:
                            batch.append(b"data: [DONE]" + nl2)
                        break
                if sent and fault.keep_alive:
                    batch.append(b": keep-alive" + nl2)
                batch.append(data)
                size += len(data)
                sent += count
                if delay:
                    await write(b"".join(batch))
                    batch, size = [], 0
                    await asyncio.sleep(delay)
                elif size >= _WRITE_BATCH:
                    await write(b"".join(batch))
                    batch, size = [], 0
            # Not open any more once its end is handed over: the client may
            # start its next request before this handler returns.
            self.open_streams -= 1
            counted = False
            if batch:
                await write(b"".join(batch))
            await resp.write_eof()
            return resp
        finally:
            if counted:
                self.open_streams -= 1

    def _complete(self, body: dict[str, Any], reply: Reply) -> web.Response:
        tokens = len(self._split(self.chunking, reply.reasoning or "")) + len(
            self._split(self.chunking, reply.text)
        )
        content, reasoning = reply.text, reply.reasoning or ""
        calls: list[dict[str, Any]] = []
        if self.tool_parser:
            parser = self._parser(body)
            text: list[str] = []
            for event in [*parser.feed(reply.text), *parser.close()]:
                if isinstance(event, TextDelta):
                    text.append(event.text)
                elif isinstance(event, InvalidToolCall):
                    text.append(event.raw)
                elif isinstance(event, ReasoningDelta):
                    reasoning += event.text
                elif isinstance(event, ToolCallEnd):
                    # vLLM re-serializes the parsed arguments with json.dumps.
                    arguments = json.dumps(event.arguments, ensure_ascii=False)
                    calls.append(
                        {
                            "id": event.id,
                            "type": "function",
                            "function": {"name": event.name, "arguments": arguments},
                        }
                    )
            content = "".join(text)
        message = {
            "role": "assistant",
            "content": content if content.strip() else None,
            "tool_calls": calls,
            self.reasoning_field: reasoning or None,
        }
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": reply.finish_reason or ("tool_calls" if calls else "stop"),
            "stop_reason": None,
        }
        result = {
            "id": f"chatcmpl-{secrets.token_hex(16)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [choice],
            "usage": msgspec.Raw(_usage(body, tokens)),
        }
        return web.Response(body=_encode(result), content_type="application/json")


def _split(chunking: Chunking, text: str) -> tuple[str, ...]:
    return tuple(chunking.split(text))


def _include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _gaps(reply: Reply, events: int, trailing: int) -> list[float]:
    """Seconds before each of a timed reply's ``events``: none before the role
    chunk, ``ttft``, then ``itl`` up to the finish chunk; the ``trailing``
    events after it (usage, ``[DONE]``) go with it."""
    itl = reply.itl if isinstance(reply.itl, list) else [reply.itl]
    paced = max(0, events - 2 - trailing)
    later = [itl[min(i, len(itl) - 1)] if itl else 0.0 for i in range(paced)]
    return ([0.0, reply.ttft] + later + [0.0] * trailing)[:events]


def _usage(body: dict[str, Any], completion_tokens: int) -> bytes:
    # Roughly four characters per token, as tokenizers average on English.
    prompt_tokens = max(1, len(_encode(body.get("messages") or [])) // 4)
    return _encode(
        {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
    )


async def _drop(request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
    """Abort the connection once what was written has left the buffer."""
    transport = request.transport
    if transport is not None:
        deadline = time.monotonic() + _DROP_FLUSH
        while transport.get_write_buffer_size() and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        transport.abort()
    return resp
