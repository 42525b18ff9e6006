"""ToolSchemas: a finished call's arguments against its tool's JSON Schema.

The verdicts come from ``tests/schema_cases.json`` (checked by hand against draft
2020-12; ``benchmarks/schema.py`` runs the same fixtures through every candidate
validator); the messages are asserted word for word, since they are sent back to models.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import jsonschema_rs
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamparse import UsageError
from streamparse.core.schema import SchemaProblem, ToolSchemas

CASES = json.loads((Path(__file__).with_name("schema_cases.json")).read_text(encoding="utf-8"))
TOOLS = ToolSchemas(CASES["tools"])


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: f"{c['tool']}-{json.dumps(c['arguments'])}")
def test_fixture_verdicts_keywords_and_paths(case: dict[str, Any]) -> None:
    problems = TOOLS.check(case["tool"], case["arguments"])
    if case["valid"]:
        assert problems == []
    else:
        assert problems, "an invalid call passed"
        first = problems[0]
        assert (first.keyword, list(first.path)) == (case["keyword"], case["path"])
        path = "arguments" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.path)
        assert first.message.startswith(path + ": ")


def messages(name: str, arguments: dict[str, Any]) -> list[str]:
    return [p.message for p in TOOLS.check(name, arguments)]


def test_messages_a_model_can_act_on() -> None:
    assert messages("get_weather", {}) == ["arguments.city: required property missing"]
    assert messages("get_weather", {"city": "Paris", "days": "3"}) == ["arguments.days: expected integer, got string '3'"]
    assert messages("get_weather", {"city": "Paris", "days": True}) == ["arguments.days: expected integer, got boolean true"]
    assert messages("get_weather", {"city": None}) == ["arguments.city: expected string, got null"]
    assert messages("get_weather", {"city": "Paris", "unit": "kelvin"}) == [
        "arguments.unit: expected one of 'celsius', 'fahrenheit', got string 'kelvin'"
    ]
    assert messages("get_weather", {"city": "Paris", "days": 0}) == ["arguments.days: must be at least 1, got 0"]
    assert messages("get_weather", {"city": ""}) == ["arguments.city: must have at least 1 characters, got 0"]
    assert messages("write_file", {"path": "a b.txt", "content": "x"}) == [
        "arguments.path: must match the pattern '^[A-Za-z0-9_./-]+$', got string 'a b.txt'"
    ]
    assert messages("search", {"query": "x", "filters": {"tags": ["red", 3]}}) == [
        "arguments.filters.tags[1]: expected string, got integer 3"
    ]
    assert messages("search", {"query": "x", "filters": {"price": {"max": 0}}}) == [
        "arguments.filters.price.max: must be greater than 0, got 0"
    ]
    assert messages("order", {"items": [{"sku": "A"}]}) == ["arguments.items[0].qty: required property missing"]
    assert messages("plot", {"label": 1}) == ["arguments.label: expected null or string, got integer 1"]
    assert messages("plot", {"point": [1, 2, 3]}) == ["arguments.point[2]: not allowed here, got integer 3"]
    assert messages("plot", {"step": 1.2}) == ["arguments.step: must be a multiple of 0.5, got 1.2"]
    assert messages("plot", {"card": "x"}) == ["arguments.billing: required property missing"]


def test_every_problem_is_listed_one_per_property() -> None:
    problems = TOOLS.check("get_weather", {"days": "3", "unit": "kelvin", "country": "FR", "zip": 1})
    assert sorted((p.keyword, p.path) for p in problems) == [
        ("additionalProperties", ("country",)),
        ("additionalProperties", ("zip",)),
        ("enum", ("unit",)),
        ("required", ("city",)),
        ("type", ("days",)),
    ]
    assert "arguments.country: unexpected property" in [p.message for p in problems]


def test_alternatives_say_why_each_failed() -> None:
    [problem] = TOOLS.check("draw", {"shape": {"kind": "circle"}})
    assert problem.keyword == "oneOf" and problem.path == ("shape",)
    assert problem.message == (
        "arguments.shape: matches none of the 2 alternatives (oneOf): "
        "[1] r: required property missing "
        "[2] w: required property missing; h: required property missing; …"
    )
    [problem] = TOOLS.check("order", {"items": [{"sku": "A", "qty": 1}], "note": 5})
    assert problem.message == (
        "arguments.note: matches none of the 2 alternatives (anyOf): "
        "[1] expected string, got integer 5 [2] expected null, got integer 5"
    )
    [problem] = TOOLS.check("plot", {"count": 3})
    assert problem.message == "arguments.count: matches more than one of the 2 alternatives, must match exactly one"


def test_unknown_tool() -> None:
    assert TOOLS.check("x", {}) == [SchemaProblem((), "unknown tool 'x'", "unknown_tool")]


def test_names_and_parameters() -> None:
    assert TOOLS.names == frozenset({"get_weather", "write_file", "search", "order", "draw", "plot"})
    weather = CASES["tools"][0]["function"]["parameters"]
    assert TOOLS.parameters("get_weather") == weather
    assert TOOLS.parameters("nope") is None


def test_a_tool_without_parameters_takes_any_arguments_and_other_tool_types_are_skipped() -> None:
    tools = ToolSchemas(
        [
            {"type": "function", "function": {"name": "now"}},
            {"type": "custom", "custom": {"name": "grammar_tool"}},
            {"function": {"name": "bare", "parameters": {"type": "object", "required": ["a"]}}},  # type defaults to function
        ]
    )
    assert tools.names == frozenset({"now", "bare"})
    assert tools.parameters("now") == {}
    assert tools.check("now", {"anything": [1, None]}) == []
    assert [p.message for p in tools.check("bare", {})] == ["arguments.a: required property missing"]
    assert tools.check("grammar_tool", {})[0].keyword == "unknown_tool"
    assert ToolSchemas([]).names == frozenset()


def test_keys_that_are_not_names_are_quoted_in_paths() -> None:
    tools = ToolSchemas(
        [{"type": "function", "function": {"name": "f", "parameters": {"properties": {"a b": {"type": "integer"}, "é": {"type": "string"}}}}}]
    )
    assert [p.message for p in tools.check("f", {"a b": "x", "é": 1})] == [
        'arguments["a b"]: expected integer, got string \'x\'',
        "arguments.é: expected string, got integer 1",
    ]


def test_long_values_are_cut_in_messages() -> None:
    [problem] = TOOLS.check("get_weather", {"city": "Paris", "unit": "k" * 500})
    assert len(problem.message) < 200 and problem.message.endswith("…'")


@pytest.mark.parametrize(
    "tools, error",
    [
        ([{"type": "function", "function": {"parameters": {}}}], "tools[0]: expected"),
        ([{"type": "function"}], "tools[0]: expected"),
        ([{"type": "function", "function": {"name": ""}}], "tools[0]: expected"),
        ([{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}], "tools[1]: tool 'f' is given twice"),
        ([{"type": "function", "function": {"name": "f", "parameters": []}}], "tool 'f': parameters are not a JSON Schema object"),
        (
            [{"type": "function", "function": {"name": "f", "parameters": {"properties": {"x": {"type": "strin"}}}}}],
            "tool 'f': parameters.properties.x.type is not valid JSON Schema",
        ),
        ([{"type": "function", "function": {"name": "f", "parameters": {"$ref": "#/$defs/nope"}}}], "tool 'f': "),
    ],
)
def test_bad_tools_are_a_usage_error(tools: list[dict[str, Any]], error: str) -> None:
    with pytest.raises(UsageError) as info:
        ToolSchemas(tools)
    assert str(info.value).startswith(error)


def test_a_remote_ref_is_never_fetched() -> None:
    """The sans-IO core does no I/O: a schema served on 127.0.0.1 is not asked for."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = b'{"type": "integer"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/int.json"
        try:
            jsonschema_rs.validator_for({"$ref": url})  # the validator alone does fetch it
            assert requests == ["/int.json"]
            with pytest.raises(UsageError):
                ToolSchemas([{"type": "function", "function": {"name": "f", "parameters": {"$ref": url}}}])
            assert requests == ["/int.json"]
        finally:
            server.shutdown()


