"""The worked example of grammars/README.md, built from the guide itself: it must keep working."""

from __future__ import annotations

import re
from pathlib import Path

from streamparse import parse
from streamparse.core.render import render

from .helpers import three_ways
from .test_formats import check_contract

GUIDE = Path(__file__).resolve().parents[1] / "grammars" / "README.md"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}},
        },
    }
]


def test_the_worked_example_in_the_guide(tmp_path: Path) -> None:
    grammar = re.search(r"```lark\n(.*?)```", GUIDE.read_text(), re.S)
    assert grammar is not None
    assert len(grammar.group(1).splitlines()) < 100
    path = tmp_path / "acme.lark"
    path.write_text(grammar.group(1))
    text = 'Checking.<call name="get_weather"><arg name="city">Paris</arg><arg name="days">3</arg></call>'
    message = parse(text, str(path), tools=TOOLS)
    assert [(c.name, c.arguments) for c in message.tool_calls] == [("get_weather", {"city": "Paris", "days": 3})]
    assert message.content == "Checking."
    check_contract(three_ways(text, str(path)))
    written = render(str(path), reasoning="Hm.", calls=[("get_weather", {"city": "Oslo", "days": 2})])
    again = parse(written, str(path), tools=TOOLS)
    assert again.reasoning == "Hm." and again.tool_calls[0].arguments == {"city": "Oslo", "days": 2}
