"""One small exception hierarchy for everything streamparse raises.

Malformed model output is never an exception: it becomes an
:class:`~streamparse.core.events.InvalidToolCall` event carrying the raw text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core.message import Message


class StreamParseError(Exception):
    """Base of every error streamparse raises."""


class UsageError(StreamParseError):
    """The API was called in a way it does not allow (e.g. ``feed`` after ``close``)."""


class ToolArgumentsError(StreamParseError):
    """A model's tool-call arguments do not fit the tool's parameters (the message says where)."""


class FormatError(StreamParseError):
    """A model format is unknown or its grammar is not usable by the machine."""


class SSEError(StreamParseError):
    """The byte stream is not a usable server-sent-events stream."""


class ChatRequestError(StreamParseError):
    """A browser's chat request body that the relay cannot turn into messages (answered with HTTP 400)."""


class EventTooLargeError(SSEError):
    """One SSE event grew past the decoder's size cap."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"SSE event larger than {limit} bytes")
        self.limit = limit


class InputError(StreamParseError):
    """An input file (requests, expected answers, a run's records) is not usable; says which file and line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = ":".join(str(part) for part in (path, line) if part is not None)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.line = line


class WorkerError(StreamParseError):
    """A process running a benchmark's requests (a worker, a Ray actor) did not start, cannot
    reach the server, or was lost; the message names it (and its node)."""


class LLMError(StreamParseError):
    """Base of errors talking to an LLM server.

    ``partial`` holds what was received before the failure, folded into a
    :class:`~streamparse.core.message.Message`, so nothing is lost.
    """

    def __init__(self, message: str, *, partial: Message | None = None) -> None:
        super().__init__(message)
        self.partial = partial


class LLMConnectionError(LLMError):
    """The server could not be reached, or the connection broke."""


class LLMResponseError(LLMError):
    """The server answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error_type: str | None = None,
        code: str | int | None = None,
        param: object = None,
        retry_after: float | None = None,
        partial: Message | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}: {message}", partial=partial)
        self.status = status
        self.server_message = message
        self.error_type = error_type
        self.code = code
        self.param = param
        self.retry_after = retry_after  # seconds, from a Retry-After header (capped by the client)


class LLMTimeoutError(LLMError):
    """A timeout fired; ``timeout`` names which (connect, first_byte, idle, total)."""

    def __init__(self, timeout: str, seconds: float, *, partial: Message | None = None) -> None:
        super().__init__(f"{timeout} timeout after {seconds:g} s", partial=partial)
        self.timeout = timeout
        self.seconds = seconds


class LLMStreamError(LLMError):
    """The stream itself failed: an in-band error event, a truncated stream, or an undecodable event."""

    def __init__(
        self,
        message: str,
        *,
        error_type: str | None = None,
        code: str | int | None = None,
        partial: Message | None = None,
    ) -> None:
        super().__init__(message, partial=partial)
        self.error_type = error_type
        self.code = code


class LLMResponseTooLargeError(LLMStreamError):
    """A response body grew past the client's cap; ``excerpt`` holds its first bytes (at most a few KB)."""

    def __init__(self, limit: int, excerpt: bytes, *, partial: Message | None = None) -> None:
        super().__init__(f"response body larger than {limit} bytes; it starts: {excerpt!r}", partial=partial)
        self.limit = limit
        self.excerpt = excerpt


class ClientClosedError(LLMError):
    """:meth:`Client.close` ended a call (a stream being read, a request being sent) before it finished."""


class LLMDisconnectedError(LLMConnectionError, LLMStreamError):
    """The stream ended early: the connection broke, or closed without ``[DONE]`` or a ``finish_reason``.

    Both a connection error and a failed stream, so either ``except`` catches it.
    """


class AgentError(LLMError):
    """A request failed during an agent run (:class:`~streamparse.agent.Agent`), mid-stream or before it.

    ``error`` (also ``__cause__``) is the client's own error, ``turn`` the
    failed turn (from 1), ``partial`` what that turn's response said before
    the failure. ``messages`` is the conversation up to the failure, ready to
    send again: the run's first messages, every finished turn, then the
    partial assistant message with one ``tool`` message per call it
    completed (the tool's result if it finished in time, else an error
    saying it was cancelled), so nothing the model wrote or a tool returned
    is lost.
    """

    def __init__(self, error: LLMError, *, turn: int, messages: list[dict[str, Any]]) -> None:
        super().__init__(f"agent turn {turn}: {error}", partial=error.partial)
        self.error = error
        self.turn = turn
        self.messages = messages
