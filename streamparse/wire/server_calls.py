"""Tool calls a server parsed itself (``delta.tool_calls``), turned into the parser's events.

Entries are accumulated by ``index`` (never by id or position).  A call
starts when its name is known, streams its argument fragments, and ends the
moment its arguments JSON closes, not at the next index or at the finish.
Tolerated server quirks: id and name repeated or sent as explicit nulls,
name and arguments in one entry, an empty trailing fragment, the whole
arguments re-sent after the fragments, and one index reused for every call
(Ollama's ``/v1``, older SGLang, Gemini through proxies): an entry with
another name, or with another non-empty id once the call has ended, starts
a new call.
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


class ToolCallAccumulator:
    """Sans-IO: ``feed`` the ``delta.tool_calls`` entries of each chunk, ``close`` at the end."""

    __slots__ = ("_calls", "_make_id", "_allocate", "_tools")

    def __init__(
        self,
        *,
        id_factory: Callable[[int], str] | None = None,
        indexes: Iterator[int] | None = None,
        tools: ToolSchemas | None = None,
    ) -> None:
        """Events number the calls from ``indexes`` (default 0, 1, ...) in the order they start.

        ``tools``: the request's tools; a call to another tool, or whose arguments do not fit its
        schema, is reported invalid, as for calls parsed from the text."""
        self._tools = tools
        self._calls: dict[int | None, _Call] = {}  # by the server's index (None: entries without one)
        self._make_id = id_factory or default_id
        self._allocate = (indexes or itertools.count()).__next__

    def feed(self, entries: Iterable[Any]) -> list[Event]:
        """Entries with ``index``, ``id``, ``function.name`` and ``function.arguments`` (any may be None)."""
        out: list[Event] = []
        for entry in entries:
            key = entry.index
            function = entry.function
            call = self._calls.get(key)
            if call is not None and self._another_call(call, entry.id, function.name if function else None):
                self._finish(call, out)
                call = None
            if call is None:
                call = self._calls[key] = _Call(self._allocate())
            index = call.index
            if call.id is None and entry.id:
                call.id = entry.id
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
            self._finish(call, out)
        self._calls.clear()
        return out

    @staticmethod
    def _another_call(call: _Call, id: str | None, name: str | None) -> bool:
        """Does an entry with this id and name, at ``call``'s index, start a new call?

        A different name always does (one call has one name). A different id
        only once the call has ended: some servers send a fresh id on every
        fragment of one call.
        """
        if name and call.name is not None and name != call.name:
            return True
        return call.ended and bool(id) and call.id is not None and id != call.id

    def _finish(self, call: _Call, out: list[Event]) -> None:
        """Report a call whose arguments never completed (no more of it will come)."""
        if call.ended:
            return
        raw = "".join(call.args) or call.pending
        if call.name is None:
            call.ended = True
            out.append(InvalidToolCall(index=call.index, raw=raw, error="tool call has no name"))
        elif not raw.strip(_WS):
            self._end(call, "{}", out)  # a call with no arguments at all
        else:
            self._end(call, raw, out)

    def _arguments(self, call: _Call, fragment: str, out: list[Event]) -> None:
        if call.ended:
            return  # the whole arguments re-sent after they completed: already reported
        if call.length and not call.in_string and call.last not in ":,[" and fragment.lstrip(_WS)[:1] == "{":
            # `{` cannot continue valid JSON here, so this is provably the whole
            # arguments sent again (anywhere a value may start, a nested
            # object that repeats the text so far is a continuation).
            if _is_object(fragment):
                so_far = "".join(call.args)
                if not fragment.startswith(so_far):  # spaced differently: vLLM re-encodes them
                    self._end(call, fragment, out)
                    return
                fragment = fragment[call.length :]  # the rest, after the fragments already sent
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
