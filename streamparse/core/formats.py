"""Model formats: each is a Lark grammar in ``grammars/<name>.lark``.

The grammar is the single source of a format's literals (its string
terminals) and of its structure (its rules).  Declared terminals
(``%declare``) name what lies between literals; the name picks the reader
that reads it (:data:`streamparse.core.readers.READERS`).  Terminals that no
rule uses are *options* handed to the readers (e.g. the pattern that reads a
call's name out of its id).  A rule named ``call`` spans one tool call; a
rule named ``malformed`` marks a way through a call read only to resync (the
call is reported invalid).

A :class:`Format` turns the grammar's LALR table into a graph the parser
walks: a :class:`Node` is a place between two pieces of input, a
:class:`Mode` is a node reading one content kind, and a :class:`Transition`
is what a literal does there.  The graph is built once per format, checked
in full when the format loads (every reachable state, so a bad grammar fails
with the rule and literal at fault, not on the first input that gets there)
and shared by every parser and thread.
"""

from __future__ import annotations

import re
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import FormatError
from .events import Event
from .grammar import CALL_RULE, MALFORMED_RULE, Grammar, Stack
from .readers import READERS, Context, Reader
from .readers.base import MAX_HOLD, first_non_space

_MAX_NODES = 5000  # a grammar that nests without bound would grow its stack forever


def _alternation(literals: list[str]) -> str:
    return "|".join(re.escape(lit) for lit in sorted(literals, key=len, reverse=True))


