"""Cost of the safety probes per drawing, on CPU, at ViT-B-32 size (512-d embeddings).

    .venv/bin/python bench/probes.py [--runs N] [--threads N]

Builds a ViT-B-32 with random weights (open_clip.create_model(..., pretrained=None): no
download is possible here, and the cost does not depend on the weights), times the
text-embedding build at load (tokenizer + one encode_text of the default [safety]
concept lists), then times `Probes.check` (one matrix product against every concept,
the per-drawing maxima, one host transfer) for batches of 1 and 4 image embeddings.
Target: under 1 ms per drawing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import summary

from kiosk.core.config import SafetySettings
from scoring.probes import Probes

MODEL = "ViT-B-32"
TARGET_MS = 1.0


def build_probes(loads: int) -> tuple[Probes, list[float]]:
    """A random-weight ViT-B-32's probes, built `loads` times (the first is a warm-up)."""
    import open_clip

    safety = SafetySettings()
    model = open_clip.create_model(MODEL, pretrained=None)
    model.eval()
    tokenizer = open_clip.get_tokenizer(MODEL)
    times: list[float] = []
    probes = None
    for _ in range(loads + 1):
        start = time.perf_counter()
        probes = Probes(
            model,
            tokenizer,
            unsafe=safety.unsafe,
            neutral=safety.neutral,
            text_concepts=safety.text_concepts,
            margin=safety.margin,
            text_margin=safety.text_margin,
        )
        times.append((time.perf_counter() - start) * 1000.0)
    assert probes is not None
    return probes, times[1:]


def time_check(probes: Probes, batch: int, runs: int) -> list[float]:
    """Milliseconds per call of check() on `batch` normalised 512-d embeddings."""
    import torch

    gen = torch.Generator().manual_seed(batch)
    dim = probes.embeddings.shape[1]
    emb = torch.nn.functional.normalize(torch.randn(batch, dim, generator=gen), dim=-1)
    for _ in range(50):  # warm-up
        probes.check(emb)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        probes.check(emb)
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"{MODEL} with RANDOM weights (open_clip.create_model(pretrained=None): no download "
        "possible here; the cost does not depend on the weights), torch "
        f"{torch.__version__} on CPU, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (p99 and max are "
        "scheduler noise when the cores are shared)"
    )
    probes, load_ms = build_probes(args.loads)
    concepts, dim = probes.embeddings.shape
    print(
        f"concepts: {len(probes.unsafe)} unsafe + {len(probes.neutral)} neutral + "
        f"{len(probes.text_concepts)} text = {concepts}, {dim}-d"
    )
    print(f"text embeddings at load (tokenize + encode_text)  {summary(load_ms)}")
    per_drawing: dict[int, float] = {}
    for batch in (1, 4):
        times = time_check(probes, batch, args.runs)
        per_drawing[batch] = statistics.median(times) / batch
        print(f"check() batch {batch}  {summary(times)}  = {per_drawing[batch]:.4f} ms/drawing")
    worst = max(per_drawing.values())
    verdict = "meets" if worst < TARGET_MS else "MISSES"
    print(
        f"SUMMARY probes: {per_drawing[1]:.4f} ms/drawing at batch 1, "
        f"{per_drawing[4]:.4f} ms/drawing at batch 4 (p50, CPU, {dim}-d, {concepts} concepts); "
        f"load {statistics.median(load_ms):.1f} ms; {verdict} the < {TARGET_MS:g} ms target"
    )


if __name__ == "__main__":
    main()
