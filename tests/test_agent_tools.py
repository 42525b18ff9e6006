"""Declaring tools: schemas from signatures and docstrings, arguments decoded into the annotated types."""

from __future__ import annotations

import asyncio
import enum
import functools
from typing import Annotated, Any, Literal

import msgspec
import pytest

from streamparse import Tool, ToolArgumentsError, UsageError, tool
from streamparse.agent.docstrings import read_docstring


def google(city: str, days: int = 1) -> None:
    """Weather forecast for a city.

    Uses the demo table.

    Args:
        city: City name,
            e.g. Paris.
        days (int): How many days
            ahead.

    Returns:
        The forecast.
    """


def numpy_style(city: str, days: int = 1) -> None:
    """Weather forecast for a city.

    Parameters
    ----------
    city : str
        City name.
    days : int, optional
        How many days.

    Returns
    -------
    dict
        The forecast.
    """


def sphinx(city: str, days: int = 1) -> None:
    """Weather forecast for a city.

    :param city: City name.
    :param int days: How many
        days.
    :returns: The forecast.
    """


@pytest.mark.parametrize("function", [google, numpy_style, sphinx], ids=["google", "numpy", "sphinx"])
def test_docstring_styles(function: Any) -> None:
    description, params = read_docstring(function.__doc__)
    assert description.startswith("Weather forecast for a city.")
    assert params["city"].startswith("City name") and params["days"].startswith("How many")
    assert "Returns" not in description and "forecast." not in params["days"]


def test_docstring_edges() -> None:
    assert read_docstring(None) == ("", {})
    assert read_docstring("One line.") == ("One line.", {})
    assert read_docstring("Title.\n\n    Body: with a colon.\n") == ("Title.\n\nBody: with a colon.", {})
    assert read_docstring(google.__doc__)[0] == "Weather forecast for a city.\n\nUses the demo table."


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


class Place(msgspec.Struct):
    lat: float
    lon: float


@tool
async def forecast(
    city: Annotated[str, msgspec.Meta(description="Where.")],
    unit: Unit = Unit.C,
    mode: Literal["brief", "full"] = "brief",
    place: Place | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """Forecast.

    Args:
        city: Ignored: the annotation's description wins.
        unit: Temperature unit.
    """
    return {"city": city, "unit": unit.value, "mode": mode, "place": place, "tags": tags}


def test_schema_from_signature_and_docstring() -> None:
    assert forecast.spec["type"] == "function"
    function = forecast.spec["function"]
    assert function["name"] == "forecast" and function["description"] == "Forecast."
    schema = function["parameters"]
    assert schema["type"] == "object" and schema["required"] == ["city"] and schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["city"] == {"type": "string", "description": "Where."}
    assert props["unit"] == {"$ref": "#/$defs/Unit", "default": "celsius", "description": "Temperature unit."}
    assert props["mode"] == {"enum": ["brief", "full"], "default": "brief"}
    assert props["place"]["anyOf"][0] == {"$ref": "#/$defs/Place"}
    assert set(schema["$defs"]) == {"Unit", "Place"} and "title" not in schema


def test_arguments_are_decoded_into_the_annotated_types() -> None:
    run = forecast.bind({"city": "Paris", "unit": "fahrenheit", "place": {"lat": "48.8", "lon": 2}})
    result = asyncio.run(run())  # type: ignore[arg-type]
    assert result == {"city": "Paris", "unit": "fahrenheit", "mode": "brief", "place": Place(48.8, 2.0), "tags": None}
    for arguments, error in [
        ({}, "Object missing required field `city`"),
        ({"city": "Paris", "unit": "kelvin"}, "Invalid enum value 'kelvin' - at `$.unit`"),
        ({"city": "Paris", "place": {"lat": 1}}, "Object missing required field `lon` - at `$.place`"),
        ({"city": "Paris", "town": "x"}, "Object contains unknown field `town`"),
    ]:
        with pytest.raises(ToolArgumentsError, match=error.replace("$", r"\$")):
            forecast.bind(arguments)


def test_a_tool_is_still_its_function() -> None:
    @tool(name="add_numbers", description="Adds.", timeout=3)
    def add(a: int, b: int = 2, /) -> int:
        return a + b

    assert add(1) == 3 and add.__name__ == "add" and add.name == "add_numbers" and add.timeout == 3
    assert add.spec["function"]["description"] == "Adds."
    assert asyncio.run(add.bind({"a": "40"})()) == 42  # positional-only parameters, a string number


def test_callables_of_every_kind() -> None:
    class Counter:
        def __init__(self) -> None:
            self.total = 0

        def add(self, n: int) -> int:
            """Add n."""
            self.total += n
            return self.total

    class Lookup:
        async def __call__(self, key: str) -> str:
            """Upper case."""
            return key.upper()

    counter = Counter()
    method = Tool(counter.add)
    assert method.name == "add" and list(method.parameters["properties"]) == ["n"] and not method.is_async
    assert asyncio.run(method.bind({"n": 2})()) == 2
    lookup = Tool(Lookup(), name="lookup")
    assert lookup.is_async and asyncio.run(lookup.bind({"key": "a"})()) == "A"
    assert lookup.description == "Upper case."
    partial = Tool(functools.partial(forecast.function, mode="full"), name="full_forecast")
    assert partial.is_async and partial.parameters["required"] == ["city"] and partial.description == "Forecast."
    assert partial.parameters["properties"]["mode"]["default"] == "full"  # a partial's keyword: a new default
    untyped = Tool(lambda x, y=1: x, name="untyped")
    assert untyped.parameters["properties"] == {"x": {}, "y": {"default": 1}}


class Opaque:
    """A type msgspec has no schema for."""


def test_bad_declarations_are_usage_errors() -> None:
    class Local: ...

    def variadic(*args: int) -> None: ...

    def opaque(thing: Opaque) -> None: ...

    def local(thing: Local) -> None: ...  # a string annotation (future import) naming a local class

    with pytest.raises(UsageError, match="name every parameter"):
        Tool(variadic)
    with pytest.raises(UsageError, match="(?s)tool opaque: .*Opaque'> is not supported"):
        Tool(opaque)
    with pytest.raises(UsageError, match="tool local: cannot read its signature: name 'Local' is not defined"):
        Tool(local)
    with pytest.raises(UsageError, match="pass name="):
        Tool(lambda: None)
    with pytest.raises(UsageError, match="pass name="):
        Tool(forecast.function, name="has space")
