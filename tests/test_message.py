"""MessageBuilder folds events as they come: what it keeps, and what each build returns."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamparse import (
    Event,
    InvalidToolCall,
    Message,
    MessageBuilder,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
)

EVENTS = st.one_of(
    st.builds(TextDelta, text=st.text(max_size=5)),
    st.builds(ReasoningDelta, text=st.text(max_size=5)),
    st.builds(ToolCallStart, index=st.integers(0, 3), id=st.just("c"), name=st.just("f")),
    st.builds(ToolCallDelta, index=st.integers(0, 3), arguments=st.text(max_size=5)),
    st.builds(ToolCallEnd, index=st.integers(0, 3), id=st.just("c"), name=st.text(max_size=3), arguments=st.just({})),
    st.builds(InvalidToolCall, index=st.integers(0, 3), raw=st.text(max_size=5), error=st.just("bad")),
)


def folded_at_once(events: list[Event]) -> Message:
    """The message by definition: every event's contribution, joined in order."""
    text = "".join(e.text for e in events if type(e) is TextDelta)
    reasoning = "".join(e.text for e in events if type(e) is ReasoningDelta)
    return Message(
        content=text.strip() or None,
        reasoning=reasoning.strip() or None,
        tool_calls=[ToolCall(id=e.id, name=e.name, arguments=e.arguments) for e in events if type(e) is ToolCallEnd],
        invalid_tool_calls=[e for e in events if type(e) is InvalidToolCall],
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(EVENTS, max_size=700), st.lists(st.integers(0, 700), max_size=6))
def test_building_at_any_points_gives_the_message_of_the_events_so_far(events: list[Event], at: list[int]) -> None:
    # More events than one batch of pieces, builds in between: each build is the fold so far.
    builder = MessageBuilder()
    done = 0
    for stop in sorted({*at, len(events)}):
        stop = min(stop, len(events))
        builder.extend(events[done:stop])
        done = stop
        assert builder.build() == folded_at_once(events[:done])


def test_a_build_is_reused_until_an_event_changes_the_message() -> None:
    builder = MessageBuilder()
    builder.add(TextDelta(text="Hi"))
    first = builder.build()
    assert builder.build() is first  # reading again costs nothing
    builder.extend([ToolCallStart(index=0, id="c", name="f"), ToolCallDelta(index=0, arguments="{")])
    assert builder.build() is first  # fragments do not change the message
    builder.add(ToolCallEnd(index=0, id="c", name="f", arguments={"a": 1}))
    second = builder.build()
    assert second is not first and second.tool_calls == [ToolCall(id="c", name="f", arguments={"a": 1})]


def test_a_built_message_never_changes_afterwards() -> None:
    builder = MessageBuilder()
    builder.extend([TextDelta(text="a"), ToolCallEnd(index=0, id="c", name="f", arguments={})])
    before = builder.build()
    builder.extend([TextDelta(text="b"), ToolCallEnd(index=1, id="d", name="g", arguments={})])
    builder.add(InvalidToolCall(index=2, raw="x", error="bad"))
    assert before == Message(content="a", tool_calls=[ToolCall(id="c", name="f", arguments={})])
    assert builder.build().content == "ab" and len(builder.build().tool_calls) == 2


def retained_bytes(events: list[Any]) -> int:
    """Bytes a builder keeps after folding ``events`` (the events themselves dropped)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        builder = MessageBuilder()
        for event in events:
            builder.add(event)
        del events[:]
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_memory_follows_the_text_not_the_number_of_events() -> None:
    n = 100_000
    # Argument fragments and empty texts add nothing to the message: nearly nothing is kept.
    assert retained_bytes([ToolCallDelta(index=0, arguments="x") for _ in range(n)]) < 4_000
    assert retained_bytes([TextDelta(text="") for _ in range(n)]) < 8_000
    # One character each: about the text itself (1 byte a character), not ~100 bytes an event.
    text_cost = retained_bytes([TextDelta(text=chr(97 + i % 26)) for i in range(n)])
    assert text_cost < 2 * n
