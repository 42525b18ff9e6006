"""Tool calls a server parsed itself (``delta.tool_calls``), turned into the parser's events.

Entries are accumulated by ``index`` (never by id or position).  A call
starts when its name is known, streams its argument fragments, and ends the
moment its arguments JSON closes, not at the next index or at the finish.
Tolerated server quirks: id and name repeated or sent as explicit nulls,
name and arguments in one entry, an empty trailing fragment, and the whole
arguments re-sent after the fragments.
"""

from __future__ import annotations

import re
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from ..core.events import Event, InvalidToolCall, ToolCallDelta, ToolCallEnd, ToolCallStart
from ..core.parser import default_id
from ..core.schema import ToolSchemas, call_problem

# A whole string, or one structural character (a string cut by the fragment's end is `"`).
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|["{}\[\]]', re.S)
_IN_STRING = re.compile(r'["\\]')
_WS = " \t\n\r"


class _Call:
    __slots__ = ("index", "id", "name", "args", "length", "last", "pending", "depth", "in_string", "escape", "ended")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id: str | None = None
        self.name: str | None = None
        self.args: list[str] = []  # the fragments so far
        self.length = 0  # their total length
        self.last = ""  # their last character that is not whitespace
        self.pending = ""  # fragments that came before the name
        self.depth = 0
        self.in_string = False
        self.escape = False
        self.ended = False

    def track(self, fragment: str) -> bool:
        """Follow the arguments JSON through one more fragment; True once its outer value closed."""
        i, n = 0, len(fragment)
        while i < n:
            if self.in_string:
                if self.escape:
                    self.escape, i = False, i + 1
                    continue
                m = _IN_STRING.search(fragment, i)
                if m is None:
                    return False
                i = m.end()
                self.in_string = self.escape = m.group() == "\\"
                continue
            m = _TOKEN.search(fragment, i)
            if m is None:
                return False
            c = m.group()
            i = m.end()
            if c == '"':
                self.in_string = True
            elif c in "{[":
                self.depth += 1
            elif c in "}]":
                self.depth -= 1
                if self.depth == 0:
                    return True
        return False


def _is_object(text: str) -> bool:
    try:
        return isinstance(msgspec.json.decode(text), dict)
    except (msgspec.DecodeError, RecursionError):
        return False


def _resent(fragment: str, so_far: str) -> bool:
    """Is ``fragment`` the whole arguments again (what came so far, then the rest)?

    It must also be complete JSON: a nested object can legitimately start
    with the text before it (``{"a": `` then ``{"a": 1}}``).
    """
    return fragment.startswith(so_far) and _is_object(fragment)


class ToolCallAccumulator:
    """Sans-IO: ``feed`` the ``delta.tool_calls`` entries of each chunk, ``close`` at the end."""

    __slots__ = ("_calls", "_make_id", "_allocate", "_unindexed", "_tools")

    def __init__(
        self,
        *,
        id_factory: Callable[[int], str] | None = None,
        indexes: Iterator[int] | None = None,
        tools: ToolSchemas | None = None,
    ) -> None:
        """Events number the calls from ``indexes`` (default 0, 1, ...) in the order the server's indexes appear.

        ``tools``: the request's tools; a call to another tool, or whose arguments do not fit its
        schema, is reported invalid, as for calls parsed from the text."""
        self._tools = tools
        self._calls: dict[int, _Call] = {}  # by the server's index
        self._make_id = id_factory or default_id
        self._allocate = (indexes or itertools.count()).__next__
        self._unindexed = -1  # the key of entries without an index (not vLLM): a new id moves it

    def feed(self, entries: Iterable[Any]) -> list[Event]:
        """Entries with ``index``, ``id``, ``function.name`` and ``function.arguments`` (any may be None)."""
        out: list[Event] = []
        for entry in entries:
            key = entry.index
            if key is None:
                key = self._unindexed
                current = self._calls.get(key)
                if current is not None and entry.id and current.id not in (None, entry.id):
                    key = self._unindexed = key - 1
            call = self._calls.get(key)
            if call is None:
                call = self._calls[key] = _Call(self._allocate())
            index = call.index
            if call.id is None and entry.id:
                call.id = entry.id
            function = entry.function
            if function is None:
                continue
            if call.name is None and function.name:
                call.name = function.name
                if call.id is None:
                    call.id = self._make_id(index)
                out.append(ToolCallStart(index=index, id=call.id, name=call.name))
                if call.pending:
                    self._arguments(call, call.pending, out)
                    call.pending = ""
            arguments = function.arguments
            if arguments:
                if not isinstance(arguments, str):  # an object, from servers that do not encode it
                    arguments = msgspec.json.encode(arguments).decode()
                if call.name is None:
                    call.pending += arguments
                else:
                    self._arguments(call, arguments, out)
        return out

    def close(self) -> list[Event]:
        """End of the response: calls whose arguments never completed are reported now."""
        out: list[Event] = []
        for call in self._calls.values():
            if call.ended:
                continue
            raw = "".join(call.args) or call.pending
            if call.name is None:
                out.append(InvalidToolCall(index=call.index, raw=raw, error="tool call has no name"))
            elif not raw.strip(_WS):
                self._end(call, "{}", out)  # a call with no arguments at all
            else:
                self._end(call, raw, out)
        self._calls.clear()
        return out

    def _arguments(self, call: _Call, fragment: str, out: list[Event]) -> None:
        if call.ended:
            return  # the whole arguments re-sent after they completed: already reported
        if call.length and len(fragment) > call.length and _resent(fragment, "".join(call.args)):
            fragment = fragment[call.length :]  # the whole arguments re-sent before completing
        elif call.length and not call.in_string and call.last not in ":,[" and fragment.lstrip(_WS)[:1] == "{":
            # `{` cannot come here in valid JSON: the whole arguments re-sent,
            # spaced differently from the fragments (vLLM re-encodes them).
            if _is_object(fragment):
                self._end(call, fragment, out)
                return
        call.args.append(fragment)
        call.length += len(fragment)
        stripped = fragment.rstrip(_WS)
        if stripped:
            call.last = stripped[-1]
        out.append(ToolCallDelta(index=call.index, arguments=fragment))
        if call.track(fragment):
            self._end(call, "".join(call.args), out)

    def _end(self, call: _Call, raw: str, out: list[Event]) -> None:
        call.ended = True
        try:
            args = msgspec.json.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            args = None
        assert call.name is not None and call.id is not None
        problem = call_problem(self._tools, call.name, args) if isinstance(args, dict) else None
        if problem is not None:
            error, kind, problems = problem
            out.append(
                InvalidToolCall(
                    index=call.index, raw=raw, error=error, kind=kind, name=call.name, arguments=args, problems=problems
                )
            )
        elif isinstance(args, dict):
            out.append(ToolCallEnd(index=call.index, id=call.id, name=call.name, arguments=args))
        else:
            out.append(InvalidToolCall(index=call.index, raw=raw, error="tool call arguments are not a JSON object"))