def test_the_schemas_draft_is_honoured() -> None:
    """Draft 7's array form of ``items`` checks positions; 2020-12 is the default."""
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"p": {"items": [{"type": "number"}]}}}
    tools = ToolSchemas([{"type": "function", "function": {"name": "f", "parameters": draft7}}])
    assert [p.keyword for p in tools.check("f", {"p": ["a"]})] == ["type"]
    assert tools.check("f", {"p": [1, "a"]}) == []


def test_each_schema_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[Any] = []
    real = jsonschema_rs.validator_for

    def counting(schema: Any, **options: Any) -> Any:
        compiled.append(schema)
        return real(schema, **options)

    monkeypatch.setattr(jsonschema_rs, "validator_for", counting)
    tools = ToolSchemas(CASES["tools"])
    assert len(compiled) == len(CASES["tools"])
    for case in CASES["cases"] * 3:
        tools.check(case["tool"], case["arguments"])
    assert len(compiled) == len(CASES["tools"])


def test_problems_are_frozen_and_encode_as_json() -> None:
    [problem] = TOOLS.check("get_weather", {})
    assert msgspec.json.decode(msgspec.json.encode(problem)) == {
        "path": ["city"],
        "message": "arguments.city: required property missing",
        "keyword": "required",
    }
    with pytest.raises(AttributeError):
        problem.message = "x"  # type: ignore[misc]


