"""The whole engine at booth picture size, without a GPU: does the GPU ever wait on us?

    .venv/bin/python bench/pipeline.py [--jobs 400] [--writers 2] [--repeats 3]
        [--sizes 1,4] [--paths old,new,tensors]

The real engine, store, judge (tiny, on the CPU) and writer stage; the generator is a
stand-in that returns real-size 512x512 pictures (bench/formats.py's) within a fixed time
that releases the GIL and stands for the GPU: 25 ms at batch 1, 60 ms for a batch of 4
(linear between; making its pictures is inside that time). A few jobs are drawn first to
warm up; then the whole queue is put in while drawing is paused, and the clock runs from
the first `started` after the resume to the last `done`. The paths, side by side:

  old      PIL pictures, judged and saved on the model thread (`writers = 0`);
  new      what the kiosk does on this machine: PIL pictures (a CPU's `preprocess =
           "auto"`), judged on the stage thread and saved by `--writers` writer threads;
  tensors  the device path's pictures (a float tensor batch, output_type="pt"), judged
           with torch ops and turned into 8-bit pixels before the host copy. On a GPU
           that work is the GPU's; here the CPU does it, so it costs more than it would.

It prints drawings per second against the stand-in's own rate (the ratio; goal >= 0.95
at batch 4), per-stage times (ms per drawing, medians), the stand-in GPU's idle
fraction, the process's CPU time per drawing (all threads; 2 cores give 2000 ms a
second), the share of drawings held for review (the tiny judge's random-weight probes
hold ~40%, a trained judge a few in a hundred; each held drawing also writes its small
blurred stand-in) and the share of CPU the hypervisor took during the run. A virtual
machine's neighbours move single runs by several per cent, so each path runs
`--repeats` times and the summary gives the median and the range.
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
import numpy as np
import torch
from common import tiny_settings
from formats import pictures

from kiosk.core.commands import StaffCommand
from kiosk.core.events import Done, Failed, Flagged, Started
from kiosk.engine import batch as batch_mod
from kiosk.engine.engine import Engine
from kiosk.ml.generate import Rendered

PICTURES = [im.convert("RGB") for _, im in pictures()]
TENSORS = [torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 255 for im in PICTURES]
WARM_UP = 8
"""Jobs drawn before the clock starts."""
PLAYERS = 200
"""Nicknames the jobs take turns over (a player may have 3 waiting)."""


def gpu_ms(n: int) -> float:
    """The stand-in GPU's time for a batch of n: 25 ms alone, 60 ms for 4."""
    return 25.0 + (n - 1) * 35.0 / 3.0


class StandIn:
    """A generator whose GPU work is a GIL-releasing sleep; records its busy time."""

    name = "stand-in"
    device = "cpu"

    def __init__(self, tensors: bool) -> None:
        self.busy_ms = 0.0
        self.tensors = tensors  # the device path's output (output_type="pt"), else PIL's

    def load(self) -> None:
        pass

    def generate(
        self,
        prompts: Sequence[str],
        seeds: Sequence[int],
        progress: Callable[[int, int], object] | None = None,
    ) -> Rendered:
        ms = gpu_ms(len(prompts))
        start = time.perf_counter()
        images: Any
        if self.tensors:  # a fresh float batch in [0, 1], as the decoder leaves it
            images = torch.stack([TENSORS[s % len(TENSORS)] for s in seeds])
        else:
            images = [PICTURES[s % len(PICTURES)].copy() for s in seeds]
        # making the pictures is part of the stand-in's fixed time, not the kiosk's
        time.sleep(max(0.0, ms / 1000 - (time.perf_counter() - start)))
        self.busy_ms += ms
        return Rendered(images=images, ms=ms)


