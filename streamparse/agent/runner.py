"""The agent loop over :meth:`Client.stream`: each tool starts the moment its call is complete.

::

    agent = Agent(client, [get_weather, get_time])
    async with agent.run("Weather in Paris, time in Tokyo?") as run:
        async for event in run:
            ...  # the stream's events, plus TurnStart, ToolStarted, ToolFinished, TurnEnd
    run.messages  # the whole conversation, tool messages included

A turn is one request. While its response streams, every
:class:`~streamparse.core.events.ToolCallEnd` starts its tool as an asyncio
task at once (at most ``max_concurrency`` running, each cut off after its
timeout); the stream goes on meanwhile. Once the response has ended and every
result is in, the assistant message and one ``tool`` message per call, in call
order, join the conversation, and the next turn sends it. The run ends when
the model answers without a call, or after ``max_turns`` requests (the last
turn's tools still run, so the conversation can be sent again as it is).

How each call ends (always one :class:`ToolFinished`, and a ``tool`` message):

- the tool returns: its result (a string as is, anything else as JSON);
- it raises, or runs past its timeout (then it is cancelled), or its name is
  unknown, or its arguments do not fit its parameters: ``{"error": "..."}``
  saying so, with status ``error``, ``timeout``, ``unknown_tool`` or
  ``invalid_arguments``;
- an :class:`~streamparse.core.events.InvalidToolCall` (a block that could
  not be read as a call) is quoted, with its error, in one ``user`` message
  after the turn's tool messages, and the run goes on so the model can write
  it again.

A request that fails (the stream breaks, a timeout, an HTTP error) cancels
the running tools and raises :class:`~streamparse.errors.AgentError` carrying
the conversation up to the failure. Leaving the loop early (``break``, an
exception, a cancelled task) cancels the tools and closes the stream when the
run is closed: use ``async with``, or call :meth:`AgentRun.aclose`. No task
of the run outlives it.

The stream is read as fast as it arrives, whatever the consumer does, so that
tools start on time: events wait in memory for a slow consumer.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from ..core.events import Event, InvalidToolCall, ToolCallEnd
from ..errors import AgentError, LLMError, ToolArgumentsError, UsageError
from .events import ToolFinished, ToolStarted, ToolStatus, TurnEnd, TurnStart
from .messages import error_content, invalid_calls_note, result_content, tool_message
from .tools import Tool

if TYPE_CHECKING:
    from ..client import Client, Stream

__all__ = ["Agent", "AgentRun"]


class _Failed:
    """The stream (or a task, on an exception nothing caught) raised: the consumer raises it after the events before it."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


_STREAM_END = object()  # the stream ended cleanly


class Agent:
    """Tools and the options of a run; :meth:`run` starts a conversation.

    ``tools`` are :class:`Tool` objects or plain functions (declared with
    :class:`Tool` defaults). ``max_turns`` caps the requests of one run;
    ``max_concurrency`` the tools running at once in a run; ``timeout`` is
    each tool's limit in seconds (None: none), unless the tool sets its own.
    """

    def __init__(
        self,
        client: Client,
        tools: Iterable[Tool[..., Any] | Callable[..., Any]],
        *,
        max_turns: int = 8,
        max_concurrency: int = 8,
        timeout: float | None = 60.0,
    ) -> None:
        if max_turns < 1 or max_concurrency < 1:
            raise UsageError("max_turns and max_concurrency must be at least 1")
        if timeout is not None and timeout <= 0:
            raise UsageError("timeout must be positive, or None for no timeout")
        self.client = client
        self.tools: dict[str, Tool[..., Any]] = {}
        for item in tools:
            declared = item if isinstance(item, Tool) else Tool(item)
            if declared.name in self.tools:
                raise UsageError(f"two tools are named {declared.name!r}")
            self.tools[declared.name] = declared
        self.specs = [declared.spec for declared in self.tools.values()]
        self.max_turns = max_turns
        self.max_concurrency = max_concurrency
        self.timeout = timeout

    def run(self, messages: str | Sequence[dict[str, Any]], **params: Any) -> AgentRun:
        """Start a conversation from a prompt or messages; ``params`` go into every request
        (``temperature``, ``tool_choice``, ``extra_body``... as for :meth:`Client.stream`)."""
        return AgentRun(self, messages, params)


