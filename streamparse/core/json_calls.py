"""The body of a tool-call block: JSON calls, scanned incrementally.

A block body holds one JSON object (a call), a JSON array of objects, or
several objects one after another.  The scanner tracks only what it needs to
stream events the moment they are due (string state, nesting depth, and the
keys of each call object's own level), never re-reads text it has seen, and
hands each complete call object to msgspec once.

It stops at the first literal that ends the block (e.g. a closing tag), but
only outside JSON strings: a closing tag inside an argument value is text.
"""

from __future__ import annotations

import enum
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any, NoReturn

import msgspec

from .events import Event, InvalidToolCall, ToolCallDelta, ToolCallEnd, ToolCallStart
from .formats import Mode

_WS = " \t\n\r"
_NAME_KEY = "name"
_ARGS_KEYS = ("arguments", "parameters")
_decode = msgspec.json.decode


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    """Decode JSON text; raises ``ValueError`` (or ``RecursionError``) when it is not valid.

    msgspec reads UTF-8, so text holding a lone surrogate (a Python ``str``
    can; UTF-8 cannot) goes to the standard library instead, which takes it
    (NaN and Infinity stay refused).
    """
    try:
        return _decode(text)
    except UnicodeEncodeError:
        return json.loads(text, parse_constant=_no_constant)


class _Expect(enum.IntEnum):
    """Where a call object's own level stands."""

    KEY = 0  # after `{` or `,`: a key or `}`
    COLON = 1  # after a key
    VALUE = 2  # after `:`
    IN_VALUE = 3  # inside a value that is not a string
    IN_STRING = 4  # inside a string value
    NEXT = 5  # after a value: `,` or `}`


class _Call:
    """One call object being read."""

    __slots__ = (
        "start", "depth", "expect", "key", "index", "id", "name",
        "args_key", "args_start", "args_end", "args_scalar", "args_again", "sent",
    )

    def __init__(self, start: int, depth: int) -> None:
        self.start = start  # block offset of `{`
        self.depth = depth  # nesting depth inside the object
        self.expect = _Expect.KEY
        self.key: str | None = None  # the key whose value is being read
        self.index = -1
        self.id = ""
        self.name: str | None = None  # set when ToolCallStart was sent
        self.args_key: str | None = None
        self.args_start = -1  # block offsets of the arguments value
        self.args_end = -1
        self.args_scalar = False
        self.args_again = False  # the arguments key came twice: the first value (the one streamed) counts
        self.sent = 0  # block offset up to which argument text was sent


class _Text:
    """The block's text so far, kept in pieces; a slice joins only the pieces it spans."""

    __slots__ = ("_pieces", "_starts", "_small", "length")

    def __init__(self, first: str) -> None:
        self._pieces: list[str] = [first]
        self._starts: list[int] = [0]
        self._small: list[str] = []  # recent small pieces, merged in batches
        self.length = len(first)

    def append(self, piece: str) -> None:
        if piece:
            self._small.append(piece)
            self.length += len(piece)
            if len(self._small) >= 256:
                self._merge()

    def _merge(self) -> None:
        merged = "".join(self._small)
        self._small.clear()
        self._starts.append(self.length - len(merged))
        self._pieces.append(merged)

    def slice(self, start: int, end: int) -> str:
        if self._small:
            self._merge()
        k = bisect_right(self._starts, start) - 1
        j = bisect_left(self._starts, end, lo=k)
        offset = self._starts[k]
        return "".join(self._pieces[k:j])[start - offset : end - offset]


def _json_string(raw: str) -> str | None:
    """The value of a JSON string's raw contents, or None when they are not valid."""
    if "\\" not in raw:
        return raw
    try:
        value = _loads(f'"{raw}"')
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _check_call(obj: Any, args_key: str | None) -> tuple[str, dict[str, Any]] | str:
    """The call's name and arguments, or the reason it is not a valid call."""
    if not isinstance(obj, dict):
        return "tool call is not a JSON object"
    name = obj.get(_NAME_KEY)
    if name is None:
        return "tool call has no name"
    if not isinstance(name, str) or not name:
        return "tool call name is not a non-empty string"
    keys = (args_key,) if args_key else _ARGS_KEYS
    args: Any = next((obj[k] for k in keys if k in obj), None)
    if args is None:
        return name, {}
    if isinstance(args, str):
        if not args.strip(_WS):
            return name, {}
        try:
            args = _loads(args)
        except (ValueError, RecursionError):
            return "tool call arguments are a string that is not valid JSON"
    if not isinstance(args, dict):
        return "tool call arguments are not a JSON object"
    return name, args


