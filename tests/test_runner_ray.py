"""The runner on Ray actors: a local Ray cluster (2 CPUs, on 127.0.0.1) started once for this module.

The workload and the checks are those of ``--workers`` (test_runner_scale.py):
the same records and counts as one process, the cap held across actors, a
killed actor's requests recorded as ``worker_lost``, and a rerun (``--ray``
on the command line) resuming them. At start, an actor that cannot reach the
server is an error naming it and its node.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamparse.cli import main
from streamparse.client import Retries
from streamparse.errors import WorkerError
from streamparse.runner import Engine, Load, Record, Writer, latest, read_records, read_requests, summarize
from streamparse.runner.protocol import ClientSpec
from streamparse.runner.ray_actors import RayActors
from streamparse.server import Reply, Server

from .test_cli import running
from .test_runner import _no_retry_waits  # noqa: F401  (the fixture applies here too)
from .test_runner_scale import ONE_CHAR, SLOW, assert_same, one_process, scripted, workload
from .test_runner_cli import write_input

LOOPBACK_ONLY = {
    # Ray gives a one-machine cluster the loopback address only where it thinks clusters unsupported
    # (its name for the switch); without it the node would take this host's outward address.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",  # no usage report leaves the machine
}
assert "ray" not in sys.modules, "Ray was imported before this module could keep it on 127.0.0.1"


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in LOOPBACK_ONLY}
    os.environ.update(LOOPBACK_ONLY)
    import ray  # Ray reads these when it is imported: not before (streamparse imports it only when used)

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
        yield
    finally:
        ray.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def test_two_actors_give_the_records_and_counts_of_one_process() -> None:
    requests = workload(32)
    load = Load(max_concurrency=4)
    alone = await one_process(requests, load)
    async with Server(scripted, chunking=ONE_CHAR) as server:
        async with RayActors(ClientSpec(base_url=server.base_url, model=server.model), count=2) as actors:
            names = [link.name for link in actors.links]
            engine = Engine(actors, load=load)
            shared = [r async for r in engine.run(requests, warmups=2)]
        # the driver's cap, across both actors (reaching it needs four requests in flight at one instant,
        # which a loaded host's slow dispatch may not give)
        assert 2 <= server.max_open_streams <= 4
    assert names == ["Ray actor 0 on node 127.0.0.1 (" + alone[0].host + ")", "Ray actor 1 on node 127.0.0.1 (" + alone[0].host + ")"]
    assert_same(shared, alone)
    stats = engine.client_stats()
    assert stats["processes"] == 2 and all(w["token_events"] > 0 for w in stats["workers"])
    assert all(r.host == alone[0].host for r in shared)


async def test_an_actor_that_cannot_reach_the_server_is_named_with_its_node() -> None:
    spec = ClientSpec(base_url="http://127.0.0.1:9/v1", model="m", retries=Retries(attempts=1))
    with pytest.raises(WorkerError, match=r"Ray actor 0 on node 127\.0\.0\.1 \(.+\): cannot reach http://127\.0\.0\.1:9/v1"):
        async with RayActors(spec, count=2):
            pass


async def _run_and_kill_one(server: Server, requests_path: str, out: Path) -> tuple[list[Record], list[str]]:
    records: list[Record] = []
    async with RayActors(ClientSpec(base_url=server.base_url, model=server.model), count=2) as actors:
        victim = actors.links[0].pid
        with Writer(str(out)) as writer:
            async for record in Engine(actors, load=Load(max_concurrency=4)).run(read_requests(requests_path)):
                writer.write(record)
                records.append(record)
                if len(records) == 2:
                    os.kill(victim, signal.SIGKILL)
        return records, list(actors.lost)


def test_a_killed_actor_loses_only_its_requests_and_a_rerun_resumes_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requests = write_input(tmp_path / "in.jsonl", 16)
    out = tmp_path / "out.jsonl"
    with running(Server(lambda body: Reply("x" * 20, ttft=0.01, itl=0.015), chunking=SLOW)) as server:
        records, lost = asyncio.run(_run_and_kill_one(server, requests, out))
        gone = {r.id for r in records if r.status == "error"}
        assert len(records) == 16 and gone and all(r.status == "ok" for r in records if r.id not in gone)
        assert all(r.error is not None and r.error.kind == "worker_lost" and "Ray actor 0" in r.error.message
                   for r in records if r.id in gone)  # fmt: skip
        (line,) = lost
        assert line.startswith("Ray actor 0 on node 127.0.0.1")
        assert summarize(records)["errors"] == {"worker_lost": len(gone)}
        before = len(server.requests)
        assert main(["run", requests, "-o", str(out), "--base-url", server.base_url, "--ray", "--workers", "2"]) == 0
        rerun = {r.headers["x-request-id"] for r in server.requests[before:]}
    printed = capsys.readouterr().out
    assert "running on 2 Ray actors" in printed and f"{16 - len(gone)} done, {len(gone)} to run" in printed
    assert rerun == gone
    final = latest(read_records(str(out)))
    assert len(final) == 16 and all(r.status == "ok" for r in final)
