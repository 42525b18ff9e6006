"""The client with every format: tools reach the parser, special tokens are kept, ``format="auto"``."""

from __future__ import annotations

from typing import Any

import pytest

from streamparse import FormatError, InvalidToolCall, ToolCallEnd, UsageError, available_formats
from streamparse.client import Client
from streamparse.core.formats import format_for_model
from streamparse.core.render import render
from streamparse.server import Reply, Server

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "zip": {"type": "string"}},
        },
    },
}


async def _calls(fmt: str, text: str, **request: Any) -> tuple[list[Any], dict[str, Any]]:
    async with Server([Reply(text)]) as server, Client(server.base_url, format=fmt) as client:
        events = [e async for e in client.stream("hi", **request)]
        return [e for e in events if isinstance(e, (ToolCallEnd, InvalidToolCall))], server.requests[-1].json


@pytest.mark.parametrize("fmt", ["qwen3_coder", "glm45", "minimax_m2"])
async def test_request_tools_type_raw_values(fmt: str) -> None:
    text = render(fmt, calls=[("get_weather", {"city": "Paris", "days": "3", "zip": "007"})])
    typed, _ = await _calls(fmt, text, tools=[WEATHER_TOOL])
    assert [(e.name, e.arguments) for e in typed] == [("get_weather", {"city": "Paris", "days": 3, "zip": "007"})]
    untyped, _ = await _calls(fmt, text)  # no schema: every raw value stays a string
    assert untyped[0].arguments == {"city": "Paris", "days": "3", "zip": "007"}


async def test_a_call_to_a_tool_not_in_the_request_is_invalid_and_named() -> None:
    text = render("hermes", calls=[("get_time", {"tz": "UTC"})])
    events, _ = await _calls("hermes", text, tools=[WEATHER_TOOL])
    assert len(events) == 1 and isinstance(events[0], InvalidToolCall)
    assert events[0].kind == "unknown_tool" and events[0].name == "get_time" and "get_time" in events[0].error


@pytest.mark.parametrize("fmt", available_formats())
async def test_skip_special_tokens_is_sent_where_the_format_needs_it(fmt: str) -> None:
    from streamparse import load_format

    _, body = await _calls(fmt, "Hello.")
    if load_format(fmt).special_tokens == "no":
        assert "skip_special_tokens" not in body
    else:
        assert body["skip_special_tokens"] is False


async def test_skip_special_tokens_can_be_overridden() -> None:
    async with Server(["a", "b", "c"]) as server:
        async with Client(server.base_url, format="kimi_k2", skip_special_tokens=True) as client:
            [e async for e in client.stream("hi")]
        async with Client(server.base_url, format="kimi_k2") as client:
            [e async for e in client.stream("hi", skip_special_tokens=True)]
        async with Client(server.base_url, format="hermes", skip_special_tokens=False) as client:
            [e async for e in client.stream("hi")]
    assert [r.json.get("skip_special_tokens") for r in server.requests] == [True, True, False]


async def test_format_auto_follows_the_served_model() -> None:
    text = render("qwen3_coder", calls=[("get_weather", {"city": "Paris"})])
    async with Server([Reply(text)], model="Qwen/Qwen3-Coder-30B-A3B-Instruct") as server:
        async with Client(server.base_url, format="auto") as client:
            events = [e async for e in client.stream("hi")]
            assert client.parsing_format().name == "qwen3_coder"
    assert [e.arguments for e in events if isinstance(e, ToolCallEnd)] == [{"city": "Paris"}]


def test_format_auto_without_a_model_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="auto"):
        Client("http://127.0.0.1:1/v1", format="auto").parsing_format()


@pytest.mark.parametrize(
    "model,fmt",
    [
        ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3_coder"),
        ("Qwen/Qwen3.5-27B", "qwen3_coder"),
        ("Qwen/Qwen3-8B", "hermes"),
        ("Qwen/Qwen2.5-7B-Instruct", "hermes"),
        ("openai/gpt-oss-20b", "harmony"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama3_json"),
        ("meta-llama/Llama-4-Scout-17B-16E-Instruct", "pythonic"),
        ("zai-org/GLM-4.6", "glm45"),
        ("zai-org/GLM-4.7", "glm47"),
        ("mistralai/Mistral-Small-3.2-24B-Instruct-2506", "mistral"),
        ("deepseek-ai/DeepSeek-R1-0528", "deepseek_v3"),
        ("deepseek-ai/DeepSeek-V3.1-Terminus", "deepseek_v31"),
        ("deepseek-ai/DeepSeek-V3.2", "deepseek_v32"),
        ("moonshotai/Kimi-K2-Instruct", "kimi_k2"),
        ("MiniMaxAI/MiniMax-M2", "minimax_m2"),
        ("my-org/qwen3_coder-finetune", "qwen3_coder"),
    ],
)
def test_model_names_pick_formats(model: str, fmt: str) -> None:
    assert format_for_model(model) == fmt


def test_an_unknown_model_names_the_formats() -> None:
    with pytest.raises(FormatError, match="hermes"):
        format_for_model("acme/unknown-7b")
