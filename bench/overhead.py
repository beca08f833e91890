"""The kiosk's own cost: submit -> done through the engine vs the generator and judge called
directly, same tiny models, same prompts and seeds, interleaved runs.

    .venv/bin/python bench/overhead.py [--jobs N] [--size PX | --booth-size]

The engine path includes policy, the persisted job row, the queue hand-off to the worker
thread, the PNG written atomically (fsync + rename), the commit (synchronous=FULL), rank
queries and the events. Targets: overhead <= 5 ms per job, ratio <= 1.05.

Both paths call torch, from two threads (the engine's worker, this main thread); with
OpenMP's default busy-waiting, the idle team of one spins against the other on a small
CPU, which the kiosk (one model thread) never does. So this sets OMP_WAIT_POLICY=PASSIVE
before torch loads. `--size` draws bigger images (more model time, same kiosk work).

`--booth-size` measures at a booth's picture size, 512x512, where encoding the picture
is real work that 64 px hides: the generator is bench/pipeline.py's stand-in (25 ms of
GIL-releasing sleep for the GPU, then real 512 px pictures; the tiny pipeline takes
seconds a picture at 512 px on a CPU), the judge is the real tiny one.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see the docstring; before torch loads
import statistics
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import summary, tiny_settings
from pipeline import StandIn

from kiosk.core import policy
from kiosk.core.events import Done, Failed
from kiosk.engine.engine import Engine


def via_engine(engine: Engine, finished: threading.Event, prompt: str) -> float:
    """ms from submit() to the Done event (a fresh prompt each time: no dedup hit)."""
    finished.clear()
    t0 = time.perf_counter()
    engine.submit("bench", prompt)
    finished.wait(60)
    return (time.perf_counter() - t0) * 1000


def by_hand(gen: Any, judge: Any, norm: str, seed: int, target: str) -> float:
    """ms for the same drawing by hand: generate + judge, nothing else."""
    t0 = time.perf_counter()
    drawing = gen.generate([norm], [seed])
    judge.score(drawing.images, [target])
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=60)
    ap.add_argument("--size", type=int, default=64, help="image width and height, pixels")
    ap.add_argument("--booth-size", action="store_true", help="512 px pictures (stand-in GPU)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        settings = tiny_settings(Path(td) / "data", batch=1, size=args.size)
        engine = Engine(settings, generator=StandIn() if args.booth_size else None)
        finished = threading.Event()
        engine.subscribe(lambda e: finished.set() if isinstance(e, Done | Failed) else None)
        engine.start()
        assert engine.wait_ready(300), engine.load_error
        gen, judge = engine.generator, engine.judge
        assert gen is not None and judge is not None
        direct, through = [], []
        for i in range(args.jobs + 5):
            prompt = f"overhead {i}: a duck and a swan on a pond"
            norm = policy.normalise_prompt(prompt)
            key = engine.dedup_key(norm)
            runs = [
                partial(via_engine, engine, finished, prompt),
                partial(by_hand, gen, judge, norm, policy.seed_for(key), engine.target_id),
            ]
            if i % 2:  # alternate which goes first, so neither always gets the warm cache
                runs.reverse()
            times = [run() for run in runs]
            t_engine, t_direct = times if i % 2 == 0 else times[::-1]
            if i >= 5:  # warm-up rounds are not counted
                through.append(t_engine)
                direct.append(t_direct)
        engine.stop()
    over = [a - b for a, b in zip(through, direct, strict=True)]
    ratio = statistics.median(through) / statistics.median(direct)
    print(f"direct  (generate+judge): {summary(direct)}")
    print(f"engine  (submit->done)  : {summary(through)}")
    print(f"overhead per job        : {summary(over)}")
    size = "512 px, stand-in GPU" if args.booth_size else f"{args.size} px"
    print(
        f"SUMMARY overhead ({size}): {statistics.median(over):.2f} ms per job (p50), ratio "
        f"{ratio:.3f} over {len(over)} interleaved jobs (targets <= 5 ms, <= 1.05)"
    )


if __name__ == "__main__":
    main()
