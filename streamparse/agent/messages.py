"""What the runner writes into the conversation: tool results, errors the model can read, notes.

A result is the ``tool`` message's content: a string as it is, anything else
as JSON. Every failure is JSON too, ``{"error": "..."}``, so the model reads
what went wrong and can try again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from ..core.events import InvalidToolCall

__all__ = ["error_content", "invalid_calls_note", "result_content", "tool_message"]

_encode = msgspec.json.encode


def result_content(result: Any) -> str:
    """A tool's return value as message content; raises ``TypeError`` if it is not JSON-encodable."""
    return result if isinstance(result, str) else _encode(result).decode()


def error_content(message: str) -> str:
    return _encode({"error": message}).decode()


def tool_message(call_id: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def invalid_calls_note(invalid: Sequence[InvalidToolCall]) -> dict[str, Any]:
    """One ``user`` message quoting each call that could not be read, and why.

    Not a ``tool`` message: an invalid call has no call id to answer, and
    OpenAI-compatible servers reject a tool message that answers none.
    """
    lines = ["These tool calls could not be read, so they were not run:"]
    for call in invalid:
        lines.append(f"- call {call.index} ({call.error}): {call.raw}")
    return {"role": "user", "content": "\n".join(lines)}
