"""The ``streamparse`` command: ``demo``, ``parse``, ``chat`` and ``serve``; the runner's
``run``, ``bench``, ``summarize`` and ``score`` come from :mod:`streamparse.cli.runner`.

Output goes through a *view* (:mod:`streamparse.cli.views`): a live terminal view
(rich, when installed and stdout is a terminal), a plain line view (a terminal
without rich), or JSON lines (``--plain``, or stdout is not a terminal). Errors are one line on
stderr: exit status 1 for runtime errors, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import io
import itertools
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import msgspec

from .._version import __version__
from ..wire.folding import ChunkFolder
from ..errors import AgentError, FormatError, LLMResponseError, StreamParseError
from ..core.events import Event
from ..core.formats import Format, available_formats, load_format
from ..core.message import Message, MessageBuilder
from ..core.parser import Parser
from .demo import DEMO_PROMPT, demo_script, demo_tools
from .runner import add_commands as add_runner_commands
from ..wire.sse import SSEDecoder
from .views import View, make_view, printable, show_run

# For types only: client and server load aiohttp (~0.1 s), so the commands
# import them when they run.
if TYPE_CHECKING:
    from ..client import Client
    from ..server import Reply, Server
    from .web_demo import DemoPage


class _Abort(Exception):
    """A failure the user can fix, reported as one line."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


# -- commands ---------------------------------------------------------------


def _load_format(name: str) -> Format:
    try:
        return load_format(name)
    except FormatError as exc:
        raise _Abort(str(exc), 2) from exc


def _script(fmt: Format) -> Callable[[dict[str, Any]], Reply]:
    """The demo's scripted model writing ``fmt``; a format it cannot write is refused, never replaced."""
    try:
        return demo_script(fmt)
    except FormatError as exc:
        raise _Abort(f"--format {fmt.name}: the scripted model cannot write it: {exc}", 2) from exc


def _client(args: argparse.Namespace, fmt: Format, base_url: str | None = None, model: str | None = None) -> Client:
    from ..client import Client

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


async def _converse(client: Client, view: View, params: dict[str, Any], tool_latency: float) -> None:
    """The agent loop (:mod:`streamparse.agent`): each tool starts the moment its call is complete."""
    from ..agent import Agent

    view.note("user", DEMO_PROMPT)
    try:
        async with Agent(client, demo_tools(tool_latency), max_turns=4).run(DEMO_PROMPT, **params) as run:
            await show_run(run, view)
    except AgentError as exc:
        raise exc.error from None  # the view showed what came; report the server's own error


async def _demo(args: argparse.Namespace, fmt: Format, view: View) -> None:
    params = _request_params(args)
    if args.base_url:
        async with _client(args, fmt) as client:
            view.note("demo", f"{client.base_url}, tools passed in the request")
            await _converse(client, view, params, args.tool_latency)
        return
    from ..server import Server

    server = Server(
        _script(fmt), tool_parser=args.tool_parser, tool_format=fmt, delay=args.delay
    )
    async with server:
        where = "delta.tool_calls (server-side parser)" if args.tool_parser else f"{fmt.name} markup in content"
        view.note("demo", f"embedded server at {server.base_url}; calls arrive as {where}")
        async with _client(args, fmt, server.base_url, args.model or server.model) as client:
            await _converse(client, view, params, args.tool_latency)


def cmd_demo(args: argparse.Namespace) -> int:
    fmt = _load_format(args.format)
    if args.web:
        return _demo_web(args, fmt)
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
            if sys.stdin is None:  # started with stdin closed
                raise _Abort("cannot read stdin: it is closed")
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

    # Without --message nothing is kept: memory stays constant, whatever the input's size.
    if args.sse:
        folder = ChunkFolder(fmt, message=args.message)
        decoder = SSEDecoder()
        for data in _reads(args.file):
            for payload in decoder.feed_data(data):
                emit(folder.feed(payload))
        decoder.close()
        emit(folder.eof())
        if args.message:
            out.write(msgspec.json.encode(folder.message).decode() + "\n")
        return 0
    parser = Parser(fmt)
    builder = MessageBuilder() if args.message else None
    text = codecs.getincrementaldecoder("utf-8")()
    try:
        for data in itertools.chain(_reads(args.file), [b""]):
            events = parser.feed(text.decode(data, final=not data))
            if builder is not None:
                builder.extend(events)
            emit(events)
    except UnicodeDecodeError as exc:
        raise _Abort(f"{'stdin' if args.file == '-' else args.file} is not UTF-8 text: {exc}") from exc
    events = parser.close()
    emit(events)
    if builder is not None:
        builder.extend(events)
        out.write(msgspec.json.encode(builder.build()).decode() + "\n")
    return 0


def _cycle(replies: list[Reply]) -> Callable[[dict[str, Any]], Reply]:
    """A script that starts over when its replies run out: a server for a UI keeps answering."""
    turns = itertools.cycle(replies)
    return lambda request: next(turns)


