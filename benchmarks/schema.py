"""Schema benchmark: which JSON Schema validator checks a finished tool call, by speed and by correctness.

    python benchmarks/schema.py               # table on stdout + section in RESULTS.md
    python benchmarks/schema.py --no-write    # stdout only

The fixture set (``tests/schema_cases.json``) holds six typical tool schemas
(required keys, types with integer vs number, enums, nested objects and
arrays, anyOf/oneOf, additionalProperties, $ref/$defs, and draft 2020-12's
prefixItems and dependentRequired) and valid and invalid arguments with their
expected verdicts, draft 2020-12.  Each candidate compiles every schema once,
then checks every case: its verdict is compared with the expected one, and a
check (is it valid, and if not, its errors) is timed per call.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE.parent), str(_HERE)):  # the helpers here; the working tree's streamparse
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _results import environment  # noqa: E402
from _timing import measure_interleaved  # noqa: E402
from parser import log, options, publish  # noqa: E402

CASES = _HERE.parent / "tests" / "schema_cases.json"
Check = Callable[[str, dict[str, Any]], list[Any]]  # tool name, arguments -> errors ([] when valid)


# ---------------------------------------------------------------- a small validator of our own


class Unsupported(Exception):
    """A keyword outside the subset this validator implements."""


_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "format", "$schema", "$id", "$comment", "deprecated",
     "readOnly", "writeOnly", "$defs", "definitions", "strict"}
)
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}
Rule = Callable[[Any, tuple[Any, ...], list[tuple[tuple[Any, ...], str]]], None]


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return bool(a == b)


class Subset:
    """Compiles the subset of draft 2020-12 tool schemas use into closures; anything else is refused."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Rule] = {}
        self.rule = self.compile(root)

    def compile(self, schema: Any) -> Rule:
        if schema is True or schema == {}:
            return lambda v, p, out: None
        if schema is False:
            return lambda v, p, out: out.append((p, "false"))
        rules: list[Rule] = []
        for key, arg in schema.items():
            make = getattr(self, "k_" + key.lstrip("$"), None)
            if make is None:
                if key in _ANNOTATIONS:
                    continue
                raise Unsupported(key)
            rules.append(make(arg, schema))
        if len(rules) == 1:
            return rules[0]

        def all_rules(v: Any, p: tuple[Any, ...], out: list[tuple[tuple[Any, ...], str]]) -> None:
            for rule in rules:
                rule(v, p, out)

        return all_rules

    # one method per keyword: the rule it compiles to
    def k_type(self, arg: Any, _: Any) -> Rule:
        tests = [_TYPES[t] for t in ([arg] if isinstance(arg, str) else arg)]
        return lambda v, p, out: None if any(t(v) for t in tests) else out.append((p, "type"))

    def k_enum(self, arg: Any, _: Any) -> Rule:
        return lambda v, p, out: None if any(_equal(v, x) for x in arg) else out.append((p, "enum"))

    def k_const(self, arg: Any, _: Any) -> Rule:
        return lambda v, p, out: None if _equal(v, arg) else out.append((p, "const"))

    def k_required(self, arg: Any, _: Any) -> Rule:
        def rule(v: Any, p: tuple[Any, ...], out: list[tuple[tuple[Any, ...], str]]) -> None:
            if isinstance(v, dict):
                out += [((*p, k), "required") for k in arg if k not in v]

        return rule

    def k_dependentRequired(self, arg: Any, _: Any) -> Rule:
        def rule(v: Any, p: tuple[Any, ...], out: list[tuple[tuple[Any, ...], str]]) -> None:
            if isinstance(v, dict):
                out += [((*p, k), "dependentRequired") for key, ks in arg.items() if key in v for k in ks if k not in v]

        return rule

    def k_properties(self, arg: Any, _: Any) -> Rule:
        rules = {k: self.compile(s) for k, s in arg.items()}

        def rule(v: Any, p: tuple[Any, ...], out: list[tuple[tuple[Any, ...], str]]) -> None:
            if isinstance(v, dict):
                for k, r in rules.items():
                    if k in v:
                        r(v[k], (*p, k), out)

        return rule

    def k_additionalProperties(self, arg: Any, schema: Any) -> Rule:
        if "patternProperties" in schema:
            raise Unsupported("patternProperties")
        known = set(schema.get("properties", ()))
        sub = self.compile(arg)

        def rule(v: Any, p: tuple[Any, ...], out: list[tuple[tuple[Any, ...], str]]) -> None:
            if isinstance(v, dict):
                for k in v:
                    if k not in known:
                        if arg is False:
                            out.append(((*p, k), "additionalProperties"))
                        else:
                            sub(v[k], (*p, k), out)

        return rule

    def k_items(self, arg: Any, schema: Any) -> Rule:
        start = len(schema.get("prefixItems", ()))
        sub = self.compile(arg)

        def rule(v: Any, p: tuple[Any, ...], out: list[tuple[tuple[Any, ...], str]]) -> None:
            if isinstance(v, list):
                for i in range(start, len(v)):
                    sub(v[i], (*p, i), out)

        return rule

    def k_prefixItems(self, arg: Any, _: Any) -> Rule:
        subs = [self.compile(s) for s in arg]

        def rule(v: Any, p: tuple[Any, ...], out: list[tuple[tuple[Any, ...], str]]) -> None:
            if isinstance(v, list):
                for i, (item, sub) in enumerate(zip(v, subs)):
                    sub(item, (*p, i), out)

        return rule

    def _limit(self, kind: type, size: Callable[[Any], float], ok: Callable[[float, Any], bool], name: str, arg: Any) -> Rule:
        return lambda v, p, out: None if not isinstance(v, kind) or isinstance(v, bool) or ok(size(v), arg) else out.append((p, name))

    def k_minLength(self, arg: Any, _: Any) -> Rule:
        return self._limit(str, len, lambda n, a: n >= a, "minLength", arg)

    def k_maxLength(self, arg: Any, _: Any) -> Rule:
        return self._limit(str, len, lambda n, a: n <= a, "maxLength", arg)

    def k_minItems(self, arg: Any, _: Any) -> Rule:
        return self._limit(list, len, lambda n, a: n >= a, "minItems", arg)

    def k_maxItems(self, arg: Any, _: Any) -> Rule:
        return self._limit(list, len, lambda n, a: n <= a, "maxItems", arg)

    def k_minimum(self, arg: Any, _: Any) -> Rule:
        return self._limit((int, float), float, lambda n, a: n >= a, "minimum", arg)  # type: ignore[arg-type]

    def k_maximum(self, arg: Any, _: Any) -> Rule:
        return self._limit((int, float), float, lambda n, a: n <= a, "maximum", arg)  # type: ignore[arg-type]

    def k_exclusiveMinimum(self, arg: Any, _: Any) -> Rule:
        return self._limit((int, float), float, lambda n, a: n > a, "exclusiveMinimum", arg)  # type: ignore[arg-type]

    def k_exclusiveMaximum(self, arg: Any, _: Any) -> Rule:
        return self._limit((int, float), float, lambda n, a: n < a, "exclusiveMaximum", arg)  # type: ignore[arg-type]

    def k_multipleOf(self, arg: Any, _: Any) -> Rule:
        def ok(n: float, a: Any) -> bool:
            q = n / a
            return math.isfinite(q) and abs(q - round(q)) < 1e-9

        return self._limit((int, float), float, ok, "multipleOf", arg)  # type: ignore[arg-type]

    def k_uniqueItems(self, arg: Any, _: Any) -> Rule:
        def rule(v: Any, p: tuple[Any, ...], out: list[tuple[tuple[Any, ...], str]]) -> None:
            if arg and isinstance(v, list) and any(_equal(a, b) for i, a in enumerate(v) for b in v[i + 1 :]):
                out.append((p, "uniqueItems"))

        return rule

    def k_pattern(self, arg: Any, _: Any) -> Rule:
        search = re.compile(arg).search
        return lambda v, p, out: None if not isinstance(v, str) or search(v) else out.append((p, "pattern"))

    def _branches(self, arg: Any, name: str, passes: Callable[[int, int], bool]) -> Rule:
        subs = [self.compile(s) for s in arg]

        def rule(v: Any, p: tuple[Any, ...], out: list[tuple[tuple[Any, ...], str]]) -> None:
            good = 0
            for sub in subs:
                errs: list[tuple[tuple[Any, ...], str]] = []
                sub(v, p, errs)
                good += not errs
            if not passes(good, len(subs)):
                out.append((p, name))

        return rule

    def k_anyOf(self, arg: Any, _: Any) -> Rule:
        return self._branches(arg, "anyOf", lambda good, n: good > 0)

    def k_oneOf(self, arg: Any, _: Any) -> Rule:
        return self._branches(arg, "oneOf", lambda good, n: good == 1)

    def k_allOf(self, arg: Any, _: Any) -> Rule:
        return self._branches(arg, "allOf", lambda good, n: good == n)

    def k_not(self, arg: Any, _: Any) -> Rule:
        return self._branches([arg], "not", lambda good, n: good == 0)

    def k_ref(self, arg: Any, _: Any) -> Rule:
        if not arg.startswith("#"):
            raise Unsupported("$ref " + arg)
        if arg not in self.refs:
            target: Any = self.root
            for part in arg[1:].split("/")[1:]:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            self.refs[arg] = lambda v, p, out: None  # a recursive $ref: filled in below
            compiled = self.compile(target)
            self.refs[arg] = compiled
        refs = self.refs
        return lambda v, p, out: refs[arg](v, p, out)


