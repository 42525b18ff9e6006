"""Schema checks for finished calls: a tool's JSON Schema against the call's arguments.

:class:`ToolSchemas` is built once from a request's OpenAI ``tools`` list and
compiles each tool's ``parameters`` once (draft 2020-12 unless the schema's
``$schema`` names another draft).  :meth:`ToolSchemas.check` returns the
problems of one call, each with a message meant to be shown to a user or sent
back to the model (``arguments.days: expected integer, got string '3'``).

The validator is jsonschema-rs (chosen by ``benchmarks/schema.py``: the only
candidate both right on every draft 2020-12 fixture and fast).  It is imported
when a ``ToolSchemas`` is built, so ``import streamparse`` does not load it,
and it never fetches a remote ``$ref``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import UsageError
from .events import InvalidKind, SchemaProblem
from .raw_values import canonical_type, json_type

if TYPE_CHECKING:
    import jsonschema_rs

__all__ = ["SchemaProblem", "ToolSchemas"]

Path = tuple[str | int, ...]
_ROOT = "arguments"
_SHOWN = 60  # characters of a value quoted in a message
_BRANCH_PROBLEMS = 2  # problems shown per alternative of an anyOf/oneOf


class ToolSchemas:
    """The parameter schemas of a request's tools, each compiled once.

    ``tools`` is the request's ``tools`` list: ``{"type": "function",
    "function": {"name", "parameters"}}`` entries (other tool types have no
    arguments schema and are skipped; a function without ``parameters`` takes
    any arguments).  Type names JSON Schema lacks are read as the typing rules
    read them (``float`` is a number, ``dict`` an object, ``any`` anything), as
    the serving stacks do.  A malformed entry, a name given twice or a schema
    that is not valid JSON Schema even so raises :class:`~streamparse.errors.UsageError`.
    """

    __slots__ = ("names", "_schemas", "_validators")

    def __init__(self, tools: Sequence[Mapping[str, Any]]) -> None:
        import jsonschema_rs

        self._schemas: dict[str, dict[str, Any]] = {}
        self._validators: dict[str, jsonschema_rs.Validator] = {}
        for i, tool in enumerate(tools):
            if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
                continue
            function = tool.get("function")
            if not isinstance(function, Mapping) or not isinstance(function.get("name"), str) or not function["name"]:
                raise UsageError(f"tools[{i}]: expected {{'type': 'function', 'function': {{'name': ..., 'parameters': ...}}}}")
            name: str = function["name"]
            if name in self._schemas:
                raise UsageError(f"tools[{i}]: tool {name!r} is given twice")
            schema = function.get("parameters")
            if schema is None:
                schema = {}
            if not isinstance(schema, dict):
                raise UsageError(f"tool {name!r}: parameters are not a JSON Schema object")
            try:
                validator = jsonschema_rs.validator_for(_standard(schema), offline=True)
            except jsonschema_rs.ValidationError as exc:
                where = _render(tuple(exc.instance_path), "parameters")
                raise UsageError(f"tool {name!r}: {where} is not valid JSON Schema: {exc.message}") from None
            self._schemas[name] = schema
            self._validators[name] = validator
        self.names = frozenset(self._schemas)

    def parameters(self, name: str) -> dict[str, Any] | None:
        """The tool's JSON Schema (``{}`` when it declared none); None for a tool not in the list."""
        return self._schemas.get(name)

    def check(self, name: str, arguments: dict[str, Any]) -> list[SchemaProblem]:
        """The problems of a call to ``name`` with these arguments; ``[]`` when they fit."""
        validator = self._validators.get(name)
        if validator is None:
            return [SchemaProblem((), f"unknown tool {name!r}", "unknown_tool")]
        if validator.is_valid(arguments):
            return []
        return [problem for error in validator.iter_errors(arguments) for problem in _problems(error, arguments)]


def call_problem(
    tools: ToolSchemas | None, name: str, arguments: dict[str, Any]
) -> tuple[str, InvalidKind, tuple[SchemaProblem, ...]] | None:
    """Why a complete call does not fit the request's tools (None: it does, or no tools were given):
    the message, the kind of :class:`~streamparse.core.events.InvalidToolCall`, and the problems."""
    if tools is None:
        return None
    if name not in tools.names:
        return f"unknown tool {name!r}", "unknown_tool", ()
    problems = tools.check(name, arguments)
    if not problems:
        return None
    return "arguments do not fit the tool's schema: " + "; ".join(p.message for p in problems), "invalid_arguments", tuple(problems)


def _standard(schema: Any) -> Any:
    """``schema`` with the type names the typing rules know as JSON Schema's own (``any``: any type);
    a name nobody knows is left for the validator to refuse."""
    if isinstance(schema, list):
        return [_standard(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _standard(value) for key, value in schema.items() if key != "type"}
    kind = schema.get("type")
    names = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else None
    if names is None:
        if "type" in schema:
            out["type"] = kind  # not a name: left for the validator to refuse
        return out
    if any(isinstance(n, str) and n.strip().lower() == "any" for n in names):
        return out  # BFCL's "any"
    read = [(canonical_type(n) or n) if isinstance(n, str) else n for n in names]
    out["type"] = read[0] if isinstance(kind, str) else list(dict.fromkeys(read))
    return out


@functools.lru_cache(maxsize=64)
def _built(encoded: bytes) -> ToolSchemas:
    return ToolSchemas(msgspec.json.decode(encoded))


def tool_schemas(tools: Sequence[Mapping[str, Any]] | ToolSchemas) -> ToolSchemas:
    """The :class:`ToolSchemas` of a tools list, shared by every stream that sends the same list
    (a benchmark or an agent sends one list many times: its schemas are compiled once)."""
    if isinstance(tools, ToolSchemas):
        return tools
    try:
        key = msgspec.json.encode(tools)
    except (TypeError, msgspec.EncodeError):
        return ToolSchemas(tools)
    return _built(key)


# -- messages ---------------------------------------------------------------------


def _render(path: Path, root: str = _ROOT) -> str:
    """``arguments.items[2].name``; keys that are not plain names are quoted (``arguments["a b"]``)."""
    out = [root]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{_json(part)}]")
    return "".join(out)


