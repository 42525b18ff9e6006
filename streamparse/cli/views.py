"""How the command shows a stream: JSON lines, plain lines, or rich's live view.

A live view prints text as it streams, each tool call appearing at its start
with its arguments filling in and marked done at its end, and a timing summary.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterable
from typing import IO, TYPE_CHECKING, Any, Protocol

import msgspec

from ..agent.events import AgentEvent, ToolFinished, ToolStarted, TurnEnd, TurnStart
from ..core.events import Event, Finish, InvalidToolCall, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart

if TYPE_CHECKING:  # rich is optional
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.spinner import Spinner


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


async def show_run(events: AsyncIterable[Event], view: View) -> None:
    """An agent run's events through ``view``, each turn from its request to its last tool result."""
    turn_open = False
    try:
        async for event in events:
            if type(event) is TurnStart:
                view.start()
                turn_open = True
            view.event(event)
            if type(event) is TurnEnd:
                view.stop()
                turn_open = False
    finally:
        if turn_open:
            view.stop()


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


# Terminal controls a server or a prompt-injected model could send to clear
# the screen, retitle the window or write the clipboard (OSC 52): C0 controls
# but tab and newline become their visible Unicode pictures (ESC is "␛"),
# DEL "␡", and C1 controls U+FFFD. JSON lines need none of this: they escape.
_CONTROLS = {
    **{c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)},
    0x7F: 0x2421,
    **{c: 0xFFFD for c in range(0x80, 0xA0)},
}


def printable(text: str) -> str:
    """``text`` with every terminal control sequence made harmless (see ``_CONTROLS``)."""
    return text.translate(_CONTROLS)


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


class _Clock:
    """Times of one response, from the request: first token, each completed call, total; the tools' saving."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None
        self.calls: list[tuple[str, float]] = []
        self.finish: Finish | None = None
        self.turn: TurnEnd | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def see(self, event: Event) -> float:
        now = self.elapsed()
        if type(event) is Finish:
            self.finish = event
        elif type(event) is TurnEnd:
            self.turn = event
        elif self.first is None and not isinstance(event, AgentEvent):
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
        if self.turn is not None and self.turn.tools:
            parts.append(
                f"tools {_duration(self.turn.tools)}, {_duration(self.turn.saved)} saved"
                " vs running them after the response"
            )
        return printable(sep.join(parts))  # call names and the finish reason come from the server


def _tool_result(event: ToolFinished) -> str:
    return event.content if event.status == "ok" else f"{event.status}: {event.content}"


def _args_text(arguments: dict[str, Any]) -> str:
    # JSON escapes C0 controls but not DEL and C1 ones.
    return printable(msgspec.json.encode(arguments).decode())


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
            self._out.write(printable(text))
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
        elif type(event) is ToolFinished:
            self._switch(None, "")
            started = event.at - event.duration
            self._write(f"<- {event.name} {_tool_result(event)}  [ran {_duration(started)} to {_duration(event.at)}]\n")

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
        self._running: dict[int, Spinner] = {}  # tools started, not finished

    def note(self, role: str, text: str) -> None:
        from rich.text import Text

        style = {"user": "bold green", "tool": "bold magenta"}.get(role, "bold")
        self._console.print(Text.assemble((f"{role} ", style), printable(text)))

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
            self._write("text", printable(event.text))
        elif type(event) is ReasoningDelta:
            self._write("reasoning", printable(event.text))
        elif type(event) is ToolCallStart:
            self._end_segment()
            call = _OpenCall(printable(event.name), Spinner("dots", style="cyan"))
            self._calls = {**self._calls, event.index: call}
        elif type(event) is ToolCallDelta:
            open_call = self._calls.get(event.index)
            if open_call is not None:
                open_call.arguments += printable(event.arguments)
        elif type(event) is ToolCallEnd:
            self._end_segment()
            self._calls = {i: c for i, c in self._calls.items() if i != event.index}
            self._console.print(
                Text.assemble(
                    ("✓ ", "bold green"),
                    (printable(event.name), "bold"),
                    (" " + _args_text(event.arguments), "cyan"),
                    (f"  {_duration(t)}", "dim"),
                )
            )
        elif type(event) is InvalidToolCall:
            self._end_segment()
            self._calls = {i: c for i, c in self._calls.items() if i != event.index}
            self._console.print(
                Text.assemble(("✗ invalid tool call: ", "bold red"), printable(event.error), (f"  {event.raw!r}", "dim"))
            )
        elif type(event) is ToolStarted:
            spinner = Spinner("dots", style="magenta", text=Text.assemble((event.name, "bold"), " running"))
            self._running = {**self._running, event.index: spinner}
        elif type(event) is ToolFinished:
            self._end_segment()
            self._running = {i: s for i, s in self._running.items() if i != event.index}
            self._console.print(
                Text.assemble(
                    ("← ", "bold magenta" if event.status == "ok" else "bold red"),
                    (event.name, "bold"),
                    " " + _tool_result(event),
                    (f"  ran {_duration(event.duration)}, done {_duration(t)}", "dim"),
                )
            )

    def stop(self) -> None:
        from rich.text import Text

        self._end_segment()
        for call in self._calls.values():  # only when the stream failed
            self._console.print(Text.assemble(("… ", "yellow"), (call.name, "bold"), " " + call.arguments))
        self._calls = {}
        self._running = {}
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
        parts += self._running.values()
        if self._status is not None:
            if self._clock.finish is not None:
                waiting = "running tools"
            else:
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
