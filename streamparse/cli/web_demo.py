"""The live page (``streamparse demo --web``, ``serve --ui``): the demo's agent in a browser.

The page is served by the embedded server, next to its OpenAI routes; its
relay sends each prompt through a :class:`~streamparse.client.Client` (to that
same server's scripted model, or to ``--base-url``) with the demo's tools, and
streams every event back to the page as it comes, value events included.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ..core.events import ToolCallEnd
from ..core.formats import Format
from .demo import DEMO_PROMPT, DEMO_TOOLS, run_tool

if TYPE_CHECKING:
    from ..client import Client
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
    ) -> None:
        from ..web import add_routes

        self.server = server
        self._fmt = fmt
        self._base_url = base_url
        self._model = model
        self._api_key = api_key
        self._params = params or {}
        self._client: Client | None = None
        where = base_url or "embedded server"
        add_routes(
            server.app,
            self.run,
            page={"prompt": DEMO_PROMPT, "meta": f"{model or server.model} · {where} · {fmt.name}"},
        )

    @property
    def url(self) -> str:
        return f"{self.server.url}/"

    def client(self) -> Client:
        if self._client is None:
            from ..client import Client

            base_url = self._base_url or self.server.base_url
            model = self._model or (None if self._base_url else self.server.model)
            self._client = Client(base_url, model, self._api_key, format=self._fmt, values=True)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def run(self, messages: list[dict[str, Any]]) -> AsyncIterator[object]:
        """The demo's agent: stream a response, run its calls, send the results back, until it answers."""
        client = self.client()
        messages = list(messages)
        for _ in range(MAX_TURNS):
            stream = client.stream(messages, tools=DEMO_TOOLS, **self._params)
            results: list[dict[str, Any]] = []
            async for event in stream:
                yield event
                if isinstance(event, ToolCallEnd):
                    started = time.perf_counter()
                    yield {"type": "tool_started", "index": event.index, "id": event.id, "name": event.name}
                    content = run_tool(event.name, event.arguments)
                    yield {
                        "type": "tool_finished",
                        "index": event.index,
                        "id": event.id,
                        "name": event.name,
                        "status": "ok",
                        "content": content,
                        "duration": time.perf_counter() - started,
                    }
                    results.append({"role": "tool", "tool_call_id": event.id, "content": content})
            messages.append(stream.message.to_message())
            if not results:
                return
            messages += results
