"""A browser's chat request, turned into OpenAI chat messages.

Three shapes are accepted:

- ``{"prompt": "..."}``: one user message.
- ``{"messages": [{"role": ..., "content": ...}, ...]}``: OpenAI messages, as they are.
- The AI SDK's ``useChat`` body, ``{"id", "messages": [UIMessage...], "trigger", ...}``,
  where each message has ``parts``: text parts become content (several become
  content parts), image files become ``image_url`` parts, and an assistant
  message becomes one assistant message per step (``step-start`` parts divide
  them), its tool parts that have a result becoming ``tool_calls`` followed by
  their ``tool`` messages. Reasoning, sources and data parts are not sent back
  to the model; a tool part without a result (the call never ran) is left out,
  since OpenAI servers reject a call without its result.

Other fields of the body are ignored: a browser does not choose the model or
the sampling parameters of the server's requests.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..errors import ChatRequestError

__all__ = ["chat_messages"]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def chat_messages(body: bytes | str | dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI messages for a request body (bytes or already decoded); :class:`ChatRequestError` if unusable."""
    if not isinstance(body, dict):
        try:
            body = _decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise ChatRequestError(f"the request body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ChatRequestError("the request body must be a JSON object")
    prompt = body.get("prompt")
    if prompt is not None:
        if not isinstance(prompt, str) or not prompt.strip():
            raise ChatRequestError("prompt must be a non-empty string")
        return [{"role": "user", "content": prompt}]
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ChatRequestError('the request needs "prompt" (a string) or "messages" (a non-empty list)')
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise ChatRequestError(f"messages[{i}] must be an object with a role of {', '.join(sorted(_ROLES))}")
        parts = message.get("parts")
        if parts is None:
            out.append(message)  # an OpenAI message: the server checks the rest
        elif not isinstance(parts, list):
            raise ChatRequestError(f"messages[{i}].parts must be a list")
        elif message["role"] == "assistant":
            out += _assistant(parts, i)
        else:
            out.append({"role": message["role"], "content": _content(parts, i)})
    return out


def _part_type(part: Any, where: str) -> str:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise ChatRequestError(f"{where} must be an object with a string type")
    return part["type"]  # type: ignore[no-any-return]


def _text(part: dict[str, Any], where: str) -> str:
    text = part.get("text")
    if not isinstance(text, str):
        raise ChatRequestError(f"{where}.text must be a string")
    return text


def _content(parts: list[Any], i: int) -> str | list[dict[str, Any]]:
    """A user or system message's content: a string, or content parts when there is more than one text or a file."""
    items: list[dict[str, Any]] = []
    for j, part in enumerate(parts):
        where = f"messages[{i}].parts[{j}]"
        kind = _part_type(part, where)
        if kind == "text":
            items.append({"type": "text", "text": _text(part, where)})
        elif kind == "file":
            media, url = part.get("mediaType"), part.get("url")
            if not (isinstance(media, str) and media.startswith("image/") and isinstance(url, str)):
                raise ChatRequestError(f"{where}: only image files can go to the model (got {media!r})")
            items.append({"type": "image_url", "image_url": {"url": url}})
    if len(items) == 1 and items[0]["type"] == "text":
        return items[0]["text"]  # type: ignore[no-any-return]
    return items


def _assistant(parts: list[Any], i: int) -> list[dict[str, Any]]:
    """One assistant message per step, each followed by the results of its calls."""
    out: list[dict[str, Any]] = []
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []

    def end_step() -> None:
        if text or calls:
            message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
            if calls:
                message["tool_calls"] = list(calls)
            out.append(message)
            out.extend(results)
        text.clear()
        calls.clear()
        results.clear()

    for j, part in enumerate(parts):
        where = f"messages[{i}].parts[{j}]"
        kind = _part_type(part, where)
        if kind == "step-start":
            end_step()
        elif kind == "text":
            text.append(_text(part, where))
        elif kind == "dynamic-tool" or kind.startswith("tool-"):
            state = part.get("state")
            if state not in ("output-available", "output-error"):
                continue
            name = part.get("toolName") if kind == "dynamic-tool" else kind[len("tool-") :]
            call_id = part.get("toolCallId")
            if not isinstance(name, str) or not isinstance(call_id, str):
                raise ChatRequestError(f"{where} needs a string toolCallId and tool name")
            arguments = part.get("input")
            calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": name,
                        # Invalid input is kept as the model wrote it.
                        "arguments": arguments if isinstance(arguments, str) else _encode(arguments or {}).decode(),
                    },
                }
            )
            result = part.get("output") if state == "output-available" else {"error": part.get("errorText")}
            content = result if isinstance(result, str) else _encode(result).decode()
            results.append({"role": "tool", "tool_call_id": call_id, "content": content})
    end_step()
    return out
