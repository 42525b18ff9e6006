"""JSON text, a piece at a time: decoding, string escapes in both directions, and the text kept so far."""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from typing import Any, NoReturn

import msgspec

_decode = msgspec.json.decode
_encode = msgspec.json.encode
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX = frozenset("0123456789abcdefABCDEF")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_needs_escape = re.compile(r'["\\\x00-\x1f\x7f\u2028\u2029\ud800-\udfff]').search


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def loads(text: str) -> Any:
    """Decode JSON text; raises ``ValueError`` (or ``RecursionError``) when it is not valid.

    msgspec reads UTF-8, so text holding a lone surrogate (a Python ``str``
    can; UTF-8 cannot) goes to the standard library instead, which takes it
    (NaN and Infinity stay refused).
    """
    try:
        return _decode(text)
    except UnicodeEncodeError:
        return json.loads(text, parse_constant=_no_constant)
    except msgspec.DecodeError:
        if not _SURROGATE_ESCAPE.search(text):
            raise
        # msgspec refuses an escaped lone surrogate (`"\ud800"`); a raw one is taken, so this is too.
        return json.loads(text, parse_constant=_no_constant)


def dumps(value: Any) -> str:
    """Compact JSON text of ``value`` (lone surrogates and huge integers included)."""
    try:
        return _encode(value).decode()
    except (UnicodeEncodeError, OverflowError, TypeError):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def escape(text: str) -> str:
    """``text`` as the inside of a JSON string."""
    if _needs_escape(text) is None:
        return text  # nothing to escape: the common case
    return dumps(text)[1:-1]


class StringDecoder:
    """Decodes a JSON string's raw contents piece by piece.

    Never returns half an escape or half a surrogate pair: a trailing partial
    escape, and a high surrogate whose low half may still come, wait for the
    next piece.  At an invalid escape it gives the text before it and nothing
    from then on, so what it gives does not depend on where the pieces were cut
    (the string is invalid: whoever decodes it whole reports that).
    """

    __slots__ = ("_held", "_failed")

    def __init__(self) -> None:
        self._held = ""
        self._failed = False

    def feed(self, raw: str, final: bool = False) -> str:
        """The decoded text of ``raw`` that is complete (all of it when ``final``)."""
        if self._failed:
            return ""
        s = self._held + raw if self._held else raw
        if "\\" not in s:
            self._held = ""
            return s
        out: list[str] = []
        try:
            self._decode(s, final, out)
        except ValueError:
            self._failed = True
            self._held = ""
        return "".join(out)

    def _decode(self, s: str, final: bool, out: list[str]) -> None:
        pos = 0
        n = len(s)
        while True:
            b = s.find("\\", pos)
            if b < 0:
                out.append(s[pos:])
                self._held = ""
                return
            out.append(s[pos:b])
            if b + 1 == n:
                return self._hold(s, b, final)
            c = s[b + 1]
            if c != "u":
                if c not in _ESCAPES:
                    raise ValueError(f"invalid escape \\{c}")
                out.append(_ESCAPES[c])
                pos = b + 2
                continue
            if b + 6 > n:
                return self._hold(s, b, final)
            code = _hex(s[b + 2 : b + 6])
            pos = b + 6
            if 0xD800 <= code < 0xDC00:  # a high surrogate: its low half may follow
                tail = s[pos : pos + 6]
                if len(tail) < 6 and not final and "\\u".startswith(tail[:2]) and set(tail[2:]) <= _HEX:
                    return self._hold(s, b, final)
                if len(tail) == 6 and tail[:2] == "\\u" and set(tail[2:]) <= _HEX:
                    low = int(tail[2:], 16)
                    if 0xDC00 <= low < 0xE000:
                        out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                        pos += 6
                        continue
            out.append(chr(code))

    def _hold(self, s: str, at: int, final: bool) -> None:
        if final:
            raise ValueError("JSON string ends inside an escape")
        self._held = s[at:]


def _hex(digits: str) -> int:
    if len(digits) != 4 or not set(digits) <= _HEX:
        raise ValueError(f"invalid \\u escape {digits!r}")
    return int(digits, 16)


class RawText:
    """Text kept so far, in pieces; a slice joins only the pieces it spans.

    ``mark`` is an offset callers move past what they have accounted for
    (e.g. a finished call), so ``since_mark`` is what is still open.
    """

    __slots__ = ("_pieces", "_starts", "_small", "length", "mark")

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._starts: list[int] = []
        self._small: list[str] = []  # recent small pieces, merged in batches
        self.length = 0
        self.mark = 0

    def reset(self) -> None:
        self._pieces.clear()
        self._starts.clear()
        self._small.clear()
        self.length = self.mark = 0

    def append(self, piece: str) -> None:
        if piece:
            self._small.append(piece)
            self.length += len(piece)
            if len(self._small) >= 256:
                self._merge()

    def truncate(self, length: int) -> None:
        """Drop the text after ``length`` (text a reader took but must hold back after all)."""
        excess = self.length - length
        while excess > 0:
            if self._small:
                last = self._small.pop()
            else:
                last = self._pieces.pop()
                self._starts.pop()
            self.length -= len(last)
            if len(last) > excess:
                self.append(last[: len(last) - excess])
                break
            excess -= len(last)
        self.mark = min(self.mark, self.length)

    def _merge(self) -> None:
        merged = "".join(self._small)
        self._small.clear()
        self._starts.append(self.length - len(merged))
        self._pieces.append(merged)

    def slice(self, start: int, end: int) -> str:
        if start >= end:
            return ""
        if self._small:
            self._merge()
        k = bisect_right(self._starts, start) - 1
        j = bisect_left(self._starts, end, lo=k)
        offset = self._starts[k]
        return "".join(self._pieces[k:j])[start - offset : end - offset]

    def since_mark(self) -> str:
        return self.slice(self.mark, self.length)
