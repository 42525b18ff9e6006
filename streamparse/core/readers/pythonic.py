"""A list of Python calls: ``[get_weather(city='Paris'), get_time(tz="UTC")]`` (Llama 3.2/4, LFM2).

Each call is announced at its ``(``; each keyword argument is a Python
literal (strings, numbers, ``True``/``False``/``None``, lists, tuples,
dicts; JSON's ``true``/``false``/``null`` too), added to the arguments JSON
when it is complete; the call ends at its ``)``.  Positional arguments make
a call invalid.  The list's ``]`` ends the content.
"""

from __future__ import annotations

import ast
import enum
import re
from typing import TYPE_CHECKING, Any

from ..events import Event, InvalidKind
from ..jsontext import loads
from ..raw_values import jsonable
from .base import BlockReader, Context, first_non_space

if TYPE_CHECKING:
    from ..formats import Mode

_NAME = re.compile(r"[A-Za-z_][\w.]*")
_IDENT = re.compile(r"[A-Za-z_]\w*")
_REST = re.compile(r"[\w.]*")  # the rest of a name cut by the end of a piece
_HEAD = re.compile(r"\s*\[\s*[A-Za-z_][\w.]*\s*\(")
_VALUE_STOP = re.compile(r"""["'()\[\]{},]""")


class _At(enum.IntEnum):
    LIST = 0  # before `[`
    CALL = 1  # a call's name, or `]`
    NAME = 2  # inside a name
    OPEN = 3  # before `(`
    ARG = 4  # a keyword, or `)`
    KEY = 5  # inside a keyword
    EQUALS = 6  # before `=`
    VALUE = 7  # inside a value
    NEXT_ARG = 8  # after a value: `,` or `)`
    NEXT_CALL = 9  # after a call: `,` or `]`
    DONE = 10  # after `]`


