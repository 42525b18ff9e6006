"""The readers of content kinds, one per kind a grammar can declare (``%declare KIND``).

A new syntax is a new reader and a line in :data:`READERS`; a new model
format is a grammar file only.
"""

from __future__ import annotations

from .base import Context, Reader
from .fields import IdReader, JsonValueReader, KeyReader, NameReader, TextValueReader, ValueReader
from .harmony import BodyReader, HeaderReader
from .json_args import JsonArgsReader
from .json_calls import JsonCallsReader
from .literal_args import LiteralArgsReader
from .pythonic import PythonCallsReader
from .text import ReasoningReader, SeparatorReader, TextReader

READERS: dict[str, type[Reader]] = {
    "TEXT": TextReader,  # visible text
    "REASONING": ReasoningReader,  # reasoning text
    "SEP": SeparatorReader,  # whitespace between a block's literals (dropped)
    "CALLS": JsonCallsReader,  # JSON call objects: {"name": ..., "arguments": ...}, alone, in arrays, or several
    "ARGS": JsonArgsReader,  # one JSON object of arguments; its last brace ends the call
    "LITERAL_ARGS": LiteralArgsReader,  # a literal object of arguments: bare keys, strings between STRING_DELIMITER
    "NAME": NameReader,  # a call's name between literals
    "ID": IdReader,  # a call's id between literals (option NAME_FROM_ID: it names the call too)
    "KEY": KeyReader,  # an argument's name between literals
    "VALUE": ValueReader,  # an argument's raw value, typed by the tool's schema
    "VALUE_TEXT": TextValueReader,  # a raw value the format marks as text
    "VALUE_JSON": JsonValueReader,  # a raw value the format marks as JSON
    "PYCALLS": PythonCallsReader,  # a Python list of calls: [f(a=1), g(b='x')]
    "HEADER": HeaderReader,  # a message header (harmony), in pieces between its literals
    "BODY": BodyReader,  # a message body, read as its header says (options HEADER_CALL, HEADER_REFUSED, HEADER_REASONING)
}

__all__ = ["READERS", "Context", "Reader"]
