"""Arguments as a literal object with bare keys: ``{city:<|"|>Paris<|"|>,days:3,tags:[<|"|>a<|"|>]}`` (Gemma 4).

Keys are bare words or delimited strings; strings sit between two copies of
the format's option ``STRING_DELIMITER`` and hold any text, the delimiter
excepted (no escapes); other values are bare numbers, ``true``, ``false``,
``null``, and nested objects and arrays.  Each top-level argument is added
to the call's arguments JSON once it is complete (a number is never sent as
a prefix of itself); the object's last brace ends the call.  A literal of the
format counts only outside strings.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from ..events import Event, InvalidKind
from .base import BlockReader, Context, first_non_space

if TYPE_CHECKING:
    from ..formats import Mode

_BARE = re.compile(r"[^\s,:{}\[\]]+")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?\Z")
_WORDS = {"true": True, "false": False, "null": None}


def _patterns(mode: Mode, quote: str) -> re.Pattern[str]:
    """The next thing that matters outside a string: a literal (or its start), a delimiter (or its start), a bracket."""
    found = mode.cache.get("literal_args")
    if found is None:
        parts = "|".join(re.escape(quote[:k]) for k in range(len(quote) - 1, 0, -1))
        found = mode.cache["literal_args"] = re.compile(
            f"{mode.head}|(?P<quote>{re.escape(quote)})|(?P<cut>(?:{parts})\\Z)|[{{}}\\[\\],]"
        )
    return found


class LiteralArgsReader(BlockReader):
    """One literal object of arguments; ends by itself at its last brace when other content may follow."""

    __slots__ = ("_quote", "_depth", "_in_string", "_member", "_done", "_junk", "_self_end")
    self_ending = True

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        super().__init__(mode, ctx, opening)
        quote = ctx.options.get("STRING_DELIMITER")
        self._quote = quote if isinstance(quote, str) and quote else '"'
        self._depth = 1 if opening.endswith("{") else 0  # a literal may end with the object's brace (`name{`)
        self._in_string = False
        self._member: list[str] = []  # the text of the top-level argument being read
        self._done = False  # the object closed
        self._junk = False
        self._self_end = mode.self_end() is not None

    def quick(self, piece: str) -> list[Event] | None:  # type: ignore[override]
        """A piece wholly inside a string, with no start of a delimiter: kept."""
        if not self._in_string or self._quote[0] in piece:
            return None
        self._member.append(piece)
        self.ctx.raw.append(piece)
        self.content = True
        return []

    def scan(self, s: str, pos: int, out: list[Event]) -> tuple[int, str | None, int]:
        n = len(s)
        i = pos
        raw = self.ctx.raw
        quote = self._quote
        find = _patterns(self.mode, quote).search
        while i < n:
            if self._in_string:
                k = s.find(quote, i)
                if k < 0:
                    keep = _cut(s, quote)
                    self._take(s[i:keep])
                    return keep, None, n
                self._take(s[i : k + len(quote)])
                self._in_string = False
                i = k + len(quote)
                continue
            if self._done or self._depth == 0:
                j = first_non_space(s, i)
                if j == n:
                    if self._done and self._self_end and not self._junk:
                        return i, None, n  # whose whitespace this is depends on what follows
                    raw.append(s[i:])
                    return n, None, n
                m = self.mode.match(s, j)
                if m is not None:
                    if m.lastgroup == "part":
                        return (i if self._done and self._self_end and not self._junk else j), None, n
                    raw.append(s[i:j])
                    return j, m.group(), m.end()
                if self._done and self._self_end and not self._junk:
                    return i, "", i  # text after the arguments: the content ended
                if not self._done and s[j] == "{":
                    raw.append(s[i : j + 1])
                    self.content = True
                    self._depth = 1
                    i = j + 1
                    continue
                self._junk = True
                m = self.mode.search(s, j)
                stop = m.start() if m is not None else n
                raw.append(s[i:stop])
                self.content = True
                if m is None:
                    return n, None, n
                return (stop, m.group(), m.end()) if m.lastgroup == "lit" else (stop, None, n)
            m = find(s, i)
            if m is None:
                self._take(s[i:])
                return n, None, n
            group = m.lastgroup
            if group == "lit" or group == "part" or group == "cut":
                self._take(s[i : m.start()])
                return m.start(), (m.group() if group == "lit" else None), (m.end() if group == "lit" else n)
            self._take(s[i : m.start()])
            i = m.end()
            token = m.group()
            if group == "quote":
                self._take(token)
                self._in_string = True
            elif token in "{[":
                self._take(token)
                self._depth += 1
            elif token == ",":
                if self._depth == 1:
                    raw.append(token)
                    self._argument(out)
                else:
                    self._take(token)
            else:  # } or ]
                self._depth -= 1
                if self._depth > 0:
                    self._take(token)
                    continue
                raw.append(token)
                if token != "}":
                    self.ctx.calls.taint("the arguments object ends with ]")
                if "".join(self._member).strip():
                    self._argument(out)
                self._member.clear()
                self._done = True
                if self.mode.closes_call:
                    self.ctx.calls.end(out)
        return n, None, n

    def _take(self, text: str) -> None:
        if text:
            self.content = True
            self.ctx.raw.append(text)
            self._member.append(text)

    def _argument(self, out: list[Event]) -> None:
        """A top-level argument is complete: add it to the call's arguments."""
        text = "".join(self._member)
        self._member.clear()
        calls = self.ctx.calls
        try:
            key, value = _argument(text, self._quote)
        except ValueError as exc:
            calls.taint(f"argument {text.strip()[:80]!r} is not a literal value: {exc}")
            return
        calls.member(key, value, out)

    def close(self, held: str, out: list[Event]) -> str:
        if self._in_string:  # the start of a delimiter, cut off inside a string: the call's text
            self.ctx.raw.append(held)
            held = ""
        return super().close(held, out)

    def _finish(self, out: list[Event], kind: InvalidKind) -> None:
        calls = self.ctx.calls
        if self._done:
            if self._junk:
                if self.mode.closes_call:
                    calls.fail("unexpected text after a tool call", out)
                else:
                    calls.taint("unexpected text after a tool call's arguments")
            return
        if self._junk:
            calls.taint("tool call arguments are not an object")
        else:
            calls.taint("tool call arguments ended inside the object", kind)
        if self.mode.closes_call:
            calls.end(out)


