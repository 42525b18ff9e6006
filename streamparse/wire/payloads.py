"""msgspec types for what an OpenAI-compatible server sends, and their decoders.

Every field is ``T | None = None``: servers send null and leave fields out
interchangeably, and a field we do not read is ignored (msgspec skips unknown
keys), so new server fields never break decoding; ``Usage``, from
:mod:`streamparse.core.events`, follows the same rule. Decoders are built once, at import. Garbage raises
:class:`msgspec.DecodeError` (``ValidationError`` is a subclass); the client
wraps it.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ..core.events import Usage

__all__ = [
    "DONE",
    "ChatCompletion",
    "ChunkChoice",
    "CompletionChoice",
    "ErrorDetail",
    "FunctionPart",
    "MessagePart",
    "StreamPayload",
    "ToolCallPart",
    "decode_completion",
    "decode_error_body",
    "decode_payload",
]

# The data of the stream's last event; it is not JSON, so test it before decoding.
DONE = "[DONE]"

# gc=False on every type: decoded JSON cannot hold a reference cycle, and
# untracked objects make the garbage collector run less often and faster
# (half the cost per chunk when a client keeps the chunks).


class FunctionPart(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """``function`` of a tool call: in a delta, either part may come alone."""

    name: str | None = None
    # vLLM sends a JSON string; some servers send the object itself.
    arguments: str | dict[str, Any] | None = None


class ToolCallPart(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One entry of ``tool_calls``. Streamed entries are fragments to merge by
    ``index``; a non-streaming message has whole calls (and may lack ``index``)."""

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: FunctionPart | None = None


class MessagePart(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A streamed ``delta`` or a whole ``message``: OpenAI gives both one shape."""

    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallPart] | None = None

    @property
    def reasoning_text(self) -> str | None:
        """The reasoning, whichever name the server used. Servers in the middle
        of the rename send both with the same text: never add them up."""
        return self.reasoning if self.reasoning is not None else self.reasoning_content


class ChunkChoice(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One choice of a ``chat.completion.chunk``."""

    index: int | None = None
    delta: MessagePart | None = None
    finish_reason: str | None = None
    # vLLM: the stop string (str) or stop token id (int) that ended the choice.
    stop_reason: int | str | None = None


class ErrorDetail(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The body of an error, in either shape the servers send."""

    message: str | None = None
    type: str | None = None
    param: Any = None
    code: int | str | None = None


class StreamPayload(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Anything a stream's ``data:`` can carry except ``[DONE]``: a chunk, a
    usage-only chunk (``choices == []``), or an error: nested
    ``{"error": {...}}``, a bare ``{"error": "text"}``, or flat
    ``{"object": "error", "message": ...}``. One type, so one decode pass."""

    id: str | None = None
    object: str | None = None
    model: str | None = None
    choices: list[ChunkChoice] | None = None
    usage: Usage | None = None
    error: ErrorDetail | str | None = None
    # Flat error fields (vLLM < 0.10.1).
    message: str | None = None
    type: str | None = None
    param: Any = None
    code: int | str | None = None

    def error_detail(self) -> ErrorDetail | None:
        """The error this payload carries, whatever its shape; None for a chunk."""
        if isinstance(self.error, ErrorDetail):
            return self.error
        if self.error is not None:
            return ErrorDetail(message=self.error)
        if self.object == "error":
            return ErrorDetail(message=self.message, type=self.type, param=self.param, code=self.code)
        return None


class CompletionChoice(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One choice of a non-streaming ``chat.completion``."""

    index: int | None = None
    message: MessagePart | None = None
    finish_reason: str | None = None
    stop_reason: int | str | None = None


class ChatCompletion(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A non-streaming ``chat.completion`` response."""

    id: str | None = None
    object: str | None = None
    model: str | None = None
    choices: list[CompletionChoice] | None = None
    usage: Usage | None = None


_payload_decoder = msgspec.json.Decoder(StreamPayload)
_completion_decoder = msgspec.json.Decoder(ChatCompletion)

# An escaped backslash or a surrogate pair, kept; else a lone surrogate escape, replaced.
_SURROGATE_ESCAPE = re.compile(
    r"(?P<keep>\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)


def _lone_surrogates_replaced(data: str) -> str:
    return _SURROGATE_ESCAPE.sub(lambda m: m.group("keep") or "\\ufffd", data)


def _decode_again(decoder: msgspec.json.Decoder[Any], data: str | bytes, error: Exception, what: str) -> Any:
    """After a failed decode: a lone UTF-16 surrogate escape (``"\\ud800"``) becomes
    U+FFFD rather than failing the whole payload; anything else fails as it did."""
    if isinstance(error, UnicodeDecodeError):  # only bytes input can raise it
        raise msgspec.DecodeError(f"{what} is not UTF-8: {error}") from error
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    repaired = _lone_surrogates_replaced(text)
    if repaired == text:
        raise error
    return decoder.decode(repaired)


def decode_payload(data: str | bytes) -> StreamPayload:
    """Decode one SSE ``data`` payload (test for :data:`DONE` first)."""
    try:
        return _payload_decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        payload: StreamPayload = _decode_again(_payload_decoder, data, exc, "payload")
        return payload


def decode_completion(body: str | bytes) -> ChatCompletion:
    """Decode a non-streaming response body."""
    try:
        return _completion_decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        completion: ChatCompletion = _decode_again(_completion_decoder, body, exc, "response body")
        return completion


def decode_error_body(body: bytes) -> tuple[str, str | None, int | str | None, str | None]:
    """``(message, type, code, param)`` of an HTTP error body in either JSON
    shape; for any other body (HTML from a proxy, plain text, unknown JSON)
    the body's text is the message."""
    try:
        detail = _payload_decoder.decode(body).error_detail()
    except (msgspec.DecodeError, UnicodeDecodeError):
        detail = None
    if detail is None or detail.message is None:
        return body.decode("utf-8", "replace").strip(), None, None, None
    return detail.message, detail.type, detail.code, detail.param
