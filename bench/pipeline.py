"""The whole engine at booth picture size, without a GPU: does the GPU ever wait on us?

    .venv/bin/python bench/pipeline.py [--jobs 120] [--writers 2]

The real engine, store, judge (tiny, on the CPU) and writer stage; the generator is a
stand-in that returns real-size 512x512 pictures (bench/formats.py's) after a fixed sleep
that releases the GIL and stands for the GPU: 25 ms at batch 1, 60 ms for a batch of 4
(linear between). Every job is queued before the models are ready; the clock runs from
the first `started` to the last `done`. For each batch size it runs the old path (saving
inline on the model thread, `writers = 0`) and the new (`writers = N`) side by side and
prints drawings per second against the stand-in's own rate (the ratio; goal >= 0.95 at
batch 4), per-stage times (ms per drawing, medians), the stand-in GPU's idle fraction,
the process's CPU time per drawing (all threads; 2 cores give 2000 ms a second) and the
share of drawings held for review (the tiny judge's random-weight probes hold ~40%, a
trained judge a few in a hundred; each held drawing also writes its blurred stand-in).
"""

from __future__ import annotations

import argparse
import os
import resource

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # the judge's torch vs our threads
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import tiny_settings
from formats import pictures

from kiosk.core.events import Done, Failed, Flagged, Started
from kiosk.engine import batch as batch_mod
from kiosk.engine.engine import Engine
from kiosk.ml.generate import Rendered

PICTURES = [im for _, im in pictures()]


def gpu_ms(n: int) -> float:
    """The stand-in GPU's time for a batch of n: 25 ms alone, 60 ms for 4."""
    return 25.0 + (n - 1) * 35.0 / 3.0


class StandIn:
    """A generator whose GPU work is a GIL-releasing sleep; records its busy time."""

    name = "stand-in"
    device = "cpu"

    def __init__(self) -> None:
        self.busy_ms = 0.0

    def load(self) -> None:
        pass

    def generate(
        self,
        prompts: Sequence[str],
        seeds: Sequence[int],
        progress: Callable[[int, int], object] | None = None,
    ) -> Rendered:
        ms = gpu_ms(len(prompts))
        time.sleep(ms / 1000)
        self.busy_ms += ms
        images = [PICTURES[s % len(PICTURES)].copy() for s in seeds]
        return Rendered(images=images, ms=ms)


def timed(stage: list[float], fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            stage.append((time.perf_counter() - t0) * 1000)

    return wrapper


def run(root: Path, size: int, writers: int, jobs: int) -> dict[str, float]:
    settings = tiny_settings(root / f"b{size}-w{writers}", batch=size)
    g = settings.generator.model_copy(update={"writers": writers})
    settings = settings.model_copy(update={"generator": g})
    gen = StandIn()
    engine = Engine(settings, generator=gen)
    stages: dict[str, list[float]] = {"write": [], "commit": [], "judge": []}
    events: list[tuple[float, Any]] = []
    engine.subscribe(lambda e: events.append((time.perf_counter(), e)))
    real_write = batch_mod.write_image
    batch_mod.write_image = timed(stages["write"], real_write)  # type: ignore[assignment]
    engine.start()
    try:
        jobs_api = engine.store.jobs
        jobs_api.complete = timed(stages["commit"], jobs_api.complete)  # type: ignore[method-assign]
        for i in range(jobs):
            engine.submit(f"p{i % 50}", f"pipeline {size}/{writers}: a duck number {i}")
        assert engine.wait_ready(300), engine.load_error
        cpu0 = _cpu_s()
        assert engine.wait_idle(600)
        cpu = _cpu_s() - cpu0
    finally:
        engine.stop()
        batch_mod.write_image = real_write  # type: ignore[assignment]
    started = [t for t, e in events if isinstance(e, Started)]
    done = [(t, e) for t, e in events if isinstance(e, Done)]
    assert len(done) == jobs and not [e for _, e in events if isinstance(e, Failed)]
    figures = {k: statistics.median(v) for k, v in stages.items() if v}
    figures["judge"] = statistics.median(e.judge_ms for _, e in done)
    return figures | {
        "wall": done[-1][0] - started[0],
        "busy_ms": gen.busy_ms,
        "held": sum(isinstance(e, Flagged) for _, e in events) / jobs,
        "cpu_ms": cpu * 1000 / jobs,
    }


def _cpu_s() -> float:
    """This process's CPU time so far (all threads), seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=120)
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--sizes", default="1,4")
    args = ap.parse_args()
    print(
        f"{'batch':>5s} {'path':10s} {'drawings/s':>10s} {'stand-in/s':>10s} {'ratio':>6s}"
        f" {'GPU idle':>8s} {'judge ms':>8s} {'write ms':>8s} {'commit ms':>9s}"
        f" {'CPU ms':>6s} {'held':>5s}"
    )
    ratios: dict[tuple[int, int], float] = {}
    with tempfile.TemporaryDirectory() as td:
        for size in (int(s) for s in args.sizes.split(",")):
            for writers in (0, args.writers):
                r = run(Path(td), size, writers, args.jobs)
                wall = r["wall"]
                rate = args.jobs / wall
                own = size / (gpu_ms(size) / 1000)
                ratios[(size, writers)] = rate / own
                idle = 1 - r["busy_ms"] / 1000 / wall
                path = "inline" if writers == 0 else f"writers={writers}"
                print(
                    f"{size:5d} {path:10s} {rate:10.1f} {own:10.1f} {rate / own:6.3f}"
                    f" {idle:8.1%} {r['judge']:8.1f} {r.get('write', 0):8.1f}"
                    f" {r.get('commit', 0):9.1f} {r['cpu_ms']:6.1f} {r['held']:5.0%}"
                )
    parts = [
        f"batch {s}: {ratios[(s, 0)]:.3f} inline -> {ratios[(s, w)]:.3f} writers={w}"
        for (s, w) in ratios
        if w
    ]
    print("SUMMARY pipeline ratio (drawings/s over the stand-in's own): " + "; ".join(parts))


if __name__ == "__main__":
    main()
