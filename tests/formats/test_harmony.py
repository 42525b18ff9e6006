"""harmony (gpt-oss-20b, gpt-oss-120b): messages on channels; a call is a message to a function.

The reply starts inside the first message's header (the prompt ends with
<|start|>assistant), so it begins with <|channel|> or with the recipient.
Inputs and expected outcomes marked vLLM, llama.cpp or harmony are those
projects' public test cases (vLLM's OpenAI tool parser and harmony tests,
llama.cpp's gpt-oss chat tests, the openai-harmony library's tests and format
guide); where this project decides otherwise, the test says why.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamparse import Parser, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart

from .cuts import every_cut
from .summary import calls, invalid, parsed, reasoning, text, tool

FMT = "harmony"
START, CHANNEL, MESSAGE, END, CALL, RETURN = "<|start|>assistant", "<|channel|>", "<|message|>", "<|end|>", "<|call|>", "<|return|>"


def analysis(thought: str) -> str:
    """A reasoning message, first in the reply."""
    return f"{CHANNEL}analysis{MESSAGE}{thought}{END}"


@pytest.mark.parametrize(
    ("output", "expected", "content", "thought"),
    [
        (CHANNEL + "final" + MESSAGE + "This is a test" + RETURN, [], "This is a test", ""),  # vLLM
        (
            # vLLM (the recipient after the channel, <|constrain|>json after a space)
            analysis("reasoning") + START + CHANNEL + 'commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Tokyo"}' + CALL,
            [("get_weather", {"city": "Tokyo"})],
            "",
            "reasoning",
        ),
        (
            analysis("reasoning") + START + CHANNEL + "commentary to=functions.get_user_location <|constrain|>json<|message|>{}" + CALL,  # vLLM
            [("get_user_location", {})],
            "",
            "reasoning",
        ),
        (
            # vLLM (the recipient in the role part, <|constrain|> with no space)
            analysis("Thinking") + START + ' to=functions.get_weather<|channel|>commentary<|constrain|>json<|message|>{"location": "Paris"}' + CALL,
            [("get_weather", {"location": "Paris"})],
            "",
            "Thinking",
        ),
        (
            # vLLM: a functions.* recipient on the analysis channel is a call too.
            analysis("Thinking") + START + ' to=functions.get_weather<|channel|>analysis<|constrain|>json<|message|>{"location": "Paris"}' + CALL,
            [("get_weather", {"location": "Paris"})],
            "",
            "Thinking",
        ),
        (
            # vLLM: a preamble (commentary with no recipient) is text; a call message closed by <|end|>.
            CHANNEL + "commentary" + MESSAGE + "Let me check the weather." + END
            + START + ' to=functions.get_weather<|channel|>commentary<|message|>{"location": "SF"}' + END,
            [("get_weather", {"location": "SF"})],
            "Let me check the weather.",
            "",
        ),
        (
            # vLLM: calls one after another (seen when the <|call|> stop is not applied).
            analysis("Thinking")
            + START + ' to=functions.get_weather<|channel|>commentary<|constrain|>json<|message|>{"location": "Paris"}' + CALL
            + START + ' to=functions.get_time<|channel|>commentary<|constrain|>json<|message|>{"timezone": "UTC"}' + CALL,
            [("get_weather", {"location": "Paris"}), ("get_time", {"timezone": "UTC"})],
            "",
            "Thinking",
        ),
        (
            # vLLM: a call, then the final answer.
            analysis("Reasoning about query...")
            + START + ' to=functions.search<|channel|>commentary<|constrain|>json<|message|>{"query": "vllm"}' + CALL
            + START + CHANNEL + "final" + MESSAGE + "Done",
            [("search", {"query": "vllm"})],
            "Done",
            "Reasoning about query...",
        ),
        # vLLM: a final message cut off by max_tokens, first or after reasoning.
        (analysis("I'm thinking.") + START + CHANNEL + "final" + MESSAGE + "I'm in the middle of answering", [], "I'm in the middle of answering", "I'm thinking."),
        (CHANNEL + "final" + MESSAGE + "I'm in the middle of answering", [], "I'm in the middle of answering", ""),
        # llama.cpp: content on the commentary channel.
        (CHANNEL + "commentary" + MESSAGE + "Hello, world!\nWhat's up?", [], "Hello, world!\nWhat's up?", ""),
        # llama.cpp: the recipient after the channel, no content type.
        (CHANNEL + 'analysis to=functions.special_function<|message|>{"arg1": 1}', [("special_function", {"arg1": 1})], "", ""),
        (CHANNEL + 'commentary to=functions.special_function<|message|>{"arg1": 1}', [("special_function", {"arg1": 1})], "", ""),
        # llama.cpp: the recipient in the role part of the first message: the reply starts with it.
        (' to=functions.special_function<|channel|>analysis <|constrain|>json<|message|>{"arg1": 1}', [("special_function", {"arg1": 1})], "", ""),
        (
            # llama.cpp: code in the arguments.
            analysis("Thinking about edit...") + START + CHANNEL
            + 'commentary to=functions.edit <|constrain|>json<|message|>{"oldString": "if (part < railCount - 1) {", "newString": "if (part < 4) {", "replaceAll": false}',
            [("edit", {"oldString": "if (part < railCount - 1) {", "newString": "if (part < 4) {", "replaceAll": False})],
            "",
            "Thinking about edit...",
        ),
        (
            # harmony: the channel first, <|constrain|> right after the recipient.
            CHANNEL + 'commentary to=functions.get_weather<|constrain|>json<|message|>{"latitude":48.8566,"longitude":2.3522}' + CALL,
            [("get_weather", {"latitude": 48.8566, "longitude": 2.3522})],
            "",
            "",
        ),
        (
            # harmony: the recipient in the role part, <|constrain|> right after the channel.
            ' to=functions.get_weather<|channel|>commentary<|constrain|>json<|message|>{"location": "Tokyo"}' + CALL,
            [("get_weather", {"location": "Tokyo"})],
            "",
            "",
        ),
        (
            # harmony format guide: receiving tool calls.
            analysis("Need to use function get_weather.") + START + CHANNEL
            + 'commentary to=functions.get_weather <|constrain|>json<|message|>{"location":"San Francisco"}' + CALL,
            [("get_weather", {"location": "San Francisco"})],
            "",
            "Need to use function get_weather.",
        ),
        (
            # harmony format guide: a preamble, then a call.
            analysis("{long chain of thought}") + START + CHANNEL + "commentary" + MESSAGE + "**Action plan**:\n1. Generate an HTML file" + END
            + START + CHANNEL + 'commentary to=functions.generate_file<|constrain|>json<|message|>{"template": "basic_html", "path": "index.html"}' + CALL,
            [("generate_file", {"template": "basic_html", "path": "index.html"})],
            "**Action plan**:\n1. Generate an HTML file",
            "{long chain of thought}",
        ),
        (
            # openai-harmony's own rendering order: recipient in the role part, " json" after the channel.
            analysis("Need the weather.") + START + ' to=functions.get_weather<|channel|>commentary json<|message|>{"city": "Paris"}' + CALL,
            [("get_weather", {"city": "Paris"})],
            "",
            "Need the weather.",
        ),
        # `final` may carry <|constrain|>json: still text.
        (CHANNEL + 'final <|constrain|>json<|message|>{"answer": 42}' + RETURN, [], '{"answer": 42}', ""),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, Any]]], content: str, thought: str) -> None:
    events = parsed(output, FMT)
    assert calls(events) == expected and text(events) == content and reasoning(events) == thought and not invalid(events)


def test_several_calls_with_and_without_a_content_type() -> None:  # vLLM (multiple tools)
    messages = [
        ' to=functions.get_current_weather<|channel|>commentary json<|message|>{"location": "Tokyo"}',
        ' to=functions.get_user_location<|channel|>commentary json<|message|>{"location": "Tokyo"}',
        ' to=functions.no_content_type<|channel|>commentary<|message|>{"location": "Tokyo"}',
        " to=functions.not_json_no_content_type<|channel|>commentary<|message|>foo",
        " to=functions.empty_args<|channel|>commentary json<|message|>{}",
        " to=functions.no_args<|channel|>commentary json<|message|>",
    ]
    output = analysis("We need the tools.") + "".join(START + m + CALL for m in messages)
    events = parsed(output, FMT)
    assert calls(events) == [
        ("get_current_weather", {"location": "Tokyo"}),
        ("get_user_location", {"location": "Tokyo"}),
        ("no_content_type", {"location": "Tokyo"}),
        # vLLM passes "foo" on as the arguments; arguments must be a JSON object: an invalid call.
        ("empty_args", {}),
        # vLLM gives arguments "" to a call with no body; every call's arguments are an object: {}.
        ("no_args", {}),
    ]
    [bad] = invalid(events)
    assert bad.name == "not_json_no_content_type" and bad.raw.endswith(f"{MESSAGE}foo{CALL}")


def test_a_call_and_the_final_answer() -> None:  # vLLM (with content)
    output = (
        analysis('User asks: "What is the weather in Tokyo?"')
        + START + ' to=functions.get_current_weather<|channel|>commentary json<|message|>{"location": "Tokyo"}' + CALL
        + START + CHANNEL + "final" + MESSAGE + "This tool call will get the weather." + RETURN
    )
    events = parsed(output, FMT)
    assert calls(events) == [("get_current_weather", {"location": "Tokyo"})] and text(events) == "This tool call will get the weather."


@pytest.mark.parametrize("arguments", ['{"location": "Tokyo"}', '{\n"location": "Tokyo"\n}'])
def test_arguments_as_written(arguments: str) -> None:  # vLLM (single tool)
    events = parsed(analysis("x") + START + f" to=functions.get_current_weather<|channel|>commentary json<|message|>{arguments}" + CALL, FMT)
    assert [e.arguments for e in events if isinstance(e, ToolCallDelta)] == [arguments]
    assert calls(events) == [("get_current_weather", {"location": "Tokyo"})]


@pytest.mark.parametrize("recipient", ["python <|constrain|>code", "browser.search", "container.exec"])
def test_messages_to_built_in_tools_are_invalid_calls(recipient: str) -> None:
    # llama.cpp (and vLLM) drop a message to a built-in tool the request did not offer; it is no
    # function call, and it is no content: an invalid call to that tool, its text kept.
    output = analysis("I will execute python to say hello") + START + CHANNEL + f"commentary to={recipient}{MESSAGE}print(\"hello\")"
    events = parsed(output, FMT)
    assert not calls(events) and text(events) == "" and reasoning(events) == "I will execute python to say hello"
    [bad] = invalid(events)
    assert bad.kind == "unknown_tool" and bad.name == recipient.split()[0] and bad.raw.endswith('print("hello")')


def test_a_bare_recipient_name_is_a_call() -> None:  # vLLM routing: any recipient but assistant and built-ins
    events = parsed(CHANNEL + 'commentary to=get_weather<|message|>{"city": "Paris"}' + CALL, FMT)
    assert calls(events) == [("get_weather", {"city": "Paris"})]


def test_a_stray_header_before_reasoning() -> None:  # llama.cpp #21286
    events = parsed(CHANNEL + "commentary to=assistant" + CHANNEL + "analysis" + MESSAGE + "I'm\nthinking" + END + START + CHANNEL + "final" + MESSAGE + "Hello", FMT)
    assert reasoning(events) == "I'm\nthinking" and text(events) == "Hello" and not calls(events) and not invalid(events)


@pytest.mark.parametrize(
    "output",
    [
        # llama.cpp (partial): the arguments cut off.
        analysis("I'm\nthinking") + START + CHANNEL + 'commentary to=functions.special_function <|constrain|>json<|message|>{"arg1',
        analysis("I'm\nthinking") + START + CHANNEL + 'commentary to=functions.special_function<|message|>{"arg1',
    ],
)
def test_a_call_cut_off_is_truncated(output: str) -> None:
    # llama.cpp returns the partial arguments; here the call is reported cut off, with its text.
    events = parsed(output, FMT)
    [cut] = invalid(events)
    assert cut.kind == "truncated" and cut.name == "special_function" and cut.raw.endswith('{"arg1')
    assert reasoning(events) == "I'm\nthinking" and not calls(events)


def test_a_header_with_no_message_marker() -> None:
    # vLLM (malformed headers): the last header never reaches <|message|>; there is no call, and
    # nothing is lost: the cut-off header is reported with its text.
    output = analysis("thinking") + START + CHANNEL + "commentary" + MESSAGE + "thinking" + END + START + CHANNEL + 'final {"answer": "hi"}' + RETURN
    events = parsed(output, FMT)
    assert not calls(events) and reasoning(events) == "thinking" and text(events) == "thinking"
    assert [e.raw for e in invalid(events)] == [START + CHANNEL + 'final {"answer": "hi"}' + RETURN]


def test_the_raw_text_of_an_invalid_call_holds_its_whole_header() -> None:
    output = START + " to=functions.f<|channel|>commentary" + MESSAGE + "foo" + CALL
    assert [e.raw for e in invalid(parsed(output, FMT))] == [output]
    output = " to=functions.f<|channel|>commentary json<|mess"  # the first message, cut off
    assert [(e.raw, e.kind) for e in invalid(parsed(output, FMT))] == [(output, "truncated")]


def test_markers_inside_arguments_are_data() -> None:
    body = '{"s": "<|call|><|end|><|start|>assistant<|channel|>final<|message|>x"}'
    events = parsed(CHANNEL + f"commentary to=functions.echo json{MESSAGE}{body}{CALL}", FMT)
    assert calls(events) == [("echo", {"s": "<|call|><|end|><|start|>assistant<|channel|>final<|message|>x"})]


def test_the_call_streams_and_ends_at_its_last_brace() -> None:
    parser = Parser(FMT)
    assert parser.feed(analysis("Need it.")) == [ReasoningDelta(text="Need it.")]
    assert parser.feed(START + CHANNEL + "commentary to=functions.get_weather <|constrain|>json") == []
    assert parser.feed(MESSAGE + '{"city": ') == [ToolCallStart(index=0, id="call_0", name="get_weather"), ToolCallDelta(index=0, arguments='{"city": ')]
    assert parser.feed('"Paris"}') == [
        ToolCallDelta(index=0, arguments='"Paris"}'),
        ToolCallEnd(index=0, id="call_0", name="get_weather", arguments={"city": "Paris"}),
    ]
    assert parser.feed(CALL) == [] and parser.close() == []


def test_every_single_cut() -> None:
    output = (
        " to=functions.f<|channel|>commentary json<|message|>{\"a\": \"é\"}<|call|>"
        + START + CHANNEL + "analysis" + MESSAGE + "hm" + END + START + CHANNEL + "final" + MESSAGE + "ok"
    )
    events = every_cut(output, FMT)
    assert calls(events) == [("f", {"a": "é"})] and reasoning(events) == "hm" and text(events) == "ok"


def test_without_its_special_tokens_the_reply_is_text() -> None:
    # With "skip_special_tokens": true a server leaves only the words; nothing to match.
    output = "analysisNeed the weather.assistantcommentary to=functions.get_weather json{\"city\": \"Paris\"}"
    assert parsed(output, FMT) == [TextDelta(text=output)]


def test_unknown_tool_with_tools_given() -> None:
    events = parsed(CHANNEL + 'commentary to=functions.get_weather json<|message|>{"city": "Paris"}' + CALL, FMT, tools=[tool("get_time")])
    [bad] = invalid(events)
    assert bad.kind == "unknown_tool" and bad.name == "get_weather" and bad.arguments == {"city": "Paris"}
