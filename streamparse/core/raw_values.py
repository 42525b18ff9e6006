"""Raw-text argument values, typed by the tool's JSON schema.

XML-style formats (qwen3_coder, glm, minimax_m2, DSML, ...) write a string
argument raw, with no quotes, and other values as JSON or as Python's
``str()``; only the tool's schema tells ``42`` from ``"42"``.  The rules:

1. No schema for the key (no tools, unknown tool, key not in ``properties``):
   the raw text, as a string.
2. The allowed types are ``type`` (a string or a list) with the types of
   ``enum`` and ``const`` values, through ``anyOf``/``oneOf``/``allOf``;
   ``properties`` means object, ``items`` array.  Common aliases count
   (``int*``, ``float``, ``bool``, ``str``, ``dict``, ``list``, ...).  No type
   information at all (``{}``) allows anything: JSON if it parses, else text.
3. Readings other than string use the text with surrounding whitespace stripped.
4. ``null`` or ``None`` is null when null is allowed.
5. String-only values keep the raw text, byte for byte (``null``, ``true``,
   JSON-looking text and leading zeros stay strings).
6. Otherwise the first reading that fits wins: boolean (``true``/``false`` in
   any case), integer (``[+-]?digits``, every digit kept), number (a finite
   JSON number, kept as written), object or array (JSON, else a Python
   literal, else a JSON string holding one), then string.
7. Nothing fits: the raw text (lossless; a schema check can flag it).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from typing import Any, Literal

from .jsontext import loads

Policy = Literal["schema", "text", "json"]
"""How a value is written: raw text typed by the schema; marked as text; marked as JSON."""

_TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")
_PREFIXES = ((("int", "uint", "long", "short", "unsigned"), "integer"), (("num", "float"), "number"))
_NAMES = {
    **dict.fromkeys(("double",), "number"),
    **dict.fromkeys(("bool", "binary"), "boolean"),
    **dict.fromkeys(("str", "text", "varchar", "char", "enum"), "string"),
    **dict.fromkeys(("dict", "map"), "object"),
    **dict.fromkeys(("list", "arr", "sequence", "tuple"), "array"),
}
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")


def property_schema(parameters: Mapping[str, Any] | None, key: str) -> Mapping[str, Any] | None:
    """The schema of argument ``key``, or None when the tool or the key is unknown."""
    if parameters is None:
        return None
    props = parameters.get("properties")
    if isinstance(props, Mapping):
        schema = props.get(key)
        return schema if isinstance(schema, Mapping) else ({} if schema is True else None)
    return None


def canonical_type(name: str) -> str | None:
    """The JSON Schema type a type name means (``int64`` → ``integer``, ``dict`` → ``object``); None: none."""
    name = name.strip().lower()
    if name in _TYPES:
        return name
    for prefixes, canonical in _PREFIXES:
        if name.startswith(prefixes):
            return canonical
    return _NAMES.get(name)


def json_type(value: Any) -> str:
    """The JSON type name of a Python value (a tuple is an array)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, (list, tuple)) else "object"


def allowed_types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    """The JSON types ``schema`` allows (None: no type information, anything goes)."""
    found: set[str] = set()
    informed = _collect(schema, found, 0)
    return frozenset(found) if informed else None


def _collect(schema: Any, found: set[str], depth: int) -> bool:
    if not isinstance(schema, Mapping) or depth > 32:
        return False
    informed = False
    kind = schema.get("type")
    for name in [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else ():
        if isinstance(name, str):
            informed = True
            canonical = canonical_type(name)
            if canonical is not None:
                found.add(canonical)
    if isinstance(schema.get("enum"), list):
        informed = True
        found.update(json_type(v) for v in schema["enum"])
    if "const" in schema:
        informed = True
        found.add(json_type(schema["const"]))
    for key in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(key)
        if isinstance(branches, list):
            for branch in branches:
                informed = _collect(branch, found, depth + 1) or informed
    if "properties" in schema:
        informed = True
        found.add("object")
    if "items" in schema:
        informed = True
        found.add("array")
    return informed


def streams_as_text(schema: Mapping[str, Any] | None, policy: Policy) -> bool:
    """Is the value certainly a string whatever its text (so it may stream before its close)?"""
    if policy == "json":
        return False
    if schema is None:
        return True
    allowed = allowed_types(schema)
    if policy == "text":
        return allowed is None or "string" in allowed
    return allowed == frozenset({"string"})


def type_value(raw: str, schema: Mapping[str, Any] | None, policy: Policy = "schema") -> Any:
    """The value of a raw argument text, by the rules in this module's docstring."""
    if policy == "json":
        try:
            value = loads(raw)
        except (ValueError, RecursionError):
            pass
        else:
            allowed = allowed_types(schema) if schema is not None else None
            if allowed is None or json_type(value) in allowed or (json_type(value) == "integer" and "number" in allowed):
                return value
    if schema is None:
        return raw
    allowed = allowed_types(schema)
    t = raw.strip()
    if policy == "text" and (allowed is None or "string" in allowed):
        return raw
    if allowed is None:
        try:
            return loads(t)
        except (ValueError, RecursionError):
            return raw
    if "null" in allowed and t in ("null", "None"):
        return None
    if allowed <= {"string", "null"}:
        return raw
    return _first_fit(raw, t, allowed)


def _first_fit(raw: str, t: str, allowed: frozenset[str]) -> Any:
    lowered = t.lower()
    if "boolean" in allowed and lowered in ("true", "false"):
        return lowered == "true"
    if "integer" in allowed and _INTEGER.match(t):
        return int(t)
    if "number" in allowed and _NUMBER.match(t):
        number = loads(t)
        if not isinstance(number, float) or math.isfinite(number):
            return number
    containers = allowed & {"object", "array"}
    if containers:
        value = _container(t, containers)
        if value is not None:
            return value
    return raw


def _container(t: str, containers: frozenset[str]) -> Any:
    for read in (loads, ast.literal_eval, _double_encoded):
        try:
            value = read(t)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        value = jsonable(value)
        if value is not None and json_type(value) in containers:
            return value
    return None


def _double_encoded(t: str) -> Any:
    inner = loads(t)
    if not isinstance(inner, str):
        raise ValueError("not a JSON string")
    try:
        return loads(inner)
    except ValueError:
        # Templates that JSON-encode str(dict) wrap a Python repr in a JSON string.
        return ast.literal_eval(inner)


def jsonable(value: Any) -> Any:
    """A Python literal as JSON data (tuples become arrays); None when it has no JSON form."""
    if isinstance(value, (list, tuple)):
        items = [jsonable(v) for v in value]
        return None if any(i is None and v is not None for i, v in zip(items, value)) else items
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                return None
            j = jsonable(v)
            if j is None and v is not None:
                return None
            out[k] = j
        return out
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return None

