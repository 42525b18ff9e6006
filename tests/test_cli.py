"""The ``streamparse`` command, run in-process (``main([...])``) or as ``python -m streamparse``.

HTTP commands run against the embedded server on a thread of its own, since
``main`` runs its own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import msgspec
import pytest
import stamina

import streamparse
from streamparse import available_formats
from streamparse.cli import main
from streamparse.agent import AnyAgentEvent, ToolFinished, ToolStarted, TurnEnd, TurnStart
from streamparse.cli.demo import demo_output, demo_tools, get_time, get_weather
from streamparse.cli.main import build_parser
from streamparse.cli.views import LineView, RichView, make_view
from streamparse.core.events import (
    Event,
    Finish,
    InvalidToolCall,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
)
from streamparse.errors import ToolArgumentsError
from streamparse.core.message import Message
from streamparse.server import Fault, Reply, Server

decode_event = msgspec.json.Decoder(AnyAgentEvent).decode
TWO_CALLS = [("get_weather", {"city": "Paris"}), ("get_time", {"timezone": "Asia/Tokyo"})]
HERMES = 'Sure.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call> Done.'
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}


@pytest.fixture(autouse=True)
def no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True):  # one attempt, no backoff
        yield


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """The server, listening on an event loop in a background thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def post(base_url: str, body: dict[str, Any]) -> bytes:
    request = urllib.request.Request(
        base_url + "/chat/completions", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        data: bytes = resp.read()
        return data


def events_of(out: str) -> list[Event]:
    return [decode_event(line) for line in out.splitlines()]


def turns(events: list[Event]) -> list[list[Event]]:
    """An agent run's events split into turns, from each TurnStart to its TurnEnd."""
    out: list[list[Event]] = []
    for event in events:
        if type(event) is TurnStart:
            assert not out or type(out[-1][-1]) is TurnEnd, "a turn started before the last one ended"
            out.append([])
        out[-1].append(event)
    assert type(out[-1][-1]) is TurnEnd, "the last turn has no end"
    return out


def tool_results(events: list[Event]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(e.name, e.status, json.loads(e.content)) for e in events if type(e) is ToolFinished]


def calls(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, e.arguments) for e in events if type(e) is ToolCallEnd]


def text(events: list[Event], kind: type[Event] = TextDelta) -> str:
    return "".join(e.text for e in events if type(e) is kind)  # type: ignore[attr-defined]


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    err = captured.err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# -- demo ---------------------------------------------------------------------


@pytest.mark.parametrize("server_side", [False, True], ids=["tags-in-content", "tool-parser"])
def test_demo_plain(capsys: pytest.CaptureFixture[str], server_side: bool) -> None:
    argv = ["demo", "--plain", "--delay", "0", "--tool-latency", "0"] + (["--tool-parser"] if server_side else [])
    assert main(argv) == 0
    first, second = turns(events_of(capsys.readouterr().out))
    assert calls(first) == TWO_CALLS
    assert "look both up at once" in text(first, ReasoningDelta)
    assert text(first).strip() == "Let me check both at once."
    (finish,) = [e for e in first if type(e) is Finish]
    assert finish.finish_reason == ("tool_calls" if server_side else "stop")
    assert tool_results(first) == [
        ("get_weather", "ok", get_weather("Paris")),
        ("get_time", "ok", get_time("Asia/Tokyo")),
    ]
    answer = text(second)
    assert "18 °C and partly cloudy in Paris" in answer and "Tokyo is 21:00" in answer
    assert type(second[-2]) is Finish and second[-2].finish_reason == "stop"
    assert type(second[-1]) is TurnEnd and second[-1].stop_reason == "answered"


