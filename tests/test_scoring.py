"""Scoring fixtures, one per BFCL AST rule, with the strict rule beside; input files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streamparse.core.events import InvalidToolCall
from streamparse.core.message import ToolCall
from streamparse.errors import InputError
from streamparse.runner import ErrorInfo, Expected, ExpectedCall, Record, Request, read_bfcl, read_requests, score

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "area",
            "parameters": {
                "type": "object",
                "properties": {
                    "base": {"type": "integer"},
                    "height": {"type": "number"},
                    "unit": {"type": "string"},
                    "exact": {"type": "boolean"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "opts": {"type": "object"},
                    "points": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["base"],
            },
        },
    },
    {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}},
]
ANSWER = {"area": {"base": [10], "height": [5.0], "unit": ["cm", ""]}}


def record(*calls: tuple[str, dict[str, Any]], status: str = "ok", invalid: int = 0) -> Record:
    return Record(
        id="q",
        status=status,  # type: ignore[arg-type]
        calls=[ToolCall(id=f"c{i}", name=name, arguments=args) for i, (name, args) in enumerate(calls)],
        invalid_calls=[InvalidToolCall(index=9, raw="<tool_call>{oops", error="not JSON")] * invalid,
        error=None if status == "ok" else ErrorInfo(kind="disconnected", message="cut"),
    )


def check(rec: Record, answers: list[dict[str, Any]] | None = None, *, category: str = "simple_python", no_call: bool = False) -> tuple[str | None, str | None]:
    """(strict error type, BFCL error type); None where valid."""
    expected = Expected(no_call=True) if no_call else Expected(bfcl=answers if answers is not None else [ANSWER])
    result = score(rec, Request(id="q", messages=[{"role": "user", "content": "?"}], tools=TOOLS, category=category, expected=expected))
    assert result is not None
    assert result.valid == (result.error_type is None) and result.bfcl_valid == (result.bfcl_error_type is None)
    return result.error_type, result.bfcl_error_type


def both(error_type: str | None) -> tuple[str | None, str | None]:
    return error_type, error_type


def test_exact_answer_and_int_for_float() -> None:
    assert check(record(("area", {"base": 10, "height": 5.0, "unit": "cm"}))) == both(None)
    assert check(record(("area", {"base": 10, "height": 5}))) == both(None)  # int accepted for float; unit optional


def test_float_is_not_int_and_bool_is_not_anything_else() -> None:
    assert check(record(("area", {"base": 10.0, "height": 5.0}))) == both("type_error:simple")
    assert check(record(("area", {"base": True, "height": 5.0}))) == both("type_error:simple")
    answer = {"area": {"base": [10], "height": [5.0], "exact": [True]}}
    assert check(record(("area", {"base": 10, "height": 5.0, "exact": "true"})), [answer]) == both("type_error:simple")


def test_optional_marker_and_missing_parameters() -> None:
    assert check(record(("area", {"height": 5.0}))) == both("simple_function_checker:missing_required")
    assert check(record(("area", {"base": 10}))) == both("simple_function_checker:missing_optional")


def test_unexpected_parameter_outside_the_schema_or_the_answer() -> None:
    assert check(record(("area", {"base": 10, "height": 5.0, "color": "red"}))) == both(
        "simple_function_checker:unexpected_param"
    )
    assert check(record(("area", {"base": 10, "height": 5.0, "exact": True}))) == both(
        "simple_function_checker:unexpected_param"
    )


def test_string_normalisation() -> None:
    answer = {"area": {"base": [10], "height": [5.0], "unit": ["San Francisco, CA"]}}
    for unit in ("San Francisco,CA", "san francisco ca", "SanFrancisco-CA"):
        assert check(record(("area", {"base": 10, "height": 5.0, "unit": unit})), [answer]) == both(None)
    assert check(record(("area", {"base": 10, "height": 5.0, "unit": "New York"})), [answer]) == both("value_error:string")


def test_other_values_lists_in_order_dicts_per_key_nested_types() -> None:
    assert check(record(("area", {"base": 11, "height": 5.0}))) == both("value_error:others")
    tags = {"area": {"base": [10], "height": [5.0], "tags": [["Red", "blue"]]}}
    assert check(record(("area", {"base": 10, "height": 5.0, "tags": ["red", "Blue"]})), [tags]) == both(None)
    assert check(record(("area", {"base": 10, "height": 5.0, "tags": ["blue", "red"]})), [tags]) == both(
        "value_error:list/tuple"
    )
    assert check(record(("area", {"base": 10, "height": 5.0, "tags": [1, 2]})), [tags]) == both("type_error:nested")
    opts = {"area": {"base": [10], "height": [5.0], "opts": [{"mode": ["fast"], "level": [1, ""]}]}}
    assert check(record(("area", {"base": 10, "height": 5.0, "opts": {"mode": "Fast"}})), [opts]) == both(None)
    assert check(record(("area", {"base": 10, "height": 5.0, "opts": {"mode": "fast", "x": 1}})), [opts]) == both(
        "value_error:dict_key"
    )
    assert check(record(("area", {"base": 10, "height": 5.0, "opts": {"mode": "slow"}})), [opts]) == both(
        "value_error:dict_value"
    )
    points = {"area": {"base": [10], "height": [5.0], "points": [[{"x": [1]}, {"x": [2]}]]}}
    assert check(record(("area", {"base": 10, "height": 5.0, "points": [{"x": 1}, {"x": 2}]})), [points]) == both(None)
    assert check(record(("area", {"base": 10, "height": 5.0, "points": [{"x": 1}]})), [points]) == both(
        "value_error:list_dict_count"
    )


def test_wrong_function_and_wrong_count() -> None:
    assert check(record(("f", {"x": 1}))) == both("simple_function_checker:wrong_func_name")
    two = record(("area", {"base": 10, "height": 5.0}), ("area", {"base": 10, "height": 5.0}))
    assert check(two) == both("simple_function_checker:wrong_count")
    assert check(two, category="live_multiple") == both("multiple_function_checker:wrong_count")
    assert check(record(), category="simple_python") == both("simple_function_checker:wrong_count")


def test_parallel_calls_in_any_order() -> None:
    answers = [ANSWER, {"f": {"x": [3]}}]
    call_a, call_f = ("area", {"base": 10, "height": 5.0}), ("f", {"x": 3})
    assert check(record(call_a, call_f), answers, category="parallel") == both(None)
    assert check(record(call_f, call_a), answers, category="parallel") == both(None)
    assert check(record(call_f), answers, category="parallel") == both("parallel_function_checker_no_order:wrong_count")
    assert check(record(call_f, ("f", {"x": 4})), answers, category="parallel") == both(
        "parallel_function_checker_no_order:cannot_find_match"
    )


def test_parallel_matching_greedy_like_bfcl_exact_when_strict() -> None:
    # f(x=1) fits both expected calls; BFCL gives it to the first and then finds no match for the second.
    answers = [{"f": {"x": [1, 2]}}, {"f": {"x": [1]}}]
    assert check(record(("f", {"x": 1}), ("f", {"x": 2})), answers, category="parallel_multiple") == (
        None,
        "parallel_function_checker_no_order:cannot_find_match",
    )


def test_irrelevance() -> None:
    assert check(record(), no_call=True, category="irrelevance") == both(None)
    assert check(record(("f", {"x": 1})), no_call=True, category="irrelevance") == both("irrelevance_error:decoder_success")
    # BFCL counts a malformed call or a failed request as a correct abstention; the strict rule does not.
    assert check(record(invalid=1), no_call=True, category="irrelevance") == ("strict:invalid_call", None)
    assert check(record(status="truncated"), no_call=True, category="irrelevance") == ("strict:truncated", None)


def test_strict_rejects_malformed_calls_and_failed_requests() -> None:
    good = ("area", {"base": 10, "height": 5.0})
    assert check(record(good, invalid=1)) == ("strict:invalid_call", None)
    assert check(record(good, status="truncated")) == ("strict:truncated", "ast_decoder:decoder_failed")


def test_plain_expected_calls_without_tools() -> None:
    expected = Expected(calls=[ExpectedCall("get_weather", {"city": "Paris"}), ExpectedCall("get_time", {"tz": "UTC"})])
    request = Request(id="q", messages=[{"role": "user", "content": "?"}], expected=expected)
    ok = record(("get_time", {"tz": "UTC"}), ("get_weather", {"city": "paris"}))
    result = score(ok, request)
    assert result is not None and result.valid and result.bfcl_valid
    extra = score(record(("get_time", {"tz": "UTC", "x": 1}), ("get_weather", {"city": "Paris"})), request)
    assert extra is not None and extra.error_type == "parallel_function_checker_no_order:cannot_find_match"
    assert score(record(), Request(id="q", messages=[{"role": "user", "content": "?"}])) is None


# -- input files -------------------------------------------------------------------------


def write_lines(path: Path, items: list[Any]) -> str:
    path.write_text("".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items))
    return str(path)


def test_read_requests_validates_and_names_the_line(tmp_path: Path) -> None:
    good = {"id": "a", "messages": [{"role": "user", "content": "hi"}], "expected": {"no_call": True}, "meta": {"k": 1}}
    path = write_lines(tmp_path / "in.jsonl", [good, {**good, "id": "b", "params": {"temperature": 0}}])
    requests = read_requests(path)
    assert [r.id for r in requests] == ["a", "b"] and requests[1].params == {"temperature": 0}
    cases = [
        ({**good, "color": 1}, "unknown field `color`"),
        ({"id": "b"}, "missing required field `messages`"),
        ({**good, "id": "a"}, "duplicate id 'a' (first on line 1)"),
        ({**good, "id": "c", "expected": {"no_call": True, "calls": []}}, "exactly one of"),
        ("{not json", "malformed"),
    ]
    for bad, message in cases:
        path = write_lines(tmp_path / "bad.jsonl", [good, bad])
        with pytest.raises(InputError, match=":2: ") as info:
            read_requests(path)
        assert message in str(info.value) and info.value.line == 2


def test_read_bfcl_files(tmp_path: Path) -> None:
    question = {
        "id": "simple_python_3",
        "question": [[{"role": "user", "content": "Area of a triangle, base 10 height 5?"}]],
        "function": [
            {
                "name": "math.area",
                "description": "Triangle area.",
                "parameters": {
                    "type": "dict",
                    "properties": {"base": {"type": "integer"}, "height": {"type": "float"}, "pts": {"type": "tuple", "items": {"type": "any"}}},
                    "required": ["base", "height"],
                },
            }
        ],
    }
    (tmp_path / "possible_answer").mkdir()
    questions = write_lines(tmp_path / "BFCL_v4_simple_python.json", [question])
    write_lines(
        tmp_path / "possible_answer" / "BFCL_v4_simple_python.json",
        [{"id": "simple_python_3", "ground_truth": [{"math.area": {"base": [10], "height": [5.0], "pts": [""]}}]}],
    )
    (request,) = read_bfcl(questions)
    assert request.category == "simple_python" and request.messages == question["question"][0]
    assert request.tools is not None
    function = request.tools[0]["function"]
    assert function["name"] == "math_area"
    assert function["parameters"]["type"] == "object"
    assert function["parameters"]["properties"]["height"]["type"] == "number"
    assert function["parameters"]["properties"]["pts"] == {"type": "array", "items": {"type": "string"}}
    assert request.expected is not None and request.expected.bfcl == [{"math_area": {"base": [10], "height": [5.0], "pts": [""]}}]
    result = score(record(("math_area", {"base": 10, "height": 5})), request)
    assert result is not None and result.valid and result.bfcl_valid

    irrelevant = write_lines(tmp_path / "BFCL_v4_irrelevance.json", [{**question, "id": "irrelevance_0"}])
    (request,) = read_bfcl(irrelevant)
    assert request.expected == Expected(no_call=True) and request.category == "irrelevance"
    multi_turn = write_lines(tmp_path / "BFCL_v4_multi_turn_base.json", [question, {**question, "id": "multi_turn_base_1"}])
    with pytest.raises(InputError, match=":2: category 'multi_turn_base' is not supported"):
        read_bfcl(multi_turn)
