"""The ``streamparse`` command: ``demo``, ``parse``, ``chat`` and ``serve``.

Output goes through a *view*: a live terminal view (rich, when installed and
stdout is a terminal), a plain line view (a terminal without rich), or JSON
lines (``--plain``, or stdout is not a terminal). Errors are one line on
stderr: exit status 1 for runtime errors, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import io
import itertools
import json
import logging
import os
import signal
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, Protocol, cast

import msgspec

from ._version import __version__
from .chunks import ChunkFolder
from .errors import FormatError, LLMResponseError, StreamParseError
from .events import Event, Finish, InvalidToolCall, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart
from .formats import Format, available_formats, load_format
from .message import Message, MessageBuilder
from .parser import Parser
from .sse import SSEDecoder

# For types only: rich is optional, and client and server load aiohttp
# (~0.1 s), so the commands import them when they run.
if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.spinner import Spinner

    from .client import Client
    from .server import Reply


class _Abort(Exception):
    """A failure the user can fix, reported as one line."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


# -- views ------------------------------------------------------------------


class View(Protocol):
    """Where a conversation's events and notes go."""

    def note(self, role: str, text: str) -> None:
        """Narration between responses: the prompt, tool results."""

    def start(self) -> None:
        """A request was sent; its events follow."""

    def event(self, event: Event) -> None:
        """One event of the current response."""

    def stop(self) -> None:
        """The response ended (or failed)."""


class JsonLinesView:
    """One ``msgspec.json.encode(event)`` line per event, flushed at once (for pipes)."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def note(self, role: str, text: str) -> None:
        pass  # stdout carries events only

    def start(self) -> None:
        pass

    def event(self, event: Event) -> None:
        self._out.write(msgspec.json.encode(event).decode() + "\n")
        self._out.flush()

    def stop(self) -> None:
        pass


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


class _Clock:
    """Times of one response, from the request: first token, each completed call, total."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None
        self.calls: list[tuple[str, float]] = []
        self.finish: Finish | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def see(self, event: Event) -> float:
        now = self.elapsed()
        if type(event) is Finish:
            self.finish = event
        elif self.first is None:
            self.first = now
        if type(event) is ToolCallEnd:
            self.calls.append((event.name, now))
        return now

    def summary(self, sep: str) -> str:
        parts = [f"first token {_duration(self.first)}" if self.first is not None else "no token"]
        parts += [f"{name} done {_duration(t)}" for name, t in self.calls]
        parts.append(f"total {_duration(self.elapsed())}")
        if self.finish is not None:
            parts.append(f"finish {self.finish.finish_reason}")
            if self.finish.usage is not None:
                parts.append(f"{self.finish.usage.completion_tokens} tokens")
        return sep.join(parts)


def _args_text(arguments: dict[str, Any]) -> str:
    return msgspec.json.encode(arguments).decode()