@pytest.mark.parametrize("fmt", available_formats())
def test_demo_writes_and_reads_every_format(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """``demo --format X``: the scripted model really writes X (its server-side parser reads X too)."""
    for server_side in (False, True):
        argv = ["demo", "--plain", "--delay", "0", "--tool-latency", "0", "--format", fmt]
        assert main(argv + (["--tool-parser"] if server_side else [])) == 0
        first, second = turns(events_of(capsys.readouterr().out))
        assert calls(first) == TWO_CALLS, (fmt, server_side)
        assert "look both up at once" in text(first, ReasoningDelta)
        assert "Tokyo is 21:00" in text(second)


def test_a_format_the_scripted_model_cannot_write_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grammar = tmp_path / "bare.lark"
    grammar.write_text('start: item*\nitem: TEXT | call\ncall: OPEN CALLS CLOSE\nOPEN: "<c>"\nCLOSE: "</c>"\n%declare TEXT CALLS\n')
    for command in (["demo", "--plain"], ["serve", "--port", "0"]):
        assert main([*command, "--format", str(grammar)]) == 2
        assert "cannot write" in one_line_error(capsys)


def test_demo_as_module() -> None:
    """``python -m streamparse demo`` with its defaults; stdout is a pipe, so JSON lines.

    How quick it is belongs to the benchmarks, not here: the timeout only stops a hang.
    """
    result = subprocess.run(
        [sys.executable, "-m", "streamparse", "demo"], capture_output=True, text=True, timeout=30, env=ENV
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    first, second = turns(events_of(result.stdout))
    assert calls(first) == TWO_CALLS
    # Each tool started while the model still wrote: at its call's end, before the response's end.
    ends = {e.index: i for i, e in enumerate(first) if type(e) is ToolCallEnd}
    starts = {e.index: i for i, e in enumerate(first) if type(e) is ToolStarted}
    finish = next(i for i, e in enumerate(first) if type(e) is Finish)
    assert ends.keys() == starts.keys() == {0, 1}
    assert all(ends[i] < starts[i] < finish for i in ends)
    end = first[-1]
    assert type(end) is TurnEnd and end.calls == 2 and end.saved > 0


def test_demo_tools() -> None:
    assert get_weather("Paris") == {"city": "Paris", "temp_c": 18, "conditions": "partly cloudy"}
    assert get_weather("Lyon") == get_weather("Lyon")  # unknown cities: deterministic too
    assert get_time("Asia/Tokyo")["time"] == get_time("tokyo")["time"] == "21:00"
    assert "error" in get_time("Mars/Olympus")
    weather, clock = demo_tools()
    assert weather.spec["function"] == {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    }
    assert clock.spec["function"]["parameters"]["required"] == ["timezone"]
    assert asyncio.run(clock.bind({"timezone": "Asia/Tokyo"})())["time"] == "21:00"
    with pytest.raises(ToolArgumentsError, match="unknown field `town`"):
        weather.bind({"town": "Paris"})


# -- parse --------------------------------------------------------------------


def expected_events(raw: str) -> list[Event]:
    parser = streamparse.Parser("hermes")
    return parser.feed(raw) + parser.close()


def test_parse_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "out.txt"
    path.write_text(HERMES, encoding="utf-8")
    assert main(["parse", str(path), "--format", "hermes"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n")
    assert events_of(out) == expected_events(HERMES)


def test_parse_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(HERMES.encode())))
    assert main(["parse"]) == 0
    assert events_of(capsys.readouterr().out) == expected_events(HERMES)


def test_parse_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "out.txt"
    path.write_text("<think>hmm</think>" + HERMES, encoding="utf-8")
    assert main(["parse", "--message", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    message = msgspec.json.decode(out, type=Message)
    assert message == streamparse.parse("<think>hmm</think>" + HERMES)
    assert message.reasoning == "hmm" and message.tool_calls[0].arguments == {"city": "Paris"}


def record(tool_parser: bool, reply: Reply | str | None = None, **server: Any) -> bytes:
    """The raw SSE bytes of one streamed response from the embedded server."""
    body = {"model": "m", "stream": True, "stream_options": {"include_usage": True}, "messages": []}
    with running(Server([demo_output() if reply is None else reply], tool_parser=tool_parser, model="m", **server)) as s:
        return post(s.base_url, body)


def test_parse_sse_same_calls_either_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = []
    for tool_parser in (False, True):
        path = tmp_path / f"capture-{tool_parser}.sse"
        path.write_bytes(record(tool_parser))
        assert b'"tool_calls"' in path.read_bytes() if tool_parser else b"<tool_call>" in path.read_bytes()
        assert main(["parse", "--sse", str(path)]) == 0
        events = events_of(capsys.readouterr().out)
        assert calls(events) == TWO_CALLS
        assert type(events[-1]) is Finish and events[-1].usage is not None
        assert main(["parse", "--sse", "--message", str(path)]) == 0
        message = msgspec.json.decode(capsys.readouterr().out, type=Message)
        results.append((text(events).strip(), text(events, ReasoningDelta), message.content, message.reasoning))
    assert results[0] == results[1]


def test_parse_sse_reasoning_content_and_no_done(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Older servers: ``reasoning_content``, CRLF, no ``[DONE]`` (the finish_reason suffices)."""
    old_server = Fault(done=False, crlf=True)
    capture = record(False, Reply("Hi!", reasoning="think"), reasoning_field="reasoning_content", fault=old_server)
    path = tmp_path / "old.sse"
    path.write_bytes(capture)
    assert main(["parse", "--sse", str(path)]) == 0
    events = events_of(capsys.readouterr().out)
    assert text(events, ReasoningDelta) == "think" and text(events) == "Hi!"
    assert type(events[-1]) is Finish and events[-1].finish_reason == "stop"


def test_parse_sse_ignores_events_after_done(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "twice.sse"
    path.write_bytes(record(False, "One.") * 2)
    assert main(["parse", "--sse", str(path)]) == 0
    events = events_of(capsys.readouterr().out)
    assert text(events) == "One." and [type(e) for e in events].count(Finish) == 1


# -- chat ---------------------------------------------------------------------


def test_chat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tools = tmp_path / "tools.json"
    definition = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    tools.write_text(json.dumps([definition]))
    with running(Server([Reply(HERMES)], delay=0.001, model="mine")) as server:
        argv = ["chat", "Weather in Paris?", "--base-url", server.base_url, "--tools", str(tools), "--plain"]
        assert main([*argv, "--model", "mine", "--tool-choice", "none"]) == 0
        request = server.requests[0].json
    events = events_of(capsys.readouterr().out)
    assert calls(events) == [("get_weather", {"city": "Paris"})]
    assert text(events) == "Sure. Done."
    assert type(events[-1]) is Finish
    assert request["messages"] == [{"role": "user", "content": "Weather in Paris?"}]
    assert request["tools"] == [definition]
    assert request["model"] == "mine" and request["tool_choice"] == "none" and request["stream"] is True


# -- serve --------------------------------------------------------------------


def test_serve_answers_and_stops_cleanly(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["Hello!"]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamparse", "serve", "--port", "0", "--script", str(script), "--delay", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/v1", line)
        assert match, line
        with urllib.request.urlopen(match.group(1) + "/health", timeout=5) as resp:
            assert resp.status == 200
        preflight = urllib.request.Request(
            match.group(1) + "/v1/chat/completions",
            method="OPTIONS",
            headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
        )
        with urllib.request.urlopen(preflight, timeout=5) as resp:  # CORS on, for any origin, by default
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
        body = {"model": "streamparse-hermes", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(2):  # the script starts over when used up
            answer = json.loads(post(match.group(1) + "/v1", body))
            assert answer["choices"][0]["message"]["content"] == "Hello!"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert err == "" and out == "streamparse serve: stopped\n"


@pytest.mark.parametrize(
    ("argv", "origins"),
    [([], ["*"]), (["--allowed-origins", "https://a.example", "https://b.example"], ["https://a.example", "https://b.example"]), (["--allowed-origins"], [])],
)
def test_serve_allowed_origins_option(argv: list[str], origins: list[str]) -> None:
    assert build_parser().parse_args(["serve", *argv]).allowed_origins == origins


# -- views --------------------------------------------------------------------


def demo_events() -> list[Event]:
    parser = streamparse.Parser("hermes")
    events = [e for piece in re.split(r"(?<=[a-z]) ", demo_output()) for e in parser.feed(piece + " ")]
    invalid = InvalidToolCall(index=2, raw="<tool_call>{", error="not JSON")
    started = ToolStarted(index=1, id="call_1", name="get_time", at=0.5)
    finished = [
        ToolFinished(index=0, id="call_0", name="get_weather", status="ok", content='{"temp_c":18}', at=0.6, duration=0.3),
        ToolFinished(index=1, id="call_1", name="get_time", status="timeout", content="{}", at=0.8, duration=0.3),
    ]
    end = TurnEnd(turn=1, calls=3, response=0.7, wall=0.8, tools=0.6, saved=0.5, stop_reason=None)
    return [TurnStart(turn=1), *events, *parser.close(), invalid, started, Finish(finish_reason="stop"), *finished, end]


def test_rich_view() -> None:
    from rich.console import Console

    out = io.StringIO()
    view = RichView(Console(file=out, force_terminal=True, width=200, color_system=None))
    view.note("user", "Weather?")
    view.start()
    for event in demo_events():
        view.event(event)
    view.stop()
    shown = out.getvalue()
    expected = (
        "user Weather?",
        "┆ Two independent questions",
        "Let me check both at once.",
        '✓ get_weather {"city":"Paris"}',
        "✓ get_time",
        "✗ invalid tool call: not JSON",
        '← get_weather {"temp_c":18}  ran 300 ms, done',
        "← get_time timeout: {}  ran 300 ms, done",
        "first token",
        "get_time done",
        "finish stop",
        "tools 600 ms, 500 ms saved vs running them after the response",
    )
    for part in expected:
        assert part in shown, part


def test_line_view() -> None:
    out = io.StringIO()
    view = LineView(out)
    view.start()
    for event in demo_events():
        view.event(event)
    view.stop()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("thinking: Two independent questions")
    assert lines[1] == "assistant: Let me check both at once."
    assert lines[2].startswith('-> get_weather {"city": "Paris"}  [done at ')
    assert lines[3].startswith('-> get_time {"timezone": "Asia/Tokyo"}  [done at ')
    assert lines[4].startswith("[invalid tool call] not JSON")
    assert lines[5] == '<- get_weather {"temp_c":18}  [ran 300 ms to 600 ms]'
    assert lines[6] == "<- get_time timeout: {}  [ran 500 ms to 800 ms]"
    assert lines[7].startswith("(first token ") and len(lines) == 8
    assert lines[7].endswith(", tools 600 ms, 500 ms saved vs running them after the response)")


HOSTILE = "\x1b]52;c;cHduZWQ=\x07\x1b]0;pwned\x07\x1b[2J\x9b2J\r\x7f"
"""OSC 52 (write the clipboard), OSC 0 (retitle the window), clear the screen (ESC and C1 CSI), CR, DEL."""


def hostile_events() -> list[Event]:
    return [
        ReasoningDelta(text="think " + HOSTILE + "\n"),
        TextDelta(text="Hi " + HOSTILE + "\nthere\n"),
        ToolCallStart(index=0, id="c", name="f" + HOSTILE),
        ToolCallDelta(index=0, arguments='{"a": "' + HOSTILE + '"}'),
        ToolCallEnd(index=0, id="c", name="f" + HOSTILE, arguments={"a": HOSTILE}),
        InvalidToolCall(index=1, raw=HOSTILE, error="bad " + HOSTILE),
        Finish(finish_reason="stop" + HOSTILE),
    ]


def assert_harmless(shown: str) -> None:
    for control in ("\x07", "\x9b", "\x1b]", "\x1b[2J", "\x7f"):
        assert control not in shown, repr(control)
    assert "␛]52;c;cHduZWQ=␇" in shown  # shown, not acted on


@pytest.mark.parametrize("view", ["rich", "lines"])
def test_views_neutralise_terminal_escapes(view: str) -> None:
    from rich.console import Console

    out = io.StringIO()
    shown_view = RichView(Console(file=out, force_terminal=True, width=400, color_system=None)) if view == "rich" else LineView(out)
    shown_view.note("tool", "f → " + HOSTILE)
    shown_view.start()
    for event in hostile_events():
        shown_view.event(event)
    shown_view.event(ToolCallStart(index=2, id="d", name="g" + HOSTILE))  # still open when the stream stops
    shown_view.stop()
    assert_harmless(out.getvalue())


def test_error_lines_neutralise_terminal_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    with running(Server(["unused"], fault=Fault(status=500, message="boom " + HOSTILE))) as server:
        assert main(["chat", "hi", "--base-url", server.base_url, "--model", server.model]) == 1
    err = one_line_error(capsys)
    assert "boom" in err
    for control in ("\x07", "\x9b", "\x1b", "\x7f"):
        assert control not in err


def test_views_for_pipes_are_json_lines() -> None:
    out = io.StringIO()
    view = make_view(False, out)  # not a terminal
    view.event(TextDelta(text="hi"))
    assert out.getvalue() == '{"type":"text_delta","text":"hi"}\n'


# -- command line and errors ----------------------------------------------------


@pytest.mark.parametrize("command", ["demo", "parse", "chat", "serve"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: streamparse {command}")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"streamparse {streamparse.__version__}\n"


def test_no_aiohttp_for_parse() -> None:
    code = "import sys, streamparse.cli, streamparse.wire.folding; assert 'aiohttp' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


HI_EVENT = 'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    paths = {
        "text": ("text.txt", "hello"),
        "object": ("object.json", '{"type": "function"}'),
        "bad_script": ("script.json", '[{"txt": "typo"}]'),
        "error_sse": ("error.sse", HI_EVENT + 'data: {"error":{"message":"boom"}}\n\n'),
        "cut_sse": ("cut.sse", HI_EVENT),
        "latin1": ("latin1.txt", None),
    }
    out = {}
    for key, (name, content) in paths.items():
        path = tmp_path / name
        if content is None:
            path.write_bytes("café".encode("latin-1"))
        else:
            path.write_text(content)
        out[key] = str(path)
    out["missing"] = str(tmp_path / "missing.json")
    out["dir"] = str(tmp_path)
    return out


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        ([], 2, "required: COMMAND"),
        (["frobnicate"], 2, "invalid choice"),
        (["parse", "--format", "nope", "{text}"], 2, "unknown format 'nope'; available: "),
        (["parse", "{missing}"], 1, "cannot read"),
        (["parse", "{dir}"], 1, "cannot read"),
        (["parse", "{latin1}"], 1, "is not UTF-8 text"),
        (["parse", "--sse", "{error_sse}"], 1, "boom"),
        (["parse", "--sse", "{cut_sse}"], 1, "without [DONE]"),
        (["parse", "--sse", "{text}"], 1, "without [DONE]"),
        (["chat", "hi", "--tools", "{missing}"], 1, "cannot read tools file"),
        (["chat", "hi", "--tools", "{text}"], 1, "is not JSON"),
        (["chat", "hi", "--tools", "{object}"], 1, "must hold a JSON list"),
        (["chat", "hi", "--format", "nope"], 2, "unknown format"),
        (["serve", "--script", "{missing}"], 1, "cannot read script"),
        (["serve", "--script", "{bad_script}"], 1, "bad script"),
    ],
)
def test_errors(
    argv: list[str], status: int, message: str, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([arg.format(**files) for arg in argv]) == status
    assert message in one_line_error(capsys)


def test_unknown_format_error_lists_every_shipped_format(capsys: pytest.CaptureFixture[str]) -> None:
    # Whatever their alphabetical order: the formats are named in the one error line.
    assert main(["parse", "--format", "nope", "-"]) == 2
    listed = one_line_error(capsys).rstrip("\n").split("available: ", 1)[1].split(" (see", 1)[0]
    assert set(available_formats()) <= {name.strip() for name in listed.split(",")}
    assert "hermes" in available_formats()


def test_error_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "hi", "--base-url", f"http://127.0.0.1:{free_port()}/v1", "--model", "m"]) == 1
    assert "cannot reach http://127.0.0.1:" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("invalid API key", "server answered HTTP 401: invalid API key"),
        (
            '"auto" tool choice requires\n--enable-auto-tool-choice and --tool-call-parser to be set',
            "add --tool-choice none",
        ),
    ],
)
def test_error_http_status(message: str, shown: str, capsys: pytest.CaptureFixture[str]) -> None:
    with running(Server(["unused"], fault=Fault(status=401, message=message))) as server:
        assert main(["demo", "--base-url", server.base_url, "--model", server.model, "--plain"]) == 1
    assert shown in one_line_error(capsys)


def test_error_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["serve", "--port", str(busy.getsockname()[1])]) == 1
    assert "cannot listen on 127.0.0.1:" in one_line_error(capsys)


# -- one-line errors where Python would print a traceback ------------------------------


def run_cli(args: list[str], *, shell_redirect: str = "", stdin: bytes = b"hi") -> subprocess.CompletedProcess[str]:
    """``python -m streamparse ARGS`` in a shell, its stdout redirected as given."""
    command = " ".join([sys.executable, "-m", "streamparse", *args]) + " " + shell_redirect
    return subprocess.run(["sh", "-c", command], input=stdin.decode(), capture_output=True, text=True, env=ENV, timeout=60)


@pytest.mark.parametrize(
    ("args", "redirect", "status", "message"),
    [
        (["serve", "--port", "99999"], "", 2, "'99999' is not a port (0-65535)"),
        (["parse", "--format", "{latin1_grammar}"], "", 2, "is not UTF-8 text"),
        (["parse"], ">&-", 1, "stdout is closed"),
        (["parse"], "> /dev/full", 1, "cannot write the output: No space left on device"),
        (["demo", "--plain", "--delay", "0"], "> /dev/full", 1, "cannot write the output: No space left on device"),
    ],
    ids=["port-out-of-range", "grammar-not-utf8", "stdout-closed", "stdout-full", "demo-stdout-full"],
)
def test_one_line_errors_instead_of_tracebacks(
    args: list[str], redirect: str, status: int, message: str, tmp_path: Path
) -> None:
    if redirect == "> /dev/full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    grammar = tmp_path / "latin1.lark"
    grammar.write_bytes("start: \"é\"".encode("latin-1"))
    result = run_cli([arg.format(latin1_grammar=grammar) for arg in args], shell_redirect=redirect)
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


# -- `parse` streams in constant memory ---------------------------------------------------


PEAK_RSS = (
    "import resource, sys; from streamparse.cli import main; status = main(sys.argv[1:]); sys.stdout.flush(); "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(status)"
)


def peak_rss_kib(args: list[str], feed: Callable[[IO[bytes]], None]) -> int:
    """Peak RSS of ``streamparse ARGS`` reading what ``feed`` writes to its stdin (events to /dev/null)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PEAK_RSS, *args], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stderr is not None
    feed(proc.stdin)
    proc.stdin.close()
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 0, err
    return int(err.split()[-1])


def text_input(megabytes: int) -> Callable[[IO[bytes]], None]:
    block = ("Some prose, then a call. " * 400 + HERMES + "\n").encode()

    def feed(stdin: IO[bytes]) -> None:
        for _ in range(megabytes * (1 << 20) // len(block)):
            stdin.write(block)

    return feed


def sse_input(megabytes: int) -> Callable[[IO[bytes]], None]:
    event = b'data: {"choices":[{"index":0,"delta":{"content":"' + b"word " * 150 + b'"}}]}\n\n'

    def feed(stdin: IO[bytes]) -> None:
        for _ in range(megabytes * (1 << 20) // len(event)):
            stdin.write(event)
        stdin.write(b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')

    return feed


@pytest.mark.parametrize(("args", "make_input"), [(["parse"], text_input), (["parse", "--sse"], sse_input)], ids=["text", "sse"])
def test_parse_streams_in_constant_memory(args: list[str], make_input: Callable[[int], Callable[[IO[bytes]], None]]) -> None:
    small = peak_rss_kib(args, make_input(1))
    large = peak_rss_kib(args, make_input(32))
    # Keeping the events, or even just the text, would add at least the 31 MB more of input.
    assert large - small < 16 * 1024, (small, large)
