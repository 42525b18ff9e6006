"""JSON call objects (``{"name": ..., "arguments": {...}}``), read incrementally.

The content holds one call object, a JSON array of them, or several objects
one after another.  The reader tracks only what it needs to stream events
the moment they are due (string state, nesting depth, and the keys of each
call object's own level), never re-reads text it has seen, and hands each
complete call object to msgspec once.  It stops at a literal only outside
JSON strings: a closing tag inside an argument value is text.

Arguments stream as the JSON text that decodes to them: an object as
written; arguments encoded as a JSON string as the decoded string's text;
none at all (or null, or an empty string) as ``{}``.
"""

from __future__ import annotations

import enum
import re
from typing import TYPE_CHECKING, Any


from ..events import Event, InvalidKind, ToolCallDelta
from ..jsontext import StringDecoder, loads
from .base import KEEP, BlockReader, Context, Lane, first_non_space, settle

if TYPE_CHECKING:
    from ..formats import Mode

_WS = " \t\n\r"
_NAME_KEY = "name"
_ID_KEY = "id"
_ARGS_KEYS = ("arguments", "parameters")
_CLAIM_FIRST_KEYS = (_NAME_KEY, "type", *_ARGS_KEYS)
_CLAIM_WINDOW = 1024  # how far a bare JSON value is searched for a call's keys (see `claims`)
_CLAIM_TOKEN = re.compile(r'(?P<str>"(?:[^"\\]|\\.)*")|(?P<cut>"(?:[^"\\]|\\.)*\\?\Z)|[{}\[\]:,]|[^\s"{}\[\]:,]+')


class _Expect(enum.IntEnum):
    """Where a call object's own level stands."""

    KEY = 0  # after `{` or `,`: a key or `}`
    COLON = 1  # after a key
    VALUE = 2  # after `:`
    IN_VALUE = 3  # inside a value that is not a string
    IN_STRING = 4  # inside a string value
    NEXT = 5  # after a value: `,` or `}`


class _Args(enum.IntEnum):
    """What the arguments value is."""

    NONE = 0  # not seen (yet)
    OBJECT = 1  # streamed as written
    STRING = 2  # JSON text inside a JSON string: streamed decoded
    EMPTY = 3  # null (told once the value ended): streamed as `{}` at the end
    OTHER = 4  # not arguments at all (the call is invalid): streamed as written at the end


class _Object:
    """One call object being read (offsets are in the block's raw text)."""

    __slots__ = (
        "start", "depth", "expect", "key", "index", "name", "ident", "args_key", "args_start",
        "args_end", "kind", "args_again", "sent", "decoder",
    )

    def __init__(self, start: int, depth: int) -> None:
        self.start = start  # offset of `{`
        self.depth = depth  # nesting depth inside the object
        self.expect = _Expect.KEY
        self.key: str | None = None  # the key whose value is being read
        self.index = -1  # set when the call was announced
        self.name: str | None = None
        self.ident: str | None = None
        self.args_key: str | None = None
        self.args_start = -1  # offsets of the arguments value (inside the quotes for a string)
        self.args_end = -1
        self.kind = _Args.NONE
        self.args_again = False  # the arguments key came twice: the first value (the one streamed) counts
        self.sent = 0  # offset up to which argument text was streamed
        self.decoder: StringDecoder | None = None


_STRING_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)


def string_lane(pending: list[str], index: int) -> Lane:
    """The parser's lane inside a JSON string of call ``index``'s arguments: a piece with no quote that
    does not end on a backslash leaves the string open and nothing escaped; it is kept in ``pending``."""
    return '"', "\\", pending, index


def string_end(s: str, i: int, escape: bool) -> tuple[int, bool]:
    """Inside a JSON string from ``s[i]`` (``escape``: the last piece ended on a backslash):
    the index of its closing quote (-1: not in ``s``) and whether ``s`` ends on a backslash."""
    if escape:
        i += 1  # the escaped character
    if "\\" not in s:
        return s.find('"', i), False
    j = _STRING_BODY.match(s, i).end()  # type: ignore[union-attr]  # it matches the empty string
    if j == len(s):
        return -1, False
    if s[j] == '"':
        return j, False
    return -1, True  # a backslash, the last character


def _json_string(raw: str) -> str | None:
    """The value of a JSON string's raw contents, or None when they are not valid."""
    if "\\" not in raw:
        return raw
    try:
        value = loads(f'"{raw}"')
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
            args = loads(args)
        except (ValueError, RecursionError):
            return "tool call arguments are a string that is not valid JSON"
    if not isinstance(args, dict):
        return "tool call arguments are not a JSON object"
    return name, args