class LineView:
    """A terminal without rich: text as it streams, argument fragments inline after the call's name."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._clock = _Clock()
        self._at: object = None  # what the current line shows: "text", "reasoning" or a call index
        self._bol = True  # at the beginning of a line
        self._space = ""  # whitespace between blocks: written only if text of the same kind follows
        self._names: dict[int, str] = {}

    def _write(self, text: str) -> None:
        if text:
            self._out.write(text)
            self._bol = text.endswith("\n")
            self._out.flush()

    def _switch(self, at: object, header: str) -> bool:
        """Start a new line for ``at`` unless the current line is already its own."""
        if self._at == at:
            return False
        if not self._bol:
            self._write("\n")
        self._at = at
        self._write(header)
        return True

    def note(self, role: str, text: str) -> None:
        self._switch(None, "")
        self._write(f"{role}: {text}\n")

    def start(self) -> None:
        self._clock = _Clock()

    def event(self, event: Event) -> None:
        t = self._clock.see(event)
        if type(event) is TextDelta or type(event) is ReasoningDelta:
            kind = "text" if type(event) is TextDelta else "reasoning"
            text = self._space + event.text
            if not text.strip():
                self._space = text
                return
            self._space = ""
            if self._switch(kind, "assistant: " if kind == "text" else "thinking: "):
                text = text.lstrip()
            self._write(text)
            return
        self._space = ""
        if type(event) is ToolCallStart:
            self._names[event.index] = event.name
            self._switch(event.index, f"-> {event.name} ")
        elif type(event) is ToolCallDelta:
            self._switch(event.index, f"-> {self._names.get(event.index, '?')} (cont.) ")
            self._write(event.arguments.replace("\n", " "))
        elif type(event) is ToolCallEnd:
            if self._at != event.index:  # another call streamed since: name this one again
                self._switch(None, f"-> {event.name} {_args_text(event.arguments)}")
            self._write(f"  [done at {_duration(t)}]\n")
            self._at = None
        elif type(event) is InvalidToolCall:
            self._switch(None, "")
            self._write(f"[invalid tool call] {event.error}: {event.raw!r}\n")

    def stop(self) -> None:
        self._switch(None, "")
        self._write(f"({self._clock.summary(', ')})\n")


class _OpenCall:
    """A call still streaming: its spinner shows the name and the arguments so far."""

    __slots__ = ("name", "arguments", "spinner")

    def __init__(self, name: str, spinner: Spinner) -> None:
        self.name = name
        self.arguments = ""
        self.spinner = spinner


class RichView:
    """The live terminal view.

    Finished lines of text and finished calls are printed for good; what is
    still streaming (the current line, calls filling in, a status line) stays
    in a live region at the bottom, so a long answer scrolls like a normal
    terminal instead of overflowing the live region. The live region is
    redrawn by rich's refresh thread; the state it reads is only ever
    replaced (never mutated in place) by the event loop.
    """

    _STYLES = {"text": "", "reasoning": "dim italic"}
    _GUTTER = {"text": "", "reasoning": "  ┆ "}

    def __init__(self, console: Console) -> None:
        self._console = console
        self._live: Live | None = None
        self._clock = _Clock()
        self._status: Spinner | None = None
        self._kind: str | None = None  # the segment being written: "text" or "reasoning"
        self._line = ""  # its unfinished last line
        self._blank = 0  # blank lines held back: printed only if more of the segment follows
        self._fresh = True  # the segment printed nothing yet: its leading blank lines are dropped
        self._calls: dict[int, _OpenCall] = {}

    def note(self, role: str, text: str) -> None:
        from rich.text import Text

        style = {"user": "bold green", "tool": "bold magenta"}.get(role, "bold")
        self._console.print(Text.assemble((f"{role} ", style), text))

    def start(self) -> None:
        from rich.live import Live
        from rich.spinner import Spinner

        self._clock = _Clock()
        self._status = Spinner("dots", style="dim")
        self._live = Live(self, console=self._console, refresh_per_second=20, transient=True)
        self._live.start()

    def event(self, event: Event) -> None:
        from rich.spinner import Spinner
        from rich.text import Text

        t = self._clock.see(event)
        if type(event) is TextDelta:
            self._write("text", event.text)
        elif type(event) is ReasoningDelta:
            self._write("reasoning", event.text)
        elif type(event) is ToolCallStart:
            self._end_segment()
            self._calls = {**self._calls, event.index: _OpenCall(event.name, Spinner("dots", style="cyan"))}
        elif type(event) is ToolCallDelta:
            call = self._calls.get(event.index)
            if call is not None:
                call.arguments += event.arguments
        elif type(event) is ToolCallEnd:
            self._end_segment()
            self._calls = {i: c for i, c in self._calls.items() if i != event.index}
            self._console.print(
                Text.assemble(
                    ("✓ ", "bold green"),
                    (event.name, "bold"),
                    (" " + _args_text(event.arguments), "cyan"),
                    (f"  {_duration(t)}", "dim"),
                )
            )
        elif type(event) is InvalidToolCall:
            self._end_segment()
            self._calls = {i: c for i, c in self._calls.items() if i != event.index}
            self._console.print(
                Text.assemble(("✗ invalid tool call: ", "bold red"), event.error, (f"  {event.raw!r}", "dim"))
            )

    def stop(self) -> None:
        from rich.text import Text

        self._end_segment()
        for call in self._calls.values():  # only when the stream failed
            self._console.print(Text.assemble(("… ", "yellow"), (call.name, "bold"), " " + call.arguments))
        self._calls = {}
        if self._live is not None:
            self._live.stop()
            self._live = None
        self._console.print(Text(self._clock.summary(" · "), style="dim"))

    def _write(self, kind: str, text: str) -> None:
        if kind != self._kind:
            self._end_segment()
            self._kind = kind
        *lines, self._line = (self._line + text).split("\n")
        for line in lines:
            self._print_line(kind, line)

    def _print_line(self, kind: str, line: str) -> None:
        from rich.text import Text

        if not line.strip():
            self._blank += not self._fresh
            return
        for _ in range(self._blank):
            self._console.print()
        self._blank = 0
        self._fresh = False
        self._console.print(Text(self._GUTTER[kind] + line, style=self._STYLES[kind]))

    def _end_segment(self) -> None:
        if self._kind is not None and self._line:
            self._print_line(self._kind, self._line)
        self._kind = None
        self._line = ""
        self._blank = 0
        self._fresh = True

    def __rich__(self) -> RenderableType:
        """The live region (called from rich's refresh thread)."""
        from rich.console import Group
        from rich.text import Text

        parts: list[RenderableType] = []
        kind, line = self._kind, self._line
        if kind is not None and line.strip():
            parts.append(Text(self._GUTTER[kind] + line, style=self._STYLES[kind]))
        for call in list(self._calls.values()):
            call.spinner.update(text=Text.assemble((call.name, "bold"), " ", (call.arguments, "cyan")))
            parts.append(call.spinner)
        if self._status is not None:
            waiting = "waiting for the first token" if self._clock.first is None else "streaming"
            self._status.update(text=Text(f"{waiting} · {self._clock.elapsed():.1f} s", style="dim"))
            parts.append(self._status)
        return Group(*parts)


def make_view(plain: bool, out: IO[str] | None = None) -> View:
    """JSON lines when asked or when ``out`` is not a terminal; else rich's live view, or lines without rich."""
    out = out if out is not None else sys.stdout
    if plain or not out.isatty():
        return JsonLinesView(out)
    try:
        from rich.console import Console
    except ImportError:
        return LineView(out)
    return RichView(Console(file=out))


# -- the demo's tools and scripted model ------------------------------------

DEMO_PROMPT = "What's the weather in Paris, and what time is it in Tokyo?"

DEMO_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Current local time in an IANA time zone.",
            "parameters": {
                "type": "object",
                "properties": {"timezone": {"type": "string", "description": "e.g. Asia/Tokyo"}},
                "required": ["timezone"],
            },
        },
    },
]

