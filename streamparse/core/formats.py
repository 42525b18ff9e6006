"""Model formats: each is a Lark grammar in ``grammars/<name>.lark``.

The grammar is the single source of a format's literals (its string
terminals) and of its block structure (its rules).  Declared terminals name
what lies between the literals; their names say how the machine treats it:

=========  ======================================================
TEXT       visible text, streamed as ``TextDelta``
REASONING  reasoning text, streamed as ``ReasoningDelta``
CALLS      JSON tool calls (an object, an array of objects, or several
           objects), streamed as ``ToolCallStart/Delta/End``
=========  ======================================================

A :class:`Format` is built once per grammar and shared by every parser (and
thread): Lark's parse table is read-only, and the lexer modes derived from it
are cached per parser state.
"""

from __future__ import annotations

import enum
import re
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark.parsers.lalr_interactive_parser import InteractiveParser

from ..errors import FormatError


class Kind(enum.Enum):
    """How the machine treats the content between two literals."""

    TEXT = "TEXT"
    REASONING = "REASONING"
    CALLS = "CALLS"


_END = "$END"


def _prefix_alternation(literals: list[str]) -> str:
    """Every proper prefix of the literals, as a regex alternation."""
    prefixes = {lit[:k] for lit in literals for k in range(1, len(lit))}
    return "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))


def choices_of(parser: InteractiveParser) -> dict[str, Any]:
    """What the parser accepts next: terminal and rule names (Lark leaves this untyped)."""
    choices: dict[str, Any] = parser.choices()  # type: ignore[no-untyped-call]
    return choices


def copy_parser(parser: InteractiveParser) -> InteractiveParser:
    copied: InteractiveParser = parser.copy()  # type: ignore[no-untyped-call]
    return copied


class Mode:
    """What the lexer does in one parser state: the content it reads and the literals that end it.

    ``search`` finds the earliest literal that may come next, or else the
    earliest suffix of the text that could still become one (held back until
    decided).  ``direct`` holds the literals the parser accepts with no
    content before them.
    """

    __slots__ = ("kind", "terminal", "literals", "direct", "closers", "search", "deep", "level")

    def __init__(
        self, kind: Kind, terminal: str, literals: dict[str, str], direct: frozenset[str], closers: frozenset[str]
    ):
        self.kind = kind
        self.terminal = terminal
        self.literals = literals  # literal text -> terminal name
        self.direct = direct
        self.closers = closers  # literals that close this content's block, not open the next item
        lits = sorted(literals, key=len, reverse=True)
        if lits:
            tags = "|".join(re.escape(lit) for lit in lits)
            partial = _prefix_alternation(lits)
            head = f"(?P<lit>{tags})" + (f"|(?P<part>(?:{partial})\\Z)" if partial else "")
        else:
            head = "(?P<lit>(?!))"  # nothing ends this content but the end of the stream
        self.search = re.compile(head)
        # Inside JSON (CALLS): also stop at structure.  `deep` skips whole
        # strings in one match; `level` (a call object's own level) also
        # needs `,` and `:` to track keys and values.
        self.deep = re.compile(head + r'|(?P<str>"[^"\\]*(?:\\.[^"\\]*)*")|["{}\[\]]', re.S)
        self.level = re.compile(head + r'|["{}\[\],:]')