# ---------------------------------------------------------------- candidates


@dataclass
class Candidate:
    key: str
    label: str
    drafts: str
    build: Callable[[dict[str, dict[str, Any]]], Check] | None
    missing: str = ""
    compile_ms: float = 0.0
    valid_us: float = 0.0
    invalid_us: float = 0.0
    right: int = 0
    wrong: list[str] = field(default_factory=list)


def build_jsonschema(schemas: dict[str, dict[str, Any]]) -> Check:
    from jsonschema import Draft202012Validator

    validators = {name: Draft202012Validator(s) for name, s in schemas.items()}

    def check(name: str, args: dict[str, Any]) -> list[Any]:
        v = validators[name]
        return [] if v.is_valid(args) else list(v.iter_errors(args))

    return check


def build_jsonschema_rs(schemas: dict[str, dict[str, Any]]) -> Check:
    import jsonschema_rs

    validators = {name: jsonschema_rs.Draft202012Validator(s) for name, s in schemas.items()}

    def check(name: str, args: dict[str, Any]) -> list[Any]:
        v = validators[name]
        return [] if v.is_valid(args) else list(v.iter_errors(args))

    return check


def build_fastjsonschema(schemas: dict[str, dict[str, Any]]) -> Check:
    import fastjsonschema

    validators = {name: fastjsonschema.compile(s, use_formats=False) for name, s in schemas.items()}
    error = fastjsonschema.JsonSchemaValueException

    def check(name: str, args: dict[str, Any]) -> list[Any]:
        try:
            validators[name](args)
        except error as exc:
            return [exc]
        return []

    return check