# The tools are offline stand-ins, deterministic so the demo and its tests
# always tell the same story: a weather table and a fixed clock
# (2025-06-01 12:00 UTC; offsets are that day's, summer time included).
_WEATHER = {
    "paris": (18, "partly cloudy"),
    "tokyo": (24, "sunny"),
    "london": (15, "light rain"),
    "berlin": (17, "overcast"),
    "new york": (22, "clear"),
}
_CONDITIONS = ("clear", "sunny", "partly cloudy", "overcast", "light rain", "windy")
_DEMO_UTC_MINUTES = 12 * 60
_ZONES = {
    "UTC": 0,
    "Europe/London": 60,
    "Europe/Paris": 120,
    "Europe/Berlin": 120,
    "America/New_York": -240,
    "America/Los_Angeles": -420,
    "Asia/Kolkata": 330,
    "Asia/Tokyo": 540,
    "Australia/Sydney": 600,
}


def get_weather(city: str) -> dict[str, Any]:
    """The demo's weather tool: known cities from a table, others from a checksum of the name."""
    known = _WEATHER.get(city.strip().lower())
    if known is None:
        seed = zlib.crc32(city.strip().lower().encode())
        known = (5 + seed % 25, _CONDITIONS[seed % len(_CONDITIONS)])
    return {"city": city, "temp_c": known[0], "conditions": known[1]}


