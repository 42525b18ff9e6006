"""The call assembler: a call's pieces (name, id, arguments) in, the same events out for every format.

Readers hand it what they read: a name, an id, argument JSON fragments (JSON
formats), or keys and raw values (XML formats, whose arguments JSON it
builds as values close).  It numbers the calls, announces each once its name
is complete, and ends it with its decoded arguments, or reports it invalid
with the raw text the model wrote for it.  Every format gets one contract:
a call's ``ToolCallDelta`` fragments join to JSON text that decodes to
exactly its ``ToolCallEnd.arguments``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .events import Event, InvalidKind, InvalidToolCall, SchemaProblem, ToolCallDelta, ToolCallEnd, ToolCallStart
from .jsontext import RawText, dumps, escape
from .raw_values import Policy, property_schema, streams_as_text, type_value
from .schema import ToolSchemas, call_problem


class Call:
    """One call being read."""

    __slots__ = ("index", "id", "name", "error", "kind", "members", "arguments", "opened", "streaming", "key", "started")

    def __init__(self) -> None:
        self.index = -1
        self.id: str | None = None
        self.name: str | None = None
        self.error: str | None = None  # the call is invalid (reported at its end)
        self.kind: InvalidKind = "malformed"
        self.members: dict[str, Any] = {}  # arguments built from keys and values
        self.arguments: dict[str, Any] | None = None  # arguments a reader decoded before the call's end
        self.opened = False  # the arguments' `{` was sent
        self.streaming = False  # the current value streams as string text
        self.key: str | None = None
        self.started = False


class Assembler:
    """Builds the calls of one stream; ``allocate`` numbers them, ``make_id`` names them."""

    __slots__ = ("_allocate", "_make_id", "_tools", "_check", "raw", "call")

    def __init__(
        self,
        allocate: Callable[[], int],
        make_id: Callable[[int], str],
        tools: ToolSchemas | None,
        raw: RawText,
        *,
        check: bool = True,
    ) -> None:
        self._allocate = allocate
        self._make_id = make_id
        self._tools = tools  # the request's tools (None: none were given, so any tool goes)
        self._check = check  # finished calls are checked against the tools (else they only type values)
        self.raw = raw  # the text of the current block; `mark` is where the open call's text starts
        self.call: Call | None = None

    def current(self) -> Call:
        call = self.call
        if call is None:
            call = self.call = Call()
        return call

    # -- pieces ----------------------------------------------------------------

    def name(self, name: str, error: str | None = None) -> None:
        call = self.current()
        if error is not None:
            self.taint(error)
        elif call.name is None:
            call.name = name
        elif name != call.name:  # a format that writes the name twice (a header and the call)
            self.taint(f"tool call is named both {call.name!r} and {name!r}")

    def id(self, ident: str) -> None:
        call = self.current()
        if call.id is None and ident:
            call.id = ident

    def taint(self, error: str, kind: InvalidKind = "malformed") -> None:
        """The current call is invalid; it is reported at its end."""
        call = self.current()
        if call.error is None:
            call.error, call.kind = error, kind

    @property
    def waiting(self) -> bool:
        """A named call has not been announced yet."""
        call = self.call
        return call is not None and not call.started and call.name is not None and call.error is None

    def start(self, out: list[Event]) -> int:
        """Announce the current call (once); its index."""
        call = self.current()
        if not call.started and call.name is not None and call.error is None:
            call.started = True
            call.index = self._allocate()
            if call.id is None:
                call.id = self._make_id(call.index)
            out.append(ToolCallStart(index=call.index, id=call.id, name=call.name))
        return call.index

    def fragment(self, text: str, out: list[Event]) -> None:
        """A fragment of the call's arguments JSON, as written."""
        if text:
            index = self.start(out)
            if index >= 0:
                out.append(ToolCallDelta(index=index, arguments=text))

    def key(self, key: str) -> None:
        call = self.current()
        call.key = key
        call.streaming = False

    def fresh_key(self, key: str) -> bool:
        """Can the current call still take argument ``key``? Not one it has (or is reading); with the
        tool's schema known, only one of its parameters."""
        call = self.call
        if call is None:
            return True
        if key == call.key or key in call.members:
            return False
        if self._tools is None or call.name is None:
            return True
        parameters = self._tools.parameters(call.name)
        known = parameters.get("properties") if parameters is not None else None
        return not isinstance(known, Mapping) or key in known

    def _schema(self, call: Call) -> Mapping[str, Any] | None:
        if self._tools is None or call.name is None or call.key is None:
            return None
        return property_schema(self._tools.parameters(call.name), call.key)

    def streams(self, policy: Policy) -> bool:
        """Does the current value stream as text as it arrives?"""
        call = self.current()
        return call.key is not None and streams_as_text(self._schema(call), policy)

    def _member(self, call: Call) -> str:
        return self._member_head(call, call.key)

    @staticmethod
    def _member_head(call: Call, key: str | None) -> str:
        head = ", " if call.opened else "{"
        call.opened = True
        return f"{head}{dumps(key)}: "

    def value_piece(self, text: str, out: list[Event]) -> None:
        """Text of a string value that streams (see :meth:`streams`)."""
        call = self.current()
        if not call.streaming:
            call.streaming = True
            self.fragment(self._member(call) + '"' + escape(text), out)
        elif text:
            self.fragment(escape(text), out)

    def value(self, raw: str, policy: Policy, out: list[Event]) -> None:
        """A complete raw value for the current key."""
        call = self.current()
        key = call.key
        if key is None:
            self.taint("a value without a key")
            return
        if call.streaming:
            self.value_piece("", out)
            call.members[key] = raw
            self.fragment('"', out)
        else:
            value = type_value(raw, self._schema(call), policy)
            call.members[key] = value
            self.fragment(self._member(call) + dumps(value), out)
        call.key = None
        call.streaming = False

    def decoded(self, arguments: dict[str, Any]) -> None:
        """The call's arguments, complete and already streamed; the call ends later (at its closing literal)."""
        self.current().arguments = arguments

    def member(self, key: str, value: Any, out: list[Event]) -> None:
        """A complete argument whose value the format wrote typed (e.g. a Python literal)."""
        call = self.current()
        call.members[key] = value
        self.fragment(self._member_head(call, key) + dumps(value), out)

    # -- ends --------------------------------------------------------------------

    def end(self, out: list[Event], arguments: dict[str, Any] | None = None, upto: int = -1) -> None:
        """The current call is complete (``arguments``: decoded by the reader, else built from members).

        ``upto``: where its text ends in the block's raw text (default: all of it so far).
        """
        call = self.call
        if call is None:
            return
        if call.error is None and call.name is None:
            call.error = "tool call has no name"
        if call.error is not None:
            self.fail(call.error, out, call.kind, upto=upto)
            return
        if arguments is None:
            arguments = call.arguments
        if arguments is None:
            arguments = call.members
            self.fragment("}" if call.opened else "{}", out)
        index = self.start(out)
        name = call.name
        assert name is not None and call.id is not None
        problem = call_problem(self._tools, name, arguments) if self._check else None
        if problem is not None:
            error, kind, problems = problem
            self.fail(error, out, kind, arguments, upto, problems)
            return
        self.call = None
        self.raw.mark = self.raw.length if upto < 0 else upto
        out.append(ToolCallEnd(index=index, id=call.id, name=name, arguments=arguments))

    def fail(
        self,
        error: str,
        out: list[Event],
        kind: InvalidKind = "malformed",
        arguments: dict[str, Any] | None = None,
        upto: int = -1,
        problems: tuple[SchemaProblem, ...] = (),
    ) -> None:
        """The current call (or, with none open, the text since the last call) is not a valid call."""
        call = self.call
        self.call = None
        if call is not None and call.started:
            index = call.index
        else:
            index = self._allocate()
        raw = self.raw
        upto = raw.length if upto < 0 else upto
        text = raw.slice(raw.mark, upto)
        raw.mark = upto
        name = call.name if call is not None else None
        out.append(
            InvalidToolCall(
                index=index, raw=text, error=error, kind=kind, name=name, arguments=arguments, problems=problems
            )
        )

    def close(self, out: list[Event]) -> None:
        """The stream ended: a call still open was cut off."""
        if self.call is not None:
            call = self.call
            if call.error is None:
                call.error, call.kind = "tool call cut off by the end of the stream", "truncated"
            self.end(out)
