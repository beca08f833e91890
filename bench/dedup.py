"""Dedup hit latency: thousands of repeated prompts answered without any model call.

    .venv/bin/python bench/dedup.py [--originals N] [--repeats N]

Draws N originals with the tiny models, then submits repeats (other players, other
case and punctuation) and times each submit() -> Done. Each hit is a committed
submission (synchronous=FULL) plus rank queries. Target: p99 < 5 ms, no model call.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import pct, summary, tiny_settings

from kiosk.core.events import Done
from kiosk.engine.engine import Engine
from kiosk.ml.generate import Generator


class CountingGenerator(Generator):
    """The real generator, counting the prompts it is asked to draw."""

    calls = 0

    def generate(
        self,
        prompts: Sequence[str],
        seeds: Sequence[int],
        progress: Callable[[int, int], None] | None = None,
    ) -> Any:
        self.calls += len(prompts)
        return super().generate(prompts, seeds, progress)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--originals", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5000)
    args = ap.parse_args()
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as td:
        settings = tiny_settings(Path(td) / "data", batch=8)
        gen = CountingGenerator(settings.generator)
        engine = Engine(settings, generator=gen)
        engine.start()
        assert engine.wait_ready(300), engine.load_error
        prompts = [f"a duck and a swan, take {i}" for i in range(args.originals)]
        for i, prompt in enumerate(prompts):
            engine.submit(f"artist{i % 40}", prompt)
            engine.wait_idle(120)
        calls_before = gen.calls
        times = []
        for i in range(args.repeats):
            prompt = rng.choice(prompts)
            variant = prompt.upper() + "!!" if i % 2 else "  " + prompt.replace(",", " ,")
            t0 = time.perf_counter()
            result = engine.submit(f"player{i % 400}", variant)
            times.append((time.perf_counter() - t0) * 1000)
            assert isinstance(result, Done) and result.dedup
        model_calls = gen.calls - calls_before
        stats = engine.stats()
        engine.stop()
    print(f"dedup submit -> done: {summary(times)}")
    print(
        f"model calls during the repeats: {model_calls}; submissions {stats.submissions}, "
        f"dedup hits {stats.dedup_hits}"
    )
    print(
        f"SUMMARY dedup: p50 {sorted(times)[len(times) // 2]:.3f} ms, p99 {pct(times, 99):.3f}"
        f" ms over {len(times)} hits, {model_calls} model calls (target p99 < 5 ms, 0 calls)"
    )


if __name__ == "__main__":
    main()
