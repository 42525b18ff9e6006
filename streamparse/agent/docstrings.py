"""A function's description and its parameters' descriptions, read from its docstring.

Three common styles are understood; anything else is all description::

    Google                    NumPy                     Sphinx
    Args:                     Parameters                :param city: City name.
        city: City name.      ----------                :param int days: How many.
        days (int): How many.  city : str
                                  City name.
"""

from __future__ import annotations

import inspect
import re

__all__ = ["read_docstring"]

# A Google section header ("Args:", "Returns:") or a NumPy one (a word, then a line of dashes).
_GOOGLE_SECTION = re.compile(
    r"(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters|Returns?|Yields?|"
    r"Raises|Examples?|Notes?|Warnings?|Attributes|See Also|References|Todo):\s*",
    re.IGNORECASE,
)
_PARAM_SECTIONS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments", "other parameters"}
_DASHES = re.compile(r"-{3,}\s*")
_GOOGLE_ENTRY = re.compile(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")
_NUMPY_ENTRY = re.compile(r"\*{0,2}(\w+)\s*(?::.*)?")
_SPHINX_PARAM = {"param", "parameter", "arg", "argument", "key", "keyword"}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(lines: list[str]) -> str:
    return " ".join(line.strip() for line in lines if line.strip())


def read_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """``(description, {parameter: description})``; the description keeps its paragraphs."""
    lines = inspect.cleandoc(doc or "").splitlines()
    description: list[str] = []
    params: dict[str, str] = {}
    sections = False  # the description ends where the first section or field starts
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        next_line = lines[i + 1] if i + 1 < len(lines) else ""
        if _indent(line) == 0 and _GOOGLE_SECTION.fullmatch(stripped):
            sections = True
            i = _google(lines, i + 1, params if stripped[:-1].strip().lower() in _PARAM_SECTIONS else None)
        elif _indent(line) == 0 and stripped and _DASHES.fullmatch(next_line.strip()):
            sections = True
            i = _numpy(lines, i + 2, params if stripped.lower() in _PARAM_SECTIONS else None)
        elif stripped.startswith(":"):
            sections = True
            i = _sphinx(lines, i, params)
        else:
            if not sections:
                description.append(line)
            i += 1
    return "\n".join(description).strip(), params


def _block(lines: list[str], i: int, indent: int) -> int:
    """The end of the lines from ``i`` indented more than ``indent`` (blank lines included)."""
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
        i += 1
    return i


def _google(lines: list[str], i: int, params: dict[str, str] | None) -> int:
    end = _block(lines, i, 0)
    entry: str | None = None
    entry_indent = 0
    text: list[str] = []
    for line in lines[i:end]:
        match = _GOOGLE_ENTRY.fullmatch(line.strip())
        if match and (entry is None or _indent(line) <= entry_indent):
            if entry is not None and params is not None:
                params[entry] = _join(text)
            entry, entry_indent, text = match.group(1), _indent(line), [match.group(2)]
        elif entry is not None:
            text.append(line)
    if entry is not None and params is not None:
        params[entry] = _join(text)
    return end


def _numpy(lines: list[str], i: int, params: dict[str, str] | None) -> int:
    while i < len(lines):
        line = lines[i]
        if _indent(line) == 0 and line.strip():
            if i + 1 < len(lines) and _DASHES.fullmatch(lines[i + 1].strip()):
                return i  # the next section
            match = _NUMPY_ENTRY.fullmatch(line.strip())
            end = _block(lines, i + 1, 0)
            if match and params is not None:
                params[match.group(1)] = _join(lines[i + 1 : end])
            i = end
        else:
            i += 1
    return i


def _sphinx(lines: list[str], i: int, params: dict[str, str]) -> int:
    end = _block(lines, i + 1, _indent(lines[i]))
    field, colon, text = lines[i].strip()[1:].partition(":")
    words = field.split()  # "param city" or "param str city"
    if colon and len(words) >= 2 and words[0] in _SPHINX_PARAM:
        params[words[-1]] = _join([text, *lines[i + 1 : end]])
    return end