def _literal(text: str) -> tuple[bool, Any]:
    """A Python (or JSON) literal's value as JSON data."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        try:
            value = loads(text.strip())
        except (ValueError, RecursionError):
            return False, None
    data = jsonable(value)
    return (data is not None or value is None), data


class PythonCallsReader(BlockReader):
    """Reads a Python list of calls incrementally, a character class at a time."""

    __slots__ = ("_at", "_buf", "_key", "_depth", "_quote", "_escape", "_self_end", "_junk", "_closed")
    self_ending = True

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        super().__init__(mode, ctx, opening)
        self._at = _At.LIST
        self._buf: list[str] = []  # the name, keyword or value being read
        self._key = ""
        self._depth = 0  # brackets open inside a value
        self._quote = ""  # the quote of the string being read inside a value
        self._escape = False
        self._self_end = mode.self_end() is not None
        self._junk = False
        self._closed = False  # a call's `)` was read: the call ends once it is in the raw text

    @classmethod
    def opens(cls, s: str, i: int, at_end: bool) -> bool | None:
        j = first_non_space(s, i)
        if j == len(s):
            return True if at_end else None
        return s[j] == "["

    @classmethod
    def claims(cls, s: str, i: int, at_end: bool) -> bool | None:
        """Without a literal before it, only a list that starts with a call: ``[name(``."""
        rest = s[i:]
        if _HEAD.match(rest):
            return True
        if at_end:
            return False
        # Undecided while the text is still a prefix of such a start.
        probe = re.match(r"\s*(\[\s*([A-Za-z_][\w.]*\s*)?)?\Z", rest)
        return None if probe else False

    def quick(self, piece: str) -> list[Event] | None:  # type: ignore[override]
        """A piece wholly inside a string value (values are added when complete)."""
        if self._at != _At.VALUE or not self._quote or self._escape or self._quote in piece or "\\" in piece:
            return None
        self._buf.append(piece)
        self.ctx.raw.append(piece)
        return []

    def scan(self, s: str, pos: int, out: list[Event]) -> tuple[int, str | None, int]:
        n = len(s)
        i = pos
        raw = self.ctx.raw
        while i < n:
            at = self._at
            if self._junk or at in (_At.LIST, _At.CALL, _At.ARG, _At.NEXT_ARG, _At.NEXT_CALL, _At.DONE, _At.OPEN, _At.EQUALS):
                # Between tokens: a literal may come (outside values only).
                stop, literal, end = self.between(s, i, at == _At.DONE and self._self_end and not self._junk)
                if end >= 0:
                    raw.append(s[i:stop])
                    return stop, literal, end
                raw.append(s[i:stop])
                i = stop
                if self._junk:
                    m = self.mode.search(s, i)
                    stop = m.start() if m is not None else n
                    raw.append(s[i:stop])
                    if m is None:
                        return n, None, n
                    return (stop, m.group(), m.end()) if m.lastgroup == "lit" else (stop, None, n)
            c = s[i]
            step = self._step(s, i, c, out)
            raw.append(s[i:step])
            if self._closed:
                self._closed = False
                self.ctx.calls.end(out)
            self.content = True
            i = step
        return n, None, n

    def _step(self, s: str, i: int, c: str, out: list[Event]) -> int:
        """Read from ``s[i]`` (not whitespace between tokens); where to go on."""
        calls = self.ctx.calls
        at = self._at
        if at == _At.LIST:
            if c != "[":
                return self._bad(i, "a Python call list must start with [")
            self._at = _At.CALL
            return i + 1
        if at == _At.CALL:
            if c == "]":
                self._at = _At.DONE
                return i + 1
            return self._word(s, i, _NAME, _At.NAME)
        if at == _At.NAME:
            return self._word(s, i, _NAME, _At.NAME)
        if at == _At.OPEN:
            if c != "(":
                return self._bad(i, "a call's name must be followed by (")
            calls.current()
            name = "".join(self._buf)
            self._buf.clear()
            calls.name(name)
            calls.start(out)
            self._at = _At.ARG
            return i + 1
        if at == _At.ARG:
            if c == ")":
                return self._end_call(i)
            if _IDENT.match(s, i) is None:
                calls.taint("a pythonic call has a positional argument")
                self._key = ""
                self._at = _At.VALUE
                return i
            return self._word(s, i, _IDENT, _At.KEY)
        if at == _At.KEY:
            return self._word(s, i, _IDENT, _At.KEY)
        if at == _At.EQUALS:
            if c != "=":
                calls.taint("a pythonic call has a positional argument")
                self._key = ""
                self._at = _At.VALUE
                return i
            self._at = _At.VALUE
            return i + 1
        if at == _At.VALUE:
            return self._value(s, i, out)
        if at == _At.NEXT_ARG:
            if c == ",":
                self._at = _At.ARG
                return i + 1
            if c == ")":
                return self._end_call(i)
            return self._bad(i, "unexpected text after an argument")
        if at == _At.NEXT_CALL:
            if c == ",":
                self._at = _At.CALL
                return i + 1
            if c == "]":
                self._at = _At.DONE
                return i + 1
            return self._bad(i, "unexpected text after a call")
        return self._bad(i, "unexpected text after the call list")

    def _word(self, s: str, i: int, pattern: re.Pattern[str], at: _At) -> int:
        m = (pattern if not self._buf else _REST).match(s, i)
        end = m.end() if m is not None else i
        if end == i and not self._buf:
            return self._bad(i, "expected a name")
        self._buf.append(s[i:end])
        if end < len(s):  # the word is complete
            word = "".join(self._buf)
            if at == _At.KEY:
                self._key = word
                self._buf.clear()
                self._at = _At.EQUALS
            else:
                self._at = _At.OPEN
        else:
            self._at = at
        return end

    def _value(self, s: str, i: int, out: list[Event]) -> int:
        n = len(s)
        while i < n:
            if self._quote:
                q = self._quote
                j = i
                while True:
                    k = s.find(q, j)
                    b = s.find("\\", j, k if k >= 0 else n)
                    if self._escape:
                        self._escape = False
                        j = i + 1
                        self._buf.append(s[i:j])
                        i = j
                        break
                    if b >= 0:
                        if b + 1 == n:
                            self._escape = True
                            self._buf.append(s[i:n])
                            return n
                        self._buf.append(s[i : b + 2])
                        i = j = b + 2
                        continue
                    if k < 0:
                        self._buf.append(s[i:n])
                        return n
                    self._buf.append(s[i : k + 1])
                    self._quote = ""
                    i = k + 1
                    break
                continue
            m = _VALUE_STOP.search(s, i)
            if m is None:
                self._buf.append(s[i:n])
                return n
            j = m.start()
            c = s[j]
            if c in "\"'":
                self._buf.append(s[i : j + 1])
                self._quote = c
                i = j + 1
            elif c in "([{":
                self._depth += 1
                self._buf.append(s[i : j + 1])
                i = j + 1
            elif c in ")]}" and self._depth:
                self._depth -= 1
                self._buf.append(s[i : j + 1])
                i = j + 1
            elif c in ",)" and not self._depth:
                self._buf.append(s[i:j])
                self._end_value(out)
                return j
            else:
                self._buf.append(s[i : j + 1])
                i = j + 1
        return n

    def _end_value(self, out: list[Event]) -> None:
        text = "".join(self._buf)
        self._buf.clear()
        self._at = _At.NEXT_ARG
        ok, value = _literal(text)
        if not ok:
            self.ctx.calls.taint(f"argument {self._key!r} is not a Python literal: {text.strip()[:80]!r}")
        elif self._key:
            self.ctx.calls.member(self._key, value, out)

    def _end_call(self, i: int) -> int:
        self._at = _At.NEXT_CALL
        self._closed = True
        return i + 1

    def _bad(self, i: int, reason: str) -> int:
        self._junk = True
        if self.ctx.calls.call is not None:
            self.ctx.calls.taint(reason)
        return i

    def _finish(self, out: list[Event], kind: InvalidKind) -> None:
        calls = self.ctx.calls
        if calls.call is not None:
            calls.taint("the call list ended inside a call", kind)
            calls.end(out)
        elif self._junk or self._at != _At.DONE:
            calls.fail("the call list is not complete" if not self._junk else "unexpected text in a call list", out, kind if not self._junk else "malformed")
