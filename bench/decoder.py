"""The full decoder against the tiny one, side by side: time per stage on this machine.

The full-size sd-turbo architecture at 512 px (random weights: the same compute as the
real ones, which cannot be downloaded here) is built once, saved, and loaded twice
through the kiosk's own Generator: `[generator] vae = "full"` (the pipeline's
AutoencoderKL) and `vae = <folder>` holding a random-weight AutoencoderTiny of the
madebyollin/taesd architecture. The same prompts go through both, interleaved (the
order alternates), then through the judge (ViT-B-32). Hooks time each stage.

    .venv/bin/python bench/decoder.py [--prompts 3] [--cache DIR] [--device auto]
    .venv/bin/python bench/decoder.py --tiny      # the tiny architecture: a quick check

Prints one line per call, the median per stage of each decoder, and one SUMMARY line
with the ratios. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sd_turbo_arch import (
    bench_settings,
    cuda_sync,
    ensure_pipeline,
    ensure_taesd,
    full_arch,
    register_tiny_judge,
    tiny_arch,
    workdir,
)
from stages import STAGES, StageTimer

PROMPTS = [
    "a duck and a swan on a pond at dawn",
    "a white swan next to a brown duck, watercolor",
    "two birds on a misty lake, oil painting",
    "a rubber duck racing a swan, sketch",
    "a swan and a duck under a willow tree",
]


def median_row(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rows) for key in rows[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="the tiny architecture (64 px)")
    ap.add_argument("--prompts", type=int, default=3, help="prompts drawn by each decoder")
    ap.add_argument("--cache", type=Path, default=None, help="keep the built models here")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    args = ap.parse_args()

    import torch

    from kiosk.ml.generate import Generator
    from kiosk.ml.models import quiet_libraries
    from scoring.judge import Judge

    quiet_libraries()
    device = (
        args.device if args.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
    )
    arch = tiny_arch() if args.tiny else full_arch()
    with (
        workdir(args.cache, prefix="kiosk-decoder-") as root,
        tempfile.TemporaryDirectory(dir=root) as data,
    ):
        start = time.perf_counter()
        ensure_pipeline(root / "sd", arch, half=device == "cuda")
        taesd = ensure_taesd(root / "taesd", arch)
        if args.tiny:
            register_tiny_judge(root)
        print(f"built in {time.perf_counter() - start:.1f} s (0 when reused): {root}")
        gens: dict[str, Any] = {}
        timers: dict[str, StageTimer] = {}
        for name, vae in (("full", "full"), ("tiny", str(taesd))):
            settings = bench_settings(
                Path(data),
                root / "sd",
                arch,
                device=device,
                half=device == "cuda",
                batch=1,
                vae=vae,
            )
            start = time.perf_counter()
            gens[name] = Generator(settings.generator)
            gens[name].load()  # the kiosk's load, with its warm-up call
            timers[name] = StageTimer(gens[name].pipe, cuda_sync)
            print(f"loaded {name:4} ({gens[name].decoder}) in {time.perf_counter() - start:.1f} s")
        judge = Judge(settings.judge.model, "", device)
        judge.load()
        target = settings.active_target
        judge.add_target(target.id, settings.target_image(target))
        rows: dict[str, list[dict[str, float]]] = {"full": [], "tiny": []}
        for i in range(args.prompts):
            prompt = PROMPTS[i % len(PROMPTS)]
            order = ("full", "tiny") if i % 2 == 0 else ("tiny", "full")
            for name in order:
                timers[name].take()
                t0 = time.perf_counter()
                drawn = gens[name].generate([prompt], [i])
                verdict = judge.score(drawn.images, [target.id])
                total = (time.perf_counter() - t0) * 1000.0
                row = {**timers[name].take(), "judge": verdict.ms, "total": total}
                rows[name].append(row)
                stages = "  ".join(f"{k} {v:9.1f}" for k, v in row.items())
                print(f"prompt {i + 1} {name:4}: {stages}  (ms)")
    med = {name: median_row(r) for name, r in rows.items()}
    print(f"median ms per image, {arch.size} px, {device}, {args.prompts} prompts each:")
    for key in (*STAGES, "judge", "total"):
        full, tiny = med["full"][key], med["tiny"][key]
        ratio = f"{full / tiny:6.2f}x" if tiny else "     -"
        print(f"  {key:<13} full {full:10.1f}   tiny {tiny:10.1f}   full/tiny {ratio}")
    print(
        f"SUMMARY decoder: {arch.size} px on {device}: full decoder"
        f" {med['full']['decoder']:.0f} ms vs tiny {med['tiny']['decoder']:.0f} ms"
        f" ({med['full']['decoder'] / med['tiny']['decoder']:.1f}x); whole drawing"
        f" {med['full']['total']:.0f} vs {med['tiny']['total']:.0f} ms"
        f" ({med['full']['total'] / med['tiny']['total']:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
