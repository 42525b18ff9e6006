"""A call's arguments as one JSON object (Kimi, DeepSeek, Mistral's ``[ARGS]``, harmony's body).

The object streams as written, and its closing brace ends the call: the
name and id came before it, outside JSON.  A literal is looked for only
outside JSON strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..events import Event, InvalidKind, ToolCallDelta
from ..jsontext import loads
from .base import KEEP, BlockReader, Context, Lane, first_non_space, settle
from .json_calls import patterns, string_end, string_lane

if TYPE_CHECKING:
    from ..formats import Mode


class JsonArgsReader(BlockReader):
    """One JSON object of arguments; ends by itself at its last brace when other content may follow."""

    __slots__ = ("_depth", "_in_string", "_escape", "_start", "_sent", "_done", "_junk", "_self_end", "_pending")
    self_ending = True

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        super().__init__(mode, ctx, opening)
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._start = -1  # raw offset of the object's `{`
        self._sent = -1  # raw offset up to which the object was streamed
        self._done = False  # the object closed
        self._junk = False
        self._self_end = mode.self_end() is not None
        self._pending: list[str] = []  # streamed string pieces not yet in the block's text (joined in batches)
        if opening.endswith("{"):  # a literal that ends with the object's brace (`name{`)
            self._depth = 1
            self._start = self._sent = ctx.raw.length - 1

    @classmethod
    def opens(cls, s: str, i: int, at_end: bool) -> bool | None:
        j = first_non_space(s, i)
        if j == len(s):
            return True if at_end else None
        return s[j] == "{"

    def quick(self, piece: str) -> list[Event] | None:  # type: ignore[override]
        """A piece wholly inside a string of the object: streamed as it is."""
        if not self._in_string:
            return None
        if self._escape or '"' in piece or "\\" in piece:
            quote, escape = string_end(piece, 0, self._escape)
            if quote >= 0:
                return None  # the string ends here: scan it
            self._escape = escape
        call = self.ctx.calls.call
        if call is not None and call.started:  # the common case, inlined
            pending = self._pending
            pending.append(piece)
            if len(pending) >= KEEP:
                self._settle()
            return [ToolCallDelta(call.index, piece)]
        if self._pending:
            self._settle()
        raw = self.ctx.raw
        raw.append(piece)
        self._sent = raw.length
        out: list[Event] = []
        self.ctx.calls.fragment(piece, out)
        return out

    def lane(self) -> Lane | None:  # type: ignore[override]
        """Inside a string of a started call's arguments (not while a backslash is pending)."""
        call = self.ctx.calls.call
        if self._escape or call is None or not call.started:
            return None
        return string_lane(self._pending, call.index)

    def _settle(self) -> None:
        """The pieces kept apart go into the block's text; every one of them was streamed."""
        raw = self.ctx.raw
        settle(self._pending, raw)
        self._sent = raw.length

    def close(self, held: str, out: list[Event]) -> str:
        if self._pending:
            self._settle()
        return super().close(held, out)

    def scan(self, s: str, pos: int, out: list[Event]) -> tuple[int, str | None, int]:
        if self._pending:
            self._settle()
        raw = self.ctx.raw
        base = raw.length - pos
        n = len(s)
        raw.append(s[pos:] if pos else s)  # trimmed back below if some must be held
        if self._in_string and not self._escape and s.find('"', pos) < 0 and s.find("\\", pos) < 0:
            stop, literal, end = n, None, n  # inside a long string value: all of it is string content
        else:
            stop, literal, end = self._scan(s, pos, base, out)
            if stop < n:
                raw.truncate(base + stop)
        if self._start >= 0 and not self._done:
            self._send(base + stop, out)
        if stop > pos:
            self.content = True
        return stop, literal, end

    def _scan(self, s: str, i: int, base: int, out: list[Event]) -> tuple[int, str | None, int]:
        n = len(s)
        search = self.mode.search
        deep = patterns(self.mode)[0]
        while i < n:
            if self._in_string:
                q, self._escape = string_end(s, i, self._escape)
                if q < 0:
                    return n, None, n
                self._in_string = False
                i = q + 1
                continue
            if self._depth == 0:
                stop, literal, end = self.between(s, i, self._done and self._self_end and not self._junk)
                if end >= 0:
                    return stop, literal, end
                i = stop
                if self._done or self._junk:
                    self._junk = True
                    m = search(s, i)
                    if m is None:
                        return n, None, n
                    return (m.start(), m.group(), m.end()) if m.lastgroup == "lit" else (m.start(), None, n)
                if s[i] != "{":
                    self._junk = True
                    continue
                self._start = self._sent = base + i
                self._depth = 1
                i += 1
                continue
            m = deep(s, i)
            if m is None:
                return n, None, n
            group = m.lastgroup
            if group == "str":
                i = m.end()
                continue
            if group == "lit":
                return m.start(), m.group(), m.end()
            if group == "part":
                return m.start(), None, n
            i = m.end()
            c = s[i - 1]
            if c == '"':
                self._in_string = True
            elif c == "{" or c == "[":
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    self._close_object(base + i, s, base, out)
        return n, None, n

    def _send(self, upto: int, out: list[Event]) -> None:
        if upto > self._sent:
            text = self.ctx.raw.slice(self._sent, upto)
            self._sent = upto
            self.ctx.calls.fragment(text, out)

    def _close_object(self, end: int, s: str, base: int, out: list[Event]) -> None:
        """The object's last brace: the call ends here, or at the closing literal its format has."""
        self._done = True
        self._send(end, out)
        calls = self.ctx.calls
        try:
            value = loads(self.ctx.raw.slice(self._start, end))
        except (ValueError, RecursionError) as exc:
            calls.taint(f"tool call arguments are not valid JSON: {exc}")
            value = None
        if value is not None and not isinstance(value, dict):
            calls.taint("tool call arguments are not a JSON object")
        if self.mode.closes_call:
            calls.end(out, value if isinstance(value, dict) else None, end)
        elif isinstance(value, dict):
            calls.decoded(value)

    def _finish(self, out: list[Event], kind: InvalidKind) -> None:
        """The content is over; where the call has a closing literal, that literal (or the stream's end) ends it."""
        calls = self.ctx.calls
        closes = self.mode.closes_call
        if self._done:
            if self._junk:
                if closes:
                    calls.fail("unexpected text after a tool call", out)
                else:
                    calls.taint("unexpected text after a tool call's arguments")
            return
        if self._start >= 0:
            calls.taint("tool call arguments ended inside JSON", kind)
        elif self._junk:
            calls.taint("tool call arguments are not a JSON object")
        elif kind == "truncated":
            calls.taint("tool call cut off by the end of the stream", kind)
        else:  # no arguments at all
            calls.fragment("{}", out)
            if closes:
                calls.end(out, {})
            else:
                calls.decoded({})
            return
        if closes:
            calls.end(out)
