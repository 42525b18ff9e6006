"""A format's grammar, read once: its literals, its options and its LALR table.

Lark builds the table; nothing here runs Lark per input.  The machine walks
the table itself (:meth:`Grammar.step`), one structural token at a time, so
a literal costs a dictionary lookup at run time rather than a Lark call.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Collection
from typing import Any

import lark
from lark.grammar import Rule
from lark.lexer import PatternRE, PatternStr
from lark.parsers.lalr_analysis import Shift

from ..errors import FormatError

END = "$END"
CALL_RULE = "call"
"""A rule of this name spans one tool call: the call ends when the rule is complete."""
MALFORMED_RULE = "malformed"
"""A rule of this name marks a way through a call that is not valid syntax, read only to resync
(e.g. a name whose closing ``>`` is missing): the call it is in is reported invalid."""

Stack = tuple[int, ...]


class Grammar:
    """The literals, content terminals, options and parse table of one ``.lark`` file."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        try:
            parser = lark.Lark(text, parser="lalr", lexer="basic")
            # Unused terminals are options (read by readers), which Lark drops: compile them all.
            every, _, _ = copy.deepcopy(parser.grammar).compile(parser.options.start, "*")
        except lark.exceptions.LarkError as exc:
            raise FormatError(f"format {name!r}: bad grammar: {exc}") from exc
        used = {t.name for t in parser.terminals}
        declared = {t for t, (tree, _) in parser.grammar.term_defs if tree is None}
        self.literals: dict[str, str] = {}  # terminal -> literal text
        self.options: dict[str, re.Pattern[str] | str] = {}
        for term in every:
            pattern = term.pattern
            if term.name in used:
                if not isinstance(pattern, PatternStr) or not pattern.value:
                    raise FormatError(
                        f"format {name!r}: terminal {term.name} is used by a rule, so it must be a non-empty"
                        " string literal (content between literals is a %declare'd terminal)"
                    )
                self.literals[term.name] = pattern.value
            elif term.name not in declared:
                if isinstance(pattern, PatternRE):
                    try:
                        self.options[term.name] = re.compile(pattern.value, _re_flags(pattern.flags))
                    except re.error as exc:
                        raise FormatError(f"format {name!r}: option {term.name}: {exc}") from exc
                else:
                    self.options[term.name] = str(pattern.value)
        self.contents = frozenset(declared)
        table = parser.parser.parser.parser.parse_table
        start = parser.options.start[0]
        self.states: dict[int, dict[str, tuple[Any, Any]]] = table.states
        self.start: Stack = (table.start_states[start],)
        self._end_state: int = table.end_states[start]
        self._items = _items(parser.rules, table.states, table.start_states[start], start)
        self._default: dict[int, Rule] = {}  # states that reduce by one rule whatever comes next
        for state, actions in table.states.items():
            terminal_actions = [a for t, a in actions.items() if t.isupper() or t == END]
            rules = {arg for kind, arg in terminal_actions if kind is not Shift}
            if terminal_actions and len(rules) == 1 and all(kind is not Shift for kind, _ in terminal_actions):
                rule = rules.pop()
                if rule.origin.name != start:
                    self._default[state] = rule

    def choices(self, stack: Stack) -> frozenset[str]:
        """Terminals acceptable here (``$END`` included)."""
        return frozenset(t for t in self.states[stack[-1]] if t.isupper() or t == END)

    def step(self, stack: Stack, terminal: str) -> tuple[Stack, list[str]] | None:
        """Shift ``terminal``: the new stack and the rules it completed, or None if not acceptable.

        Reductions that do not depend on what comes next are made at once, so
        a rule ending with this terminal is complete when it is shifted (and
        places that differ only in how they were reached are one place).
        """
        states = self.states
        work = list(stack)
        reduced: list[str] = []
        while True:
            action = states[work[-1]].get(terminal)
            if action is None:
                return None
            kind, arg = action
            if kind is Shift:
                work.append(arg)
                break
            self._reduce(work, arg, reduced)
            if terminal == END and work[-1] == self._end_state:
                return tuple(work), reduced
        while True:
            rule = self._default.get(work[-1])
            if rule is None:
                return tuple(work), reduced
            self._reduce(work, rule, reduced)

    def _reduce(self, work: list[int], rule: Rule, reduced: list[str]) -> None:
        if rule.expansion:
            del work[-len(rule.expansion) :]
        reduced.append(rule.origin.name)
        work.append(self.states[work[-1]][rule.origin.name][1])

    def inside(self, stack: Stack, rule: str) -> bool:
        """Is a ``rule`` being read at ``stack``, with more of it still to come?"""
        return any(r.origin.name == rule and dot < len(r.expansion) for r, dot in self._items.get(stack[-1], ()))

    def begins(self, stack: Stack) -> bool:
        """Did the last symbol shifted begin a rule (the first symbol of one being read at ``stack``)?"""
        return any(dot == 1 for _, dot in self._items.get(stack[-1], ()))

    def accepts_end(self, stack: Stack) -> bool:
        return END in self.states[stack[-1]] and self.step(stack, END) is not None

    def where(self, stack: Stack) -> str:
        """The rules being read at ``stack``, for messages: ``call: <function= NAME . >``."""
        items = sorted(self._items.get(stack[-1], ()), key=str)
        shown = [
            f"{rule.origin.name}: {' '.join(s.name for s in rule.expansion[:dot])} . "
            f"{' '.join(s.name for s in rule.expansion[dot:])}".strip()
            for rule, dot in items
            if dot and not rule.origin.name.startswith("__")
        ]
        return "; ".join(shown) or "the start of the grammar"


def _re_flags(flags: Collection[str]) -> int:
    value = 0
    for flag in flags:
        value |= getattr(re, flag.upper())
    return value


def _items(
    rules: list[Rule], states: dict[int, dict[str, tuple[Any, Any]]], start_state: int, start: str
) -> dict[int, frozenset[tuple[Rule, int]]]:
    """The LR(0) kernel items of every state (for messages that name a rule), by walking the table."""
    by_origin: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        by_origin[rule.origin.name].append(rule)

    def closure(kernel: set[tuple[Rule, int]]) -> set[tuple[Rule, int]]:
        done = set(kernel)
        todo = list(kernel)
        while todo:
            rule, dot = todo.pop()
            if dot < len(rule.expansion):
                for nxt in by_origin.get(rule.expansion[dot].name, ()):
                    if (nxt, 0) not in done:
                        done.add((nxt, 0))
                        todo.append((nxt, 0))
        return done

    kernels: dict[int, frozenset[tuple[Rule, int]]] = {start_state: frozenset((r, 0) for r in by_origin[start])}
    todo = [start_state]
    while todo:
        state = todo.pop()
        items = closure(set(kernels[state]))
        for symbol, (kind, target) in states[state].items():
            if kind is not Shift or target in kernels:
                continue
            kernels[target] = frozenset(
                (rule, dot + 1) for rule, dot in items if dot < len(rule.expansion) and rule.expansion[dot].name == symbol
            )
            todo.append(target)
    return kernels
