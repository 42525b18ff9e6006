"""vLLM ``bench serve --save-result`` JSON, so plotting scripts written for it read our runs.

Keys and units are vLLM's (per-request arrays in submission order, in
seconds; ``mean_<metric>_ms``... in ms, 0 without samples); the values follow
this project's definitions: ``ttfts`` are times to the first token-bearing
event (vLLM's own count the role-only chunk), ``itls`` gaps between
token-bearing events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .load import Load
from .records import Record, latest
from .summary import distribution, metric_samples

__all__ = ["vllm_result"]

VLLM_METRICS = ("ttft", "tpot", "itl", "e2el")


def vllm_result(
    records: Sequence[Record],
    summary: dict[str, Any],
    *,
    model: str | None,
    load: Load,
    percentiles: Sequence[float],
    label: str | None = None,
) -> dict[str, Any]:
    kept = sorted(latest(records), key=lambda r: r.mono_start_ns)
    ok = [r for r in kept if r.status == "ok"]
    rate = load.request_rate
    result: dict[str, Any] = {
        "date": datetime.now().strftime("%Y%m%d-%H%M%S"),
        "endpoint_type": "openai-chat",
        "backend": "openai-chat",
        "label": label,
        "model_id": model,
        "tokenizer_id": model,
        "num_prompts": len(kept),
        "request_rate": "inf" if math.isinf(rate) else rate,
        "burstiness": load.burstiness,
        "max_concurrency": load.max_concurrency,
    }
    for key in (
        "duration",
        "completed",
        "failed",
        "total_input_tokens",
        "total_output_tokens",
        "request_throughput",
        "request_goodput",
        "output_throughput",
        "total_token_throughput",
        "max_output_tokens_per_s",
        "max_concurrent_requests",
    ):
        result[key] = summary.get(key)

    def seconds(ms: float | None) -> float:
        return ms / 1e3 if ms is not None else 0.0

    result.update(
        input_lens=[(r.usage.prompt_tokens or 0) if r.usage else 0 for r in kept],
        output_lens=[r.output_tokens if r.status == "ok" else 0 for r in kept],
        ttfts=[seconds(r.t.ttft_ms) if r.status == "ok" else 0.0 for r in kept],
        itls=[[gap / 1e3 for gap in r.itl_ms] if r.status == "ok" else [] for r in kept],
        latencies=[seconds(r.t.e2e_ms) if r.status == "ok" else 0.0 for r in kept],
        start_times=[r.mono_start_ns / 1e9 for r in kept],
        queue_times=[
            seconds(r.t.start_ms - r.t.scheduled_ms) if r.t.start_ms is not None and r.t.scheduled_ms is not None else 0.0
            for r in kept
        ],
        generated_texts=[r.content or "" for r in kept],
        errors=[r.error.message if r.error else "" for r in kept],
    )
    samples = metric_samples(ok)
    for name in VLLM_METRICS:
        stats = distribution(samples[name], percentiles, name)
        result.update({key: 0.0 if value is None else value for key, value in stats.items()})
    return result