async def _serve(args: argparse.Namespace, server: Server, banner: Callable[[], str], page: DemoPage | None = None) -> None:
    """Run ``server`` until Ctrl-C or SIGTERM; ``banner()`` (with the real port) is printed once it listens."""
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
        print(banner(), flush=True)
        await stopping.wait()
    finally:
        await server.stop()
        if page is not None:
            await page.close()


def _serve_forever(run: Callable[[], Coroutine[Any, Any, None]], name: str) -> int:
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass  # Ctrl-C where no signal handler could be installed: the normal way to stop
    print(f"streamparse {name}: stopped")
    return 0


def _demo_web(args: argparse.Namespace, fmt: Format) -> int:
    from ..server import Server
    from .web_demo import DemoPage

    async def run() -> None:
        server = Server(
            _script(fmt), tool_parser=args.tool_parser, tool_format=fmt, delay=args.delay,
            host=args.host, port=args.port,
        )
        page = DemoPage(
            server,
            fmt=fmt,
            base_url=args.base_url,
            model=args.model,
            api_key=args.api_key,
            params=_request_params(args),
            tool_latency=args.tool_latency,
        )
        await _serve(args, server, lambda: f"streamparse demo: open {page.url} (Ctrl-C to stop)", page)

    return _serve_forever(run, "demo")


def cmd_serve(args: argparse.Namespace) -> int:
    from ..server import load_script

    fmt = _load_format(args.format)
    if args.script is None:
        script: Callable[[dict[str, Any]], Reply] = _script(fmt)
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

    async def run() -> None:
        from ..server import Server

        server = Server(
            script, tool_parser=args.tool_parser, tool_format=fmt, model=args.model, delay=args.delay,
            host=args.host, port=args.port, allowed_origins=args.allowed_origins,
        )
        page = None
        if args.ui:
            from .web_demo import DemoPage

            page = DemoPage(server, fmt=fmt)

        def banner() -> str:
            ui = f"; the live page at {page.url}" if page is not None else ""
            return f"streamparse serve: {server.base_url} (model {server.model}{ui}; Ctrl-C to stop)"

        await _serve(args, server, banner, page)

    return _serve_forever(run, "serve")


# -- command line -----------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block, like every other error.
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_format(p: argparse.ArgumentParser, default: str = "hermes") -> None:
    choices = ", ".join(available_formats())
    more = ', "auto" (from the model\'s name)' if default == "auto" else ""
    p.add_argument(
        "--format",
        default=default,
        help=f"model output format: {choices}{more}, or a .lark grammar file (default: {default})",
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
_DEFAULT_TOOL_LATENCY = 0.3


def _port(text: str) -> int:
    port = int(text) if text.isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535)")
    return port


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
    demo.add_argument(
        "--tool-latency",
        type=float,
        default=_DEFAULT_TOOL_LATENCY,
        help=f"seconds each demo tool takes, as a remote API would (default: {_DEFAULT_TOOL_LATENCY})",
    )
    demo.add_argument(
        "--web", action="store_true", help="serve the live page instead (prompt, reasoning, calls filling in, results)"
    )
    demo.add_argument("--host", default="127.0.0.1", help="with --web: address to listen on (default: 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="with --web: port, 0 for any free one (default: 8000)")
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
    serve.add_argument("--port", type=_port, default=8000, help="port, 0 for any free one (default: 8000)")
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
    serve.add_argument(
        "--model", help="model id it reports (default: streamparse-FORMAT, which format=\"auto\" recognises)"
    )
    serve.add_argument(
        "--delay", type=float, default=_DEFAULT_DELAY, help=f"seconds per event (default: {_DEFAULT_DELAY})"
    )
    serve.add_argument("--ui", action="store_true", help="also serve the live page, running the demo's tools")
    _add_format(serve)
    serve.add_argument(
        "--allowed-origins",
        nargs="*",
        default=["*"],
        metavar="ORIGIN",
        help="origins browsers may call it from (CORS); default * (any), none to turn CORS off",
    )
    serve.set_defaults(run=cmd_serve)

    add_runner_commands(commands, add_format=_add_format)
    return parser


def _one_line(text: str, limit: int = 300) -> str:
    text = printable(" ".join(text.split()))  # server messages reach the terminal too
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
    if sys.stdout is None and args.command != "serve":  # started with stdout closed (`>&-`)
        return _fail("stdout is closed: nowhere to write the output", 1)
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
        # The reader left (`| head`): nothing to report.
        _drop_stdout()
        return 1
    except OSError as exc:  # stdout on a full disk (`> /dev/full`), an I/O error
        _drop_stdout()
        where = exc.filename if exc.filename is not None else "the output"
        return _fail(f"cannot write {where}: {exc.strerror or exc}", 1)


def _drop_stdout() -> None:
    """Point stdout at devnull, so the interpreter's final flush of what is left does not fail as well."""
    if sys.stdout is not None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