def _json(value: Any) -> str:
    try:
        text = msgspec.json.encode(value).decode()
    except (TypeError, ValueError):  # e.g. a lone surrogate, which UTF-8 cannot carry
        text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _got(value: Any) -> str:
    """``string '3'``, ``integer 3``, ``null``, ``object``: the value as a model can recognise it."""
    kind = json_type(value)
    if isinstance(value, str):
        shown = value if len(value) <= _SHOWN else value[: _SHOWN - 1] + "…"
        return f"{kind} {shown!r}"
    if value is None or isinstance(value, (dict, list)):
        return kind
    return f"{kind} {_json(value)}"


def _choices(values: list[Any]) -> str:
    return ", ".join(repr(v) if isinstance(v, str) else _json(v) for v in values)


def _problems(error: jsonschema_rs.ValidationError, root: Any) -> list[SchemaProblem]:
    """One validator error as problems (one per missing or unexpected property), with their messages."""
    path = _located(root, error.instance_path)
    return [SchemaProblem(p, f"{_render(p)}: {message}", keyword) for p, message, keyword in _describe(error, path, root)]


def _located(root: Any, parts: list[str | int]) -> Path:
    """The validator's path, each step typed by what it steps into: the validator reports an
    object's key that reads as a number (``"0"``) as that number."""
    out: list[str | int] = []
    value = root
    for part in parts:
        if isinstance(value, dict):
            part = str(part)
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            value = None
        out.append(part)
    return tuple(out)


def _describe(error: jsonschema_rs.ValidationError, path: Path, root: Any) -> list[tuple[Path, str, str]]:
    kind = error.kind
    keyword = kind.name
    details = kind.as_dict()
    value = error.instance
    if keyword == "required":
        if error.schema_path[-1:] == ["dependentRequired"]:
            keyword = "dependentRequired"
        return [((*path, details["property"]), "required property missing", keyword)]
    if keyword == "additionalProperties":
        return [((*path, name), "unexpected property", keyword) for name in details.get("unexpected", ())]
    message = _MESSAGES.get(keyword)
    if message is not None:
        return [(path, message(value, details), keyword)]
    if keyword in ("anyOf", "oneOf") and "context" in details:
        if not any(not branch for branch in details["context"]):
            return [(path, _branches(keyword, details["context"], path, root), keyword)]
        return [(path, f"matches more than one of the {len(details['context'])} alternatives, must match exactly one", keyword)]
    return [(path, error.message, keyword)]  # rarer keywords: the validator's own wording


def _branches(keyword: str, context: list[list[jsonschema_rs.ValidationError]], path: Path, root: Any) -> str:
    """Why each alternative failed, paths relative to the value: ``matches none of the 2 alternatives (oneOf): ...``."""
    parts = []
    for k, branch in enumerate(context, 1):
        reasons = []
        for sub in branch:
            for p, message, _ in _describe(sub, _located(root, sub.instance_path), root):
                where = _render(p[len(path) :], "").removeprefix(".")
                reasons.append(f"{where}: {message}" if where else message)
        shown = "; ".join(reasons[:_BRANCH_PROBLEMS]) + ("; …" if len(reasons) > _BRANCH_PROBLEMS else "")
        parts.append(f"[{k}] {shown}")
    return f"matches none of the {len(context)} alternatives ({keyword}): " + " ".join(parts)


_Wording = Callable[[Any, dict[str, Any]], str]  # (the value, the error's details) -> the message


def _bound(phrase: str) -> _Wording:
    return lambda v, d: f"must be {phrase} {_json(d.get('limit', d.get('multiple_of')))}, got {_json(v)}"


def _size(phrase: str, unit: str) -> _Wording:
    return lambda v, d: f"must have {phrase} {d['limit']} {unit}, got {len(v)}"


_MESSAGES: dict[str, _Wording] = {
    "type": lambda v, d: f"expected {' or '.join(d['types'])}, got {_got(v)}",
    "enum": lambda v, d: f"expected one of {_choices(d['options'])}, got {_got(v)}",
    "const": lambda v, d: f"expected {_choices([d['expected_value']])}, got {_got(v)}",
    "uniqueItems": lambda v, d: "items must be unique",
    "pattern": lambda v, d: f"must match the pattern {d['pattern']!r}, got {_got(v)}",
    "not": lambda v, d: f"must not match {_json(d['schema'])}",
    "falseSchema": lambda v, d: f"not allowed here, got {_got(v)}",
    "minimum": _bound("at least"),
    "maximum": _bound("at most"),
    "exclusiveMinimum": _bound("greater than"),
    "exclusiveMaximum": _bound("less than"),
    "multipleOf": _bound("a multiple of"),
    "minLength": _size("at least", "characters"),
    "maxLength": _size("at most", "characters"),
    "minItems": _size("at least", "items"),
    "maxItems": _size("at most", "items"),
}