def get_time(timezone: str) -> dict[str, Any]:
    """The demo's clock tool: an IANA zone (or its city, e.g. ``Tokyo``) on the demo's fixed date."""
    wanted = timezone.strip().replace(" ", "_").lower()
    zone = next((z for z in _ZONES if wanted in (z.lower(), z.rsplit("/", 1)[-1].lower())), None)
    if zone is None:
        return {"error": f"unknown timezone {timezone!r}; known: {', '.join(_ZONES)}"}
    minutes = (_DEMO_UTC_MINUTES + _ZONES[zone]) % (24 * 60)
    place = zone.rsplit("/", 1)[-1].replace("_", " ")
    return {"timezone": zone, "place": place, "time": f"{minutes // 60:02d}:{minutes % 60:02d}"}


DEMO_FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {"get_weather": get_weather, "get_time": get_time}


def run_tool(name: str, arguments: dict[str, Any]) -> str:
    """Call a demo tool; the JSON text of its result (or of the error) for the ``tool`` message."""
    function = DEMO_FUNCTIONS.get(name)
    if function is None:
        result: dict[str, Any] = {"error": f"unknown tool {name!r}"}
    else:
        try:
            result = function(**arguments)
        except (TypeError, AttributeError) as exc:  # a real model's wrong or mistyped arguments
            result = {"error": f"bad arguments for {name}: {exc}"}
    return msgspec.json.encode(result).decode()


# Turn 1, as a Qwen3-style model writes it: reasoning, a sentence, two parallel calls.
DEMO_CALLS = (
    "<think>\nTwo independent questions: the weather in Paris and the time in Tokyo."
    " I can look both up at once.\n</think>\n\n"
    "Let me check both at once.\n"
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}\n</tool_call>'
)


def _fact(name: str, content: Any) -> str:
    """One clause of the final answer, from one tool result."""
    try:
        data = json.loads(content) if isinstance(content, str) else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        if name == "get_weather" and {"city", "temp_c", "conditions"} <= data.keys():
            return f"it is {data['temp_c']} °C and {data['conditions']} in {data['city']}"
        if name == "get_time" and {"place", "time"} <= data.keys():
            return f"the local time in {data['place']} is {data['time']}"
    return f"{name} returned {content}"


def demo_script(request: dict[str, Any]) -> Reply:
    """The scripted model: calls the tools, then answers from their results once the request carries them."""
    from .server import Reply

    messages = [m for m in request.get("messages") or () if isinstance(m, dict)]
    names = {
        call.get("id"): (call.get("function") or {}).get("name", "tool")
        for m in messages
        if m.get("role") == "assistant"
        for call in m.get("tool_calls") or ()
        if isinstance(call, dict)
    }
    results = [
        (names.get(m.get("tool_call_id"), "tool"), m.get("content")) for m in messages if m.get("role") == "tool"
    ]
    if not results:
        return Reply(DEMO_CALLS)
    answer = ", and ".join(_fact(name, content) for name, content in results)
    return Reply(f"Right now {answer}.")


# -- commands ---------------------------------------------------------------


def _load_format(name: str) -> Format:
    try:
        return load_format(name)
    except FormatError as exc:
        raise _Abort(str(exc), 2) from exc


