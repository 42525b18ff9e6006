"""Every single cut of a model output: each gives the events of the output fed whole."""

from __future__ import annotations

from typing import Any

from streamparse.core.events import Event

from ..helpers import merge, run


def every_cut(output: str, fmt: str, **options: Any) -> list[Event]:
    """The merged events of ``output``, checked against the output cut in two at each place."""
    whole = merge(run([output], fmt, **options))
    for k in range(1, len(output)):
        assert merge(run([output[:k], output[k:]], fmt, **options)) == whole, f"cut at {k}: {output[:k]!r}"
    return whole
