"""streamparse events as the Vercel AI SDK's UI message stream (protocol v1).

A front end built on the AI SDK (``useChat``, ``readUIMessageStream``) reads
SSE events ``data: {"type": "text-delta", ...}``, ending with ``data: [DONE]``;
the response carries ``x-vercel-ai-ui-message-stream: v1``. The mapping:

- ``TextDelta`` / ``ReasoningDelta``: ``text-*`` / ``reasoning-*`` parts; a part
  ends when something else comes between (so parts keep the order the model
  wrote them in) and at the end of each response.
- ``ToolCallStart`` / ``ToolCallDelta`` / ``ToolCallEnd``: ``tool-input-start``,
  ``tool-input-delta`` (the raw JSON fragments), ``tool-input-available``.
- ``InvalidToolCall``: ``tool-input-error`` with the raw text as ``input``; a
  block that never got a name is a dynamic tool part with an empty name.
- An agent's ``ToolFinished``: ``tool-output-available`` with the result (the
  tool message's content, decoded when it is JSON), or ``tool-output-error``
  with the error's message when the tool failed, timed out or could not run.
- ``Finish``: ``finish-step``; each response is a step (``start-step``), and the
  stream ends with one ``finish`` carrying the last finish reason.
- A :class:`~streamparse.errors.StreamParseError` from the events: the open parts
  end, then ``error`` and ``finish`` with reason ``error``.

Other events (argument values per field, an agent's turn and tool-started
marks) have no counterpart in the protocol and are left out:
``tool-input-delta`` carries the same text, and the AI SDK parses it itself.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator, AsyncIterable, Callable
from typing import Any

import msgspec

from ..agent.events import ToolFinished
from ..core.events import Finish, InvalidToolCall, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart
from ..errors import StreamParseError
from .framing import SSE_HEADERS, error_message, sse

__all__ = ["UI_MESSAGE_STREAM_HEADERS", "UIMessageChunks", "ui_message_stream"]

UI_MESSAGE_STREAM_HEADERS = {**SSE_HEADERS, "x-vercel-ai-ui-message-stream": "v1"}

# OpenAI finish reasons in the AI SDK's words (these, "other" and "error" are in every v5+ schema).
_FINISH_REASONS = {"stop": "stop", "length": "length", "tool_calls": "tool-calls", "content_filter": "content-filter"}

DONE = b"data: [DONE]\n\n"
_decode = msgspec.json.Decoder().decode


def _decoded(content: str) -> Any:
    """A tool message's content as the value it encodes; text that is not JSON as it is."""
    try:
        return _decode(content)
    except msgspec.DecodeError:
        return content


class UIMessageChunks:
    """Sans-IO: events in, UI message chunks (dicts) out, for one assistant message."""

    def __init__(self, *, message_id: str | None = None) -> None:
        self.message_id = message_id or f"msg-{secrets.token_hex(12)}"
        self._parts = 0
        self._open: tuple[str, str] | None = None  # the text or reasoning part being written: (kind, id)
        self._in_step = False
        self._calls: dict[int, tuple[str, str]] = {}  # index -> (id, name), per response
        self._finish_reason = "stop"

    def start(self) -> list[dict[str, Any]]:
        return [{"type": "start", "messageId": self.message_id}]

    def event(self, event: object) -> list[dict[str, Any]]:
        """The chunks for one event (none for events the protocol has no place for)."""
        kind = type(event)
        if kind is TextDelta or kind is ReasoningDelta:
            text: str = event.text  # type: ignore[attr-defined]
            if not text:
                return []
            part = "text" if kind is TextDelta else "reasoning"
            out = self._step()
            if self._open is None or self._open[0] != part:
                out += self._end_part()
                self._parts += 1
                self._open = (part, f"{part}-{self._parts}")
                out.append({"type": f"{part}-start", "id": self._open[1]})
            out.append({"type": f"{part}-delta", "id": self._open[1], "delta": text})
            return out
        if isinstance(event, ToolCallDelta):
            call_id = self._calls[event.index][0]
            return [{"type": "tool-input-delta", "toolCallId": call_id, "inputTextDelta": event.arguments}]
        if isinstance(event, ToolCallStart):
            out = self._step() + self._end_part()
            self._calls[event.index] = (event.id, event.name)
            out.append({"type": "tool-input-start", "toolCallId": event.id, "toolName": event.name})
            return out
        if isinstance(event, ToolCallEnd):
            out = self._step() + self._end_part()
            out.append(
                {"type": "tool-input-available", "toolCallId": event.id, "toolName": event.name, "input": event.arguments}
            )
            return out
        if isinstance(event, InvalidToolCall):
            out = self._step() + self._end_part()
            started = self._calls.get(event.index)
            chunk: dict[str, Any] = {"type": "tool-input-error", "input": event.raw, "errorText": event.error}
            if started is None:  # no name was ever read: not a call of any known tool
                chunk.update(toolCallId=f"invalid-{secrets.token_hex(8)}", toolName="", dynamic=True)
            else:
                chunk.update(toolCallId=started[0], toolName=started[1])
            out.append(chunk)
            return out
        if isinstance(event, ToolFinished):
            output = _decoded(event.content)
            if event.status == "ok":
                return [{"type": "tool-output-available", "toolCallId": event.id, "output": output}]
            error = output.get("error") if isinstance(output, dict) else None
            text = error if isinstance(error, str) else event.content
            return [{"type": "tool-output-error", "toolCallId": event.id, "errorText": text}]
        if isinstance(event, Finish):
            out = self._step() + self._end_part()
            out.append({"type": "finish-step"})
            self._in_step = False
            self._calls = {}
            self._finish_reason = _FINISH_REASONS.get(event.finish_reason or "stop", "other")
            return out
        return []

    def error(self, text: str) -> list[dict[str, Any]]:
        """The stream failed: close what is open, report it, finish."""
        out = self._end_part()
        if self._in_step:
            out.append({"type": "finish-step"})
            self._in_step = False
        out.append({"type": "error", "errorText": text})
        self._finish_reason = "error"
        return out + self.finish()

    def finish(self) -> list[dict[str, Any]]:
        out = self._end_part()
        if self._in_step:
            out.append({"type": "finish-step"})
            self._in_step = False
        out.append({"type": "finish", "finishReason": self._finish_reason})
        return out

    def _step(self) -> list[dict[str, Any]]:
        if self._in_step:
            return []
        self._in_step = True
        return [{"type": "start-step"}]

    def _end_part(self) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        kind, part_id = self._open
        self._open = None
        return [{"type": f"{kind}-end", "id": part_id}]


async def ui_message_stream(
    events: AsyncIterable[object],
    *,
    message_id: str | None = None,
    on_error: Callable[[Exception], str] = error_message,
) -> AsyncGenerator[bytes, None]:
    """The UI message stream of ``events`` (a ``Client.stream``, an agent run...), as SSE bytes.

    Send it with :data:`UI_MESSAGE_STREAM_HEADERS`. A
    :class:`~streamparse.errors.StreamParseError` raised by ``events`` becomes
    an ``error`` chunk whose text is ``on_error(exc)`` (pass one that hides
    details from a public page); the stream then finishes normally.
    """
    chunks = UIMessageChunks(message_id=message_id)
    for chunk in chunks.start():
        yield sse(chunk)
    try:
        async for event in events:
            for chunk in chunks.event(event):
                yield sse(chunk)
    except StreamParseError as exc:
        tail = chunks.error(on_error(exc))
    else:
        tail = chunks.finish()
    for chunk in tail:
        yield sse(chunk)
    yield DONE
