"""minimax_m2 (MiniMax-M2, M2.1, M2.5, M2.7): invokes with named parameters in one block, values raw.

Inputs and expected outcomes marked vLLM or SGLang are those peers' public
test cases (vLLM's MiniMax-M2 parser, SGLang's MiniMax-M2 detector); where
this project decides otherwise, the test says why.
"""

from __future__ import annotations

import pytest

from streamparse import Parser, ToolCallEnd, ToolCallStart, parse

from .summary import Unfit, calls, cut_off, invalid, parsed, reasoning, text, tool, typed

FMT = "minimax_m2"
OPEN, CLOSE = "<minimax:tool_call>", "</minimax:tool_call>"


def invoke(name: str, **arguments: str) -> str:
    return f'<invoke name="{name}">' + "".join(f'<parameter name="{k}">{v}</parameter>' for k, v in arguments.items()) + "</invoke>"


def block(*invokes: str, sep: str = "") -> str:
    return OPEN + sep + sep.join(invokes) + sep + CLOSE


SEATTLE = block(invoke("get_weather", city="Seattle"))


@pytest.mark.parametrize(
    ("output", "expected", "content"),
    [
        ("Hello world", [], "Hello world"),  # vLLM
        ("Let me check. " + SEATTLE, [("get_weather", {"city": "Seattle"})], "Let me check."),  # vLLM
        (block(invoke("get_weather", city="Seattle", days="5")), [("get_weather", {"city": "Seattle", "days": "5"})], None),  # vLLM
        (
            block(invoke("search_web", query="OpenAI"), invoke("search_web", query="Gemini")),  # vLLM
            [("search_web", {"query": "OpenAI"}), ("search_web", {"query": "Gemini"})],
            None,
        ),
        (
            block(invoke("get_weather", city="NYC"), invoke("get_stock", ticker="AAPL")),  # vLLM
            [("get_weather", {"city": "NYC"}), ("get_stock", {"ticker": "AAPL"})],
            None,
        ),
        (
            "Here is some text." + block(invoke("context_info", metadata_only="true")) + "More text after.",  # SGLang
            [("context_info", {"metadata_only": "true"})],
            "Here is some text.More text after.",
        ),
        (
            # SGLang: the block's closing tag never came; the invoke closed, so the call is complete.
            "[Pasted ~4 lines]" + OPEN + invoke("context_info", metadata_only="false"),
            [("context_info", {"metadata_only": "false"})],
            "[Pasted ~4 lines]",
        ),
        (
            # The chat template's own layout.
            f'{OPEN}\n<invoke name="get_weather">\n<parameter name="city">Paris</parameter>\n</invoke>\n{CLOSE}',
            [("get_weather", {"city": "Paris"})],
            None,
        ),
    ],
)
def test_peer_cases(output: str, expected: list[tuple[str, dict[str, str]]], content: str | None) -> None:
    assert calls(parsed(output, FMT)) == expected
    assert parse(output, FMT).content == content


def test_ids_and_indexes() -> None:  # vLLM: call ids, indexes 0, 1
    events = parsed(block(invoke("a", x="1"), invoke("b", x="2")), FMT)
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert [(s.index, s.id, s.name) for s in starts] == [(0, "call_0", "a"), (1, "call_1", "b")]


def test_each_invoke_ends_in_the_feed_that_closes_it() -> None:
    parser = Parser(FMT)
    parser.feed(OPEN + invoke("fn_a", x="1"))
    events = parser.feed(invoke("fn_b", y="2"))
    assert [e.name for e in events if isinstance(e, ToolCallEnd)] == ["fn_b"]
    assert parser.feed(CLOSE) == [] and parser.close() == []


@pytest.mark.parametrize("quote", ["'", ""])
def test_names_quoted_with_apostrophes_or_not_at_all(quote: str) -> None:
    output = f"{OPEN}<invoke name={quote}get_weather{quote}><parameter name={quote}city{quote}>Paris</parameter></invoke>{CLOSE}"
    assert calls(parsed(output, FMT)) == [("get_weather", {"city": "Paris"})]


def test_invokes_without_the_block_tags() -> None:
    # The block's tags are special tokens (vLLM watches for the opener's token id when its text is
    # empty); with them skipped the invokes arrive bare and still are calls.
    events = parsed("Checking. " + invoke("get_weather", city="Seattle") + "\nDone.", FMT)
    assert calls(events) == [("get_weather", {"city": "Seattle"})] and text(events) == "Checking. \nDone."
    assert text(parsed('Write <invoke name="x"> to call x.', FMT)) == 'Write <invoke name="x"> to call x.'