class Node:
    """A place in the grammar between two pieces of input (after a literal, or at the start)."""

    __slots__ = (
        "format", "stack", "contents", "direct", "anything", "end_ok", "piece", "expects_id", "_modes", "_longest", "_after",
    )

    def __init__(self, fmt: Format, stack: Stack) -> None:
        self.format = fmt
        self.stack = stack
        grammar = fmt.grammar
        choices = grammar.choices(stack)
        contents = [t for t in choices if t in grammar.contents]
        # Kinds that accept any text go last: the others claim text by its first characters.
        contents.sort(key=lambda t: (READERS[t].any_text if t in READERS else False, t))
        self.contents = tuple(contents)
        self.direct = {grammar.literals[t]: t for t in choices if t in grammar.literals}
        self.anything = any(READERS[t].any_text for t in contents if t in READERS)
        self.expects_id = any(READERS[t].gives_id for t in contents if t in READERS)  # a call waits for its id
        self.end_ok = grammar.accepts_end(stack)
        # The piece (a name, a key) read here, when it is the only content.
        self.piece = contents[0] if len(contents) == 1 and READERS[contents[0]].piece else None
        self._modes: dict[str, Mode] = {}
        self._longest = sorted(self.direct, key=len, reverse=True)
        self._after: dict[str, Node] = {}

    def mode(self, content: str) -> Mode:
        mode = self._modes.get(content)
        if mode is None:
            mode = self._modes[content] = Mode(self, content)
        return mode

    @property
    def single(self) -> Mode | None:
        """The mode when one content kind is possible here (None: the text decides)."""
        return self.mode(self.contents[0]) if len(self.contents) == 1 else None

    def opens(self, s: str, i: int, at_end: bool, *, strict: bool = False) -> bool | None:
        """Can ``s[i:]`` continue from here: a literal or a content kind's first characters?

        None: not decided yet (more text needed).  At the end of the stream,
        what is undecided counts as a continuation cut off by the end.
        """
        if self.anything:
            return True
        if self.piece is not None:
            return self.piece_follows(s, i, at_end, None)
        j = first_non_space(s, i)
        n = len(s)
        at_end = at_end or j - i > MAX_HOLD  # held no longer: decided as if the stream ended there
        if j == n:
            return True if at_end else None
        rest = s[j:]
        for literal in self.direct:
            if rest.startswith(literal):
                return True
            if literal.startswith(rest):
                return True if at_end else None
        undecided = False
        for content in self.contents:
            reader = READERS[content]
            verdict = reader.claims(s, i, at_end) if strict else reader.opens(s, i, at_end)
            if verdict:
                return True
            undecided = undecided or verdict is None
        return None if undecided else False

    def piece_follows(self, s: str, i: int, at_end: bool, ctx: Context | None) -> bool | None:
        """Is ``s[i:]`` a well-formed piece up to the literal that ends it, and can what follows that
        literal continue from there (None: not decided yet)?"""
        assert self.piece is not None
        mode = self.mode(self.piece)
        m = mode.search(s, i)
        if m is None or m.lastgroup == "part":
            if not mode.reader.accepts(s[i : len(s) if m is None else m.start()], ctx, False):
                return False
            return True if at_end else None
        if not mode.reader.accepts(s[i : m.start()], ctx, True):
            return False
        # `<function=name> to call.` in prose: the name is fine, but no call follows it.
        transition = mode.transition(m.group(), True)
        return transition is not None and transition is not DROP and transition.target.opens(s, m.end(), at_end)

    def structure_follows(self, s: str, i: int, at_end: bool, ctx: Context) -> bool | None:
        """Does structure continue at ``s[i:]``: a well-formed piece, or (after whitespace) a literal,
        and the piece that literal opens if it opens one, or the end of the stream?

        This confirms a literal that would end data (a raw value), which may hold any literal.
        """
        if self.piece is not None:
            return self.piece_follows(s, i, at_end, ctx)
        j = first_non_space(s, i)
        at_end = at_end or j - i > MAX_HOLD  # held no longer: decided as if the stream ended there
        if j == len(s):
            return True if at_end else None
        for literal in self._longest:
            if s.startswith(literal, j):
                target = self.after(literal)
                return True if target.piece is None else target.piece_follows(s, j + len(literal), at_end, ctx)
        rest = s[j:]
        if any(literal.startswith(rest) for literal in self._longest):
            return True if at_end else None
        return False

    def after(self, literal: str) -> Node:
        """The node a literal of this node leads to."""
        node = self._after.get(literal)
        if node is None:
            transition = self.mode(self.contents[-1]).transition(literal, False)
            assert transition is not None and transition is not DROP  # a literal of this node is acceptable here
            node = self._after[literal] = transition.target
        return node

    def choose(self, s: str, i: int, at_end: bool, strict: bool) -> Mode | None:
        """The mode for the text at ``s[i:]`` where several content kinds are possible (None: undecided)."""
        rest = s[i:]
        if not rest and not at_end:
            return None
        at_end = at_end or first_non_space(s, i) - i > MAX_HOLD  # held no longer: decided as if at the end
        for literal in self.direct:
            if rest.startswith(literal) or (literal.startswith(rest) and not at_end):
                # A literal comes first: any mode finds it, with no content before it.
                return self.mode(self.contents[-1])
        spaces = next((c for c in self.contents if READERS[c].spaces), None)
        if spaces is not None:
            j = first_non_space(s, i)
            if j > i or j == len(s):
                after = s[j:]
                if not after:
                    return self.mode(spaces) if at_end else None
                for literal in self.direct:
                    if after.startswith(literal):
                        return self.mode(spaces)  # whitespace between a block's literals
                    if literal.startswith(after) and not at_end:
                        return None
        undecided = False
        for content in self.contents:
            reader = READERS[content]
            if reader.any_text:
                return None if undecided else self.mode(content)
            verdict = reader.claims(s, i, at_end) if strict else reader.opens(s, i, at_end)
            if verdict:
                return self.mode(content)
            undecided = undecided or verdict is None
        if undecided:
            return None
        return self.mode(self.contents[-1])


