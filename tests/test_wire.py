"""Tests for the wire types: every chunk shape vLLM and other servers send decodes."""

from __future__ import annotations

import msgspec
import pytest

from streamparse.core.events import Usage
from streamparse.wire.sse import SSEDecoder
from streamparse.wire.payloads import (
    DONE,
    ChatCompletion,
    ErrorDetail,
    FunctionPart,
    MessagePart,
    StreamPayload,
    ToolCallPart,
    decode_completion,
    decode_error_body,
    decode_payload,
)

HEAD = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",'


def chunk(choice: str) -> StreamPayload:
    return decode_payload(HEAD + '"choices":[' + choice + "]}")


def delta(choice: str) -> MessagePart:
    payload = chunk(choice)
    assert payload.choices is not None and payload.choices[0].delta is not None
    return payload.choices[0].delta


def test_first_chunk_role_and_empty_content() -> None:
    payload = chunk('{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}')
    assert payload.id == "chatcmpl-1" and payload.model == "m"
    assert payload.choices is not None
    choice = payload.choices[0]
    assert choice.index == 0 and choice.finish_reason is None
    assert choice.delta == MessagePart(role="assistant", content="")
    assert payload.error_detail() is None


def test_empty_delta() -> None:
    assert delta('{"index":0,"delta":{}}') == MessagePart()


def test_null_and_missing_are_alike() -> None:
    explicit = delta('{"index":0,"delta":{"role":null,"content":null,"reasoning":null,"tool_calls":null}}')
    assert explicit == MessagePart()
    assert chunk('{"index":null,"delta":null,"finish_reason":null,"stop_reason":null}').choices == chunk("{}").choices


def test_tool_call_start_then_argument_fragments() -> None:
    start = delta(
        '{"index":0,"delta":{"content":null,"tool_calls":[{"id":"chatcmpl-tool-9f","type":"function",'
        '"index":0,"function":{"name":"get_weather"}}]}}'
    )
    assert start.content is None
    assert start.tool_calls == [
        ToolCallPart(index=0, id="chatcmpl-tool-9f", type="function", function=FunctionPart(name="get_weather"))
    ]
    fragment = delta('{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\": \\""}}]}}')
    assert fragment.tool_calls == [ToolCallPart(index=0, function=FunctionPart(arguments='{"city": "'))]


def test_older_server_shapes() -> None:
    # Explicit nulls on later entries; name and first fragment in one entry.
    later = delta(
        '{"index":0,"delta":{"tool_calls":[{"index":1,"id":null,"type":null,'
        '"function":{"name":null,"arguments":"}"}}]}}'
    )
    assert later.tool_calls == [ToolCallPart(index=1, function=FunctionPart(arguments="}"))]
    both = delta(
        '{"index":0,"delta":{"tool_calls":[{"index":0,"id":"Ab3dE5gH7","type":"function",'
        '"function":{"name":"add","arguments":"{\\"a\\": 1"}}]}}'
    )
    assert both.tool_calls == [
        ToolCallPart(index=0, id="Ab3dE5gH7", type="function", function=FunctionPart(name="add", arguments='{"a": 1'))
    ]


def test_content_and_several_entries_in_one_chunk() -> None:
    part = delta(
        '{"index":0,"delta":{"content":"ok","tool_calls":[{"index":0,"function":{"arguments":"{"}},'
        '{"index":0,"function":{"arguments":"}"}},{"index":1,"id":"functions.get_weather:0",'
        '"function":{"name":"get_weather"}}]}}'
    )
    assert part.content == "ok"
    assert part.tool_calls is not None
    assert [(c.index, c.id) for c in part.tool_calls] == [(0, None), (0, None), (1, "functions.get_weather:0")]


@pytest.mark.parametrize(
    ("body", "reasoning", "reasoning_content", "text"),
    [
        ('{"reasoning":"hmm"}', "hmm", None, "hmm"),
        ('{"reasoning_content":"hmm"}', None, "hmm", "hmm"),
        ('{"reasoning":"hmm","reasoning_content":"hmm"}', "hmm", "hmm", "hmm"),
        ('{"content":"<think>hmm"}', None, None, None),
    ],
)
def test_reasoning_under_either_name(
    body: str, reasoning: str | None, reasoning_content: str | None, text: str | None
) -> None:
    part = delta('{"index":0,"delta":' + body + "}")
    assert (part.reasoning, part.reasoning_content, part.reasoning_text) == (reasoning, reasoning_content, text)


