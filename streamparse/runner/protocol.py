"""What a scheduler and the processes running its requests (workers, Ray actors) say to each other.

Messages are tagged msgspec Structs, sent as frames: a 4-byte big-endian
length, then the message as JSON (records go to the output file as JSON
anyway, so anything a record can hold travels). The scheduler sends
:class:`Settings`, :class:`Job` (a request and the moment it is due, on the
receiver's clock), :class:`Stop` and :class:`Report`; a shard answers
:class:`Ready` once, then :class:`Done` per request and
:class:`~.selfcheck.ProcessStats` per report.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Union

import msgspec

from ..client import Retries, Timeouts
from ..errors import WorkerError
from .inputs import Request
from .records import Record
from .selfcheck import ProcessStats
from .tasks import Settings

if TYPE_CHECKING:
    from ..client import Client

__all__ = [
    "ClientSpec",
    "Done",
    "Failed",
    "Job",
    "Message",
    "Ready",
    "Report",
    "Settings",
    "Stop",
    "boot_id",
    "frame",
    "read_frames",
]


class ClientSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A :class:`~streamparse.client.Client`'s options as data, to build one in another process.

    Unset ``base_url``, ``model`` and ``api_key`` are read from the
    environment where the client is built, as ``Client`` does.
    """

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    format: str = "hermes"
    timeouts: Timeouts = Timeouts()
    retries: Retries = Retries()
    headers: dict[str, str] | None = None

    def client(self) -> Client:
        from ..client import Client

        return Client(
            self.base_url,
            self.model,
            self.api_key,
            format=self.format,
            timeouts=self.timeouts,
            retries=self.retries,
            headers=self.headers,
        )


class Job(msgspec.Struct, frozen=True, tag=True):
    """Run ``request`` at ``at_ns`` (the receiver's ``perf_counter_ns``), or at once if that has passed."""

    seq: int
    request: Request
    phase: str
    at_ns: int


class Stop(msgspec.Struct, frozen=True, tag=True):
    """Cancel what is in flight (each ends as a ``cancelled`` record); later jobs end so at once."""


class Report(msgspec.Struct, frozen=True, tag=True):
    """End the measured phase; answer with :class:`~.selfcheck.ProcessStats`."""


class Ready(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A shard is up: where it runs, its clock now, and whether it reached the server."""

    host: str
    pid: int
    boot_id: str | None
    now_ns: int
    models: list[str] = []
    error: str | None = None
    """Why it cannot reach the server (None: it can)."""


class Done(msgspec.Struct, frozen=True, tag=True):
    seq: int
    record: Record


class Failed(msgspec.Struct, frozen=True, tag=True):
    """Running job ``seq`` raised: a bug, reported rather than lost."""

    seq: int
    error: str


Message = Union[Settings, Job, Stop, Report, Ready, Done, Failed, ProcessStats]

_HEADER = struct.Struct(">I")
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Message)


def frame(message: Message) -> bytes:
    body = _encoder.encode(message)
    return _HEADER.pack(len(body)) + body


def read_frames(buffer: bytearray) -> list[Message]:
    """The whole frames at the start of ``buffer``, removed from it (a partial one stays)."""
    messages: list[Message] = []
    start = 0
    while len(buffer) - start >= _HEADER.size:
        (size,) = _HEADER.unpack_from(buffer, start)
        end = start + _HEADER.size + size
        if end > len(buffer):
            break
        try:
            messages.append(_decoder.decode(buffer[start + _HEADER.size : end]))
        except msgspec.DecodeError as exc:  # two versions of streamparse, or a bug: say so
            raise WorkerError(f"undecodable message between scheduler and worker: {exc}") from exc
        start = end
    del buffer[:start]
    return messages


def boot_id() -> str | None:
    """This kernel's boot id: equal on two hosts' processes exactly when they share CLOCK_MONOTONIC."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as file:
            return file.read().strip()
    except OSError:
        return None
