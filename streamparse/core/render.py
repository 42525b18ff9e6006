"""Writing model output in a format: the inverse of parsing, for scripted models and tests.

A format's grammar carries its templates as options (terminals no rule uses):

==========================  ====================================================
``RENDER_CALL``             one call: ``{name}``, ``{name_json}``, ``{id}``,
                            ``{index}``, ``{arguments}`` (compact JSON),
                            ``{parameters}``, ``{pyargs}`` (``k=<Python literal>``)
``RENDER_PARAMETER``        one argument of ``{parameters}``: ``{key}``, ``{value}``
                            (strings raw, other values JSON)
``RENDER_PARAMETER_JSON``   the same for a value that is not a string, if it differs
``RENDER_CALLS``            around all the calls: ``{calls}``
``RENDER_CALL_SEP``         between two calls
``RENDER_REASONING``        ``{reasoning}`` (a format without it cannot write reasoning)
``RENDER_TEXT``             ``{text}`` (default: the text as it is)
==========================  ====================================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import FormatError
from .formats import Format, load_format


def dumps(value: Any) -> str:
    """JSON the way models write it: a space after each separator, characters as they are."""
    return json.dumps(value, ensure_ascii=False)


_FIELD = re.compile(r"\{([a-z_]+)\}")


def _option(fmt: Format, name: str) -> str | None:
    value = fmt.options.get(name)
    return value if isinstance(value, str) else None


def _python(value: Any) -> str:
    """A Python literal for JSON data."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_python(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_python(v)}" for k, v in value.items()) + "}"
    return repr(value)


def render(
    format: str | Format,
    *,
    text: str = "",
    reasoning: str | None = None,
    calls: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> str:
    """Model output in ``format``: its reasoning, then its text, then its calls ``(name, arguments)``."""
    fmt = format if isinstance(format, Format) else load_format(format)
    out: list[str] = []
    if reasoning is not None:
        template = _option(fmt, "RENDER_REASONING")
        if template is None:
            raise FormatError(f"format {fmt.name!r} cannot write reasoning (no RENDER_REASONING)")
        out.append(_fill(template, {"reasoning": reasoning}))
    if text:
        out.append(_fill(_option(fmt, "RENDER_TEXT") or "{text}", {"text": text}))
    if calls:
        template = _option(fmt, "RENDER_CALL")
        if template is None:
            raise FormatError(f"format {fmt.name!r} cannot write calls (no RENDER_CALL)")
        rendered = [_call(fmt, template, index, name, dict(arguments)) for index, (name, arguments) in enumerate(calls)]
        joined = (_option(fmt, "RENDER_CALL_SEP") or "").join(rendered)
        out.append(_fill(_option(fmt, "RENDER_CALLS") or "{calls}", {"calls": joined}))
    return "".join(out)


def _fill(template: str, fields: Mapping[str, str]) -> str:
    """``template`` with its ``{field}`` placeholders filled in one pass (what is filled in is not re-read)."""
    return _FIELD.sub(lambda m: fields.get(m.group(1), m.group(0)), template)


def _call(fmt: Format, template: str, index: int, name: str, arguments: dict[str, Any]) -> str:
    parameter = _option(fmt, "RENDER_PARAMETER") or ""
    typed = _option(fmt, "RENDER_PARAMETER_JSON") or parameter
    parameters = "".join(
        _fill(
            parameter if isinstance(value, str) else typed,
            {"key": key, "value": value if isinstance(value, str) else dumps(value)},
        )
        for key, value in arguments.items()
    )
    fields = {
        "name_json": dumps(name),
        "name": name,
        "id": f"call_{index}",
        "index": str(index),
        "arguments": dumps(arguments),
        "parameters": parameters,
        "pyargs": ", ".join(f"{key}={_python(value)}" for key, value in arguments.items()),
    }
    return _fill(template, fields)