@pytest.mark.parametrize("stop_reason", [None, 151645, "</tool_call>"])
@pytest.mark.parametrize("finish_reason", ["stop", "length", "tool_calls", "abort", "repetition"])
def test_finish_and_stop_reason(finish_reason: str, stop_reason: int | str | None) -> None:
    payload = chunk(
        '{"index":0,"delta":{"content":""},"finish_reason":"'
        + finish_reason
        + '","stop_reason":'
        + msgspec.json.encode(stop_reason).decode()
        + "}"
    )
    assert payload.choices is not None
    assert (payload.choices[0].finish_reason, payload.choices[0].stop_reason) == (finish_reason, stop_reason)


def test_usage_chunk() -> None:
    payload = decode_payload(
        HEAD + '"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,'
        '"prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":2}}}'
    )
    assert payload.choices == []
    assert payload.usage == Usage(
        prompt_tokens=10, completion_tokens=5, total_tokens=15, completion_tokens_details={"reasoning_tokens": 2}
    )
    assert payload.error_detail() is None


def test_usage_keeps_prompt_tokens_details() -> None:
    # Cached prompt tokens (OpenAI, vLLM with prefix caching) are kept like completion details.
    payload = decode_payload(
        HEAD + '"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,'
        '"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":2}}}'
    )
    assert payload.usage is not None
    assert payload.usage.prompt_tokens_details == {"cached_tokens": 8}
    assert payload.usage.completion_tokens_details == {"reasoning_tokens": 2}
    assert b'"prompt_tokens_details":{"cached_tokens":8}' in msgspec.json.encode(payload.usage)


def test_usage_counts_may_be_null_or_missing() -> None:
    # Like every wire field: null and missing are alike, and neither breaks decoding.
    payload = decode_payload(HEAD + '"choices":[],"usage":{"prompt_tokens":null,"completion_tokens":3}}')
    assert payload.usage == Usage(completion_tokens=3)


def test_continuous_usage_on_a_content_chunk() -> None:
    payload = decode_payload(
        HEAD + '"choices":[{"index":0,"delta":{"content":"a"}}],'
        '"usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11}}'
    )
    assert payload.usage == Usage(prompt_tokens=10, completion_tokens=1, total_tokens=11)
    assert payload.choices is not None and payload.choices[0].delta == MessagePart(content="a")


@pytest.mark.parametrize("code", [400, "invalid_value", None])
def test_in_band_error(code: int | str | None) -> None:
    payload = decode_payload(
        '{"error":{"message":"boom","type":"BadRequestError","param":null,"code":'
        + msgspec.json.encode(code).decode()
        + "}}"
    )
    assert payload.choices is None
    assert payload.error_detail() == ErrorDetail(message="boom", type="BadRequestError", code=code)


def test_flat_old_error() -> None:
    payload = decode_payload('{"object":"error","message":"boom","type":"BadRequestError","param":"n","code":400}')
    assert payload.error_detail() == ErrorDetail(message="boom", type="BadRequestError", param="n", code=400)


def test_error_as_a_bare_string() -> None:
    assert decode_payload('{"error":"Input validation error"}').error_detail() == ErrorDetail(
        message="Input validation error"
    )


def test_unknown_fields_are_ignored() -> None:
    payload = decode_payload(
        HEAD + '"system_fingerprint":"x","service_tier":{"a":[1]},'
        '"choices":[{"index":0,"delta":{"content":"a","refusal":null,"new":{"x":1}},'
        '"logprobs":{"content":[]},"matched_stop":2}]}'
    )
    assert payload.choices is not None and payload.choices[0].delta == MessagePart(content="a")


def test_bytes_and_str_decode_alike() -> None:
    text = HEAD + '"choices":[{"index":0,"delta":{"content":"héllo 世界"}}]}'
    assert decode_payload(text) == decode_payload(text.encode())