def _client(args: argparse.Namespace, fmt: Format, base_url: str | None = None, model: str | None = None) -> Client:
    from .client import Client

    return Client(base_url or args.base_url, model or args.model, args.api_key, format=fmt)


async def _respond(
    client: Client,
    messages: Sequence[dict[str, Any]],
    tools: Sequence[dict[str, Any]] | None,
    view: View,
    params: dict[str, Any],
) -> Message:
    """One streamed response through the view; the folded message."""
    view.start()
    try:
        stream = client.stream(messages, tools=tools, **params)
        async for event in stream:
            view.event(event)
    finally:
        view.stop()
    return stream.message


def _request_params(args: argparse.Namespace) -> dict[str, Any]:
    return {"tool_choice": args.tool_choice} if args.tool_choice else {}


async def _converse(client: Client, view: View, params: dict[str, Any], max_turns: int = 4) -> None:
    """The agent loop: stream a response, run the calls it made, send the results back, repeat."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": DEMO_PROMPT}]
    view.note("user", DEMO_PROMPT)
    for _ in range(max_turns):
        message = await _respond(client, messages, DEMO_TOOLS, view, params)
        messages.append(message.to_message())
        if not message.tool_calls:
            return
        for call in message.tool_calls:
            result = run_tool(call.name, call.arguments)
            view.note("tool", f"{call.name} → {result}")
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})


async def _demo(args: argparse.Namespace, fmt: Format, view: View) -> None:
    params = _request_params(args)
    if args.base_url:
        async with _client(args, fmt) as client:
            view.note("demo", f"{client.base_url}, tools passed in the request")
            await _converse(client, view, params)
        return
    from .server import Server

    server = Server(demo_script, tool_parser=args.tool_parser, model="streamparse-demo", delay=args.delay)
    async with server:
        where = "delta.tool_calls (server-side parser)" if args.tool_parser else "Hermes tags in content"
        view.note("demo", f"embedded server at {server.base_url}; calls arrive as {where}")
        async with _client(args, fmt, server.base_url, args.model or server.model) as client:
            await _converse(client, view, params)


def cmd_demo(args: argparse.Namespace) -> int:
    fmt = _load_format(args.format)
    asyncio.run(_demo(args, fmt, make_view(args.plain)))
    return 0


def _load_tools(path: str) -> list[dict[str, Any]]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise _Abort(f"cannot read tools file {path}: {exc.strerror or exc}") from exc
    try:
        tools = msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise _Abort(f"tools file {path} is not JSON: {exc}") from exc
    if not isinstance(tools, list) or not all(isinstance(tool, dict) for tool in tools):
        raise _Abort(f"tools file {path} must hold a JSON list of OpenAI tool definitions")
    return tools


async def _chat(args: argparse.Namespace, fmt: Format, tools: list[dict[str, Any]] | None, view: View) -> None:
    async with _client(args, fmt) as client:
        view.note("user", args.prompt)
        await _respond(client, [{"role": "user", "content": args.prompt}], tools, view, _request_params(args))


def cmd_chat(args: argparse.Namespace) -> int:
    fmt = _load_format(args.format)
    tools = _load_tools(args.tools) if args.tools else None
    asyncio.run(_chat(args, fmt, tools, make_view(args.plain)))
    return 0


_READ_SIZE = 64 * 1024


def _reads(path: str) -> Iterator[bytes]:
    """The input's bytes as they become available (a pipe is parsed while it streams)."""
    name = "stdin" if path == "-" else path
    try:
        if path == "-":
            stream = cast(io.BufferedIOBase, sys.stdin.buffer)
            while data := stream.read1(_READ_SIZE):
                yield data
        else:
            with open(path, "rb") as file:
                while data := file.read1(_READ_SIZE):
                    yield data
    except OSError as exc:
        raise _Abort(f"cannot read {name}: {exc.strerror or exc}") from exc