class Format:
    """A model format built from its grammar, shared by all parsers of that format."""

    def __init__(self, name: str, grammar: str) -> None:
        self.name = name
        try:
            self._lark = lark.Lark(grammar, parser="lalr", lexer="basic")
        except lark.exceptions.LarkError as exc:
            raise FormatError(f"format {name!r}: bad grammar: {exc}") from exc
        self._literals: dict[str, str] = {}  # terminal name -> literal text
        for term in self._lark.terminals:
            if not isinstance(term.pattern, lark.lexer.PatternStr):
                raise FormatError(f"format {name!r}: terminal {term.name} must be a string literal")
            self._literals[term.name] = term.pattern.value
        self._modes: dict[tuple[int, ...], Mode] = {}
        self._lock = threading.Lock()
        self._pristine = self._lark.parse_interactive()
        # Literals that may open an item at the start: met where a block could
        # also close, they end the block without belonging to it.
        self._openers = frozenset(t for t in choices_of(self._pristine) if t in self._literals)
        self.initial_mode = self.mode(self._pristine)

    def interactive(self) -> InteractiveParser:
        """A fresh parser positioned at the start of the grammar."""
        return copy_parser(self._pristine)

    def reasoning_opener(self) -> str:
        """The literal (terminal name) that opens a reasoning block at the start."""
        for terminal in sorted(self.initial_mode.direct):
            parser = self.interactive()
            parser.feed_token(lark.Token(terminal, ""))
            if self.mode(parser).kind is Kind.REASONING:
                return terminal
        raise FormatError(f"format {self.name!r} has no reasoning block")

    def mode(self, parser: InteractiveParser) -> Mode:
        """The lexer mode for the parser's current state (computed once per state stack)."""
        key = tuple(parser.parser_state.state_stack)
        mode = self._modes.get(key)
        if mode is None:
            mode = self._build_mode(parser)
            with self._lock:
                self._modes[key] = mode
        return mode

    def _build_mode(self, parser: InteractiveParser) -> Mode:
        choices = choices_of(parser)
        contents = [t for t in choices if t in Kind.__members__]
        unknown = [t for t in choices if t.isupper() and t not in self._literals and t not in Kind.__members__ and t != _END]
        if unknown:
            raise FormatError(f"format {self.name!r}: unknown content terminal(s) {unknown}")
        if len(contents) != 1:
            raise FormatError(
                f"format {self.name!r}: each state must accept exactly one content terminal"
                f" of {list(Kind.__members__)}, got {contents or 'none'}"
            )
        terminal = contents[0]
        after = copy_parser(parser)
        after.feed_token(lark.Token(terminal, ""))
        literals = {self._literals[t]: t for t in choices_of(after) if t in self._literals}
        direct = frozenset(t for t in choices if t in self._literals)
        closers = frozenset(t for t in literals.values() if t not in self._openers)
        return Mode(Kind[terminal], terminal, literals, direct, closers)


_FORMATS: dict[str, Format] = {}
_FORMATS_LOCK = threading.Lock()


def _grammar_dirs() -> list[Path]:
    # A wheel carries the grammars inside the package; an editable install or
    # a source checkout has them in the top-level folder next to the package.
    inside = Path(str(resources.files("streamparse"))) / "grammars"
    beside = Path(__file__).resolve().parents[2] / "grammars"
    return [inside, beside]


def available_formats() -> list[str]:
    """The names of the formats shipped in ``grammars/``."""
    names: set[str] = set()
    for folder in _grammar_dirs():
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.lark"))
    return sorted(names)


def load_format(name_or_path: str | Path) -> Format:
    """The format named ``name_or_path`` (built once), or one built from a ``.lark`` file."""
    if isinstance(name_or_path, Path) or str(name_or_path).endswith(".lark"):
        path = Path(name_or_path)
        try:
            return Format(path.stem, path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FormatError(f"cannot read grammar {path}: {exc}") from exc
    name = str(name_or_path)
    fmt = _FORMATS.get(name)
    if fmt is not None:
        return fmt
    with _FORMATS_LOCK:
        fmt = _FORMATS.get(name)
        if fmt is None:
            for folder in _grammar_dirs():
                path = folder / f"{name}.lark"
                if path.is_file():
                    fmt = Format(name, path.read_text(encoding="utf-8"))
                    break
            else:
                raise FormatError(f"unknown format {name!r}; available: {', '.join(available_formats())}")
            _FORMATS[name] = fmt
    return fmt