def test_import_streamparse_does_not_load_the_validator() -> None:
    code = "import streamparse, sys; assert 'jsonschema_rs' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=4), kids, max_size=3),
    max_leaves=10,
)
FIELDS = st.sampled_from(["city", "days", "unit", "items", "note", "shape", "point", "scores", "label", "query", "filters", "x"])


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(TOOLS.names)), arguments=st.dictionaries(FIELDS, JSON, max_size=4))
def test_any_arguments_get_a_verdict_and_located_messages(name: str, arguments: dict[str, Any]) -> None:
    problems = TOOLS.check(name, arguments)
    parameters = TOOLS.parameters(name)
    assert parameters is not None
    assert (problems == []) == jsonschema_rs.validator_for(parameters).is_valid(arguments)
    for problem in problems:
        assert problem.message.startswith("arguments")
        parent: Any = arguments
        for part in problem.path[:-1]:  # every path leads to a value, or to a property of one
            parent = parent[part]
        if problem.keyword not in ("required", "dependentRequired") and problem.path:
            parent[problem.path[-1]]


@pytest.mark.parametrize(
    "name,good,bad", [("float", 2.5, "x"), ("int64", 3, 2.5), ("dict", {"a": 1}, [1]), ("tuple", [1], {}), ("any", "x", None)]
)
def test_type_names_json_schema_lacks_are_read_as_the_typing_rules_read_them(name: str, good: object, bad: object) -> None:
    schemas = ToolSchemas([{"type": "function", "function": {"name": "f", "parameters": {"properties": {"v": {"type": name}}}}}])
    assert schemas.check("f", {"v": good}) == []
    assert (schemas.check("f", {"v": bad}) == []) is (name == "any")


def test_an_object_key_that_reads_as_a_number_stays_a_key_in_the_problem_path() -> None:
    # The validator reports the key "0" of an object as the number 0; the path must lead to the value.
    (problem,) = TOOLS.check("plot", {"scores": {"0": None}})
    assert problem.path == ("scores", "0")
    assert problem.message == 'arguments.scores["0"]: expected number, got null'
