"""The kiosk's own cost: submit -> done through the engine vs the generator and judge called
directly, same tiny models, same prompts and seeds, interleaved runs.

    .venv/bin/python bench/overhead.py [--jobs N]

The engine path includes policy, the persisted job row, the queue hand-off to the worker
thread, the PNG written atomically (fsync + rename), the commit (synchronous=FULL), rank
queries and the events. Targets: overhead <= 5 ms per job, ratio <= 1.05.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import summary, tiny_settings

from kiosk import policy
from kiosk.engine import Engine
from kiosk.events import Done, Failed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=60)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        settings = tiny_settings(Path(td) / "data", batch=1)
        engine = Engine(settings)
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
            key = policy.dedup_key(norm, engine.target_id, gen.name, judge.name)
            # the engine's job (a fresh prompt each time, so no dedup hit) ...
            finished.clear()
            t0 = time.perf_counter()
            engine.submit("bench", prompt)
            finished.wait(60)
            t_engine = (time.perf_counter() - t0) * 1000
            # ... then the same drawing by hand: generate + judge, nothing else
            t0 = time.perf_counter()
            drawing = gen.generate([norm], [policy.seed_for(key)])
            judge.score(drawing.images, [engine.target_id])
            t_direct = (time.perf_counter() - t0) * 1000
            if i >= 5:  # warm-up rounds are not counted
                through.append(t_engine)
                direct.append(t_direct)
        engine.stop()
    over = [a - b for a, b in zip(through, direct, strict=True)]
    ratio = statistics.median(through) / statistics.median(direct)
    print(f"direct  (generate+judge): {summary(direct)}")
    print(f"engine  (submit->done)  : {summary(through)}")
    print(f"overhead per job        : {summary(over)}")
    print(
        f"SUMMARY overhead: {statistics.median(over):.2f} ms per job (p50), ratio "
        f"{ratio:.3f} over {len(over)} interleaved jobs (targets <= 5 ms, <= 1.05)"
    )


if __name__ == "__main__":
    main()