class Transition:
    """What shifting one literal (or ending one content by itself) does."""

    __slots__ = ("target", "ends_call", "malformed", "opener", "confirm", "strict")

    def __init__(
        self, target: Node, ends_call: bool, opener: bool, confirm: Node | None, strict: bool = False, malformed: bool = False
    ) -> None:
        self.target = target
        self.ends_call = ends_call  # a `call` rule is complete
        self.malformed = malformed  # a `malformed` rule is complete: the call is invalid
        self.opener = opener  # the literal opens an item (it belongs to what follows, not to what it ends)
        self.confirm = confirm  # the literal counts only if what follows can continue from this node
        self.strict = strict  # ... and, as it ends data, only if structure follows (Node.structure_follows)


DROP = Transition.__new__(Transition)
"""The transition of a literal dropped as markup (a reasoning block's close after a call ended it)."""


class Mode:
    """A node reading one content kind: its reader, the literals that end it, and its transitions."""

    __slots__ = (
        "node", "terminal", "reader", "literals", "head", "search", "match", "first", "firsts", "plain", "after", "end_ok", "structure",
        "closes_call", "drops", "cache", "_transitions", "_self_end", "_dropping",
    )

    def __init__(self, node: Node, terminal: str, drops: frozenset[str] = frozenset()) -> None:
        fmt = node.format
        grammar = fmt.grammar
        self.node = node
        self.terminal = terminal
        self.reader: type[Reader] = READERS[terminal]
        stepped = grammar.step(node.stack, terminal)
        self.after: Stack | None = stepped[0] if stepped else None
        self.end_ok = self.after is not None and grammar.accepts_end(self.after)  # the input may end after this content
        # The content's own end completes its call (a JSON object's last brace), unless a literal of the
        # call must still follow it (e.g. Kimi's <|tool_call_end|>): then that literal ends the call.
        self.closes_call = stepped is not None and (CALL_RULE in stepped[1] or not grammar.inside(stepped[0], CALL_RULE))
        literals = dict(node.direct)
        if self.after is not None:
            literals.update((grammar.literals[t], t) for t in grammar.choices(self.after) if t in grammar.literals)
        self.drops = drops
        literals.update((lit, "") for lit in drops)
        self.literals = literals
        if literals:
            keys = list(literals)
            prefixes = {lit[:k] for lit in keys for k in range(1, len(lit))}
            # A partial literal at the end is held back, also when it is a whole shorter literal.
            part = f"(?P<part>(?:{_alternation(list(prefixes))})\\Z)|" if prefixes else ""
            firsts = {lit[0] for lit in keys}
            self.firsts = "".join(sorted(firsts))  # a piece with none of these holds no literal
            self.first: str | None = self.firsts if len(firsts) == 1 else None
            # The lookahead on the first characters lets the regex engine skip text fast (several times
            # faster on text holding none of them; the match is the same).
            self.head = f"(?=[{re.escape(self.firsts)}])(?:{part}(?P<lit>{_alternation(keys)}))"
        else:
            self.head = "(?P<lit>(?!))"
            self.firsts = ""
            self.first = None
        compiled = re.compile(self.head)
        self.search = compiled.search
        self.match = compiled.match
        self.cache: dict[str, Any] = {}  # what readers derive from this mode (e.g. compiled patterns)
        event = self.reader.event
        # Plain content streams with no reader call while a piece holds no literal's first character.
        self.plain: type[Event] | None = event if self.first is not None else None
        self.structure = event is None
        self._transitions: dict[tuple[str, bool], Transition] = {}
        self._self_end: Transition | None = None
        self._dropping: dict[frozenset[str], Mode] = {}

    def transition(self, literal: str, content: bool) -> Transition | None:
        """The transition of ``literal`` after this mode's content (``content``: there was some).

        None: the literal may only come with no content before it (e.g. the
        optional closing tag of a block that ended by itself): after content,
        it is content too.
        """
        key = (literal, content)
        found = self._transitions.get(key)
        if found is None:
            terminal = self.literals[literal]
            if terminal == "":
                return DROP
            fed = content or literal not in self.node.direct
            found = self.node.format.transition(self.after if fed else self.node.stack, terminal, literal, self.terminal)
            if found is None:
                return None
            self._transitions[key] = found
        return found

    def self_end(self) -> Transition | None:
        """The transition when the content ends by itself (a JSON value closed), if content may follow it."""
        if self._self_end is None and self.after is not None:
            target = self.node.format.node(self.after)
            if set(target.contents) - {self.terminal}:  # more of the same content is just more of it
                self._self_end = Transition(target, False, False, None)
        return self._self_end

    def dropping(self, literals: frozenset[str]) -> Mode:
        """This mode, also dropping ``literals`` as markup."""
        mode = self._dropping.get(literals)
        if mode is None:
            mode = self._dropping[literals] = Mode(self.node, self.terminal, literals)
        return mode

    @property
    def closers(self) -> frozenset[str]:
        """Literals here that end the current block rather than open a new item."""
        return frozenset(lit for lit in self.literals if lit not in self.node.format.openers)