# -- values: verbatim, tags inside, typing ----------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "This text contains </parameter> in it",  # SGLang: cut at the first closer there
        "<div>Hello</div>",  # SGLang
        "  padded  ",  # SGLang strips; values are verbatim between their tags
        "\nline 1\nline 2\n",
        '</parameter><parameter name="city">x',  # a tag for an argument already read
        "</invoke></minimax:tool_call> and more",
        "café 中文 😀",
        "",
    ],
)
def test_values_are_verbatim(value: str) -> None:
    output = block(invoke("test_func", city="Rome", content=value))
    [(_, arguments)] = calls(parsed(output, FMT, tools=[tool("test_func", city={"type": "string"}, content={"type": "string"})]))
    assert arguments == {"city": "Rome", "content": value}


def test_a_closer_followed_by_a_tag_for_an_unknown_parameter_stays_in_the_value() -> None:
    value = 'a</parameter><parameter name="not_a_param">b'
    output = block(invoke("test_func", content=value))
    assert calls(parsed(output, FMT, tools=[tool("test_func", content={"type": "string"})])) == [("test_func", {"content": value})]


@pytest.mark.parametrize(
    ("schema", "written", "value"),
    [
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "hi", "hi"),  # SGLang #16057: not nulled
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "Alice", "Alice"),  # vLLM PR #32342
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "null", None),  # vLLM, SGLang
        ({"type": "string"}, "null", "null"),  # vLLM's first parser nulled every "null"
        ({"anyOf": [{"type": "object"}, {"type": "null"}]}, '{"theme": "dark", "fontSize": 14}', {"theme": "dark", "fontSize": 14}),
        ({"anyOf": [{"type": "object", "properties": {"key": {"type": "string"}}}, {"type": "null"}]}, '{"key": "value"}', {"key": "value"}),
        ({"type": "array"}, '[1, 2, 3, "four"]', [1, 2, 3, "four"]),  # SGLang
        ({"type": "boolean"}, "false", False),
        ({"type": "boolean"}, "1", Unfit("1")),  # vLLM's first parser took 1 for true; only true/false are booleans
        ({"type": "boolean"}, "yes", Unfit("yes")),  # SGLang took yes/on/1
        ({"type": ["integer", "null"]}, "12", 12),  # vLLM's first parser dropped calls with type lists
        ({"type": "integer"}, "-98765432109876543210", -98765432109876543210),
        ({"type": "number"}, "2.50", 2.5),
        ({"type": "number"}, "NaN", Unfit("NaN")),
    ],
)
def test_typing_rules(schema: dict[str, object], written: str, value: object) -> None:
    found = typed(block(invoke("f", v=written)), FMT, [tool("f", v=schema)])
    assert found == value and type(found) is type(value)


def test_unknown_tool_with_tools_given() -> None:
    events = parsed(block(invoke("get_weather", city="Paris"), invoke("launch", target="moon")), FMT, tools=[tool("get_weather")])
    assert calls(events) == [("get_weather", {"city": "Paris"})]
    [bad] = invalid(events)
    assert (bad.kind, bad.name, bad.arguments) == ("unknown_tool", "launch", {"target": "moon"})


def test_zero_argument_invoke() -> None:
    assert calls(parsed(block(invoke("get_time"), sep="\n"), FMT)) == [("get_time", {})]


# -- truncation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cut",
    [
        OPEN,
        OPEN + '<invoke name="context_in',
        OPEN + '<invoke name="context_info"><parameter name="metadata',
        OPEN + '<invoke name="context_info"><parameter name="metadata_only">fal',
        OPEN + '<invoke name="context_info"><parameter name="metadata_only">false</parameter>',  # SGLang
        OPEN + '<invoke name="context_info"><parameter name="metadata_only">false</parameter></inv',
    ],
)
def test_output_cut_off_inside_an_invoke(cut: str) -> None:
    cut_off("Normal text before", cut, FMT)


# -- reasoning: the prompt ends `]~b]ai\n<think>\n` ----------------------------------------------


def test_reasoning_opened_by_the_prompt_then_a_call() -> None:
    output = "\nThe user wants the weather.\n</think>\n\n" + SEATTLE
    events = parsed(output, FMT, in_reasoning=True)
    assert reasoning(events) == "\nThe user wants the weather.\n"
    assert calls(events) == [("get_weather", {"city": "Seattle"})]
    assert parse(output, FMT, in_reasoning=True).content is None


def test_a_think_written_anyway_is_dropped_and_a_call_inside_reasoning_ends_it() -> None:
    output = "<think>\nLet me check." + SEATTLE + "</think>\nIt rains."
    events = parsed(output, FMT, in_reasoning=True)
    assert reasoning(events) == "\nLet me check."
    assert calls(events) == [("get_weather", {"city": "Seattle"})] and text(events) == "\nIt rains."
