"""The benchmark-suite runner: requests in, records stamped on the wire out.

The library API behind ``streamparse run`` and ``streamparse bench``::

    from streamparse import Client
    from streamparse.runner import Engine, Load, Writer, read_requests, summarize

    async with Client(base_url) as client:
        engine = Engine(client, load=Load(max_concurrency=8), scoring=True)
        records = []
        with Writer("out.jsonl") as writer:
            async for record in engine.run(read_requests("in.jsonl")):
                writer.write(record)
                records.append(record)
    print(summarize(records))

Past one process, the same engine deals the requests to worker processes
(:class:`Workers`) or Ray actors (:class:`RayActors`), built from a
:class:`ClientSpec`; the load shape, the writer and the summary stay here::

    async with Workers(ClientSpec(base_url=url), count=4) as workers:
        engine = Engine(workers, load=Load(max_concurrency=1000))
        ...

Modules: :mod:`.inputs` (input records), :mod:`.load` (load shapes),
:mod:`.executor` (one request, stamped on the wire), :mod:`.engine`
(scheduling and cancellation), :mod:`.tasks` (requests on this loop),
:mod:`.records` (the output record), :mod:`.output` (writer and resume),
:mod:`.scoring` (BFCL and strict), :mod:`.summary` (metrics),
:mod:`.selfcheck` (the client's own load), :mod:`.protocol`, :mod:`.shard`,
:mod:`.dealer`, :mod:`.workers`, :mod:`.ray_actors` (scale-out), :mod:`.loop`
(uvloop when installed), :mod:`.vllm_json`, :mod:`.plot`, :mod:`.progress`.
This package imports aiohttp only through the client; Ray only when used.
"""

import importlib
from typing import TYPE_CHECKING, Any

from .engine import Backend, Engine
from .executor import Execution
from .inputs import Expected, ExpectedCall, Request, read_bfcl, read_requests, synthetic
from .load import Load, arrival_offsets, parse_sweep
from .output import Writer, read_records, settled_ids
from .plot import html_report
from .records import CallTiming, ErrorInfo, Record, Score, Timings, is_settled, latest
from .scoring import score
from .summary import format_summary, percentile, summarize
from .vllm_json import vllm_result

if TYPE_CHECKING:
    from .protocol import ClientSpec
    from .ray_actors import RayActors
    from .workers import Workers, auto_count

# Scale-out builds clients (aiohttp): loaded on first use, like streamparse.Client.
_LAZY = {"ClientSpec": "protocol", "RayActors": "ray_actors", "Workers": "workers", "auto_count": "workers"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'streamparse.runner' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)

__all__ = [
    "Backend",
    "CallTiming",
    "ClientSpec",
    "Engine",
    "ErrorInfo",
    "Execution",
    "Expected",
    "ExpectedCall",
    "Load",
    "RayActors",
    "Record",
    "Request",
    "Score",
    "Timings",
    "Workers",
    "Writer",
    "arrival_offsets",
    "auto_count",
    "format_summary",
    "html_report",
    "is_settled",
    "latest",
    "parse_sweep",
    "percentile",
    "read_bfcl",
    "read_records",
    "read_requests",
    "score",
    "settled_ids",
    "summarize",
    "synthetic",
    "vllm_result",
]