class Format:
    """A model format built from its grammar, shared by all parsers of that format."""

    def __init__(self, name: str, grammar: str) -> None:
        self.name = name
        self.grammar = Grammar(name, grammar)
        unknown = sorted(self.grammar.contents - READERS.keys())
        if unknown:
            raise FormatError(
                f"format {name!r}: unknown content terminal(s) {unknown}; known: {', '.join(sorted(READERS))}"
            )
        self.options = self.grammar.options
        special = self.options.get("SPECIAL_TOKENS", "no")
        self.special_tokens: str = special if isinstance(special, str) else "no"
        """Parsing the raw text needs ``"skip_special_tokens": false``: ``required``, ``advised`` or ``no``."""
        server = self.options.get("SERVER_PARSER")
        self.server_parser: str | None = server if isinstance(server, str) else None
        """vLLM's ``--tool-call-parser`` for the same format."""
        self._nodes: dict[Stack, Node] = {}
        self._lock = threading.RLock()
        self.openers: frozenset[str] = frozenset()
        self.initial = self.node(self.grammar.start)
        self.openers = frozenset(self.initial.direct)
        self._check()

    def node(self, stack: Stack) -> Node:
        node = self._nodes.get(stack)
        if node is None:
            with self._lock:
                node = self._nodes.get(stack)
                if node is None:
                    if len(self._nodes) >= _MAX_NODES:
                        raise FormatError(
                            f"format {self.name!r}: the grammar nests without bound at {self.grammar.where(stack)}"
                        )
                    node = self._nodes[stack] = Node(self, stack)
        return node

    def transition(self, stack: Stack | None, terminal: str, literal: str, content: str) -> Transition | None:
        """Shift ``terminal`` at ``stack``, after ``content`` (None: not acceptable there)."""
        if stack is None:
            return None
        grammar = self.grammar
        stepped = grammar.step(stack, terminal)
        if stepped is None:
            return None
        after, reduced = stepped
        target = self.node(after)
        reader = READERS[content]
        strict = reader.data
        confirm = target if strict else None if target.anything or not reader.confirms else target
        # A literal that can open an item opens one here only if it begins a rule (harmony's
        # <|channel|> also comes inside a header begun by <|start|>, whose text it continues).
        opener = literal in self.openers and grammar.begins(after)
        return Transition(target, CALL_RULE in reduced, opener, confirm, strict, MALFORMED_RULE in reduced)

    def reasoning_opener(self) -> str:
        """The literal that opens a reasoning block at the start."""
        for literal, terminal in sorted(self.initial.direct.items()):
            stepped = self.grammar.step(self.initial.stack, terminal)
            if stepped is not None and any(READERS[c].reasoning for c in self.node(stepped[0]).contents):
                return literal
        raise FormatError(f"format {self.name!r} has no reasoning block")

    def _check(self) -> None:
        """Walk every reachable node and mode once, so a bad grammar fails now, naming where."""
        seen: set[Stack] = set()
        todo = [self.initial]
        while todo:
            node = todo.pop()
            if node.stack in seen:
                continue
            seen.add(node.stack)
            where = self.grammar.where(node.stack)
            if not node.contents:
                came = ", ".join(sorted(node.direct)) or "nothing"
                raise FormatError(
                    f"format {self.name!r}: no content terminal is possible at {where} (only literals: {came});"
                    " declare what may come between literals (e.g. SEP for whitespace)"
                )
            anything = [c for c in node.contents if READERS[c].any_text]
            if len(anything) > 1:
                raise FormatError(
                    f"format {self.name!r}: at {where} both {anything[0]} and {anything[1]} could read the same"
                    " text; only one content kind that takes any text may be possible at a place"
                )
            for content in node.contents:
                mode = node.mode(content)
                if mode.after is None:
                    continue
                for literal in mode.literals:
                    for content_seen in (True, False):
                        if not content_seen and literal not in node.direct:
                            continue
                        transition = mode.transition(literal, content_seen)
                        if transition is not None and transition is not DROP:
                            todo.append(transition.target)
                end = mode.self_end()
                if end is not None:
                    if not READERS[content].self_ending:
                        raise FormatError(
                            f"format {self.name!r}: {content} content at {where} may be followed by more"
                            f" content with no literal between ({', '.join(end.target.contents)}), but a"
                            f" {content} reader cannot tell where it ends"
                        )
                    todo.append(end.target)


