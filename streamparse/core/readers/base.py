"""What every reader shares: the interface, the per-stream context, and plain-text scanning.

A reader reads one content kind (the text between two literals), from just
after the literal that opened it.  ``scan`` reads as far as it can and says
where a literal that may end the content starts (or what to hold back);
``take`` is given text that turned out not to be a literal; ``end`` is called
when the content ended at a literal, ``close`` when the stream ended inside it.
Structure it finds (a name, an id, argument text) goes to the context's
:class:`~streamparse.core.assembler.Assembler`; its own events go to ``out``.
"""

from __future__ import annotations

from collections.abc import Mapping
from re import Pattern
from typing import TYPE_CHECKING, ClassVar

from ..assembler import Assembler
from ..events import Event, InvalidKind
from ..jsontext import RawText

if TYPE_CHECKING:
    from ..formats import Mode

_SPACE = " \t\r\n"
MAX_HOLD = 256
"""Whitespace held back while what follows is undecided; a longer run is decided as if the stream ended
there, so a model looping on blank lines costs linear time, not quadratic."""

Lane = tuple[str, str, list[str], int]
"""A reader's shortest path, taken by the parser without calling the reader: ``(stop, last, keep,
index)``.  A piece that holds no ``stop`` and does not end with ``last`` is argument text of call
``index``, as written: the parser appends it to ``keep`` (the reader's pieces not yet in the block's
text, while fewer than :data:`KEEP` are there) and emits it as a
:class:`~streamparse.core.events.ToolCallDelta`."""
KEEP = 256
"""Pieces a reader keeps apart before it joins them into the block's text (a list of small strings
costs ~60 bytes a piece)."""


def settle(pending: list[str], raw: RawText) -> None:
    """Join the pieces a reader's quick path (or the parser's lane) kept apart into the block's text."""
    raw.append("".join(pending))
    pending.clear()  # the same list: the parser's lane appends to it


class Context:
    """What the readers of one stream share."""

    __slots__ = ("calls", "raw", "options", "header")

    def __init__(self, calls: Assembler, raw: RawText, options: Mapping[str, Pattern[str] | str]) -> None:
        self.calls = calls
        self.raw = raw  # the text of the current block (not kept for text and reasoning)
        self.options = options  # the format's option terminals
        self.header: list[str] = []  # a message header read so far (it decides what its body is)


def holds_none(piece: str, chars: str) -> bool:
    """``piece`` holds none of ``chars`` (a literal's possible first characters)."""
    for c in chars:
        if c in piece:
            return False
    return True


def first_non_space(s: str, i: int) -> int:
    n = len(s)
    while i < n and s[i] in _SPACE:
        i += 1
    return i


