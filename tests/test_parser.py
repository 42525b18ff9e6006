"""The incremental parser: semantics, fed whole, a character at a time and in random pieces."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import msgspec
import pytest

from streamparse import (
    FormatError,
    InvalidToolCall,
    Message,
    Parser,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    UsageError,
    load_format,
    parse,
)
from streamparse.core.events import Event

from .helpers import merge, run, three_ways, without_errors

WEATHER = '{"name": "get_weather", "arguments": {"city": "Paris"}}'


def call(index: int, name: str, raw_args: str | None, args: dict[str, object]) -> list[Event]:
    events: list[Event] = [ToolCallStart(index=index, id=f"call_{index}", name=name)]
    if raw_args:
        events.append(ToolCallDelta(index=index, arguments=raw_args))
    events.append(ToolCallEnd(index=index, id=f"call_{index}", name=name, arguments=args))
    return events


def invalid(index: int, raw: str) -> InvalidToolCall:
    return InvalidToolCall(index=index, raw=raw, error="")


# -- accepted variants ---------------------------------------------------------

VALID = {
    "plain": (f"<tool_call>\n{WEATHER}\n</tool_call>", call(0, "get_weather", '{"city": "Paris"}', {"city": "Paris"})),
    "no whitespace": (f"<tool_call>{WEATHER}</tool_call>", call(0, "get_weather", '{"city": "Paris"}', {"city": "Paris"})),
    "whitespace everywhere": (
        '<tool_call> \n\t{ "name" :\n "f" ,\r\n "arguments" : { "a" : [ 1 , 2 ] } \n} \n</tool_call>',
        call(0, "f", '{ "a" : [ 1 , 2 ] }', {"a": [1, 2]}),
    ),
    "arguments before name": (
        '<tool_call>{"arguments": {"x": 1}, "name": "f"}</tool_call>',
        call(0, "f", '{"x": 1}', {"x": 1}),
    ),
    "parameters": (
        '<tool_call>{"name": "f", "parameters": {"x": true}}</tool_call>',
        call(0, "f", '{"x": true}', {"x": True}),
    ),
    "arguments as a JSON string": (
        '<tool_call>{"name": "f", "arguments": "{\\"x\\": \\"y\\"}"}</tool_call>',
        call(0, "f", '{"x": "y"}', {"x": "y"}),  # streamed decoded: the deltas join to the arguments JSON
    ),
    "empty string arguments": ('<tool_call>{"name": "f", "arguments": ""}</tool_call>', call(0, "f", "{}", {})),
    "no arguments": ('<tool_call>{"name": "f"}</tool_call>', call(0, "f", "{}", {})),
    "null arguments": ('<tool_call>{"name": "f", "arguments": null}</tool_call>', call(0, "f", "{}", {})),
    "extra keys, and an id before the name": (
        '<tool_call>{"id": "x", "name": "f", "type": {"k": "name"}, "arguments": {}}</tool_call>',
        [ToolCallStart(index=0, id="x", name="f"), ToolCallDelta(index=0, arguments="{}"),
         ToolCallEnd(index=0, id="x", name="f", arguments={})],
    ),
    "tags, braces and escapes in strings": (
        '<tool_call>{"name": "f", "arguments": {"s": "</tool_call> <tool_call> } { ] \\" \\\\ \\\\\\" <think>"}}</tool_call>',
        call(
            0,
            "f",
            '{"s": "</tool_call> <tool_call> } { ] \\" \\\\ \\\\\\" <think>"}',
            {"s": '</tool_call> <tool_call> } { ] " \\ \\" <think>'},
        ),
    ),
    "unicode escapes and surrogate pairs": (
        '<tool_call>{"name": "f\\u00e9", "arguments": {"e": "\\ud83d\\ude00 \\u4e2d", "raw": "日本 😀"}}</tool_call>',
        call(0, "fé", '{"e": "\\ud83d\\ude00 \\u4e2d", "raw": "日本 😀"}', {"e": "😀 中", "raw": "日本 😀"}),
    ),
    "escaped name": ('<tool_call>{"name": "a\\"b", "arguments": {}}</tool_call>', call(0, 'a"b', "{}", {})),
    "missing closing tag at the end": (f"<tool_call>\n{WEATHER}\n", call(0, "get_weather", '{"city": "Paris"}', {"city": "Paris"})),
    "closing tag cut by the end of the stream": (
        f"<tool_call>{WEATHER}</tool_",
        call(0, "get_weather", '{"city": "Paris"}', {"city": "Paris"}),
    ),
    "array of calls": (
        '<tool_call>[{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {}}]</tool_call>',
        call(0, "a", '{"x": 1}', {"x": 1}) + call(1, "b", "{}", {}),
    ),
    "several objects in one block": (
        '<tool_call>{"name": "a", "arguments": {}}\n{"name": "b", "arguments": {"y": 2}}</tool_call>',
        call(0, "a", "{}", {}) + call(1, "b", '{"y": 2}', {"y": 2}),
    ),
    "nested arguments": (
        '<tool_call>{"name": "f", "arguments": {"a": {"b": [{"c": null}, "}"]}, "d": -1.5e3}}</tool_call>',
        call(0, "f", '{"a": {"b": [{"c": null}, "}"]}, "d": -1.5e3}', {"a": {"b": [{"c": None}, "}"]}, "d": -1500.0}),
    ),
}


@pytest.mark.parametrize("text,expected", VALID.values(), ids=VALID.keys())
def test_valid_calls(text: str, expected: list[Event]) -> None:
    assert three_ways(text) == expected


def test_text_before_between_and_after_blocks() -> None:
    text = f"Let me check.<tool_call>{WEATHER}</tool_call>\n\nand <tool_call>{WEATHER}</tool_call> done."
    args = '{"city": "Paris"}'
    assert three_ways(text) == [
        TextDelta(text="Let me check."),
        *call(0, "get_weather", args, {"city": "Paris"}),
        TextDelta(text="\n\nand "),
        *call(1, "get_weather", args, {"city": "Paris"}),
        TextDelta(text=" done."),
    ]


# -- plain text, reasoning -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["a < b", "x <tool_calls> y", "<tool> <tool_cal", "</tool_call> stray", "<", "<<tool_call", "1 <2> 3", "<thinking>"],
)
def test_not_tags_are_plain_text(text: str) -> None:
    assert three_ways(text) == [TextDelta(text=text)]


def test_reasoning() -> None:
    text = "<think>\nI should call <tool_call> maybe, or <think> again\n</think>\nAnswer"
    assert three_ways(text) == [
        ReasoningDelta(text="\nI should call <tool_call> maybe, or <think> again\n"),
        TextDelta(text="\nAnswer"),
    ]


def test_a_call_opened_inside_reasoning_ends_it() -> None:
    # Qwen3 opens calls before closing its reasoning; the block's own close, when it comes, is markup.
    text = f"<think>Need the weather.\n<tool_call>\n{WEATHER}\n</tool_call>\n</think>\n\nDone.</think>"
    assert three_ways(text) == [
        ReasoningDelta(text="Need the weather.\n"),
        *call(0, "get_weather", '{"city": "Paris"}', {"city": "Paris"}),
        TextDelta(text="\n\n\nDone.</think>"),
    ]


def test_unterminated_reasoning_is_flushed_at_close() -> None:
    assert three_ways("<think>still thinking <") == [ReasoningDelta(text="still thinking <")]


# -- malformed blocks -------------------------------------------------------------

INVALID = {
    "invalid JSON": '<tool_call>{"name": "f", "arguments": {"a": 1,}}</tool_call>',
    "brace missing": '<tool_call>{"name": "f", "arguments": {"a": 1}</tool_call>',
    "missing name": '<tool_call>{"arguments": {"a": 1}}</tool_call>',
    "non-string name": '<tool_call>{"name": 5, "arguments": {}}</tool_call>',
    "empty name": '<tool_call>{"name": "", "arguments": {}}</tool_call>',
    "non-object arguments": '<tool_call>{"name": "f", "arguments": [1]}</tool_call>',
    "string arguments not JSON": '<tool_call>{"name": "f", "arguments": "{oops"}</tool_call>',
    "string arguments not an object": '<tool_call>{"name": "f", "arguments": "[1]"}</tool_call>',
    "not JSON at all": "<tool_call>{get_weather(city=Paris)}</tool_call>",
    "empty array": "<tool_call>[]</tool_call>",
    "array of non-objects": '<tool_call>["a"]</tool_call>',
}


@pytest.mark.parametrize(
    "text",
    ["<tool_call>get_weather(city=Paris)</tool_call>", "<tool_call>\n</tool_call>", '<tool_call>"f"</tool_call>',
     "The literal tag <tool_call> is mentioned here."],
)
def test_an_opening_tag_not_followed_by_json_is_text(text: str) -> None:
    assert three_ways(f"before {text} after") == [TextDelta(text=f"before {text} after")]


@pytest.mark.parametrize("text", ["<tool_call>", "<tool_call> \n"])
def test_an_opening_tag_at_the_very_end_is_a_call_cut_off(text: str) -> None:
    events = three_ways("Sure. " + text)
    assert events[0] == TextDelta(text="Sure. ")
    assert isinstance(events[1], InvalidToolCall) and events[1].raw == text and events[1].kind == "truncated"


@pytest.mark.parametrize("block", INVALID.values(), ids=INVALID.keys())
def test_invalid_blocks_become_events(block: str) -> None:
    events = three_ways(f"before {block} after")
    assert without_errors(events)[0] == TextDelta(text="before ")
    assert events[-1] == TextDelta(text=" after")
    bad = [e for e in events if isinstance(e, InvalidToolCall)]
    assert len(bad) == 1 and bad[0].raw == block and bad[0].index == 0 and bad[0].error
    assert not any(isinstance(e, ToolCallEnd) for e in events)


def test_invalid_after_start_keeps_index_and_order() -> None:
    block = '<tool_call>{"name": "f", "arguments": 7}</tool_call>'
    events = three_ways(block + f"<tool_call>{WEATHER}</tool_call>")
    assert without_errors(events) == [
        ToolCallStart(index=0, id="call_0", name="f"),
        ToolCallDelta(index=0, arguments="7"),
        invalid(0, block),
        *call(1, "get_weather", '{"city": "Paris"}', {"city": "Paris"}),
    ]


@pytest.mark.parametrize(
    "text",
    ["<tool_call>", "<tool_call>\n", '<tool_call>{"name": "f", "argu', '<tool_call>{"name": "f", "arguments": {"a": "x</tool_call>'],
)
def test_block_open_at_close_is_invalid(text: str) -> None:
    events = three_ways(text)
    assert isinstance(events[-1], InvalidToolCall) and events[-1].raw == text and events[-1].index == 0
    assert not any(isinstance(e, ToolCallEnd) for e in events)


def test_parsing_continues_after_an_invalid_block() -> None:
    events = three_ways(f"<tool_call>{{nope}}</tool_call>x<tool_call>{WEATHER}</tool_call>")
    assert without_errors(events) == [
        invalid(0, "<tool_call>{nope}</tool_call>"),
        TextDelta(text="x"),
        *call(1, "get_weather", '{"city": "Paris"}', {"city": "Paris"}),
    ]


def test_text_after_the_json_ends_a_block_left_open() -> None:
    # The closing tag is optional: text after the call's JSON is content, not part of the block.
    events = three_ways(f"<tool_call>{WEATHER} oops</tool_call>")
    assert events == [*call(0, "get_weather", '{"city": "Paris"}', {"city": "Paris"}), TextDelta(text=" oops</tool_call>")]


@pytest.mark.parametrize(
    "body,name,raw_args,args",
    [
        ('{"name": "f", "arguments": {"a": "x\ud800y"}}', "f", '{"a": "x\ud800y"}', {"a": "x\ud800y"}),
        ('{"name": "f\\n\udfff", "arguments": {}}', "f\n\udfff", "{}", {}),
        ('{"name": "f", "arguments": "{\\"a\\": \\"\ud800\\"}"}', "f", '{"a": "\ud800"}', {"a": "\ud800"}),
        ('[{"name": "f", "arguments": {"\udc00": 1}}]', "f", '{"\udc00": 1}', {"\udc00": 1}),
    ],
)
def test_lone_surrogates_in_a_block_do_not_raise(body: str, name: str, raw_args: str, args: dict[str, object]) -> None:
    # A Python str can hold a lone surrogate; msgspec cannot encode it to UTF-8 and used to raise.
    assert three_ways(f"a\ud800 <tool_call>{body}</tool_call>") == [TextDelta(text="a\ud800 "), *call(0, name, raw_args, args)]


def test_lone_surrogate_in_an_invalid_block_is_an_event() -> None:
    block = '<tool_call>[{"name": "f\ud800", "arguments": [1]}, "\ud800"]</tool_call>'
    events = three_ways(block)
    assert without_errors(events)[-1] == invalid(0, block)


def test_repeated_arguments_key_ends_with_what_was_streamed() -> None:
    # The deltas stream the first value; the end must not switch to the last one (JSON decoding keeps the last).
    first = '<tool_call>{"name": "f", "arguments": {"x": 1}, "arguments": {"y": 2}}</tool_call>'
    assert three_ways(first) == call(0, "f", '{"x": 1}', {"x": 1})
    second = '<tool_call>{"arguments": null , "name": "f", "arguments": 5}</tool_call>'
    assert three_ways(second) == call(0, "f", "{}", {})


# -- streaming timing -------------------------------------------------------------


def feed_positions(text: str) -> list[tuple[int, Event]]:
    """Feed one character at a time; each event with the position of the character whose feed returned it."""
    parser = Parser("hermes")
    out = [(i, e) for i, ch in enumerate(text) for e in parser.feed(ch)]
    return out + [(len(text), e) for e in parser.close()]


@pytest.mark.parametrize(
    "objects,array",
    [
        ([WEATHER], False),
        (['{"arguments": {"a": {"b": "}"}}, "name": "f"}'], False),
        (['{"name": "f"}', WEATHER], False),
        (['{"name": "a"}', '{"name": "b", "arguments": {}}'], True),
    ],
)
def test_end_comes_with_the_final_brace(objects: list[str], array: bool) -> None:
    text, expected = "<tool_call>\n" + ("[" if array else ""), []
    for obj in objects:
        text += obj
        expected.append(len(text) - 1)
        text += ", " if array else "\n"
    text = text.rstrip(", \n") + ("]" if array else "") + "\n</tool_call>"
    assert [i for i, e in feed_positions(text) if isinstance(e, ToolCallEnd)] == expected


def test_start_comes_with_the_names_closing_quote() -> None:
    text = f"<tool_call>{WEATHER}</tool_call>"
    starts = [i for i, e in feed_positions(text) if isinstance(e, ToolCallStart)]
    assert starts == [text.index('"get_weather"') + len('"get_weather"') - 1]


def test_arguments_stream_before_the_call_ends() -> None:
    text = '<tool_call>{"name": "f", "arguments": {"text": "' + "abcd" * 10 + '"}}</tool_call>'
    positions = feed_positions(text)
    deltas = [i for i, e in positions if isinstance(e, ToolCallDelta)]
    end = next(i for i, e in positions if isinstance(e, ToolCallEnd))
    assert len(deltas) > 30 and max(deltas) <= end
    assert "".join(e.arguments for _, e in positions if isinstance(e, ToolCallDelta)) == '{"text": "' + "abcd" * 10 + '"}'


def test_nothing_is_held_back_but_a_possible_tag() -> None:
    text = "Hello <b>world</b> a<tool_cal"
    parser = Parser("hermes")
    shown = ""
    for i, ch in enumerate(text):
        shown += "".join(e.text for e in parser.feed(ch) if isinstance(e, TextDelta))
        rest = text[: i + 1][len(shown) :]
        assert rest == "" or "<tool_call>".startswith(rest) or "<think>".startswith(rest), (shown, rest)
    assert "".join(e.text for e in parser.close() if isinstance(e, TextDelta)) == "<tool_cal"


# -- API ---------------------------------------------------------------------------


def test_feed_empty_is_a_no_op_and_close_is_final() -> None:
    parser = Parser("hermes")
    assert parser.feed("") == []
    assert parser.feed("<") == []
    assert parser.feed("") == []
    assert parser.close() == [TextDelta(text="<")]
    with pytest.raises(UsageError):
        parser.feed("x")
    with pytest.raises(UsageError):
        parser.close()


def test_id_factory() -> None:
    parser = Parser("hermes", id_factory=lambda i: f"id-{i}")
    events = parser.feed(f"<tool_call>{WEATHER}</tool_call>") + parser.close()
    assert {e.id for e in events if isinstance(e, (ToolCallStart, ToolCallEnd))} == {"id-0"}


def test_parse_is_the_stream_folded() -> None:
    text = f"<think>hm</think>  Sure. <tool_call>{WEATHER}</tool_call><tool_call>{{bad}}</tool_call>  "
    message = parse(text, format="hermes")
    assert message == Message(
        content="Sure.",
        reasoning="hm",
        tool_calls=[ToolCall(id="call_0", name="get_weather", arguments={"city": "Paris"})],
        invalid_tool_calls=[message.invalid_tool_calls[0]],
    )
    assert message.invalid_tool_calls[0].raw == "<tool_call>{bad}</tool_call>"
    assert parse("  ").content is None


def test_to_message() -> None:
    message = parse(f"<tool_call>{WEATHER}</tool_call>")
    assert message.to_message() == {
        "role": "assistant",
        "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
        ],
    }
    assert parse("hi").to_message() == {"role": "assistant", "content": "hi"}


def test_events_encode_with_a_type_tag() -> None:
    line = msgspec.json.encode(ToolCallEnd(index=0, id="a", name="f", arguments={"x": 1}))
    assert msgspec.json.decode(line) == {"type": "tool_call_end", "index": 0, "id": "a", "name": "f", "arguments": {"x": 1}}
    assert msgspec.json.decode(msgspec.json.encode(TextDelta(text="x")))["type"] == "text_delta"


def test_unknown_format() -> None:
    with pytest.raises(FormatError, match="hermes"):
        Parser("no-such-format")


def test_no_tag_literal_in_the_python_code() -> None:
    core = Path(__file__).resolve().parent.parent / "streamparse" / "core"
    for path in sorted(core.rglob("*.py")):
        source = path.read_text()
        for literal in ("tool_call>", "think>"):
            assert literal not in source, f"{path.name} holds {literal!r}"


# -- a second grammar through the same machine ----------------------------------------

BRACKETS = Path(__file__).parent / "grammars" / "brackets.lark"


def test_second_grammar() -> None:
    fmt = load_format(BRACKETS)
    text = f"hi [[call]]{WEATHER}[[/call]]<<reason>>why [[call]]<</reason>> <tool_call>{{}}</tool_call> [[call]]x"
    assert without_errors(three_ways(text, fmt)) == [
        TextDelta(text="hi "),
        *call(0, "get_weather", '{"city": "Paris"}', {"city": "Paris"}),
        ReasoningDelta(text="why [[call]]"),
        TextDelta(text=" <tool_call>{}</tool_call> [[call]]x"),
    ]


def test_second_grammar_literal_where_a_value_starts() -> None:
    # `[[/call]]` begins with `[`: where a value should start it is still the closing literal.
    fmt = load_format(BRACKETS)
    events = three_ways('[[call]]{"name": [[/call]] after [[call]]{"name": "f", "arguments": [[/call]]', fmt)
    assert without_errors(events) == [
        invalid(0, '[[call]]{"name": [[/call]]'),
        TextDelta(text=" after "),
        ToolCallStart(index=1, id="call_1", name="f"),
        invalid(1, '[[call]]{"name": "f", "arguments": [[/call]]'),
    ]
    # ... and a `[` there that turns out to open an array is held back only until decided.
    text = '[[call]]{"name": "f", "x": [[2]], "arguments": {"a": [[1]]}}[[/call]]'
    assert three_ways(text, fmt) == call(0, "f", '{"a": [[1]]}', {"a": [[1]]})


def test_grammar_without_content_terminals_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.lark"
    bad.write_text('start: A B\nA: "<a>"\nB: "<b>"\n')
    with pytest.raises(FormatError):
        load_format(bad)


# -- bounded and linear ------------------------------------------------------------------


def test_megabytes_of_arguments() -> None:
    value = "x\\\"y " * 400_000  # 2.4 MB of string with escapes
    text = f'<tool_call>{{"name": "f", "arguments": {{"blob": "{value}"}}}}</tool_call>'
    parser = Parser("hermes")
    events: list[Event] = []
    for i in range(0, len(text), 4):
        events += parser.feed(text[i : i + 4])
    events += parser.close()
    end = events[-1]
    assert isinstance(end, ToolCallEnd) and end.arguments == {"blob": 'x"y ' * 400_000}
    assert "".join(e.arguments for e in events if isinstance(e, ToolCallDelta)) == f'{{"blob": "{value}"}}'


@pytest.mark.parametrize("opener,closer", [("[", "]"), ('{"a":', "}")])
def test_deep_nesting_is_an_event_not_a_crash(opener: str, closer: str) -> None:
    deep = opener * 10_000 + "1" + closer * 10_000
    text = f'<tool_call>{{"name": "f", "arguments": {{"d": {deep}}}}}</tool_call>'
    events = merge(run([text[i : i + 7] for i in range(0, len(text), 7)]))
    assert isinstance(events[-1], (InvalidToolCall, ToolCallEnd))


def test_idle_parser_is_small() -> None:
    load_format("hermes")
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    parsers = [Parser("hermes") for _ in range(1000)]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    per_parser = sum(s.size_diff for s in after.compare_to(before, "filename")) / len(parsers)
    assert per_parser < 2048, per_parser



def test_an_opening_tag_ends_a_block_left_open() -> None:
    a = '<tool_call>\n{"name": "a", "arguments": {}}\n'
    b = '<tool_call>\n{"name": "b", "arguments": {"x": 1}}\n</tool_call>'
    assert three_ways(a + b) == call(0, "a", "{}", {}) + call(1, "b", '{"x": 1}', {"x": 1})
    events = three_ways('<tool_call>{"name": "a"} oops<think>hm</think>')
    assert events == [*call(0, "a", "{}", {}), TextDelta(text=" oops"), ReasoningDelta(text="hm")]


def test_starting_inside_reasoning() -> None:
    text = "The user wants Paris.\n</think>\n\nSure.<tool_call>{\"name\": \"f\"}</tool_call>"
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    parser = Parser("hermes", in_reasoning=True)
    events = merge([e for piece in pieces for e in parser.feed(piece)] + parser.close())
    assert events[:2] == [ReasoningDelta(text="The user wants Paris.\n"), TextDelta(text="\n\nSure.")]
    assert parse(text, in_reasoning=True).reasoning == "The user wants Paris."
    assert parse("no think tags", in_reasoning=True).reasoning == "no think tags"


def test_in_reasoning_needs_a_reasoning_block(tmp_path: Path) -> None:
    grammar = tmp_path / "calls_only.lark"
    grammar.write_text('start: item*\nitem: TEXT | call\ncall: OPEN CALLS CLOSE\nOPEN: "<c>"\nCLOSE: "</c>"\n%declare TEXT CALLS\n')
    with pytest.raises(FormatError, match="no reasoning block"):
        Parser(load_format(grammar), in_reasoning=True)


def test_a_cut_off_opening_tag_after_a_call_is_kept() -> None:
    events = three_ways('<tool_call>{"name": "f"}<tool_c')
    assert events == [*call(0, "f", "{}", {}), TextDelta(text="<tool_c")]
    assert three_ways('<tool_call>{"name": "f"}</tool_c') == call(0, "f", "{}", {})  # a cut-off closing tag is markup


@pytest.mark.parametrize("value", ["nu", "n", "nullx", "null"])
def test_arguments_that_begin_like_null_stream_the_same_in_any_two_pieces(value: str) -> None:
    # A piece that ends inside what begins like `null` must not decide that the arguments are null.
    text = '<tool_call>{"name": "write", "arguments": ' + value + "}</tool_call>"
    whole = merge(run([text]))
    for i in range(1, len(text)):
        assert merge(run([text[:i], text[i:]])) == whole, i
    deltas = [e.arguments for e in whole if isinstance(e, ToolCallDelta)]
    assert deltas == (["{}"] if value == "null" else [value])


@pytest.mark.parametrize("fault", ["\\\\x", "\\\\u00zz", "\\\\u12"])
def test_string_arguments_with_a_bad_escape_stream_the_same_in_any_two_pieces(fault: str) -> None:
    # Arguments written as a JSON string stream decoded up to the invalid escape, then nothing:
    # the same whether the fault arrives in the piece that began the string or in a later one.
    inner = '{\\"path\\": \\"caf\\u00e9 \\\\n' + fault[1:] + ' rest\\"}'
    text = '<tool_call>{"name": "write", "arguments": "' + inner + '"}</tool_call>'
    whole = merge(run([text]))
    assert [type(e).__name__ for e in whole] == ["ToolCallStart", "ToolCallDelta", "InvalidToolCall"]
    assert whole[1].arguments == '{"path": "café \\n'  # type: ignore[union-attr]
    for i in range(1, len(text)):
        assert merge(run([text[:i], text[i:]])) == whole, i
