"""Tool-call scoring: BFCL's AST-match rules, and a strict rule.

``bfcl_valid`` follows BFCL's ``ast_checker`` (v4) rule for rule, so the
numbers compare with its leaderboard: only calls that decoded count (a
malformed call is silently dropped), an int is accepted for a float, ``""``
among a parameter's values marks it optional, strings are compared
normalised (spaces and ``,./-_*^`` removed, lower case, ``'`` as ``"``),
lists element-wise in order, dicts per key, parallel calls in any order
(matched greedily, in the expected order, as BFCL does), and an irrelevance
case passes when no call decoded, even when the request failed.

``valid`` is stricter: a request that did not end ``ok``, or any malformed
or truncated call, is always wrong; parallel calls are matched exactly (any
assignment that works, not the first greedy one). Error types use BFCL's
names (``type_error:simple``, ``simple_function_checker:missing_required``,
``parallel_function_checker_no_order:wrong_count``,
``irrelevance_error:decoder_success``, ...); the strict rule's own reasons
are ``strict:<status>`` and ``strict:invalid_call``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from .inputs import Request
from .records import Record, Score

__all__ = ["score"]

Answer = dict[str, dict[str, list[Any]]]  # {function name: {parameter: acceptable values}}
Call = dict[str, dict[str, Any]]  # {function name: arguments}

# JSON Schema (and BFCL) parameter types as the Python types BFCL checks; "any" is checked as a string, as BFCL does.
_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "number": float,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "object": dict,
    "dict": dict,
    "any": str,
}
_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}
_NESTED = ("array", "tuple")
_STRIP = re.compile(r"[ ,./\-_*^]")


class Check(NamedTuple):
    valid: bool
    error_type: str | None = None
    error: str | None = None
    is_variable: bool = False


_OK = Check(True)


def _standardize(text: str) -> str:
    return _STRIP.sub("", text).lower().replace("'", '"')


def _answer_type(values: list[Any]) -> type | None:
    """The type of the first acceptable value that is not the optional marker."""
    return next((type(v) for v in values if v != ""), None)


def _type_check(param: str, value: Any, values: list[Any], kind: str, expected: type, nested: type | None) -> Check:
    # A value of the answer's type where the schema says otherwise is a "variable" (BFCL's term).
    answer_type = _answer_type(values)
    is_variable = answer_type is not None and answer_type is not expected
    items: list[Any] = value  # only iterated once the value is known to be a list
    if type(value) is expected:
        if nested is None:
            return Check(True, is_variable=is_variable)
        for answer in values:
            if type(answer) is list and all(
                _type_check(param, item, answer, nested.__name__, nested, None).valid for item in items
            ):
                return Check(True, is_variable=is_variable)
            if type(answer) is not list:
                return Check(True, is_variable=is_variable)
        return Check(
            False, "type_error:nested", f"nested type check failed for {param!r}: expected {kind} of {nested.__name__}"
        )
    if answer_type is not None and type(value) is answer_type:
        return Check(True, is_variable=True)
    return Check(
        False, "type_error:simple", f"incorrect type for {param!r}: expected {kind}, got {type(value).__name__}"
    )


def _standard(value: Any) -> Any:
    return _standardize(value) if type(value) is str else value


def _string_check(param: str, value: str, values: list[Any]) -> Check:
    if _standardize(value) not in [_standardize(v) for v in values if type(v) is str]:
        return Check(False, "value_error:string", f"invalid value for {param!r}: {value!r}; expected one of {values}")
    return _OK


def _list_check(param: str, value: list[Any], values: list[Any]) -> Check:
    got = [_standard(v) for v in value]
    if got not in [[_standard(v) for v in answer] for answer in values if isinstance(answer, list)]:
        return Check(
            False, "value_error:list/tuple", f"invalid value for {param!r}: {value!r}; expected one of {values}"
        )
    return _OK


def _dict_check(param: str, value: dict[str, Any], values: list[Any]) -> Check:
    result = Check(False, "dict_checker:unclear", f"no acceptable value for {param!r}")
    for answer in values:
        if answer == "" or not isinstance(answer, dict):
            continue
        result = _OK
        for key, item in value.items():
            if key not in answer:
                result = Check(False, "value_error:dict_key", f"unexpected dict key {key!r} in {param!r}")
                break
            if _standard(item) not in [_standard(v) for v in answer[key]]:
                result = Check(False, "value_error:dict_value", f"invalid value for {key!r} in {param!r}: {item!r}")
                break
        if result.valid:
            for key, accepted in answer.items():
                if key not in value and "" not in accepted:
                    result = Check(False, "value_error:dict_key", f"missing dict key {key!r} in {param!r}")
                    break
        if result.valid:
            return _OK
    return result


def _list_dict_check(param: str, value: list[Any], values: list[Any]) -> Check:
    result = Check(False, "list_dict_checker:unclear", f"no acceptable value for {param!r}")
    for answer in values:
        if not isinstance(answer, list) or len(value) != len(answer):
            result = Check(False, "value_error:list_dict_count", f"wrong number of dicts in {param!r}")
            continue
        for item, expected in zip(value, answer):
            result = _dict_check(param, item, [expected]) if isinstance(item, dict) else Check(False, "type_error:nested")
            if not result.valid:
                break
        if result.valid:
            return _OK
    return result


def _description(tools: Sequence[dict[str, Any]] | None, name: str, answer: dict[str, list[Any]]) -> dict[str, Any]:
    """The schema of function ``name`` from the request's tools; without one, the answer's
    keys, typed after their values."""
    for tool in tools or ():
        function = tool.get("function", tool)
        if isinstance(function, dict) and function.get("name") == name:
            parameters = function.get("parameters") or {}
            return {
                "properties": parameters.get("properties") or {},
                "required": parameters.get("required") or [],
            }
    properties = {k: {"type": _TYPE_NAMES[t]} if (t := _answer_type(v)) in _TYPE_NAMES else {} for k, v in answer.items()}
    return {"properties": properties, "required": [k for k, v in answer.items() if "" not in v]}


def _simple(tools: Sequence[dict[str, Any]] | None, call: Call, answer: Answer) -> Check:
    """One call against one expected call (BFCL's ``simple_function_checker``)."""
    name, expected = next(iter(answer.items()))
    if name not in call:
        return Check(False, "simple_function_checker:wrong_func_name", f"function {name!r} not called")
    description = _description(tools, name, expected)
    properties: dict[str, Any] = description["properties"]
    arguments = call[name]
    for param in description["required"]:
        if param not in arguments:
            return Check(False, "simple_function_checker:missing_required", f"missing required parameter {param!r}")
    for param, value in arguments.items():
        if param not in properties or param not in expected:
            return Check(False, "simple_function_checker:unexpected_param", f"unexpected parameter {param!r}")
        values = expected[param]
        kind = properties[param].get("type") if isinstance(properties[param], dict) else None
        if not isinstance(kind, str) or kind not in _TYPES:
            if value not in values and _standard(value) not in [_standard(v) for v in values]:
                return Check(False, "value_error:others", f"invalid value for {param!r}: {value!r}; expected one of {values}")
            continue
        expected_type = _TYPES[kind]
        nested: type | None = None
        if kind in _NESTED:
            items = properties[param].get("items")
            item_kind = items.get("type") if isinstance(items, dict) else None
            nested = _TYPES.get(item_kind) if isinstance(item_kind, str) else None
        if expected_type is float and type(value) is int:
            value = float(value)  # Python would convert it
        check = _type_check(param, value, values, kind, expected_type, nested)
        if not check.valid:
            return check
        if not check.is_variable:
            if expected_type is dict:
                check = _dict_check(param, value, values)
            elif expected_type is list and nested is dict:
                check = _list_dict_check(param, value, values)
            elif expected_type is str:
                check = _string_check(param, value, values)
            elif expected_type is list:
                check = _list_check(param, value, values)
            else:
                check = _OK if value in values else Check(
                    False, "value_error:others", f"invalid value for {param!r}: {value!r}; expected one of {values}"
                )
            if not check.valid:
                return check
        elif value not in values:
            return Check(False, "value_error:others", f"invalid value for {param!r}: {value!r}; expected one of {values}")
    for param, values in expected.items():
        if param not in arguments and "" not in values:
            return Check(False, "simple_function_checker:missing_optional", f"parameter {param!r} missing, not optional")
    return _OK


def _no_order(tools: Sequence[dict[str, Any]] | None, calls: list[Call], answers: list[Answer], *, greedy: bool) -> Check:
    if len(calls) != len(answers):
        return Check(False, "parallel_function_checker_no_order:wrong_count", f"{len(calls)} calls, {len(answers)} expected")
    fits = [[_simple(tools, call, answer).valid for call in calls] for answer in answers]
    if greedy:
        used: set[int] = set()
        for i, row in enumerate(fits):
            match = next((j for j, ok in enumerate(row) if ok and j not in used), None)
            if match is None:
                return Check(False, "parallel_function_checker_no_order:cannot_find_match", f"no call matches expected call {i}")
            used.add(match)
        return _OK

    def assign(i: int, used: frozenset[int]) -> bool:
        return i == len(fits) or any(ok and j not in used and assign(i + 1, used | {j}) for j, ok in enumerate(fits[i]))

    if not assign(0, frozenset()):
        return Check(False, "parallel_function_checker_no_order:cannot_find_match", "no assignment of calls to expected calls")
    return _OK


def _check(request: Request, calls: list[Call], *, greedy: bool) -> Check:
    expected = request.expected
    assert expected is not None
    category = request.category or ""
    if expected.no_call:
        if calls:
            return Check(False, "irrelevance_error:decoder_success", f"{len(calls)} call(s) where none was expected")
        return _OK
    answers = expected.answers()
    if "parallel" in category or (not category and len(answers) > 1):
        return _no_order(request.tools, calls, answers, greedy=greedy)
    kind = "multiple_function_checker" if "multiple" in category else "simple_function_checker"
    if len(calls) != len(answers):
        return Check(False, f"{kind}:wrong_count", f"{len(calls)} calls, {len(answers)} expected")
    return _simple(request.tools, calls[0], answers[0])


def score(record: Record, request: Request) -> Score | None:
    """Both rules for one record; None when the request expects nothing."""
    if request.expected is None:
        return None
    calls: list[Call] = [{call.name: call.arguments} for call in record.calls]
    # BFCL: a failed request has no output to decode; an irrelevance case then passes.
    if record.status != "ok" and not request.expected.no_call:
        bfcl = Check(False, "ast_decoder:decoder_failed", f"request {record.status}")
    else:
        bfcl = _check(request, calls if record.status == "ok" else [], greedy=True)
    if record.status != "ok":
        strict = Check(False, f"strict:{record.status}", record.error.message if record.error else None)
    elif record.invalid_calls:
        strict = Check(False, "strict:invalid_call", record.invalid_calls[0].error)
    else:
        strict = _check(request, calls, greedy=False)
    return Score(
        valid=strict.valid,
        error_type=strict.error_type,
        error=strict.error,
        bfcl_valid=bfcl.valid,
        bfcl_error_type=bfcl.error_type,
    )
