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

Modules: :mod:`.inputs` (input records), :mod:`.load` (load shapes),
:mod:`.executor` (one request, stamped on the wire), :mod:`.engine`
(scheduling and cancellation), :mod:`.records` (the output record),
:mod:`.output` (writer and resume), :mod:`.scoring` (BFCL and strict),
:mod:`.summary` (metrics), :mod:`.vllm_json`, :mod:`.plot`, :mod:`.progress`.
This package imports aiohttp only through the client it is given.
"""

from .engine import Engine
from .executor import Execution
from .inputs import Expected, ExpectedCall, Request, read_bfcl, read_requests, synthetic
from .load import Load, arrival_offsets, parse_sweep
from .output import Writer, read_records, settled_ids
from .plot import html_report
from .records import CallTiming, ErrorInfo, Record, Score, Timings, is_settled, latest
from .scoring import score
from .summary import format_summary, percentile, summarize
from .vllm_json import vllm_result

__all__ = [
    "CallTiming",
    "Engine",
    "ErrorInfo",
    "Execution",
    "Expected",
    "ExpectedCall",
    "Load",
    "Record",
    "Request",
    "Score",
    "Timings",
    "Writer",
    "arrival_offsets",
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
