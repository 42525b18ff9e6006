"""Input records: what a run sends, one request per JSON line.

A line holds ``id`` (required, unique: the resume key, sent as ``X-Request-Id``),
``messages`` (required), and optionally ``tools``, ``tool_choice``, ``params``
(sampling options, merged over the command line's), ``extra_body``,
``category``, ``expected`` and ``meta`` (copied to the output). ``expected``
is BFCL's possible-answer form ``{"bfcl": [{name: {param: [values]}}]}``,
plain calls ``{"calls": [{"name", "arguments"}]}``, or ``{"no_call": true}``.
Unknown keys are an error naming the line, like every other mistake.

:func:`read_bfcl` reads BFCL's own question and possible-answer files, and
:func:`synthetic` makes requests for a load test without an input file.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from ..errors import InputError

__all__ = ["Expected", "ExpectedCall", "Request", "read_bfcl", "read_requests", "synthetic"]


class ExpectedCall(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    arguments: dict[str, Any] = {}


class Expected(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """What a correct answer looks like; exactly one of the three forms."""

    bfcl: list[dict[str, dict[str, list[Any]]]] | None = None
    calls: list[ExpectedCall] | None = None
    no_call: bool = False

    def __post_init__(self) -> None:
        forms = (self.bfcl is not None) + (self.calls is not None) + self.no_call
        if forms != 1:
            raise ValueError("expected needs exactly one of bfcl, calls or no_call")
        for call in self.bfcl or ():
            if len(call) != 1:
                raise ValueError("each bfcl answer maps one function name to its parameters")

    def answers(self) -> list[dict[str, dict[str, list[Any]]]]:
        """The expected calls in BFCL's form: each parameter's acceptable values."""
        if self.bfcl is not None:
            return self.bfcl
        return [{c.name: {k: [v] for k, v in c.arguments.items()}} for c in self.calls or ()]


class Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One request of a run."""

    id: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    params: dict[str, Any] = {}
    extra_body: dict[str, Any] = {}
    category: str | None = None
    expected: Expected | None = None
    meta: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("id must not be empty")
        if not self.messages:
            raise ValueError("messages must not be empty")


_request_decoder = msgspec.json.Decoder(Request)
_any_decoder = msgspec.json.Decoder()


def _lines(path: str) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` of a JSON Lines file, blank lines skipped."""
    try:
        with open(path, "rb") as file:
            for number, line in enumerate(file, 1):
                if line.strip():
                    yield number, line
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from exc


def read_requests(path: str) -> list[Request]:
    """Every request of a JSON Lines input file, validated; ids unique."""
    out: list[Request] = []
    seen: dict[str, int] = {}
    for number, line in _lines(path):
        try:
            request = _request_decoder.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise InputError(str(exc), path=path, line=number) from exc
        if request.id in seen:
            raise InputError(f"duplicate id {request.id!r} (first on line {seen[request.id]})", path=path, line=number)
        seen[request.id] = number
        out.append(request)
    return out


# BFCL's parameter types, in JSON Schema terms (as BFCL converts them for APIs with tools).
_SCHEMA_TYPES = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "any": "string",
    "integer": "integer",
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}
_CATEGORY = re.compile(r"^(.*?)_\d+(?:-\d+)*$")
_UNSUPPORTED = ("java", "javascript", "multi_turn", "memory", "web_search", "format_sensitivity")


def _schema(node: Any) -> Any:
    """A BFCL parameter schema as JSON Schema: types renamed, recursively."""
    if isinstance(node, list):
        return [_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _schema(value) for key, value in node.items()}
    kind = node.get("type")
    if isinstance(kind, str):
        out["type"] = _SCHEMA_TYPES.get(kind, kind)
    return out


def _tool_name(name: str) -> str:
    # Function names may not hold dots in most APIs; BFCL sends them with "_" too.
    return name.replace(".", "_")


def bfcl_category(test_id: str) -> str:
    """``simple_python_3`` -> ``simple_python``; ``live_multiple_12-4-2`` -> ``live_multiple``."""
    match = _CATEGORY.match(test_id)
    return match.group(1) if match else test_id


def read_bfcl(questions: str, answers: str | None = None) -> list[Request]:
    """BFCL's question file (and its possible-answer file) as requests.

    ``answers`` defaults to ``possible_answer/<same name>`` beside the
    questions; irrelevance categories have none and expect no call. Only
    single-turn Python categories are read: the others need BFCL's
    executors or its language-specific checkers.
    """
    expected: dict[str, list[dict[str, dict[str, list[Any]]]]] = {}
    default = Path(questions).parent / "possible_answer" / Path(questions).name
    answers_path = answers if answers is not None else (str(default) if default.exists() else None)
    if answers_path is not None:
        for number, line in _lines(answers_path):
            try:
                item = _any_decoder.decode(line)
                calls = item["ground_truth"]
                expected[item["id"]] = [{_tool_name(name): args for name, args in call.items()} for call in calls]
            except (msgspec.DecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise InputError(f"not a BFCL answer: {exc!r}", path=answers_path, line=number) from exc
    out: list[Request] = []
    for number, line in _lines(questions):
        try:
            item = _any_decoder.decode(line)
            test_id = item["id"]
            turns = item["question"]
            functions = item.get("function") or []
            category = bfcl_category(test_id)
            if any(word in category for word in _UNSUPPORTED) or len(turns) != 1:
                raise InputError(f"category {category!r} is not supported (single-turn Python categories only)")
            tools = [
                {
                    "type": "function",
                    "function": {
                        "name": _tool_name(f["name"]),
                        "description": f.get("description", ""),
                        "parameters": _schema(f.get("parameters") or {"type": "object", "properties": {}}),
                    },
                }
                for f in functions
            ]
            if "irrelevance" in category:
                answer: Expected | None = Expected(no_call=True)
            elif test_id in expected:
                answer = Expected(bfcl=expected[test_id])
            else:
                answer = None
            out.append(
                Request(id=test_id, messages=list(turns[0]), tools=tools or None, category=category, expected=answer)
            )
        except InputError as exc:
            raise InputError(str(exc), path=questions, line=number) from exc
        except (msgspec.DecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise InputError(f"not a BFCL question: {exc!r}", path=questions, line=number) from exc
    return out


_WORDS = (
    "the a of to and in is that for it as with was on be by this are from at or model server token "
    "stream latency request response weather city forecast report value number time answer question"
).split()


def synthetic(count: int, *, input_len: int = 128, output_len: int = 128, seed: int = 0) -> list[Request]:
    """``count`` requests of about ``input_len`` words asking for ``output_len`` tokens
    (``max_tokens``, ``ignore_eos`` as vLLM's random dataset): a load test needs no input file."""
    rng = random.Random(seed)
    return [
        Request(
            id=f"synthetic-{i}",
            messages=[{"role": "user", "content": " ".join(rng.choice(_WORDS) for _ in range(input_len))}],
            params={"max_tokens": output_len, "ignore_eos": True},
        )
        for i in range(count)
    ]