_FORMATS: dict[str, Format] = {}
_FILES: dict[tuple[str, int], Format] = {}  # by resolved path and modification time
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


_MODEL_PATTERNS: list[tuple[str, re.Pattern[str]]] = []


def format_for_model(model: str) -> str:
    """The format for a model id (``format="auto"``): the grammar whose ``MODELS`` pattern matches the
    longest part of it, a format's own name in the id (``my-org/qwen3_coder-ft``) counting as a match
    that wins ties (``granite-4.0`` is Granite 4's ``granite-4``, not the ``granite`` format)."""
    with _FORMATS_LOCK:
        if not _MODEL_PATTERNS:
            for name in available_formats():
                pattern = _read_grammar(name).options.get("MODELS")
                if pattern is not None and not isinstance(pattern, str):
                    _MODEL_PATTERNS.append((name, pattern))
    lowered = model.lower()
    named = [
        (len(name), 1, name)
        for name in available_formats()
        if re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", lowered)
    ]
    matched = [(len(m.group()), 0, name) for name, pattern in _MODEL_PATTERNS for m in pattern.finditer(model)]
    best = max(named + matched, default=None)
    if best is None:
        raise FormatError(f"format='auto': no format is known for model {model!r}; pass one of: {', '.join(available_formats())}")
    return best[2]


def _read_grammar(name: str) -> Grammar:
    for folder in _grammar_dirs():
        path = folder / f"{name}.lark"
        if path.is_file():
            return Grammar(name, path.read_text(encoding="utf-8"))
    raise FormatError(f"unknown format {name!r}; available: {', '.join(available_formats())}")


def load_format(name_or_path: str | Path) -> Format:
    """The format named ``name_or_path``, or the one a ``.lark`` file holds (each built once; a file
    is built again only when it changes)."""
    if isinstance(name_or_path, Path) or str(name_or_path).endswith(".lark"):
        path = Path(name_or_path)
        try:
            key = (str(path.resolve()), path.stat().st_mtime_ns)
            fmt = _FILES.get(key)
            if fmt is None:
                fmt = _FILES[key] = Format(path.stem, path.read_text(encoding="utf-8"))
            return fmt
        except OSError as exc:
            raise FormatError(f"cannot read grammar {path}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise FormatError(f"grammar {path} is not UTF-8 text: {exc}") from exc
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