class Reader:
    """Reads one content kind; the base reads plain text up to the next literal."""

    __slots__ = ("mode", "ctx", "content")

    any_text: ClassVar[bool] = False
    """Any text can be this content (so what follows a literal never has to be checked)."""
    self_ending: ClassVar[bool] = False
    """The reader knows where its content ends without a literal (a JSON value's last brace)."""
    visible: ClassVar[bool] = False
    """The content is the visible text (where a reasoning block's dropped closer is watched for)."""
    reasoning: ClassVar[bool] = False
    """The content is reasoning (a call opened inside it ends it)."""
    gives_id: ClassVar[bool] = False
    """The content is a call's id: a call named before it is announced once its id is known."""
    confirms: ClassVar[bool] = True
    """The content may hold text that looks like a literal, so a literal after it counts only where
    what follows can continue the grammar (a name or a key cannot: their literals always count)."""
    spaces: ClassVar[bool] = False
    """The content is whitespace between literals (chosen where whitespace is followed by a literal)."""
    piece: ClassVar[bool] = False
    """The content is a short piece ended by a literal (a name, a key): a literal that opens it counts,
    where it must be confirmed, only if the piece after it is well formed (see :meth:`accepts`)."""
    data: ClassVar[bool] = False
    """The content is data that may hold any literal (a raw argument value): a literal ends it only
    where more structure follows at once (another literal, a well-formed piece, or the end), since
    text after a closing tag shows that the tag was data."""
    event: ClassVar[type[Event] | None] = None
    """The event of plain content (text, reasoning): the parser streams it without a reader call."""

    def __init__(self, mode: Mode, ctx: Context, opening: str) -> None:
        self.mode = mode
        self.ctx = ctx
        self.content = False  # some text was read

    @classmethod
    def opens(cls, s: str, i: int, at_end: bool) -> bool | None:
        """Can this content start at ``s[i:]``, right after a literal? None: not decided yet."""
        return True

    @classmethod
    def claims(cls, s: str, i: int, at_end: bool) -> bool | None:
        """Is ``s[i:]`` surely this content, with no literal before it? (stricter than ``opens``)"""
        return cls.opens(s, i, at_end)

    @classmethod
    def accepts(cls, text: str, ctx: Context | None, complete: bool) -> bool:
        """Can ``text`` be this piece (``complete``: all of it; else its start so far)?

        ``ctx`` is given where the current call decides too (e.g. an argument already read).
        """
        return True

    def scan(self, s: str, pos: int, out: list[Event]) -> tuple[int, str | None, int]:
        """Read ``s[pos:]``: ``(stop, literal, end)``.

        ``literal`` is the text of a literal at ``s[stop:end]`` that may end
        this content, ``""`` when the content ended by itself at ``stop``, or
        None when ``s[stop:]`` must be held back until more text comes.
        """
        m = self.mode.search(s, pos)
        if m is None:
            if pos < len(s):
                self.take(s[pos:] if pos else s, out)
            return len(s), None, len(s)
        start = m.start()
        if start > pos:
            self.take(s[pos:start], out)
        if m.lastgroup == "part":
            return start, None, start
        return start, m.group(), m.end()

    quick: ClassVar[None] = None
    """Or a method ``quick(piece) -> events | None`` that handles a piece wholly when it can (the common
    case of a reader, cheaply) and returns None when ``scan`` must."""
    lane: ClassVar[None] = None
    """Or a method ``lane() -> Lane | None``, asked after ``quick`` handled a piece: the path the next
    pieces may take without the reader, until one does not fit it."""

    def between(self, s: str, i: int, may_end: bool, more: str = "") -> tuple[int, str | None, int]:
        """At the top level of a structured content, before ``s[i]``: whitespace, then what decides.

        Returns ``(j, None, -1)`` when ``s[j]``, past the whitespace, is the
        caller's to read (always when it is one of ``more``, the characters
        that continue this content); otherwise a result for :meth:`scan`: a
        literal, the whitespace held while what follows is undecided, or
        (``may_end``: a value ended and other content may follow it with no
        literal between) the content ended by itself before the whitespace,
        which goes with the text that follows.
        """
        n = len(s)
        j = first_non_space(s, i)
        hold = may_end and j - i <= MAX_HOLD
        if j == n:
            return (i, None, n) if hold else (n, None, n)
        m = self.mode.match(s, j)
        if m is not None:
            if m.lastgroup == "part":
                return (i if hold else j), None, n
            return j, m.group(), m.end()
        if may_end and s[j] not in more:
            return i, "", i
        return j, None, -1

    def take(self, text: str, out: list[Event]) -> None:
        """Content text (also a literal that turned out to be content)."""
        self.content = True
        self.ctx.raw.append(text)

    def end(self, out: list[Event]) -> None:
        """The content ended at a literal."""

    def close(self, held: str, out: list[Event]) -> str:
        """The stream ended inside this content; ``held`` is text held back at the end.

        Whitespace, or a cut-off literal that would have closed this block, is
        its markup; the start of one that would have opened the next item is
        returned, to be shown as text.
        """
        if held:
            if not self.mode.structure:
                self.take(held, out)
                held = ""
            elif held.isspace() or any(lit.startswith(held) for lit in self.mode.closers):
                self.ctx.raw.append(held)
                held = ""
        self.cut_off(out)
        return held

    def cut_off(self, out: list[Event]) -> None:
        """The stream ended inside this content (after :meth:`close` took what was held back)."""
        self.end(out)


class BlockReader(Reader):
    """A structured reader that reports how its content ended once: malformed at a
    literal, truncated at the stream's end."""

    def end(self, out: list[Event]) -> None:
        self._finish(out, "malformed")

    def cut_off(self, out: list[Event]) -> None:
        self._finish(out, "truncated")

    def _finish(self, out: list[Event], kind: InvalidKind) -> None:
        raise NotImplementedError