class AgentRun:
    """One conversation: iterate it for its events; ``messages`` grows turn by turn.

    ``turns`` counts the requests sent; ``stop_reason`` is ``answered`` or
    ``max_turns`` once the run is over.
    """

    def __init__(self, agent: Agent, messages: str | Sequence[dict[str, Any]], params: dict[str, Any]) -> None:
        self.messages: list[dict[str, Any]] = (
            [{"role": "user", "content": messages}] if isinstance(messages, str) else list(messages)
        )
        self.turns = 0
        self.stop_reason: Literal["answered", "max_turns"] | None = None
        self._agent = agent
        self._params = params
        self._events = self._run()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Stop: cancel the running tools and close the stream."""
        await self._events.aclose()

    async def __aenter__(self) -> AgentRun:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self) -> AsyncGenerator[Event, None]:
        agent = self._agent
        semaphore = asyncio.Semaphore(agent.max_concurrency)
        while self.stop_reason is None:
            self.turns += 1
            yield TurnStart(turn=self.turns)
            turn = _Turn(agent, semaphore)
            try:
                turn.open(self.messages, self._params)
                pop = turn.pop
                while True:  # the hot path: once per event
                    event = pop()
                    if event is not None:
                        yield event
                    elif turn.over:
                        break
                    else:
                        await turn.wait()
            except LLMError as exc:
                await turn.close()
                self.messages = [*self.messages, *turn.messages(failed=True)]
                raise AgentError(exc, turn=self.turns, messages=list(self.messages)) from exc
            finally:
                await turn.close()
            self.messages = [*self.messages, *turn.messages()]
            if not turn.calls and not turn.invalid:
                self.stop_reason = "answered"
            elif self.turns >= agent.max_turns:
                self.stop_reason = "max_turns"
            yield turn.end(self.turns, self.stop_reason)


class _Turn:
    """One request: the stream read by a task of its own, and the tools its calls started."""

    def __init__(self, agent: Agent, semaphore: asyncio.Semaphore) -> None:
        self._agent = agent
        self._semaphore = semaphore
        # From the reader and tool tasks to the consumer: events, then _STREAM_END or a _Failed.
        self._ready: deque[object] = deque()
        self._waiter: asyncio.Future[None] | None = None  # the consumer waiting for _ready
        self._started = time.perf_counter()
        self._stream: Stream | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False  # close() cancels the tasks: their CancelledError is expected
        self._streaming = True
        self._handed = 0  # ToolFinished events handed out
        self.calls: list[ToolCallEnd] = []
        self.invalid: list[InvalidToolCall] = []
        self.results: dict[int, ToolFinished] = {}  # by call index
        self.response = 0.0  # when the stream ended

    def _now(self) -> float:
        return time.perf_counter() - self._started

    def open(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> None:
        self._started = time.perf_counter()
        self._stream = self._agent.client.stream(messages, tools=self._agent.specs or None, **params)
        self._reader = asyncio.create_task(self._read(self._stream), name="streamparse-agent-stream")
        self._reader.add_done_callback(self._died)

    def pop(self) -> Event | None:
        """The next event, stream or tool, in the order they came; None when none is ready."""
        ready = self._ready
        while ready:
            item = ready.popleft()
            if isinstance(item, Event):
                if type(item) is ToolFinished:
                    self._handed += 1
                return item
            if isinstance(item, _Failed):
                raise item.error
            self._streaming = False  # _STREAM_END
        return None

    @property
    def over(self) -> bool:
        """The stream ended and every result was handed out."""
        return not self._streaming and self._handed == len(self.calls)

    async def wait(self) -> None:
        """Until something is ready."""
        self._waiter = asyncio.get_running_loop().create_future()
        await self._waiter

    def _put(self, item: object) -> None:
        self._ready.append(item)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def close(self) -> None:
        """Cancel what still runs (nothing after a clean end) and wait for it; close the stream."""
        self._closing = True
        running = [task for task in (self._reader, *self._tasks) if task is not None and not task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
        if self._stream is not None:
            await self._stream.aclose()

    def messages(self, *, failed: bool = False) -> list[dict[str, Any]]:
        """The turn's messages: the assistant's, one ``tool`` message per call in call order, the invalid-call note.

        A failed turn adds an assistant message only if it received text or a call.
        """
        assert self._stream is not None
        message = self._stream.message
        out = []
        if not failed or message.content is not None or message.tool_calls:
            out.append(message.to_message())
        for call in self.calls:
            result = self.results.get(call.index)
            if result is not None:
                content = result.content
            else:
                content = error_content(f"{call.name} was cancelled: the response failed before it finished")
            out.append(tool_message(call.id, content))
        if self.invalid:
            out.append(invalid_calls_note(self.invalid))
        return out

    def end(self, turn: int, stop_reason: Literal["answered", "max_turns"] | None) -> TurnEnd:
        results = self.results.values()
        wall = max([self.response, *(result.at for result in results)])
        tools = sum(result.duration for result in results)
        return TurnEnd(
            turn=turn,
            calls=len(self.calls) + len(self.invalid),
            response=self.response,
            wall=wall,
            tools=tools,
            saved=self.response + tools - wall,
            stop_reason=stop_reason,
        )

    # -- the reader task and the tool tasks ---------------------------------------

    async def _read(self, stream: Stream) -> None:
        put = self._put
        try:
            async for event in stream:
                put(event)
                if type(event) is ToolCallEnd:
                    self._start(event)
                    await asyncio.sleep(0)  # the tool starts now, not after the rest of this read
                elif type(event) is InvalidToolCall:
                    self.invalid.append(event)
        except Exception as exc:  # raised to the consumer, after the events before it
            put(_Failed(exc))
        else:
            self.response = self._now()
            put(_STREAM_END)

    def _start(self, call: ToolCallEnd) -> None:
        self.calls.append(call)
        tool = self._agent.tools.get(call.name)
        if tool is None:
            known = ", ".join(self._agent.tools) or "none"
            self._finish(call, "unknown_tool", error_content(f"unknown tool {call.name!r}; the tools are: {known}"))
            return
        try:
            run = tool.bind(call.arguments)
        except ToolArgumentsError as exc:
            self._finish(call, "invalid_arguments", error_content(f"invalid arguments for {call.name}: {exc}"))
            return
        timeout = tool.timeout if tool.timeout is not None else self._agent.timeout
        task = asyncio.create_task(self._execute(call, run, timeout), name=f"streamparse-agent-tool-{call.name}")
        task.add_done_callback(self._died)
        self._tasks.append(task)

    async def _execute(self, call: ToolCallEnd, run: Callable[[], Awaitable[Any]], timeout: float | None) -> None:
        async with self._semaphore:
            started = self._now()
            self._put(ToolStarted(index=call.index, id=call.id, name=call.name, at=started))
            try:
                status, content = await asyncio.wait_for(_outcome(run), timeout)
            except asyncio.TimeoutError:  # only the timeout: _outcome catches the tool's own errors
                status, content = "timeout", error_content(f"{call.name} did not finish within {timeout:g} s")
            except asyncio.CancelledError:
                if self._closing:
                    raise
                # The tool raised CancelledError itself: without a result the turn would wait forever.
                status, content = "error", error_content(f"{call.name} was cancelled")
            self._finish(call, status, content, self._now() - started)

    def _died(self, task: asyncio.Task[None]) -> None:
        """A task ended on an exception nothing caught (a ``BaseException`` from a tool): the consumer raises it."""
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self._put(_Failed(error))

    def _finish(self, call: ToolCallEnd, status: ToolStatus, content: str, duration: float = 0.0) -> None:
        result = ToolFinished(
            index=call.index,
            id=call.id,
            name=call.name,
            status=status,
            content=content,
            at=self._now(),
            duration=duration,
        )
        self.results[call.index] = result
        self._put(result)


async def _outcome(run: Callable[[], Awaitable[Any]]) -> tuple[ToolStatus, str]:
    """Run the tool: its result, or its exception, as a ``tool`` message's content."""
    try:
        result = await run()
    except Exception as exc:
        return "error", error_content(f"{type(exc).__name__}: {exc}")
    try:
        return "ok", result_content(result)
    except Exception as exc:  # msgspec cannot encode it
        return "error", error_content(f"the result is not JSON-encodable: {exc}")