class CallsScanner:
    """Reads one tool-call block, from just after its opening literal.

    ``scan`` returns where the block ended or where to hold text back;
    events go to the list it is given.  ``allocate`` hands out call indexes
    (a stream's calls are numbered in order), ``make_id`` turns one into an id.
    """

    __slots__ = (
        "_mode", "_text", "_allocate", "_make_id", "_depth", "_in_string", "_escape",
        "_array", "_call", "_capture", "_capturing", "_values", "_value_start",
        "_error", "_error_index", "_also_failed", "_junk",
    )

    def __init__(
        self, mode: Mode, opening: str, allocate: Callable[[], int], make_id: Callable[[int], str]
    ) -> None:
        self._mode = mode
        self._text = _Text(opening)
        self._allocate = allocate
        self._make_id = make_id
        self._depth = 0
        self._in_string = False
        self._escape = False  # a string's backslash ended the last piece
        self._array = False  # the current top-level value is an array of calls
        self._call: _Call | None = None
        self._capture: list[str] = []  # raw contents of a key or name string
        self._capturing = False
        self._values = 0  # top-level JSON values seen
        self._value_start = -1
        self._error: str | None = None  # the first reason the block is invalid
        self._error_index = -1
        self._also_failed: list[tuple[int, str]] = []  # later started calls that failed
        self._junk = False  # past text that is not JSON: only the end literal matters now

    # -- the two entry points ------------------------------------------------

    def scan(self, s: str, pos: int, out: list[Event]) -> tuple[int, str | None, int]:
        """Read ``s[pos:]``.

        Returns ``(stop, literal, end)``: when ``literal`` is a terminal name,
        the block ended with that literal at ``s[stop:end]`` and all its events
        are in ``out``; otherwise ``s[stop:]`` must be held back and passed
        again, with more text, to the next call.
        """
        text = self._text
        base = text.length - pos  # block offset of s[0]
        if self._in_string and not self._escape and s.find('"', pos) < 0 and s.find("\\", pos) < 0:
            # The common case inside a long string value: the whole piece is string content.
            stop = end = len(s)
            literal = None
            if self._capturing:
                self._capture.append(s[pos:])
        else:
            stop, literal, end = self._scan(s, pos, base, out)
        call = self._call
        if call is not None and call.name is not None and call.args_start >= 0 and not call.args_scalar:
            upto = call.args_end if call.args_end >= 0 else base + stop
            sent = call.sent
            if upto > sent:
                if sent >= text.length:  # the common case: all of it in this piece
                    out.append(ToolCallDelta(index=call.index, arguments=s[sent - base : upto - base]))
                    call.sent = upto
                else:
                    self._send_args(call, upto, s, base, out)
        piece = s[pos:stop] if pos or stop != len(s) else s
        if piece:  # _Text.append, inlined: this runs once per feed
            small = text._small
            small.append(piece)
            text.length += len(piece)
            if len(small) >= 256:
                text._merge()
        if literal is not None:
            if literal in self._mode.closers:
                self._text.append(s[stop:end])
            self._finish(out)
        return stop, literal, end

    def close(self, held: str, out: list[Event]) -> str:
        """The stream ended inside the block (its closing literal may be a stop sequence).

        ``held`` is the start of a literal cut off by the end of the stream.
        The start of a closing literal is the block's markup; the start of one
        that opens the next item is not the block's: it is returned, for the
        caller to emit as what follows the block.
        """
        mode = self._mode
        closing = any(mode.literals[lit] in mode.closers and lit.startswith(held) for lit in mode.literals)
        if closing:
            self._text.append(held)
        self._finish(out)
        return "" if closing else held

    # -- scanning ------------------------------------------------------------

    def _scan(self, s: str, i: int, base: int, out: list[Event]) -> tuple[int, str | None, int]:
        n = len(s)
        mode = self._mode
        while i < n:
            if self._in_string:
                i = self._string(s, i, base, out)
                continue
            if self._junk:
                m = mode.search.search(s, i)
                if m is None:
                    return n, None, n
                if m.lastgroup == "lit":
                    return m.start(), mode.literals[m.group()], m.end()
                return m.start(), None, n
            depth = self._depth
            if depth == 0:
                while i < n and s[i] in _WS:
                    i += 1
                if i == n:
                    break
                m = mode.search.match(s, i)
                if m is not None:
                    if m.lastgroup == "lit":
                        return i, mode.literals[m.group()], m.end()
                    return i, None, n
                c = s[i]
                if c == "{" or c == "[":
                    self._values += 1
                    self._value_start = base + i
                    self._array = c == "["
                    self._depth = 1
                    if c == "{":
                        self._call = _Call(base + i, 1)
                    i += 1
                else:
                    self._fail("unexpected text in tool call block", None)
                    self._junk = True
                continue
            call = self._call
            # `here`: the call object whose own level we are at (keys, `:`, `,`), if any.
            here = call if call is not None and depth == call.depth else None
            if here is not None and here.expect == _Expect.VALUE:
                i = self._value(s, i, base, here)
                continue
            m = (mode.deep if here is None else mode.level).search(s, i)
            if m is None:
                return n, None, n
            group = m.lastgroup
            if group == "str":
                i = m.end()
                continue
            if group == "lit":
                return m.start(), mode.literals[m.group()], m.end()
            if group == "part":
                return m.start(), None, n
            i = m.end()
            c = s[i - 1]
            if c == '"':
                self._in_string = True
                self._capturing = here is not None and here.expect == _Expect.KEY
            elif c == "{" or c == "[":
                self._depth = depth + 1
                if c == "{" and call is None and self._array and depth == 1:
                    self._call = _Call(base + i - 1, 2)
            elif here is not None and c == ":":
                if here.expect == _Expect.COLON:
                    here.expect = _Expect.VALUE
            elif here is not None and c == ",":
                if here.expect == _Expect.IN_VALUE:
                    self._end_value(here, base + i - 1)
                here.expect = _Expect.KEY
            else:  # a closing bracket
                self._depth = depth - 1
                if here is not None:
                    if here.expect == _Expect.IN_VALUE:
                        self._end_value(here, base + i - 1)
                    self._end_call(here, base + i, s, base, out)
                elif call is not None and depth - 1 == call.depth and call.expect == _Expect.IN_VALUE:
                    self._end_value(call, base + i)
                elif depth == 1:
                    self._end_top(base + i, s, base)
        return n, None, n

    def _value(self, s: str, i: int, base: int, call: _Call) -> int:
        """The start of a value at a call object's own level."""
        n = len(s)
        while i < n and s[i] in _WS:
            i += 1
        if i == n:
            return n
        c = s[i]
        if call.key == "args":
            call.args_start = base + i
            call.args_scalar = c not in '{["'
            call.sent = base + i
        if self._mode.search.match(s, i) is not None:
            # A literal, or the start of one, where a value should begin (a format's tags
            # may start with `[` or `{`): the level scan decides, never as a bracket.
            call.expect = _Expect.IN_VALUE
            return i
        if c == '"':
            call.expect = _Expect.IN_STRING
            self._in_string = True
            self._capturing = call.key == "name"
            return i + 1
        call.expect = _Expect.IN_VALUE
        if c == "{" or c == "[":
            self._depth += 1
            return i + 1
        return i  # a scalar: it ends at the next `,` or `}`

    def _string(self, s: str, i: int, base: int, out: list[Event]) -> int:
        """Go on inside a JSON string; returns where scanning goes on."""
        n = len(s)
        start = i
        if self._escape:
            self._escape = False
            i += 1  # the escaped character
        q = s.find('"', i)
        while True:
            b = s.find("\\", i, n if q < 0 else q)
            if b < 0:
                break
            if b + 1 == n:
                self._escape = True
                break
            i = b + 2
            if i > q >= 0:
                q = s.find('"', i)
        if q < 0 or self._escape:
            if self._capturing:
                self._capture.append(s[start:n])
            return n
        self._in_string = False
        call = self._call
        if call is not None and self._depth == call.depth:
            raw = ""
            if self._capturing:
                self._capture.append(s[start:q])
                raw = "".join(self._capture)
                self._capture.clear()
                self._capturing = False
            self._string_done(call, raw, base + q + 1, out)
        return q + 1

    # -- what the structure means ----------------------------------------------

    def _string_done(self, call: _Call, raw: str, end: int, out: list[Event]) -> None:
        """A string at a call object's own level closed at block offset ``end``."""
        if call.expect == _Expect.KEY:
            key = _json_string(raw)
            if key == _NAME_KEY:
                call.key = "name"
            elif key in _ARGS_KEYS and call.args_key is None:
                call.key = "args"
                call.args_key = key
            else:
                call.args_again = call.args_again or key == call.args_key
                call.key = None
            call.expect = _Expect.COLON
        elif call.expect == _Expect.IN_STRING:
            if call.key == "name" and call.name is None:
                name = _json_string(raw)
                if name:
                    self._start(call, name, out)
            elif call.key == "args":
                call.args_end = end
            call.expect = _Expect.NEXT

    def _end_value(self, call: _Call, end: int) -> None:
        if call.key == "args":
            call.args_end = end
        call.expect = _Expect.NEXT

    def _start(self, call: _Call, name: str, out: list[Event]) -> None:
        call.index = self._allocate()
        call.id = self._make_id(call.index)
        call.name = name
        out.append(ToolCallStart(index=call.index, id=call.id, name=name))
        if call.args_start >= 0:
            call.sent = call.args_start  # arguments came first: send them from the start

    def _send_args(self, call: _Call, upto: int, s: str, base: int, out: list[Event]) -> None:
        text = self._get(call.sent, upto, s, base)
        if call.args_scalar:
            text = text.rstrip(_WS)
        if text:
            out.append(ToolCallDelta(index=call.index, arguments=text))
        call.sent = upto

    def _get(self, start: int, end: int, s: str, base: int) -> str:
        """Block text ``[start:end]``: from the stored pieces and/or the piece being scanned."""
        split = self._text.length
        if start >= split:
            return s[start - base : end - base]
        if end <= split:
            return self._text.slice(start, end)
        return self._text.slice(start, split) + s[split - base : end - base]

    def _end_call(self, call: _Call, end: int, s: str, base: int, out: list[Event]) -> None:
        """A call object closed at block offset ``end``: emit its end, now."""
        self._call = None
        try:
            obj = _loads(self._get(call.start, end, s, base))
            if call.args_again and isinstance(obj, dict) and call.args_key:
                # A repeated key: decoding kept the last value, but the first is the one streamed.
                obj[call.args_key] = _loads(self._get(call.args_start, call.args_end, s, base))
            result = _check_call(obj, call.args_key)
        except (ValueError, RecursionError) as exc:
            result = f"tool call is not valid JSON: {exc}"
        if not isinstance(result, str) and call.name is None:
            self._start(call, result[0], out)
        if call.name is not None and call.args_start >= 0 and call.args_end > call.sent:
            self._send_args(call, call.args_end, s, base, out)
        if isinstance(result, str):
            self._fail(result, call)
        else:
            name, args = result
            out.append(ToolCallEnd(index=call.index, id=call.id, name=call.name or name, arguments=args))
        if self._depth == 0:
            self._end_top(end, s, base)

    def _end_top(self, end: int, s: str, base: int) -> None:
        """A top-level value closed; an array must hold call objects only."""
        if self._array:
            self._array = False
            raw = self._get(self._value_start, end, s, base)
            try:
                try:
                    objects = [bytes(item)[:1] == b"{" for item in _decode(raw, type=list[msgspec.Raw])]
                except UnicodeEncodeError:
                    objects = [isinstance(item, dict) for item in _loads(raw)]
            except (ValueError, RecursionError):
                return self._fail("tool call array is not valid JSON", None)
            if not objects:
                self._fail("tool call array is empty", None)
            elif not all(objects):
                self._fail("tool call array holds something that is not an object", None)

    def _fail(self, reason: str, call: _Call | None) -> None:
        """Note why the block is invalid; a started call keeps its index."""
        if self._error is None:
            self._error = reason
            self._error_index = call.index if call is not None and call.index >= 0 else self._allocate()
        elif call is not None and call.index >= 0 and call.index != self._error_index:
            self._also_failed.append((call.index, reason))

    def _finish(self, out: list[Event]) -> None:
        """The block is over: report it if it was not all valid calls."""
        if self._in_string or self._depth:
            self._fail("tool call block ended inside JSON", self._call)
        elif not self._values and self._error is None:
            self._fail("tool call block holds no call", None)
        if self._error is None:
            return
        raw = self._text.slice(0, self._text.length)
        out.append(InvalidToolCall(index=self._error_index, raw=raw, error=self._error))
        for index, reason in self._also_failed:
            out.append(
                InvalidToolCall(index=index, raw="", error=f"{reason} (block text in call {self._error_index})")
            )