def build_subset(schemas: dict[str, dict[str, Any]]) -> Check:
    rules = {name: Subset(s).rule for name, s in schemas.items()}

    def check(name: str, args: dict[str, Any]) -> list[Any]:
        out: list[tuple[tuple[Any, ...], str]] = []
        rules[name](args, (), out)
        return out

    return check


def build_streamparse(schemas: dict[str, dict[str, Any]]) -> Check:
    from streamparse.core.schema import ToolSchemas

    tools = ToolSchemas([{"type": "function", "function": {"name": n, "parameters": s}} for n, s in schemas.items()])
    return tools.check


def candidates() -> list[Candidate]:
    out = [
        Candidate("jsonschema", "jsonschema (python-jsonschema)", "3, 4, 6, 7, 2019-09, 2020-12", build_jsonschema),
        Candidate("jsonschema-rs", "jsonschema-rs", "4, 6, 7, 2019-09, 2020-12", build_jsonschema_rs),
        Candidate("fastjsonschema", "fastjsonschema (`use_formats=False`)", "4, 6, 7", build_fastjsonschema),
        Candidate("subset", "own subset validator (closures; this script)", "2020-12 subset", build_subset),
        Candidate("streamparse", "streamparse `ToolSchemas.check` (messages included)", "2020-12", build_streamparse),
    ]
    for c in out:
        try:
            c.build({})  # imports the package
        except ImportError as exc:
            c.missing, c.build = f"not installed ({exc})", None
    return out


