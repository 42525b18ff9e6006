"""The runner's commands: ``run``, ``bench``, ``summarize`` and ``score``.

``run`` and ``bench`` are one engine with different defaults: ``run``
(evaluation) resumes an existing output and scores; ``bench`` (load) starts
the output afresh, warms up first and needs no input file. Both print the
summary table at the end, also after Ctrl-C (exit status 130).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from ..errors import UsageError, WorkerError
from ..runner.inputs import Request, read_bfcl, read_requests, synthetic
from ..runner.load import Load, parse_sweep
from ..runner.loop import loop_name
from ..runner.loop import run as run_loop
from ..runner.output import Writer, read_records, settled_ids
from ..runner.records import Record, encode_record
from ..runner.scoring import score
from ..runner.summary import DEFAULT_PERCENTILES, METRICS, SLO_METRICS, format_summary, summarize

if TYPE_CHECKING:
    from ..client import Client
    from ..runner.engine import Backend
    from ..runner.protocol import ClientSpec

__all__ = ["add_commands"]

EXIT_INTERRUPTED = 130


def _requests(args: argparse.Namespace) -> list[Request]:
    if args.input is None:
        requests = synthetic(
            args.num_prompts or 100, input_len=args.random_input_len, output_len=args.random_output_len, seed=args.seed
        )
    elif args.input_format == "bfcl":
        requests = read_bfcl(args.input, args.bfcl_answers)
    else:
        requests = read_requests(args.input)
    return requests[: args.num_prompts] if args.num_prompts else requests


def _json_value(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text  # a bare word: a string


def _params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        params["temperature"] = args.temperature
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param wants KEY=VALUE, got {item!r}")
        params[key] = _json_value(value)
    if args.extra_body:
        extra = _json_value(args.extra_body)
        if not isinstance(extra, dict):
            raise UsageError("--extra-body wants a JSON object")
        params["extra_body"] = extra
    return params


def _goodput(specs: list[str]) -> dict[str, float] | None:
    slos: dict[str, float] = {}
    for spec in specs:
        name, _, value = spec.partition(":")
        try:
            slos[name] = float(value)
        except ValueError:
            name = ""
        if name not in SLO_METRICS:
            raise UsageError(f"--goodput wants METRIC:MS with METRIC one of {', '.join(SLO_METRICS)}; got {spec!r}")
    return slos or None


def _percentiles(text: str) -> list[float]:
    try:
        values = [float(p) for p in text.split(",") if p.strip()]
    except ValueError as exc:
        raise UsageError(f"--metric-percentiles wants numbers like 50,90,99: {exc}") from exc
    if not values or not all(0 <= p <= 100 for p in values):
        raise UsageError("--metric-percentiles wants numbers between 0 and 100")
    return values


def _metrics(text: str) -> list[str]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise UsageError(f"--percentile-metrics: unknown {', '.join(unknown)} (known: {', '.join(METRICS)})")
    return names


def _step_path(path: str | None, label: str | None) -> str | None:
    """The output of one sweep step: ``out.jsonl`` -> ``out.max-concurrency=8.jsonl``."""
    if path is None or label is None:
        return path
    p = Path(path)
    return str(p.with_name(f"{p.stem}.{label}{p.suffix}"))


def _summary_path(path: str | None) -> str | None:
    return None if path is None else str(Path(path).with_suffix(".summary.json"))


def _client_spec(args: argparse.Namespace) -> ClientSpec:
    from ..client import Retries, Timeouts
    from ..runner.protocol import ClientSpec

    timeouts = Timeouts(
        connect=args.connect_timeout, first_byte=args.first_byte_timeout, idle=args.idle_timeout, total=args.total_timeout
    )
    return ClientSpec(
        base_url=args.base_url,
        model=args.model,
        api_key=args.api_key,
        format=args.format,
        timeouts=timeouts,
        retries=Retries(attempts=args.retries),
    )


@contextlib.asynccontextmanager
async def _backend(args: argparse.Namespace, requests: list[Request], load: Load) -> AsyncIterator[Client | Backend]:
    """Where the requests run: this process, worker processes (``--workers``) or Ray actors (``--ray``)."""
    spec = _client_spec(args)
    if args.ray is not None and requests:
        from ..runner.ray_actors import RayActors

        count = None if args.workers in (None, "auto") else args.workers
        async with RayActors(spec, address=args.ray or None, count=count, load=load, requests=len(requests)) as actors:
            if not args.quiet:
                print(f"running on {len(actors.links)} Ray actors", flush=True)
            yield actors
        return
    from ..runner.workers import Workers, auto_count

    count = auto_count(load, len(requests)) if args.workers == "auto" else args.workers or 1
    if count > 1 and requests:
        async with Workers(spec, count=count) as workers:
            if not args.quiet:
                print(f"running on {count} worker processes ({loop_name()})", flush=True)
            yield workers
        return
    async with spec.client() as client:
        yield client


class _Outcome(NamedTuple):
    records: list[Record]
    client: dict[str, Any]
    stopped: bool
    """Ctrl-C stopped it."""
    problems: list[str]
    """Workers lost, or none left: their requests were recorded as errors."""


async def _execute(
    args: argparse.Namespace,
    requests: list[Request],
    load: Load,
    writer: Writer | None,
    label: str | None,
    finished: Callable[[_Outcome], None],
) -> _Outcome:
    """Run one step; ``finished`` reports it before the workers are torn down (a local Ray takes a second)."""
    from ..runner.dealer import Dealer
    from ..runner.engine import Engine
    from ..runner.progress import Progress

    progress = None if args.quiet else Progress(len(requests), label=label or "")
    records: list[Record] = []
    problems: list[str] = []
    async with _backend(args, requests, load) as backend:
        engine = Engine(
            backend,
            load=load,
            params=_params(args),
            scoring=args.score != "none",
            continuous_usage=args.continuous_usage_stats,
        )
        loop = asyncio.get_running_loop()
        signals: list[signal.Signals] = []

        def stop() -> None:
            engine.stop()
            for sig in signals:  # a second Ctrl-C interrupts at once
                loop.remove_signal_handler(sig)

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop)
                signals.append(sig)
            except (NotImplementedError, RuntimeError):
                pass  # Windows, or not the main thread: Ctrl-C raises KeyboardInterrupt instead
        try:
            async for record in engine.run(requests, warmups=args.num_warmups):
                if writer is not None:
                    writer.write(record)
                records.append(record)
                if progress is not None:
                    progress.update(record)
        except WorkerError as exc:  # none left: what ran is recorded, the rest is for a rerun
            problems.append(str(exc))
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            if progress is not None:
                progress.close()
        if isinstance(backend, Dealer):
            problems[:0] = [f"lost {line}" for line in backend.lost]
        outcome = _Outcome(records, engine.client_stats(), engine.stopping, problems)
        finished(outcome)
        return outcome


def _report(
    args: argparse.Namespace,
    records: list[Record],
    client: dict[str, Any] | None,
    *,
    load: Load | None,
    out: str | None,
    title: str,
) -> dict[str, Any]:
    """Print the summary table; write the summary JSON, the vLLM JSON and the plot asked for."""
    percentiles = _percentiles(args.metric_percentiles)
    summary = summarize(records, percentiles=percentiles, goodput=_goodput(args.goodput), client=client)
    if load is not None:
        summary["load"] = msgspec.to_builtins(load)
    rule = getattr(args, "score", "strict")
    table = format_summary(
        summary, metrics=_metrics(args.percentile_metrics), percentiles=percentiles, title=title, rule=rule
    )
    print(table)
    summary_path = args.summary_json or _summary_path(out)
    if summary_path:
        Path(summary_path).write_bytes(msgspec.json.format(msgspec.json.encode(summary)) + b"\n")
    if args.save_vllm_json:
        from ..runner.vllm_json import vllm_result

        result = vllm_result(
            records, summary, model=getattr(args, "model", None), load=load or Load(), percentiles=percentiles
        )
        Path(args.save_vllm_json).write_bytes(msgspec.json.encode(result) + b"\n")
    if args.plot:
        from ..runner.plot import html_report

        Path(args.plot).write_text(html_report(records, summary, title=title), encoding="utf-8")
    return summary


def cmd_run(args: argparse.Namespace) -> int:
    if args.plot and not args.plot.endswith((".html", ".htm")):
        raise UsageError("--plot writes an HTML file (.html): self-contained, it opens offline")
    requests = _requests(args)
    base = Load(
        max_concurrency=args.max_concurrency,
        request_rate=args.request_rate,
        burstiness=args.burstiness,
        seed=args.seed,
        duration=args.duration,
    )
    steps: list[tuple[str | None, Load]] = [(None, base)]
    if args.sweep:
        steps = [(label, load) for label, load in parse_sweep(args.sweep, base)]
    status = 0
    for label, load in steps:
        out = _step_path(args.output, label)
        todo = requests
        previous: list[Record] = []
        if out is not None and args.resume:
            previous = read_records(out, repair=True)
            done = settled_ids(previous)
            todo = [r for r in requests if r.id not in done]
            if previous:
                print(f"resuming {out}: {len(requests) - len(todo)} done, {len(todo)} to run", flush=True)
        title = "Benchmark Result" + (f" ({label})" if label else "")

        def finished(outcome: _Outcome) -> None:  # called within this step
            _report(args, previous + outcome.records, outcome.client, load=load, out=out, title=title)
            for problem in outcome.problems:
                print(f"streamparse: {problem}", file=sys.stderr)
            if outcome.problems:
                print("requests a lost worker held are recorded as errors (worker_lost); rerun to resume", file=sys.stderr)
            if outcome.stopped:
                print("interrupted: requests in flight are recorded as cancelled; rerun to resume", file=sys.stderr)

        writer = Writer(out, append=args.resume) if out is not None else None
        try:
            outcome = run_loop(_execute(args, todo, load, writer, label, finished))
        finally:
            if writer is not None:
                writer.close()
        if outcome.problems:
            status = 1
        if outcome.stopped:
            status = EXIT_INTERRUPTED
            break
    return status


def cmd_summarize(args: argparse.Namespace) -> int:
    records = read_records(args.records)
    _report(args, records, None, load=None, out=None, title=f"Summary of {Path(args.records).name}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    records = read_records(args.records)
    expected = read_bfcl(args.expected, args.bfcl_answers) if args.input_format == "bfcl" else read_requests(args.expected)
    by_id = {r.id: r for r in expected}
    rescored = [
        msgspec.structs.replace(r, score=score(r, by_id[r.id]) if r.id in by_id else None) for r in records
    ]
    out = args.output or args.records
    tmp = Path(out).with_name(Path(out).name + ".tmp")
    tmp.write_bytes(b"".join(encode_record(r) + b"\n" for r in rescored))
    tmp.replace(out)
    summary = summarize(rescored)
    accuracy = summary.get("accuracy_overall")
    if accuracy is None:
        print("no record has an expected answer: nothing scored")
        return 0
    for name, acc in summary["accuracy"].items():
        print(f"{name}: n={acc['n']} strict {acc['valid']:.3f} bfcl {acc['bfcl_valid']:.3f}")
    print(f"overall: n={accuracy['n']} strict {accuracy['valid']:.3f} bfcl {accuracy['bfcl_valid']:.3f}")
    for error_type, n in sorted(accuracy["error_types"].items(), key=lambda item: -item[1]):
        print(f"  {error_type}: {n}")
    return 0


# -- command line -------------------------------------------------------------


def _rate(text: str) -> float:
    value = float(text)
    if math.isnan(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number or inf")
    return value


def _workers(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError("must be a number of processes (at least 1) or auto")
    return count


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--metric-percentiles",
        default=",".join(f"{x:g}" for x in DEFAULT_PERCENTILES),
        help="percentiles to report (default: %(default)s)",
    )
    p.add_argument(
        "--percentile-metrics",
        default="ttft,tpot,itl,itl_per_token,e2el,first_call,first_complete_call",
        help=f"metrics in the table, of {','.join(METRICS)} (default: %(default)s; the JSON has all)",
    )
    p.add_argument("--goodput", nargs="*", default=[], metavar="METRIC:MS", help="SLOs, e.g. ttft:500 tpot:50 e2el:5000")
    p.add_argument("--summary-json", metavar="FILE", help="write the summary as JSON (default: OUTPUT with .summary.json)")
    p.add_argument("--save-vllm-json", metavar="FILE", help="write vLLM bench serve's --save-result JSON")
    p.add_argument("--plot", metavar="FILE.html", help="write a self-contained HTML report (distributions, latency over time)")


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input-format", choices=("jsonl", "bfcl"), default="jsonl", help="jsonl (default) or a BFCL question file")
    p.add_argument(
        "--bfcl-answers", metavar="FILE", help="BFCL possible-answer file (default: possible_answer/<same name> beside the input)"
    )


def _runner(commands: Any, *, bench: bool, add_format: Callable[[argparse.ArgumentParser, str], None]) -> None:
    if bench:
        p = commands.add_parser(
            "bench",
            help="load test: warm up, run, print vLLM's summary table",
            description="Send requests under a load shape and report TTFT, ITL, TPOT, E2EL, throughput, tool-call "
            "timings. Without an input file, synthetic requests (--num-prompts, --random-input-len/-output-len).",
        )
        p.add_argument("input", nargs="?", metavar="INPUT.jsonl", help="requests, one JSON object per line")
        p.add_argument("-o", "--output", metavar="OUT.jsonl", help="write one record per request (started afresh)")
    else:
        p = commands.add_parser(
            "run",
            help="evaluation run: every request once, scored, resumable",
            description="Send every request of INPUT, append one record per request to OUTPUT as it ends, score the "
            "tool calls. Rerunning the same command skips requests already done and reruns the rest.",
        )
        p.add_argument("input", metavar="INPUT.jsonl", help="requests, one JSON object per line")
        p.add_argument("-o", "--output", required=True, metavar="OUT.jsonl", help="records, appended (resumed)")
    _input_options(p)
    p.add_argument("--base-url", help="OpenAI-compatible base URL (default: $STREAMPARSE_BASE_URL, $OPENAI_BASE_URL, else http://127.0.0.1:8000/v1)")
    p.add_argument("--model", help="model id (default: $STREAMPARSE_MODEL, else the server's first model)")
    p.add_argument("--api-key", help="bearer token (default: $STREAMPARSE_API_KEY or $OPENAI_API_KEY)")
    add_format(p, "auto")
    load = p.add_argument_group("load shape")
    load.add_argument("--max-concurrency", type=int, help="most requests in flight at once (default: no cap)")
    load.add_argument("--request-rate", type=_rate, default=math.inf, help="requests per second (default: inf, all at once)")
    load.add_argument("--burstiness", type=_rate, default=1.0, help="gamma shape of the gaps: 1 Poisson, inf evenly spaced")
    load.add_argument("--seed", type=int, default=0, help="seed of the arrivals and synthetic prompts (default: 0)")
    load.add_argument("--num-prompts", type=int, help="use the first N requests (synthetic: N, default 100)")
    load.add_argument("--num-warmups", type=int, default=1 if bench else 0, help="warm-up requests first (default: %(default)s)")
    load.add_argument("--duration", type=float, help="send no new request after this many seconds")
    load.add_argument("--sweep", metavar="NAME=V1,V2", help="one run (and output) per value, e.g. max-concurrency=1,8,64")
    load.add_argument("--random-input-len", type=int, default=128, help="synthetic prompt words (default: 128)")
    load.add_argument("--random-output-len", type=int, default=128, help="synthetic max_tokens (default: 128)")
    body = p.add_argument_group("request body (a request's own params win)")
    body.add_argument("--max-tokens", type=int)
    body.add_argument("--temperature", type=float)
    body.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="any body option (VALUE as JSON)")
    body.add_argument("--extra-body", metavar="JSON", help="a JSON object merged into every body")
    body.add_argument(
        "--continuous-usage-stats", action="store_true", help="ask vLLM for usage on every chunk (ITL per token)"
    )
    client = p.add_argument_group("client")
    client.add_argument("--connect-timeout", type=float, default=10.0)
    client.add_argument("--first-byte-timeout", type=float, default=300.0)
    client.add_argument("--idle-timeout", type=float, default=60.0, help="seconds between two reads (default: 60)")
    client.add_argument("--total-timeout", type=float, help="seconds per request (default: none)")
    client.add_argument("--retries", type=int, default=3, help="attempts before the first byte (default: 3)")
    scale = p.add_argument_group("scale-out (one scheduler, one output, one summary)")
    scale.add_argument(
        "--workers",
        type=_workers,
        metavar="N|auto",
        help="run the requests in N processes on this host (auto: by the concurrency and the CPUs; default 1, "
        "this process); with --ray, the number of actors (default auto)",
    )
    scale.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run the requests on Ray actors: the cluster at ADDRESS (none: ray.init()'s choice, a local one "
        "unless RAY_ADDRESS is set); needs streamparse-llm[ray] on every node",
    )
    p.add_argument(
        "--score",
        choices=("strict", "bfcl", "none"),
        default="none" if bench else "strict",
        help="score calls against expected answers (both rules are recorded; default: %(default)s)",
    )
    p.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=not bench,
        help="skip requests OUTPUT already holds as done (default: %(default)s)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    _report_options(p)
    p.set_defaults(run=cmd_run)


def add_commands(commands: Any, *, add_format: Callable[[argparse.ArgumentParser, str], None]) -> None:
    """Add ``run``, ``bench``, ``summarize`` and ``score`` to the ``streamparse`` subcommands."""
    _runner(commands, bench=False, add_format=add_format)
    _runner(commands, bench=True, add_format=add_format)

    summarize_ = commands.add_parser(
        "summarize",
        help="the summary table (and JSON, vLLM JSON, plot) of a records file",
        description="Summarize a run's records; a resumed file counts each request once (its last record).",
    )
    summarize_.add_argument("records", metavar="OUT.jsonl")
    _report_options(summarize_)
    summarize_.set_defaults(run=cmd_summarize)

    score_ = commands.add_parser(
        "score",
        help="rescore a records file against expected answers, without re-running",
        description="Score every record against the expected answers of INPUT (strict and BFCL rules) and rewrite it.",
    )
    score_.add_argument("records", metavar="OUT.jsonl")
    score_.add_argument("--expected", required=True, metavar="INPUT", help="the run's input (requests with expected)")
    _input_options(score_)
    score_.add_argument("-o", "--output", metavar="FILE", help="write the rescored records here (default: in place)")
    score_.set_defaults(run=cmd_score)
