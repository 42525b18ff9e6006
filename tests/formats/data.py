"""Arguments that several peers' common parser tests use: one value of every JSON type."""

from __future__ import annotations

from typing import Any

EVERY_TYPE: dict[str, Any] = {
    "string_field": "hello",
    "int_field": 42,
    "float_field": 3.14,
    "bool_field": True,
    "null_field": None,
    "array_field": ["a", "b", "c"],
    "object_field": {"nested": "value"},
    "empty_array": [],
    "empty_object": {},
}