# ---------------------------------------------------------------- measuring and reporting


def run(c: Candidate, schemas: dict[str, dict[str, Any]], cases: list[dict[str, Any]], budget_s: float) -> None:
    assert c.build is not None
    t0 = time.perf_counter()
    try:
        check = c.build(schemas)
    except Exception as exc:  # a schema this candidate cannot compile: every verdict on it counts as wrong
        c.wrong.append(f"cannot compile: {type(exc).__name__}: {exc}")
        return
    c.compile_ms = (time.perf_counter() - t0) * 1e3 / len(schemas)
    for case in cases:
        got = not check(case["tool"], case["arguments"])
        if got == case["valid"]:
            c.right += 1
        else:
            c.wrong.append(f"{case['tool']} {json.dumps(case['arguments'])}: {'valid' if got else 'invalid'}")
    for valid in (True, False):
        group = [(case["tool"], case["arguments"]) for case in cases if case["valid"] is valid]

        def each(group: list[tuple[str, dict[str, Any]]] = group) -> None:
            for name, args in group:
                check(name, args)

        [timing] = measure_interleaved([each], budget_s=budget_s)
        per_call = timing.cpu_median_ns / 1e3 / len(group)
        if valid:
            c.valid_us = per_call
        else:
            c.invalid_us = per_call


def report(cs: list[Candidate], n_cases: int, n_valid: int, n_schemas: int, env: str) -> str:
    fastest = min((c.valid_us for c in cs if c.build is not None and c.valid_us), default=0.0)
    lines = [
        "| validator | drafts | compile (ms per schema) | µs per valid call | µs per invalid call (errors listed) | valid × fastest | verdicts right |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for c in cs:
        if c.build is None:
            lines.append(f"| {c.label} | {c.drafts} | {c.missing} | | | | |")
            continue
        ratio = f"{c.valid_us / fastest:.1f}×" if fastest and c.valid_us else ""
        timing = (f"{c.compile_ms:.2f}", f"{c.valid_us:.2f}", f"{c.invalid_us:.2f}") if c.valid_us else ("—",) * 3
        lines.append(f"| {c.label} | {c.drafts} | {' | '.join(timing)} | {ratio} | {c.right} / {n_cases} |")
    wrong = [f"- **{c.label}** got {len(c.wrong)} wrong: " + "; ".join(f"`{w}`" for w in c.wrong) for c in cs if c.wrong]
    notes = f"""\
Fixtures: `tests/schema_cases.json`, {n_schemas} tool schemas and {n_cases} arguments ({n_valid} valid, \
{n_cases - n_valid} invalid), every verdict checked by hand against draft 2020-12 (and agreed by python-jsonschema \
and jsonschema-rs). A check is what a call needs: is it valid, and if not, its errors (`is_valid`, then \
`iter_errors` only when invalid; fastjsonschema raises at the first error; the own validator collects all). \
Compile = building the validator, once per tool. µs per call = median CPU time of a pass over the group ÷ \
its size, samples of ≥ 20 ms, `gc` off.
"""
    return "\n".join(
        ["## schema.py — JSON Schema validators for finished tool calls", "", env, "", *lines, "", *wrong, "", notes]
    )


def main(argv: list[str] | None = None) -> int:
    args = options(__doc__, argv)
    t0 = time.perf_counter()
    data = json.loads(CASES.read_text(encoding="utf-8"))
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in data["tools"]}
    cases = data["cases"]
    cs = candidates()
    for c in cs:
        if c.build is not None:
            run(c, schemas, cases, args.budget)
            log(f"  {c.key:15} {c.valid_us:8.2f} µs valid {c.invalid_us:8.2f} µs invalid  {c.right}/{len(cases)}")
    env = environment("jsonschema", "jsonschema-rs", "fastjsonschema", "msgspec")
    text = report(cs, len(cases), sum(c["valid"] for c in cases), len(schemas), env)
    return publish("schema.py", text, args, t0)


if __name__ == "__main__":
    sys.exit(main())
