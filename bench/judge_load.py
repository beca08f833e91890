"""The judge's share of a booth start, with and without the embedding cache, on CPU.

    .venv/bin/python bench/judge_load.py [--judge tiny|ViT-B-32] [--runs N]

What kiosk.ml.models does with the judge at every start: create the model, embed the
three target pictures, embed the safety concepts (the default [safety] lists). Timed
with no cache (what every start did before), with an empty cache folder (the first
start: it computes and writes), and with a filled one (every later start: it reads).
ViT-B-32 is built with RANDOM weights (no download is possible here): the towers cost
the same with any weights; creating a model from random init stands for reading the
checkpoint, which this cannot time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO

from kiosk.core.config import SafetySettings
from scoring.judge import Judge

TARGETS = ["duck-and-swan", "duck", "swan"]


def start(model: str, cache: Path | None) -> dict[str, float]:
    """One start's judge stages, in seconds."""
    safety = SafetySettings()
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    judge = Judge(model, cache_dir=cache)
    judge.load()
    t1 = time.perf_counter()
    for target in TARGETS:
        judge.add_target(target, REPO / "assets" / f"{target}.png")
    t2 = time.perf_counter()
    judge.load_probes(
        safety.unsafe, safety.neutral, safety.text_concepts, safety.margin, safety.text_margin
    )
    t3 = time.perf_counter()
    times.update(model=t1 - t0, targets=t2 - t1, probes=t3 - t2, total=t3 - t0)
    return times


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    import logging

    import torch

    from kiosk.ml.tiny import build_tiny_models, judge_name

    logging.getLogger().setLevel(logging.ERROR)  # open_clip's "no pretrained weights"
    ap = argparse.ArgumentParser()
    ap.add_argument("--judge", choices=["tiny", "ViT-B-32"], default="tiny")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        if args.judge == "tiny":
            model = judge_name(build_tiny_models(Path(td) / "tiny-models"))
        else:
            model = args.judge
        start(model, None)  # warm-up: imports, first-call allocations
        plain = [start(model, None) for _ in range(args.runs)]
        cold, warm = [], []
        for run in range(args.runs):
            cache = Path(td) / f"cache-{run}"
            cold.append(start(model, cache))
            warm.append(start(model, cache))
    print(
        f"judge {args.judge}{' (RANDOM weights)' if args.judge != 'tiny' else ''}, torch "
        f"{torch.__version__} on CPU, {torch.get_num_threads()} threads, load average "
        f"{os.getloadavg()[0]:.1f}; medians of {args.runs} starts, seconds"
    )
    print(f"{'start':28s} {'model':>7s} {'targets':>8s} {'probes':>7s} {'total':>7s}")
    for name, runs in [
        ("no cache (before)", plain),
        ("empty cache (first start)", cold),
        ("filled cache (later starts)", warm),
    ]:
        cells = " ".join(
            f"{median(runs, key):{w}.3f}"
            for key, w in [("model", 7), ("targets", 8), ("probes", 7), ("total", 7)]
        )
        print(f"{name:28s} {cells}")
    before, after = median(plain, "total"), median(warm, "total")
    embed_before = median(plain, "targets") + median(plain, "probes")
    embed_after = median(warm, "targets") + median(warm, "probes")
    print(
        f"SUMMARY judge_load: {args.judge} start {before:.2f} s -> {after:.2f} s with the cache "
        f"(embeddings {embed_before:.3f} s -> {embed_after:.3f} s), CPU"
    )


if __name__ == "__main__":
    main()
