"""Tools declared from Python functions: a JSON schema from the signature, typed arguments in.

::

    @tool
    async def get_weather(city: str, days: int = 1) -> dict[str, Any]:
        \"\"\"Weather forecast for a city.

        Args:
            city: City name, e.g. Paris.
            days: How many days ahead.
        \"\"\"

``get_weather.spec`` is the OpenAI ``tools`` entry; the parameters' JSON
schema comes from the annotations (msgspec), the descriptions from the
docstring (Google, NumPy or Sphinx style) or from
``Annotated[str, msgspec.Meta(description=...)]``.  ``await
get_weather.bind({"city": "Paris", "days": "2"})()`` decodes the model's
arguments into the annotated types (numbers written as strings are
accepted; unknown or missing arguments are an error) and calls the function.
A ``Tool`` is still callable as the function it wraps.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any, Generic, ParamSpec, TypeVar, overload

import msgspec

from ..errors import ToolArgumentsError, UsageError
from .docstrings import read_docstring

__all__ = ["Tool", "tool"]

P = ParamSpec("P")
R = TypeVar("R")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what OpenAI accepts as a function name
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _docstring(function: Callable[..., Any]) -> str | None:
    """The function's docstring: a partial's function's, a callable object's class's or ``__call__``'s."""
    while isinstance(function, functools.partial):
        function = function.func
    doc = inspect.getdoc(function)
    if doc is None and not inspect.isroutine(function):
        doc = inspect.getdoc(type(function).__call__)
    return doc


def _is_async(function: Callable[..., Any]) -> bool:
    call = getattr(function, "__call__", None)  # a callable object with an async __call__
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(call)


class Tool(Generic[P, R]):
    """A function the model can call: its name, description, parameters schema and typed decoding.

    ``timeout`` (seconds) overrides the runner's per-tool timeout for this tool
    (``math.inf``: none; None: the runner's).
    ``async def`` functions are awaited on the event loop; other functions run in
    a worker thread so the stream goes on meanwhile (a thread cannot be stopped:
    after a timeout or a cancellation the runner no longer waits for it, but it
    runs to its end).
    """

    def __init__(
        self,
        function: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.function = function
        self.name: str = name or str(getattr(function, "__name__", ""))
        if not _NAME.fullmatch(self.name):
            raise UsageError(f"tool name {self.name!r} must be 1-64 letters, digits, _ or -; pass name=")
        summary, documented = read_docstring(_docstring(function))
        self.description = summary if description is None else description
        self.timeout = timeout
        self.is_async = _is_async(function)
        self._positional, self._arguments = self._declare(function)
        self.parameters = self._schema(documented)
        functools.update_wrapper(self, function)  # a Tool reads as its function (name, doc, signature)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the function itself, as if it were not a tool."""
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    def _declare(self, function: Callable[..., Any]) -> tuple[list[str], type[msgspec.Struct]]:
        """The positional-only parameter names, and a Struct of all parameters to decode arguments with."""
        try:
            signature = inspect.signature(function, eval_str=True)  # string annotations resolved
        except (TypeError, ValueError, NameError) as exc:
            raise UsageError(f"tool {self.name}: cannot read its signature: {exc}") from exc
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        positional: list[str] = []
        for param in signature.parameters.values():
            if param.kind in _VARIADIC:
                raise UsageError(f"tool {self.name}: *args and **kwargs have no schema; name every parameter")
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                positional.append(param.name)
            hint = Any if param.annotation is inspect.Parameter.empty else param.annotation
            if param.default is inspect.Parameter.empty:
                fields.append((param.name, hint))
            else:
                fields.append((param.name, hint, param.default))
        try:
            struct = msgspec.defstruct(self.name, fields, kw_only=True, forbid_unknown_fields=True)
            msgspec.json.schema(struct)  # fails here, not at the first call, on a type msgspec cannot map
        except (TypeError, ValueError) as exc:
            raise UsageError(f"tool {self.name}: {exc}") from exc
        return positional, struct

    def _schema(self, documented: dict[str, str]) -> dict[str, Any]:
        """The parameters' JSON schema: the Struct's, with nested types under ``$defs``."""
        (ref,), components = msgspec.json.schema_components([self._arguments], ref_template="#/$defs/{name}")
        schema: dict[str, Any] = dict(components.pop(ref["$ref"].rsplit("/", 1)[-1]))
        schema.pop("title", None)
        properties: dict[str, Any] = schema.setdefault("properties", {})
        for param, text in documented.items():
            if param in properties and text:
                properties[param].setdefault("description", text)
        if components:
            schema["$defs"] = components
        return schema

    @property
    def spec(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry."""
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = self.parameters
        return {"type": "function", "function": function}

    def bind(self, arguments: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
        """Decode the model's ``arguments``; a call of the function with them, awaitable.

        Raises :class:`ToolArgumentsError` when they do not fit the parameters.
        """
        try:
            decoded = msgspec.convert(arguments, self._arguments, strict=False)
        except msgspec.ValidationError as exc:
            raise ToolArgumentsError(str(exc)) from None
        kwargs = msgspec.structs.asdict(decoded)
        args = [kwargs.pop(name) for name in self._positional]
        call = functools.partial(self.function, *args, **kwargs)
        if self.is_async:
            return call  # type: ignore[return-value]  # an async function: the call is a coroutine
        return functools.partial(_in_thread, call)


async def _in_thread(call: Callable[[], Any]) -> Any:
    result = await asyncio.to_thread(call)
    if inspect.isawaitable(result):  # a sync wrapper that hands back a coroutine
        result = await result
    return result


@overload
def tool(function: Callable[P, R], /) -> Tool[P, R]: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout: float | None = None
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(
    function: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Declare a tool: ``@tool`` or ``@tool(name=..., description=..., timeout=...)``."""
    if function is not None:
        return Tool(function, name=name, description=description, timeout=timeout)
    return lambda f: Tool(f, name=name, description=description, timeout=timeout)
