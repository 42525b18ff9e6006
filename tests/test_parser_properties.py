"""Hypothesis: any chunking gives the same events; any text parses and loses nothing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamparse import InvalidToolCall, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart
from streamparse.core.events import Event

from .helpers import merge, run, without_errors

# Text never holds `>`, so it cannot form a tag by itself; `<`, tag prefixes and braces are in.
TEXT = st.text(st.sampled_from(list("ab <{}\"\\/\n:,_tolcahink") + ["é", "😀", "中"]), min_size=1, max_size=12)
STRAY = st.sampled_from(["</tool_call>", "<tool_calls>", "<tool>", "</think>", "<tool_call", "a < b"])
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
JSON = st.recursive(JSON_SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3), max_leaves=8)
ARGS = st.dictionaries(st.text(max_size=6), JSON, max_size=4)
WS = st.sampled_from(["", " ", "\n", " \n\t"])


@st.composite
def valid_block(draw: st.DrawFn) -> tuple[str, list[tuple[str, str, dict[str, Any]]]]:
    """A tool-call block and its calls as (name, raw arguments, arguments)."""
    calls = []
    for _ in range(draw(st.integers(1, 2))):
        name = draw(st.text(min_size=1, max_size=8))
        args = draw(ARGS)
        raw = json.dumps(args, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1])))
        key = draw(st.sampled_from(["arguments", "parameters"]))
        first, second = f'"name": {json.dumps(name)}', f'"{key}": {raw}'
        if draw(st.booleans()):
            first, second = second, first
        calls.append((f"{{{first},{draw(WS)}{second}}}", name, raw, args))
    sep = draw(WS)
    if len(calls) > 1 and draw(st.booleans()):
        body = "[" + f",{sep}".join(c[0] for c in calls) + "]"
    else:
        body = f"{sep}\n".join(c[0] for c in calls)
    block = f"<tool_call>{draw(WS)}{body}{draw(WS)}</tool_call>"
    return block, [(name, raw, args) for _, name, raw, args in calls]


# Invalid block bodies, with the argument text they stream when their name is seen first.
INVALID_BODIES = st.sampled_from(
    [
        ("", None), ("x", None), ('{"name": 1}', None), ('{"arguments": {}}', None), ("[]", None),
        ('{"a": 1,}', None), ("[1]", None), ('{"name": "f"', ""), ('{"name": "f", "arguments": [1]}', "[1]"),
        ('{"name": "f", "arguments": {"a": 1}', '{"a": 1}'),
    ]
)


@st.composite
def stream(draw: st.DrawFn) -> tuple[str, list[Event]]:
    """Model output and the events it must give (adjacent deltas merged, error text blank)."""
    text, expected, index = "", [], 0
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["text", "stray", "think", "call", "invalid"]))
        if kind in ("text", "stray"):
            piece = draw(TEXT if kind == "text" else STRAY)
            text += piece
            expected.append(TextDelta(text=piece))
        elif kind == "think":
            inner = draw(TEXT | STRAY.filter(lambda s: s != "</think>"))
            text += f"<think>{inner}</think>"
            expected.append(ReasoningDelta(text=inner))
        elif kind == "call":
            block, calls = draw(valid_block())
            text += block
            for name, raw, args in calls:
                ident = f"call_{index}"
                expected += [ToolCallStart(index=index, id=ident, name=name)]
                expected += [ToolCallDelta(index=index, arguments=raw)] if raw else []
                expected += [ToolCallEnd(index=index, id=ident, name=name, arguments=args)]
                index += 1
        else:
            body, streamed = draw(INVALID_BODIES)
            block = f"<tool_call>{body}</tool_call>"
            text += block
            if body[:1] not in ("{", "["):  # an opening tag not followed by JSON is text
                expected.append(TextDelta(text=block))
                continue
            if streamed is not None:
                expected += [ToolCallStart(index=index, id=f"call_{index}", name="f")]
                expected += [ToolCallDelta(index=index, arguments=streamed)] if streamed else []
            expected.append(InvalidToolCall(index=index, raw=block, error=""))
            index += 1
    return text, merge(expected)


@st.composite
def chunked(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=20)))
    cuts = [c for c in cuts if c < len(text)]
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_chunking_gives_the_expected_events(data: st.DataObject) -> None:
    text, expected = data.draw(stream())
    pieces = data.draw(chunked(text))
    assert without_errors(merge(run(pieces))) == expected
    assert without_errors(merge(run(list(text)))) == expected


def _strip_think(text: str) -> str:
    return text.replace("<think>", "").replace("</think>", "")


NOISE = st.lists(
    st.sampled_from(
        ["<tool_call>", "</tool_call>", "<think>", "</think>", "<", ">", "{", "}", "[", "]", '"', "\\", ":", ",", " ", "\n", "a", '"name"', '"arguments"', "é", "\ud800"]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(NOISE, st.data())
def test_arbitrary_text_never_raises_and_loses_nothing(text: str, data: st.DataObject) -> None:
    pieces = data.draw(chunked(text)) if text else [text]
    events = run(pieces)
    assert merge(events) == merge(run([text]))
    if not any(isinstance(e, ToolCallEnd) for e in events):
        # No call parsed: every character is in a text, reasoning or raw event (think tags aside).
        kept = "".join(
            getattr(e, "text", None) or getattr(e, "raw", "") for e in events if isinstance(e, (TextDelta, ReasoningDelta, InvalidToolCall))
        )
        assert _strip_think(kept) == _strip_think(text)
    starts = {e.index for e in events if isinstance(e, ToolCallStart)}
    finished = {e.index for e in events if isinstance(e, (ToolCallEnd, InvalidToolCall))}
    assert starts <= finished, "a started call neither ended nor was reported invalid"
    indexes = [e.index for e in events if isinstance(e, (ToolCallEnd, InvalidToolCall))]
    assert len(indexes) == len(set(indexes)), "an index was reused"