def cmd_parse(args: argparse.Namespace) -> int:
    fmt = _load_format(args.format)
    out = sys.stdout

    def emit(events: list[Event]) -> None:
        if events and not args.message:
            out.write("".join(msgspec.json.encode(e).decode() + "\n" for e in events))
            out.flush()

    if args.sse:
        folder = ChunkFolder(fmt)
        decoder = SSEDecoder()
        for data in _reads(args.file):
            for payload in decoder.feed_data(data):
                emit(folder.feed(payload))
        decoder.close()
        emit(folder.eof())
        message = folder.message
    else:
        parser = Parser(fmt)
        builder = MessageBuilder()
        text = codecs.getincrementaldecoder("utf-8")()
        try:
            for data in itertools.chain(_reads(args.file), [b""]):
                events = parser.feed(text.decode(data, final=not data))
                builder.extend(events)
                emit(events)
        except UnicodeDecodeError as exc:
            raise _Abort(f"{'stdin' if args.file == '-' else args.file} is not UTF-8 text: {exc}") from exc
        events = parser.close()
        builder.extend(events)
        emit(events)
        message = builder.build()
    if args.message:
        out.write(msgspec.json.encode(message).decode() + "\n")
    return 0


def _cycle(replies: list[Reply]) -> Callable[[dict[str, Any]], Reply]:
    """A script that starts over when its replies run out: a server for a UI keeps answering."""
    turns = itertools.cycle(replies)
    return lambda request: next(turns)


async def _serve(args: argparse.Namespace, script: Callable[[dict[str, Any]], Reply]) -> None:
    from .server import Server

    server = Server(
        script, tool_parser=args.tool_parser, model=args.model, delay=args.delay, host=args.host, port=args.port
    )
    try:
        await server.start()
    except OSError as exc:
        raise _Abort(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    try:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stopping.set)
            except (NotImplementedError, RuntimeError):
                pass  # Windows: Ctrl-C raises KeyboardInterrupt instead, and `finally` still stops the server
        print(f"streamparse serve: {server.base_url} (model {server.model}; Ctrl-C to stop)", flush=True)
        await stopping.wait()
    finally:
        await server.stop()


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import load_script

    if args.script is None:
        script: Callable[[dict[str, Any]], Reply] = demo_script
    else:
        try:
            replies = load_script(args.script)
        except OSError as exc:
            raise _Abort(f"cannot read script {args.script}: {exc.strerror or exc}") from exc
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise _Abort(f"bad script {args.script}: {exc}") from exc
        if not replies:
            raise _Abort(f"script {args.script} has no replies")
        script = _cycle(replies)
    try:
        asyncio.run(_serve(args, script))
    except KeyboardInterrupt:
        pass  # Ctrl-C where no signal handler could be installed: the normal way to stop
    print("streamparse serve: stopped")
    return 0


# -- command line -----------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block, like every other error.
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        default="hermes",
        help=f"model output format: {', '.join(available_formats())}, or a .lark grammar file (default: hermes)",
    )


def _add_remote(p: argparse.ArgumentParser, base_url_help: str) -> None:
    p.add_argument("--base-url", help=base_url_help)
    p.add_argument("--model", help="model id (default: $STREAMPARSE_MODEL, else the server's first model)")
    p.add_argument("--api-key", help="bearer token (default: $STREAMPARSE_API_KEY or $OPENAI_API_KEY)")
    p.add_argument(
        "--tool-choice",
        choices=("auto", "none", "required"),
        help="send tool_choice; use none for vLLM without --enable-auto-tool-choice (tags then arrive in content)",
    )
    p.add_argument(
        "--plain", action="store_true", help="print events as JSON lines (the default when stdout is not a terminal)"
    )