@pytest.mark.parametrize(
    "garbage",
    [DONE, "", "{", "[]", '{"choices":{}}', '{"choices":[{"delta":{"content":1}}]}', b'{"id":"\xff"}'],
)
def test_garbage_raises_decode_error(garbage: str | bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_payload(garbage)


def test_types_are_frozen() -> None:
    part = MessagePart(content="a")
    with pytest.raises(AttributeError):
        part.content = "b"  # type: ignore[misc]


def test_sse_stream_to_payloads() -> None:
    head = b'data: {"id":"c","object":"chat.completion.chunk",'
    stream = (
        head + b'"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
        b": keep-alive\n\n"
        + head + b'"choices":[{"index":0,"delta":{"content":"\xe4\xb8\x96"}}]}\n\n'
        + head + b'"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        + head + b'"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\n'
        b"data: [DONE]\n\n"
    )
    decoder = SSEDecoder()
    datas = [d for i in range(0, len(stream), 7) for d in decoder.feed_data(stream[i : i + 7])]
    assert datas[-1] == DONE
    payloads = [decode_payload(d) for d in datas[:-1]]
    assert payloads[1].choices is not None and payloads[1].choices[0].delta == MessagePart(content="世")
    assert payloads[2].choices is not None and payloads[2].choices[0].finish_reason == "stop"
    assert payloads[3].usage == Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3)


# Non-streaming ---------------------------------------------------------------


def test_completion_with_tool_calls_and_null_content() -> None:
    completion = decode_completion(
        b'{"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,'
        b'"message":{"role":"assistant","content":null,"reasoning":"think","tool_calls":[{"id":"chatcmpl-tool-1",'
        b'"type":"function","function":{"name":"get_weather","arguments":"{\\"city\\": \\"Paris\\"}"}}]},'
        b'"logprobs":null,"finish_reason":"tool_calls","stop_reason":null}],'
        b'"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":null}}'
    )
    assert isinstance(completion, ChatCompletion)
    assert completion.choices is not None
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message == MessagePart(
        role="assistant",
        reasoning="think",
        tool_calls=[
            ToolCallPart(
                id="chatcmpl-tool-1",
                type="function",
                function=FunctionPart(name="get_weather", arguments='{"city": "Paris"}'),
            )
        ],
    )
    assert completion.usage == Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)


def test_completion_with_content_and_reasoning_content() -> None:
    completion = decode_completion('{"choices":[{"message":{"content":"hi","reasoning_content":"r"}}]}')
    assert completion.choices is not None and completion.choices[0].message is not None
    assert completion.choices[0].message.content == "hi"
    assert completion.choices[0].message.reasoning_text == "r"


@pytest.mark.parametrize("garbage", [b"", b"<html>", b'{"choices":"x"}', b'{"model":"\xff"}'])
def test_completion_garbage_raises_decode_error(garbage: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_completion(garbage)


# HTTP error bodies -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"error":{"message":"max_tokens too large","type":"BadRequestError","param":"max_tokens","code":400}}',
            ("max_tokens too large", "BadRequestError", 400, "max_tokens"),
        ),
        (
            b'{"object":"error","message":"model not found","type":"NotFoundError","param":null,"code":"404"}',
            ("model not found", "NotFoundError", "404", None),
        ),
        (b'{"error":"overloaded"}', ("overloaded", None, None, None)),
        (b'{"detail":"Not Found"}', ('{"detail":"Not Found"}', None, None, None)),
        (b"<html>502 Bad Gateway</html>\n", ("<html>502 Bad Gateway</html>", None, None, None)),
        (b"upstream \xff error", ("upstream \ufffd error", None, None, None)),
        (b'{"error":{"message":"x","param":[1]}}', ("x", None, None, [1])),  # any param is kept
        (b'{"error":{"message":{"nested":1}}}', ('{"error":{"message":{"nested":1}}}', None, None, None)),
        (b"", ("", None, None, None)),
    ],
)
def test_decode_error_body(body: bytes, expected: tuple[str, str | None, int | str | None, str | None]) -> None:
    assert decode_error_body(body) == expected
