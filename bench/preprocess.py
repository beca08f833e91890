"""How far the judge's device path is from its PIL path: the same pictures scored both ways.

    .venv/bin/python bench/preprocess.py [--images N] [--size PX] [--drawings N]
                                         [--drawing-size PX] [--judge tiny|ViT-B-32]

Pictures: `--images` procedural pictures at `--size` (shapes, gradients and strokes on
a plain ground, softly edged: like a drawing), and `--drawings` drawings of the tiny
generator (random weights: busy, noisy pictures, the hard case for a resize) at
`--drawing-size`; the tiny pipeline takes 10-18 s a picture at 512 px on this CPU, so
its drawings are smaller. Each picture is one float tensor in [0, 1], as the pipeline
hands it over with `output_type="pt"`.
The device path scores that tensor (scoring.transform: torch resize with antialiasing,
centre crop, normalise); the PIL path scores the 8-bit PIL image the pipeline would have
made from it (open_clip's transform): the difference includes the 8-bit rounding.

Judges: the tiny judge (32 px input) built by kiosk.ml.tiny, or ViT-B-32 at 224 px with
RANDOM weights (no download is possible here). Neither is the booth's trained judge, whose
cosines move differently with the input; these figures bound the preprocessing
difference, not the trained model's sensitivity to it. Prints max and mean absolute
difference in percentage points (100 * cosine) and a SUMMARY line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, tiny_settings

from kiosk.ml.generate import Generator
from scoring.judge import Judge

TARGET = "duck-and-swan"
BATCH = 10


def drawings(data_dir: Path, n: int, size: int) -> Any:
    """`n` drawings of the tiny generator at `size` px, on the device path (a tensor)."""
    import torch

    settings = tiny_settings(data_dir, batch=BATCH, size=size)
    gen = Generator(settings.generator, preprocess="device")
    gen.load()
    words = ["duck", "swan", "pond", "reeds", "sunset", "boat", "cloud", "tree"]
    batches = []
    for start in range(0, n, BATCH):
        ids = range(start, min(n, start + BATCH))
        prompts = [f"a {words[i % len(words)]} and a {words[i * 3 % len(words)]}" for i in ids]
        images = gen.generate(prompts, list(ids)).images
        assert isinstance(images, torch.Tensor)
        batches.append(images.float())
    return torch.cat(batches)


def shapes(n: int, size: int, seed: int = 20) -> Any:
    """`n` procedural pictures: a gradient ground, soft discs and rectangles, thin strokes."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    pictures = []
    for _ in range(n):
        a, b = torch.rand(2, 3, 1, 1, generator=gen)
        picture = a * (1 - ys) + b * ys  # a vertical gradient ground
        for _ in range(int(torch.randint(3, 9, (1,), generator=gen))):
            cx, cy, r, soft = torch.rand(4, generator=gen).tolist()
            colour = torch.rand(3, 1, 1, generator=gen)
            if torch.rand(1, generator=gen) < 0.5:  # a disc
                dist = ((xs - cx) ** 2 + (ys - cy) ** 2).sqrt() - (0.05 + 0.25 * r)
            else:  # a rectangle
                dist = torch.maximum((xs - cx).abs(), (ys - cy).abs()) - (0.05 + 0.2 * r)
            edge = 0.5 + 8 * soft  # softness of the edge, in pixels
            mask = torch.sigmoid(-dist * size / edge)
            picture = picture * (1 - mask) + colour * mask
        for _ in range(int(torch.randint(1, 4, (1,), generator=gen))):  # thin strokes
            y0 = float(torch.rand(1, generator=gen))
            line = torch.sigmoid(-((ys - y0 - 0.2 * torch.sin(xs * 9)).abs() * size - 1.5))
            picture = picture * (1 - line)
        pictures.append(picture.clamp(0, 1))
    return torch.stack(pictures)


def as_pil(batch: Any) -> list[Any]:
    """What `output_type="pil"` makes of the same pictures: rounded to 8 bits."""
    import numpy as np
    from PIL import Image

    array = (batch.float().cpu() * 255).round().clamp(0, 255).permute(0, 2, 3, 1).numpy()
    return [Image.fromarray(a.astype(np.uint8)) for a in array]


def differences(judge: Judge, pictures: Any) -> tuple[list[float], float, float]:
    """|device - PIL| per picture in percentage points, and each path's ms per picture."""
    diffs: list[float] = []
    device_s = pil_s = 0.0
    for start in range(0, len(pictures), BATCH):
        batch = pictures[start : start + BATCH]
        targets = [TARGET] * len(batch)
        t0 = time.perf_counter()
        on_device = judge.score(batch, targets).cosines
        t1 = time.perf_counter()
        reference = judge.score(as_pil(batch), targets).cosines
        t2 = time.perf_counter()
        device_s, pil_s = device_s + t1 - t0, pil_s + t2 - t1
        diffs += [100 * abs(a - b) for a, b in zip(on_device, reference, strict=True)]
    n = len(pictures)
    return diffs, 1000 * device_s / n, 1000 * pil_s / n


def main() -> None:
    import torch

    from kiosk.ml.tiny import build_tiny_models, judge_name

    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=300, help="procedural pictures")
    ap.add_argument("--size", type=int, default=512, help="their size in pixels")
    ap.add_argument("--drawings", type=int, default=40, help="tiny generator drawings")
    ap.add_argument("--drawing-size", type=int, default=128, help="their size in pixels")
    ap.add_argument("--judge", choices=["tiny", "ViT-B-32"], default="tiny")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        data_dir = Path(td)
        build_tiny_models(data_dir / "tiny-models")
        kinds = {
            f"procedural {args.size} px": shapes(args.images, args.size),
            f"tiny generator {args.drawing_size} px": drawings(
                data_dir, args.drawings, args.drawing_size
            ),
        }
        model = judge_name(data_dir / "tiny-models") if args.judge == "tiny" else args.judge
        judge = Judge(model)  # ViT-B-32 without a tag: random weights, said below
        judge.load()
        judge.add_target(TARGET, REPO / "assets" / f"{TARGET}.png")
        size = judge.device_transform.size
        print(
            f"judge {args.judge} ({size[0]} px input"
            f"{', RANDOM weights' if args.judge != 'tiny' else ', tiny random weights'}), "
            f"torch {torch.__version__} on CPU, "
            f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}"
        )
        every: list[float] = []
        for kind, pictures in kinds.items():
            diffs, device_ms, pil_ms = differences(judge, pictures)
            every += diffs
            print(
                f"{kind:26s} n={len(diffs):4d}  |device - PIL| max {max(diffs):.4f} pp, "
                f"mean {statistics.fmean(diffs):.4f} pp  (judge {device_ms:.1f} ms/picture "
                f"from a tensor, {pil_ms:.1f} ms through PIL, on CPU)"
            )
    print(
        f"SUMMARY preprocess: |device - PIL| max {max(every):.4f} pp, mean "
        f"{statistics.fmean(every):.4f} pp over {len(every)} pictures "
        f"(judge {args.judge} at {size[0]} px, CPU)"
    )


if __name__ == "__main__":
    main()
