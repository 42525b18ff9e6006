"""The values inside a call's arguments, as they stream: one incremental JSON scanner per call.

A call's :class:`~streamparse.core.events.ToolCallDelta` fragments, joined,
are its arguments JSON.  :class:`ValueScanner` reads them once, in order, and
reports the values inside, addressed by their JSON path (``("city",)``,
``("items", 2, "name")``):

* :class:`~streamparse.core.events.ToolCallValueDelta`: decoded text appended
  to a string value, the moment it arrives (escapes resolved; a cut-off escape
  or the first half of a surrogate pair is held until it is whole);
* :class:`~streamparse.core.events.ToolCallValue`: a value is complete:
  a string at its closing quote, a number, ``true``/``false``/``null`` at the
  character after it (a number is never reported by a prefix), an object or
  array at its closing bracket.

The root object gets no event (``ToolCallEnd`` carries it) and keys get none.
Each character is looked at once and each value built once (containers are
filled as their members complete), so a call costs O(n) over its stream.
The scanner accepts what msgspec's decoder accepts: at the first character
that is not valid JSON it stops reporting for that call (which then ends as an
``InvalidToolCall``); what it reported before stays reported.  A repeated key
reports each of its values; the arguments keep the last.

:class:`ValueEvents` is the layer ``Parser``/``ChunkFolder`` run when asked
for values: it puts each delta's value events right after that delta.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgspec

from .events import Event, InvalidToolCall, ToolCallDelta, ToolCallEnd, ToolCallValue, ToolCallValueDelta

__all__ = ["ValueEvents", "ValueScanner"]

_SPECIAL = re.compile(r'["\\\x00-\x1f]')  # what ends plain string text
# String content up to a quote, a backslash that does not start a whole escape, a control character or the end.
_STRING_RUN = re.compile(r'[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*')
_CUT_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{0,3})?\Z")  # an escape the fragment's end cut off
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.S)
_HIGH_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}")
_NUMBER_RUN = re.compile(r"[0-9eE+.\-]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:(\.[0-9]+)?([eE][+-]?[0-9]+)?)")
_WORD_RUN = re.compile(r"[a-z]*")
_WS = " \t\n\r"
_AFTER_TOKEN = " \t\n\r,}]"
_JOIN = 256
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}
_decode = msgspec.json.decode

# Where the scanner stands.
_ROOT = 0  # before the root `{`
_VALUE = 1  # after `:`, or `,` in an array: a value
_FIRST_VALUE = 2  # after `[`: a value or `]`
_KEY = 3  # after `,` in an object: a key
_FIRST_KEY = 4  # after `{`: a key or `}`
_COLON = 5  # after a key
_NEXT = 6  # after a member: `,` or the closing bracket
_STRING = 7  # inside a string value
_KEY_STRING = 8  # inside a key
_NUMBER_TOKEN = 9  # inside a number
_WORD = 10  # inside true, false or null
_END = 11  # after the root's `}`: whitespace only
_DEAD = 12  # not JSON: nothing more to report


def _unescape(raw: str) -> tuple[str, bool]:
    """The text of string contents made of whole escapes, and whether msgspec takes all of it.

    What it refuses is a lone surrogate (the run regex lets no other bad
    escape through): then the text before it, so that any cut of the
    fragments reports the same text before the scanner stops.
    """
    try:
        return _decode(f'"{raw}"'), True
    except msgspec.DecodeError:
        pass
    except UnicodeEncodeError:
        # A lone surrogate in the text itself: UTF-8 cannot carry it, the standard library can.
        try:
            return json.loads(f'"{raw}"'), True
        except ValueError:
            pass
    cut = 0
    high = -1  # where an unpaired high surrogate's escape starts
    for m in _ESCAPE.finditer(raw):
        code = int(m.group(1) or "0", 16)
        if high >= 0:
            if m.start() != cut or not 0xDC00 <= code <= 0xDFFF:
                break
            high = -1
        elif 0xDC00 <= code <= 0xDFFF:
            return _decode(f'"{raw[: m.start()]}"'), False
        elif 0xD800 <= code <= 0xDBFF:
            high = m.start()
        cut = m.end()
    return (_decode(f'"{raw[:high]}"') if high >= 0 else ""), False


class ValueScanner:
    """The values of one call's arguments: :meth:`feed` each fragment in order.

    Memory: the values built so far (each container is filled as its members
    complete), the open string's text, and at most 11 characters of a cut-off escape.
    """

    __slots__ = ("index", "_state", "_stack", "_path", "_string_path", "_parts", "_joined", "_held")

    def __init__(self, index: int) -> None:
        self.index = index
        self._state = _ROOT
        self._stack: list[dict[Any, Any] | list[Any]] = []  # the open containers, root first
        self._path: list[str | int] = []  # the key or position being read in each open container
        self._string_path: tuple[str | int, ...] = ()  # the open string value's path
        self._parts: list[str] = []  # the open string's latest decoded pieces, or the open number or word
        self._joined: list[str] = []  # the open string's earlier pieces, joined _JOIN at a time
        self._held = ""  # a cut-off escape (and a high surrogate before it), read with the next fragment

    def feed(self, fragment: str, out: list[Event]) -> None:
        """Read the next fragment of the arguments JSON; its events go to ``out``."""
        state = self._state
        if state == _STRING and not self._held and _SPECIAL.search(fragment) is None:
            # The common case inside a long string value: all of the fragment is its text.
            if fragment:
                parts = self._parts
                parts.append(fragment)
                if len(parts) >= _JOIN:
                    self._join()
                out.append(ToolCallValueDelta(index=self.index, path=self._string_path, text=fragment))
            return
        if state >= _END:
            if state == _END and fragment.strip(_WS):
                self._state = _DEAD
            return
        s = fragment
        if self._held:
            s = self._held + s
            self._held = ""
        n = len(s)
        i = 0
        while i < n:
            state = self._state
            if state == _STRING or state == _KEY_STRING:
                i = self._string(s, i, out)
                continue
            if state == _NUMBER_TOKEN or state == _WORD:
                i = self._token_end(s, i, out)
                continue
            c = s[i]
            if c in _WS:
                i += 1
                continue
            i += 1
            if state == _NEXT:
                top = self._stack[-1]
                if c == ",":
                    if isinstance(top, dict):
                        self._state = _KEY
                    else:
                        self._path[-1] = len(top)
                        self._state = _VALUE
                elif c == ("}" if isinstance(top, dict) else "]"):
                    self._close(out)
                else:
                    self._state = _DEAD
            elif state == _VALUE or state == _FIRST_VALUE:
                if c == "]" and state == _FIRST_VALUE:
                    self._close(out)
                else:
                    self._value(c, out)
            elif state == _KEY or state == _FIRST_KEY:
                if c == '"':
                    self._parts = []
                    self._state = _KEY_STRING
                elif c == "}" and state == _FIRST_KEY:
                    self._close(out)
                else:
                    self._state = _DEAD
            elif state == _COLON:
                self._state = _VALUE if c == ":" else _DEAD
            elif state == _ROOT:
                if c == "{":
                    self._open({})
                else:
                    self._state = _DEAD
            if self._state >= _END:
                if self._state == _END and s[i:].strip(_WS):
                    self._state = _DEAD
                return

    def _join(self) -> None:
        """Small pieces cost ~50 bytes each: a long string is kept in pieces of _JOIN fragments."""
        self._joined.append("".join(self._parts))
        self._parts.clear()

    # -- values --------------------------------------------------------------

    def _value(self, c: str, out: list[Event]) -> None:
        """The first character of a value (already consumed)."""
        if c == '"':
            self._string_path = tuple(self._path)
            self._parts = []
            self._state = _STRING
        elif c == "{":
            self._open({})
        elif c == "[":
            self._open([])
        elif c == "-" or "0" <= c <= "9":
            self._parts = [c]
            self._state = _NUMBER_TOKEN
        elif "a" <= c <= "z":
            self._parts = [c]
            self._state = _WORD
        else:
            self._state = _DEAD

    def _open(self, container: dict[Any, Any] | list[Any]) -> None:
        self._stack.append(container)
        if isinstance(container, dict):
            self._path.append("")  # the key comes next
            self._state = _FIRST_KEY
        else:
            self._path.append(0)
            self._state = _FIRST_VALUE

    def _close(self, out: list[Event]) -> None:
        value = self._stack.pop()
        self._path.pop()
        if self._stack:
            self._done(value, tuple(self._path), out)
        else:
            self._state = _END  # the root: ToolCallEnd reports it

    def _done(self, value: Any, path: tuple[str | int, ...], out: list[Event]) -> None:
        """A value inside the root is complete: into its container, and reported."""
        top = self._stack[-1]
        if isinstance(top, dict):
            top[path[-1]] = value
        else:
            top.append(value)
        out.append(ToolCallValue(index=self.index, path=path, value=value))
        self._state = _NEXT

    def _token_end(self, s: str, i: int, out: list[Event]) -> int:
        """Go on inside a number or a word; it is complete at the first character not its own."""
        number = self._state == _NUMBER_TOKEN
        m = (_NUMBER_RUN if number else _WORD_RUN).match(s, i)
        j = m.end() if m else i
        parts = self._parts
        if j > i:
            parts.append(s[i:j])
        if j == len(s):
            return j
        if s[j] not in _AFTER_TOKEN:  # e.g. `0f`: not a number followed by something else
            self._state = _DEAD
            return len(s)
        token = "".join(parts)
        value: Any
        if number:
            m = _NUMBER.fullmatch(token)
            if m is None:
                self._state = _DEAD
                return len(s)
            if m.lastindex is None:
                value = int(token) if len(token) <= 4300 else None  # msgspec's (and Python's) limit
            else:
                value = float(token)
                if math.isinf(value):  # out of range: msgspec refuses it
                    value = None
            if value is None:
                self._state = _DEAD
                return len(s)
        elif token in _LITERALS:
            value = _LITERALS[token]
        else:
            self._state = _DEAD
            return len(s)
        self._done(value, tuple(self._path), out)
        return j

    def _string(self, s: str, i: int, out: list[Event]) -> int:
        """Go on inside a string: report its decoded text; returns where scanning goes on."""
        n = len(s)
        m = _SPECIAL.search(s, i)
        j = n if m is None else m.start()
        if j < n and s[j] == "\\":
            m = _STRING_RUN.match(s, j)  # whole escapes and the plain text between them
            j = m.end() if m else j
        closed = bad = False
        keep = j  # s[keep:] waits for the next fragment
        if j < n:
            c = s[j]
            if c == '"':
                closed = True
            elif c != "\\" or _CUT_ESCAPE.match(s, j) is None:
                bad = True  # a control character or an invalid escape
        raw = s[i:j] if i or j < n else s
        text = raw
        if "\\" in raw:
            if not closed and not bad and s[j - 6 : j - 5] == "\\" and _HIGH_SURROGATE.fullmatch(s, j - 6, j):
                # The first half of a pair waits for the second, unless its backslash is itself escaped.
                k = j - 6
                while k > i and s[k - 1] == "\\":
                    k -= 1
                if (j - 6 - k) % 2 == 0:
                    keep = j - 6
                    raw = s[i:keep]
            text, valid = _unescape(raw)
            bad = bad or not valid
        if text:
            self._parts.append(text)
            if len(self._parts) >= _JOIN:
                self._join()
            if self._state == _STRING:
                out.append(ToolCallValueDelta(index=self.index, path=self._string_path, text=text))
        if bad:
            self._state = _DEAD
            return n
        if not closed:
            if keep < n:
                self._held = s[keep:]
            return n
        value = "".join(self._parts)
        if self._joined:
            value = "".join(self._joined) + value
            self._joined = []
        self._parts = []
        if self._state == _KEY_STRING:
            self._path[-1] = value
            self._state = _COLON
        else:
            self._done(value, self._string_path, out)
        return j + 1


class ValueEvents:
    """Adds value events to a stream's events: one :class:`ValueScanner` per open call.

    Each ``ToolCallDelta`` is followed by the value events its fragment
    completed; a call's scanner is dropped at its ``ToolCallEnd`` or
    ``InvalidToolCall``.
    """

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, ValueScanner] = {}

    def insert(self, events: list[Event]) -> list[Event]:
        """``events`` with the value events inserted after each argument fragment."""
        out: list[Event] = []
        calls = self._calls
        for event in events:
            out.append(event)
            if type(event) is ToolCallDelta:
                scanner = calls.get(event.index)
                if scanner is None:
                    scanner = calls[event.index] = ValueScanner(event.index)
                scanner.feed(event.arguments, out)
            elif type(event) is ToolCallEnd or type(event) is InvalidToolCall:
                calls.pop(event.index, None)
        return out