def _cut(s: str, quote: str) -> int:
    """Where a delimiter may start at the end of ``s`` (held back until it is whole): ``len(s)`` if nowhere."""
    for k in range(min(len(quote) - 1, len(s)), 0, -1):
        if quote.startswith(s[-k:]):
            return len(s) - k
    return len(s)


def _argument(text: str, quote: str) -> tuple[str, Any]:
    """``key:value`` as written, read whole."""
    key, i = _key(text, first_non_space(text, 0), quote)
    value, i = _value(text, i, quote)
    if first_non_space(text, i) != len(text):
        raise ValueError("text after the value")
    return key, value


def _key(text: str, i: int, quote: str) -> tuple[str, int]:
    if text.startswith(quote, i):
        end = text.find(quote, i + len(quote))
        if end < 0:
            raise ValueError("a key's string is not closed")
        key, i = text[i + len(quote) : end], end + len(quote)
    else:
        m = _BARE.match(text, i)
        if m is None:
            raise ValueError("no key")
        key, i = m.group(), m.end()
    i = first_non_space(text, i)
    if not text.startswith(":", i):
        raise ValueError("no ':' after the key")
    return key, i + 1


def _value(text: str, i: int, quote: str) -> tuple[Any, int]:
    i = first_non_space(text, i)
    if text.startswith(quote, i):
        end = text.find(quote, i + len(quote))
        if end < 0:
            raise ValueError("a string is not closed")
        return text[i + len(quote) : end], end + len(quote)
    if text.startswith("{", i):
        obj: dict[str, Any] = {}
        i = first_non_space(text, i + 1)
        while not text.startswith("}", i):
            key, i = _key(text, i, quote)
            obj[key], i = _value(text, i, quote)
            i = _next(text, i, "}")
        return obj, i + 1
    if text.startswith("[", i):
        items: list[Any] = []
        i = first_non_space(text, i + 1)
        while not text.startswith("]", i):
            item, i = _value(text, i, quote)
            items.append(item)
            i = _next(text, i, "]")
        return items, i + 1
    m = _BARE.match(text, i)
    if m is None:
        raise ValueError("no value")
    word = m.group()
    if word in _WORDS:
        return _WORDS[word], m.end()
    number = _NUMBER.match(word)
    if number is None:
        raise ValueError(f"{word!r} is no number, string, true, false or null")
    if number.group(1) is None and number.group(2) is None:
        return int(word), m.end()
    value = float(word)
    if not math.isfinite(value):
        raise ValueError(f"{word!r} is no finite number")
    return value, m.end()


def _next(text: str, i: int, close: str) -> int:
    """After a member or item: past its ``,``, or at the ``close`` that ends the list."""
    i = first_non_space(text, i)
    if text.startswith(",", i):
        return first_non_space(text, i + 1)
    if text.startswith(close, i):
        return i
    raise ValueError(f"expected ',' or {close!r}")