def timed(stage: list[float], fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            stage.append((time.perf_counter() - t0) * 1000)

    return wrapper


PATHS = {"old": (False, 0), "new": (False, None), "tensors": (True, None)}
"""Each path: (pictures are tensors, writer threads: None = --writers); see the top."""


def run(root: Path, size: int, writers: int, jobs: int, tensors: bool) -> dict[str, float]:
    settings = tiny_settings(root / f"b{size}-w{writers}", batch=size)
    g = settings.generator.model_copy(update={"writers": writers})
    j = settings.judge.model_copy(update={"preprocess": "device" if tensors else "pil"})
    settings = settings.model_copy(update={"generator": g, "judge": j})
    gen = StandIn(tensors)
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
        for i in range(WARM_UP):  # first calls are slow (torch, caches): not a booth's day
            engine.submit(f"w{i}", f"pipeline {size}/{writers}: warming up {i}")
        assert engine.wait_ready(300), engine.load_error
        assert engine.wait_idle(600)
        events.clear()
        gen.busy_ms = 0.0
        for times in stages.values():
            times.clear()
        engine.staff(StaffCommand(action="pause"))  # the whole queue waits, then goes
        for i in range(jobs):
            engine.submit(f"p{i % PLAYERS}", f"pipeline {size}/{writers}: a duck number {i}")
        cpu0 = _cpu_s()
        engine.staff(StaffCommand(action="resume"))
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


def steal_share() -> Callable[[], float]:
    """A clock of the share of CPU time the hypervisor took (Linux /proc/stat): call it
    to get the share since it was made (0 where it cannot be read). A virtual machine
    that loses CPU to its neighbours loses drawings too: this says which runs did."""

    def read() -> tuple[int, int]:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        except (OSError, ValueError):
            return 0, 0
        return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])

    steal0, total0 = read()

    def share() -> float:
        steal, total = read()
        return (steal - steal0) / (total - total0) if total > total0 else 0.0

    return share


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=400)
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--sizes", default="1,4")
    ap.add_argument("--paths", default="old,new")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each; the median counts")
    args = ap.parse_args()
    print(
        f"{'batch':>5s} {'path':18s} {'drawings/s':>10s} {'stand-in/s':>10s} {'ratio':>6s}"
        f" {'GPU idle':>8s} {'judge ms':>8s} {'write ms':>8s} {'commit ms':>9s}"
        f" {'CPU ms':>6s} {'held':>5s} {'steal':>5s}"
    )
    ratios: dict[tuple[int, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as td:
        for size in (int(s) for s in args.sizes.split(",")):
            for name in args.paths.split(","):
                tensors, threads = PATHS[name]
                writers = args.writers if threads is None else threads
                for repeat in range(args.repeats):
                    stolen = steal_share()
                    r = run(Path(td) / f"{name}{repeat}", size, writers, args.jobs, tensors)
                    wall = r["wall"]
                    rate = args.jobs / wall
                    own = size / (gpu_ms(size) / 1000)
                    ratios.setdefault((size, name), []).append(rate / own)
                    idle = 1 - r["busy_ms"] / 1000 / wall
                    path = f"{name} (w={writers})"
                    print(
                        f"{size:5d} {path:18s} {rate:10.1f} {own:10.1f} {rate / own:6.3f}"
                        f" {idle:8.1%} {r['judge']:8.1f} {r.get('write', 0):8.1f}"
                        f" {r.get('commit', 0):9.1f} {r['cpu_ms']:6.1f} {r['held']:5.0%}"
                        f" {stolen():5.1%}",
                        flush=True,
                    )
    sizes = sorted({s for s, _ in ratios})
    parts = [
        f"batch {s}: "
        + ", ".join(
            f"{n} {statistics.median(v):.3f} ({min(v):.3f}-{max(v):.3f})"
            for (t, n), v in ratios.items()
            if t == s
        )
        for s in sizes
    ]
    print(
        f"SUMMARY pipeline ratio, median of {args.repeats} (range), drawings/s over the"
        " stand-in's own: " + "; ".join(parts)
    )


if __name__ == "__main__":
    main()