_DEFAULT_DELAY = 0.015


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="streamparse", description="Typed tool-call events from a live LLM stream.")
    parser.add_argument("--version", action="version", version=f"streamparse {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="a short agent conversation, live, against an embedded server",
        description="Run a two-turn agent conversation (reasoning, text, two parallel tool calls, "
        "local tools, final answer) and show its events live. Uses an embedded scripted server "
        "on 127.0.0.1 unless --base-url is given.",
    )
    _add_remote(demo, "a real OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (default: embedded server)")
    _add_format(demo)
    demo.add_argument(
        "--tool-parser", action="store_true", help="embedded server parses calls itself (delta.tool_calls)"
    )
    demo.add_argument(
        "--delay",
        type=float,
        default=_DEFAULT_DELAY,
        help=f"embedded server's seconds per event (default: {_DEFAULT_DELAY})",
    )
    demo.set_defaults(run=cmd_demo)

    parse = commands.add_parser(
        "parse",
        help="raw model text (or a recorded SSE stream) in, JSON events out",
        description="Parse model output: one JSON event per line on stdout. Input is read as it arrives, "
        "so a pipe is parsed while it streams.",
    )
    parse.add_argument("file", nargs="?", default="-", metavar="FILE", help="input file, - for stdin (default)")
    _add_format(parse)
    parse.add_argument("--message", action="store_true", help="print the folded Message as one JSON object instead")
    parse.add_argument(
        "--sse",
        action="store_true",
        help="input is a recorded chat-completions SSE stream (data: lines), folded like the client does",
    )
    parse.set_defaults(run=cmd_parse)

    chat = commands.add_parser(
        "chat",
        help="one streamed request, shown live",
        description="Send one prompt and show the streamed answer live (tool calls are shown, not run).",
    )
    chat.add_argument("prompt", metavar="PROMPT")
    chat.add_argument("--tools", metavar="FILE", help="JSON list of OpenAI tool definitions")
    _add_remote(
        chat,
        "OpenAI-compatible base URL (default: $STREAMPARSE_BASE_URL, $OPENAI_BASE_URL, else http://127.0.0.1:8000/v1)",
    )
    _add_format(chat)
    chat.set_defaults(run=cmd_chat)

    serve = commands.add_parser(
        "serve",
        help="run the embedded OpenAI-compatible server",
        description="Serve scripted replies on /v1/chat/completions (plus /v1/models and /health) "
        "until Ctrl-C. Without --script it plays the demo's model.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port, 0 for any free one (default: 8000)")
    serve.add_argument(
        "--script",
        metavar="FILE",
        help="JSON list of replies (strings or Reply objects, see streamparse.server); they repeat when used up",
    )
    serve.add_argument(
        "--tool-parser",
        action="store_true",
        help="parse calls server-side into delta.tool_calls, like vLLM's hermes parser",
    )
    serve.add_argument("--model", default="streamparse-demo", help="model id it reports (default: streamparse-demo)")
    serve.add_argument(
        "--delay", type=float, default=_DEFAULT_DELAY, help=f"seconds per event (default: {_DEFAULT_DELAY})"
    )
    serve.set_defaults(run=cmd_serve)
    return parser


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fail(message: str, status: int) -> int:
    print(f"streamparse: error: {_one_line(message)}", file=sys.stderr)
    return status


def _quiet_retries() -> None:
    # stamina logs every scheduled retry at WARNING, and with no logging set
    # up Python prints those to stderr: noise around a one-line error.
    logger = logging.getLogger("stamina")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    _quiet_retries()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse already printed
        return exc.code if isinstance(exc.code, int) else 2
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except _Abort as exc:
        return _fail(str(exc), exc.status)
    except LLMResponseError as exc:
        message = f"server answered HTTP {exc.status}: {exc.server_message}"
        if "--enable-auto-tool-choice" in exc.server_message:
            message += " (add --tool-choice none: the tools still reach the prompt)"
        return _fail(message, 1)
    except StreamParseError as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader left (`| head`): nothing to report. Point stdout at
        # devnull so the interpreter's final flush does not fail as well.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