class JsonCallsReader(BlockReader):
    """Reads JSON tool calls; ends by itself after a value when other content may follow it."""

    __slots__ = (
        "_depth", "_in_string", "_escape", "_array", "_obj", "_capture", "_capturing",
        "_values", "_elements", "_junk", "_failed", "_self_end", "_plain", "_streaming", "_as_written", "_lane", "_pending",
    )
    self_ending = True

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        super().__init__(mode, ctx, opening)
        self._depth = 0
        self._in_string = False
        self._escape = False  # a string's backslash ended the last piece
        self._array = False  # the current top-level value is an array of calls
        self._obj: _Object | None = None
        self._capture: list[str] = []  # raw contents of a key, name or id string
        self._capturing = False
        self._values = 0  # top-level JSON values seen
        self._elements = 0  # call objects in the current top-level array
        self._junk: str | None = None  # past text that is not JSON: only a literal matters now
        self._failed: str | None = None  # why a call object failed: reported once its text is whole
        self._self_end = mode.self_end() is not None
        self._plain = False  # inside a string, nothing pending: `quick` may take a piece with no `"` or `\`
        self._streaming: _Object | None = None  # ... and that string is in arguments, streamed
        self._as_written = -1  # ... as written (not decoded): the call's index
        # ... and the parser's path past `quick` (see `lane`), built once per scan: the parser asks again
        # after every piece the lane refused, and building it each time cost source code 3 % more.
        self._lane: Lane | None = None
        # Pieces `quick` took, not yet in the block's raw text: appending there counts its length,
        # which cost a fifth of a piece's time; they go in, joined, before anything reads it.
        self._pending: list[str] = []

    @classmethod
    def opens(cls, s: str, i: int, at_end: bool) -> bool | None:
        j = first_non_space(s, i)
        if j == len(s):
            return True if at_end else None
        return s[j] in "{["

    @classmethod
    def claims(cls, s: str, i: int, at_end: bool) -> bool | None:
        """Without a literal before it, only what is surely a call: an object (alone or first in an array)
        whose first key is "name", "type" or an arguments key and whose own level shows both "name" and an
        arguments key, within its first ``_CLAIM_WINDOW`` characters.  Other JSON (``{"name": "Alice",
        "age": 3}``) is text."""
        text = s[i : i + _CLAIM_WINDOW]
        decided = at_end or len(s) - i >= _CLAIM_WINDOW
        depth = level = 0  # nesting depth; the call object's depth once it opened
        previous = ""
        keys: set[str] = set()
        for m in _CLAIM_TOKEN.finditer(text):
            token = m.group()
            if m.lastgroup == "cut":  # a string the text does not finish yet
                break
            if level == 0:  # before the call object: `{`, or `[` then `{`
                if token == "{":
                    level = depth = depth + 1
                elif token == "[" and depth == 0:
                    depth = 1
                else:
                    return False
            elif token in "{[":
                depth += 1
            elif token in "}]":
                depth -= 1
                if depth < level:
                    return False  # the object closed without the keys of a call
            elif token == ":" and depth == level:
                key = previous[1:-1] if previous[:1] == '"' else ""
                if not keys and key not in _CLAIM_FIRST_KEYS:
                    return False
                keys.add(key)
                if _NAME_KEY in keys and not keys.isdisjoint(_ARGS_KEYS):
                    return True
            previous = token
        return False if decided else None

    # -- the two entry points ------------------------------------------------

    def scan(self, s: str, pos: int, out: list[Event]) -> tuple[int, str | None, int]:
        raw = self.ctx.raw
        if self._pending:
            self._settle()
        if self._streaming is not None:
            self._streaming.sent = raw.length  # what `quick` streamed
        base = raw.length - pos  # raw offset of s[0]
        n = len(s)
        raw.append(s[pos:] if pos else s)  # trimmed back below if some must be held
        if self._in_string and not self._escape and s.find('"', pos) < 0 and s.find("\\", pos) < 0:
            # The common case inside a long string value: the whole piece is string content.
            stop = end = n
            literal: str | None = None
            if self._capturing:
                self._capture.append(s[pos:])
        else:
            stop, literal, end = self._scan(s, pos, base, out)
            if stop < n:
                raw.truncate(base + stop)
        obj = self._obj
        if obj is not None and obj.index >= 0 and obj.args_start >= 0 and obj.kind <= _Args.STRING:
            upto = obj.args_end if obj.args_end >= 0 else base + stop
            sent = obj.sent
            if upto > sent:
                if sent >= base + pos and obj.kind == _Args.OBJECT:  # the common case: all of it in this piece
                    out.append(ToolCallDelta(index=obj.index, arguments=s[sent - base : upto - base]))
                    obj.sent = upto
                else:
                    self._send_args(obj, upto, out)
        if stop > pos:
            self.content = True
        self._plain = self._in_string and not self._capturing and literal is None
        self._streaming = None
        if self._plain and obj is not None and obj.index >= 0 and obj.kind <= _Args.STRING and obj.args_end < 0:
            self._streaming = obj if obj.args_start >= 0 else None
        streaming = self._streaming
        self._as_written = index = streaming.index if streaming is not None and streaming.decoder is None else -1
        self._lane = string_lane(self._pending, index) if index >= 0 else None
        return stop, literal, end

    def quick(self, piece: str) -> list[Event] | None:  # type: ignore[override]
        """A piece wholly inside a string value: kept, and streamed when it is in the arguments."""
        if not self._plain:
            return None
        if self._escape or '"' in piece:
            quote, escape = string_end(piece, 0, self._escape)
            if quote >= 0:
                return None  # the string ends here: scan it
            self._escape = escape
        elif piece[-1] == "\\":  # no quote (source code's \n): only an odd run of backslashes at the end matters
            self._escape = (len(piece) - len(piece.rstrip("\\"))) % 2 == 1
        pending = self._pending
        pending.append(piece)
        if len(pending) >= KEEP:
            self._settle()
        index = self._as_written  # the streamed object's `sent` catches up at the next scan
        if index >= 0:
            return [ToolCallDelta(index, piece)]
        obj = self._streaming
        if obj is None or obj.decoder is None:
            return []
        piece = obj.decoder.feed(piece)  # arguments written as a JSON string: streamed decoded (up to a bad escape)
        return [ToolCallDelta(obj.index, piece)] if piece else []

    def lane(self) -> Lane | None:  # type: ignore[override]
        """Inside a string of arguments streamed as written (not while a backslash is pending)."""
        return None if self._escape else self._lane

    def _settle(self) -> None:
        settle(self._pending, self.ctx.raw)

    def close(self, held: str, out: list[Event]) -> str:
        if self._pending:
            self._settle()
        return super().close(held, out)

    def take(self, text: str, out: list[Event]) -> None:
        """A literal that is not one here: outside JSON, it is text that does not belong."""
        super().take(text, out)
        self._flush(out)
        self._junk = self._junk or "unexpected text in a tool call block"

    def _finish(self, out: list[Event], kind: InvalidKind) -> None:
        """The block is over: report what was not a valid call."""
        calls = self.ctx.calls
        if self._junk is not None:  # one report from the first thing that went wrong to the block's end
            reason, self._failed = self._failed or self._junk, None
            calls.fail(reason, out)
        elif self._in_string or self._depth:
            self._flush(out)
            if self._obj is not None:
                calls.current()
            calls.fail("tool call block ended inside JSON", out, kind)
        else:
            self._flush(out)
            if not self._values:
                calls.fail("tool call block holds no call", out, kind)

    # -- scanning ------------------------------------------------------------

    def _scan(self, s: str, i: int, base: int, out: list[Event]) -> tuple[int, str | None, int]:
        n = len(s)
        mode = self.mode
        search = mode.search
        match = mode.match
        deep, level, array = patterns(mode)
        while i < n:
            if self._in_string:
                i = self._string(s, i, base, out)
                continue
            if self._junk is not None:
                m = search(s, i)
                if m is None:
                    return n, None, n
                if m.lastgroup == "lit":
                    return m.start(), m.group(), m.end()
                return m.start(), None, n
            depth = self._depth
            if depth == 0:
                stop, literal, end = self.between(s, i, bool(self._values) and self._self_end, "{[")
                if end >= 0:
                    if literal == "":
                        self._flush(out, base + stop)
                    return stop, literal, end
                i = stop
                c = s[i]
                if c == "{" or c == "[":
                    self._flush(out, base + i)
                    self._values += 1
                    self._elements = 0
                    self._array = c == "["
                    self._depth = 1
                    if c == "{":
                        self._obj = _Object(base + i, 1)
                        self.ctx.calls.current()
                    i += 1
                else:
                    self._junk = "unexpected text in a tool call block"
                continue
            if depth == 1 and self._array and self._obj is None:
                # Between an array's elements: only whitespace, commas and call objects belong here.
                m = array(s, i)
                if m is None:
                    return n, None, n
                group = m.lastgroup
                if group == "lit":
                    return m.start(), m.group(), m.end()
                if group == "part":
                    return m.start(), None, n
                i = m.end()
                c = s[i - 1]
                if c == "{":
                    self._flush(out, base + i - 1)
                    self._depth = 2
                    self._elements += 1
                    self._obj = _Object(base + i - 1, 2)
                    self.ctx.calls.current()
                elif c == "]":
                    self._depth = 0
                    self._end_top(base + i, s, base, out)
                else:  # anything else where an element should be: the block is not calls
                    self._junk = "tool call array holds something that is not an object"
                continue
            obj = self._obj
            # `here`: the call object whose own level we are at (keys, `:`, `,`), if any.
            here = obj if obj is not None and depth == obj.depth else None
            if here is not None and here.expect == _Expect.VALUE:
                i = self._value(s, i, base, here)
                if i < 0:
                    return -1 - i, None, n
                continue
            m = (deep if here is None else level)(s, i)
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
                self._capturing = here is not None and here.expect == _Expect.KEY
            elif c == "{" or c == "[":
                self._depth = depth + 1
            elif here is not None and c == ":":
                if here.expect == _Expect.COLON:
                    here.expect = _Expect.VALUE
            elif here is not None and c == ",":
                if here.expect == _Expect.IN_VALUE:
                    self._end_value(here, base + i - 1)
                here.expect = _Expect.KEY
            elif c == "}" or c == "]":
                self._depth = depth - 1
                if here is not None:
                    if here.expect == _Expect.IN_VALUE:
                        self._end_value(here, base + i - 1)
                    self._end_call(here, base + i, s, base, out)
                elif obj is not None and depth - 1 == obj.depth and obj.expect == _Expect.IN_VALUE:
                    self._end_value(obj, base + i)
        return n, None, n

    def _value(self, s: str, i: int, base: int, obj: _Object) -> int:
        """The start of a value at a call object's own level."""
        n = len(s)
        i = first_non_space(s, i)
        if i == n:
            return n
        m = self.mode.match(s, i)
        if m is not None:
            if m.lastgroup == "part":
                return -1 - i  # the start of a literal: hold it until it is decided
            # A literal where a value should begin (a format's literals may start with `[` or `{`):
            # the level scan takes it, never as a bracket.
            obj.expect = _Expect.IN_VALUE
            return i
        c = s[i]
        if obj.key == "args":
            obj.args_start = obj.sent = base + i
            if c == "{":
                obj.kind = _Args.OBJECT
            elif c == '"':
                obj.kind = _Args.STRING
                obj.args_start = obj.sent = base + i + 1
                obj.decoder = StringDecoder()
            else:
                obj.kind = _Args.OTHER  # or `null`: told when the value ends, wherever a piece ended
        if c == '"':
            obj.expect = _Expect.IN_STRING
            self._in_string = True
            self._capturing = obj.key in ("name", "id")
            return i + 1
        obj.expect = _Expect.IN_VALUE
        if c == "{" or c == "[":
            self._depth += 1
            return i + 1
        return i  # a scalar: it ends at the next `,` or `}`

    def _string(self, s: str, i: int, base: int, out: list[Event]) -> int:
        """Go on inside a JSON string; returns where scanning goes on."""
        q, self._escape = string_end(s, i, self._escape)
        if q < 0:
            if self._capturing:
                self._capture.append(s[i:])
            return len(s)
        self._in_string = False
        obj = self._obj
        if obj is not None and self._depth == obj.depth:
            text = ""
            if self._capturing:
                self._capture.append(s[i:q])
                text = "".join(self._capture)
                self._capture.clear()
                self._capturing = False
            self._string_done(obj, text, base + q, out)
        return q + 1

    # -- what the structure means ----------------------------------------------

    def _string_done(self, obj: _Object, text: str, quote: int, out: list[Event]) -> None:
        """A string at a call object's own level closed; its closing quote is at ``quote``."""
        if obj.expect == _Expect.KEY:
            key = _json_string(text)
            if key == _NAME_KEY:
                obj.key = "name"
            elif key == _ID_KEY:
                obj.key = "id"
            elif key in _ARGS_KEYS and obj.args_key is None:
                obj.key = "args"
                obj.args_key = key
            else:
                obj.args_again = obj.args_again or key == obj.args_key
                obj.key = None
            obj.expect = _Expect.COLON
        elif obj.expect == _Expect.IN_STRING:
            if obj.key == "name" and obj.name is None:
                name = _json_string(text)
                if name:
                    self._start(obj, name, out)
            elif obj.key == "id" and obj.ident is None and obj.index < 0:
                obj.ident = _json_string(text)
                if obj.ident:
                    self.ctx.calls.id(obj.ident)
            elif obj.key == "args":
                obj.args_end = quote if obj.kind == _Args.STRING else quote + 1
            obj.expect = _Expect.NEXT

    def _end_value(self, obj: _Object, end: int) -> None:
        if obj.key == "args":
            obj.args_end = end
            if obj.kind == _Args.OTHER and self.ctx.raw.slice(obj.args_start, end).rstrip(_WS) == "null":
                obj.kind = _Args.EMPTY
        obj.expect = _Expect.NEXT

    def _start(self, obj: _Object, name: str, out: list[Event]) -> None:
        calls = self.ctx.calls
        obj.name = name
        calls.name(name)
        obj.index = calls.start(out)
        if obj.args_start >= 0:
            obj.sent = obj.args_start  # arguments came first: send them from the start

    def _send_args(self, obj: _Object, upto: int, out: list[Event]) -> None:
        text = self.ctx.raw.slice(obj.sent, upto)
        obj.sent = upto
        if obj.kind == _Args.STRING:
            assert obj.decoder is not None
            text = obj.decoder.feed(text, final=upto == obj.args_end)  # nothing past a bad escape
        elif obj.kind == _Args.OTHER:
            text = text.rstrip(_WS)
        if text:
            out.append(ToolCallDelta(index=obj.index, arguments=text))

    def _end_call(self, obj: _Object, end: int, s: str, base: int, out: list[Event]) -> None:
        """A call object closed at offset ``end``: emit its end, now (a failure when its text is whole)."""
        self._obj = None
        try:
            decoded = loads(self.ctx.raw.slice(obj.start, end))
            if obj.args_again and isinstance(decoded, dict) and obj.args_key:
                # A repeated key: decoding kept the last value, but the first is the one streamed.
                first = self.ctx.raw.slice(obj.args_start, obj.args_end)
                decoded[obj.args_key] = loads(f'"{first}"' if obj.kind == _Args.STRING else first)
            result = _check_call(decoded, obj.args_key)
        except (ValueError, RecursionError) as exc:
            result = f"tool call is not valid JSON: {exc}"
        if not isinstance(result, str) and obj.index < 0:
            self._start(obj, result[0], out)
        if obj.index >= 0:
            if obj.args_start >= 0 and obj.kind != _Args.EMPTY and obj.args_end > obj.sent:
                self._send_args(obj, obj.args_end, out)
            if not isinstance(result, str) and (obj.kind in (_Args.NONE, _Args.EMPTY) or not result[1] and obj.kind == _Args.STRING):
                out.append(ToolCallDelta(index=obj.index, arguments="{}"))
        if isinstance(result, str):
            self._failed = result
        else:
            self.ctx.calls.end(out, result[1], end)
        if self._depth == 0:
            self._end_top(end, s, base, out)

    def _end_top(self, end: int, s: str, base: int, out: list[Event]) -> None:
        """A top-level value closed; an array must hold call objects (anything else made it junk)."""
        if self._array:
            self._array = False
            if not self._elements:
                self._failed = self._failed or "tool call array is empty"

    def _flush(self, out: list[Event], upto: int = -1) -> None:
        """Report a call object that failed, now that its text is complete (up to ``upto``)."""
        if self._failed is not None:
            reason, self._failed = self._failed, None
            self.ctx.calls.fail(reason, out, upto=upto)


def patterns(mode: Mode) -> tuple[Any, Any, Any]:
    """Searches for the next thing that matters inside JSON, literals included: below a call object's
    level (`deep`: whole strings skipped in one match), at it (`level`: also `,` and `:`), and between
    an array's elements (`array`: any character but whitespace and `,`)."""
    found = mode.cache.get("json")
    if found is None:
        head = mode.head
        deep = re.compile(head + r'|(?P<str>"[^"\\]*(?:\\.[^"\\]*)*")|["{}\[\]]', re.S).search
        level = re.compile(head + r'|["{}\[\],:]').search
        array = re.compile(head + r"|[^\s,]").search
        found = mode.cache["json"] = (deep, level, array)
    return found
