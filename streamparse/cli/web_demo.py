"""The live page (``streamparse demo --web``, ``serve --ui``): the demo's agent in a browser.

The page is served by the embedded server, next to its OpenAI routes; its
relay sends each prompt through a :class:`~streamparse.client.Client` (to that
same server's scripted model, or to ``--base-url``) with the demo's tools, and
streams every event back to the page as it comes, value events included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.formats import Format
from .demo import DEMO_PROMPT, demo_tools

if TYPE_CHECKING:
    from ..agent import Agent, AgentRun
    from ..server import Server

MAX_TURNS = 4


class DemoPage:
    """The page's routes on ``server``; the client to the model is made once the server listens."""

    def __init__(
        self,
        server: Server,
        *,
        fmt: Format,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        params: dict[str, Any] | None = None,
        tool_latency: float = 0.0,
    ) -> None:
        from ..web import add_routes

        self.server = server
        self._fmt = fmt
        self._base_url = base_url
        self._model = model
        self._api_key = api_key
        self._params = params or {}
        self._tool_latency = tool_latency
        self._agent: Agent | None = None
        where = f"{model or 'its first model'} at {base_url}" if base_url else f"{server.model} · embedded server"
        add_routes(server.app, self.run, page={"prompt": DEMO_PROMPT, "meta": f"{where} · {fmt.name}"})

    @property
    def url(self) -> str:
        return f"{self.server.url}/"

    def run(self, messages: list[dict[str, Any]]) -> AgentRun:
        """The demo's agent on the request's conversation: each tool starts the moment its call is complete."""
        if self._agent is None:  # the server's port is known now
            from ..agent import Agent
            from ..client import Client

            base_url = self._base_url or self.server.base_url
            model = self._model or (None if self._base_url else self.server.model)
            client = Client(base_url, model, self._api_key, format=self._fmt, values=True)
            self._agent = Agent(client, demo_tools(self._tool_latency), max_turns=MAX_TURNS)
        return self._agent.run(messages, **self._params)

    async def close(self) -> None:
        if self._agent is not None:
            await self._agent.client.close()
