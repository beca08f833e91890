"""Shared set-up for the benchmarks: tiny-model settings in a temp data dir, percentiles."""

from __future__ import annotations

import os
import socket
import statistics
from pathlib import Path

from kiosk.core.config import Settings, load_settings, without_flood_limits
from kiosk.ml.tiny import with_tiny_models

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def engine_only(settings: Settings) -> Settings:
    """No flood guard or player codes in the way (a benchmark submits far faster than any
    visitor, from one nickname)."""
    return without_flood_limits(settings)


def tiny_settings(data_dir: Path, batch: int | None = None, size: int | None = None) -> Settings:
    """The repo's config on the tiny models (built on first use); another batch or size."""
    from kiosk.ml.models import quiet_libraries

    quiet_libraries()
    settings = with_tiny_models(load_settings(REPO / "kiosk.toml", data_dir=data_dir))
    update: dict[str, int] = {}
    if batch is not None:
        update["batch"] = batch
    if size is not None:
        update["width"] = update["height"] = size
    generator = settings.generator.model_copy(update=update)
    return engine_only(settings.model_copy(update={"generator": generator}))


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):8.3f} ms  p99 {pct(values, 99):8.3f} ms  "
        f"max {max(values):8.3f} ms  (n={len(values)})"
    )


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the only address servers here bind)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
