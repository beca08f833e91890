"""Image formats for the booth's drawings: encode time and file size on 512x512 pictures.

    .venv/bin/python bench/formats.py [--repeat 5]

The pictures: the three target pictures in assets/ (flat, drawn with Pillow: the easy
case for a lossless coder), the same with photo-like grain, and four procedurally rendered
scenes with fractal texture (clouds, foliage, water), closer to what sd-turbo draws at
512 px. One encode per call, on this thread, into memory (the fsync is the same for every
format). Last line: SUMMARY with the chosen format's figures against PNG level 1.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SIZE = 512


def _fractal(rng: np.random.Generator, octaves: int = 6) -> np.ndarray:
    """Value noise summed over octaves, in [0, 1]: cloud, foliage, water texture."""
    out = np.zeros((SIZE, SIZE), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = 2 ** (o + 2)
        small = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8))
        out += amp * np.asarray(small.resize((SIZE, SIZE), Image.Resampling.BICUBIC), np.float32)
        total += amp * 255
        amp *= 0.55
    return out / total


def _scene(seed: int) -> Image.Image:
    """A sky, a horizon and textured ground/water in a palette of its own, softly lit."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, SIZE, dtype=np.float32)[:, None]
    sky, ground = rng.random(3) * 200 + 40, rng.random(3) * 160 + 20
    horizon = 0.35 + 0.3 * rng.random()
    base = np.where(y[..., None] < horizon, sky * (0.8 + 0.4 * y[..., None]), ground)
    texture = _fractal(rng)[..., None]
    detail = _fractal(rng, 8)[..., None]
    image = base * (0.55 + 0.9 * texture) + 40 * (detail - 0.5)
    image = np.broadcast_to(image, (SIZE, SIZE, 3)) + rng.normal(0, 3.0, (SIZE, SIZE, 3))
    pil = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    return pil.filter(ImageFilter.GaussianBlur(0.6))


def _grainy(image: Image.Image, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    array = np.asarray(image.convert("RGB").resize((SIZE, SIZE)), np.float32)
    array = array + rng.normal(0, 4.0, array.shape)
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def pictures() -> list[tuple[str, Image.Image]]:
    """(name, 512x512 RGB picture) for the format table and the pipeline benchmark."""
    out: list[tuple[str, Image.Image]] = []
    for i, path in enumerate(sorted(ASSETS.glob("*.png"))):
        flat = Image.open(path).convert("RGB").resize((SIZE, SIZE))
        out += [(f"{path.stem}", flat), (f"{path.stem}+grain", _grainy(flat, i))]
    out += [(f"scene-{s}", _scene(s)) for s in range(4)]
    return out


FORMATS: dict[str, Callable[[Image.Image, io.BytesIO], None]] = {
    "png-1": lambda im, fh: im.save(fh, format="PNG", compress_level=1),
    "png-6": lambda im, fh: im.save(fh, format="PNG", compress_level=6),
    "webp-lossless": lambda im, fh: im.save(fh, format="WEBP", lossless=True, quality=0, method=0),
    "webp-90": lambda im, fh: im.save(fh, format="WEBP", quality=90, method=4),
    "jpeg-95": lambda im, fh: im.save(fh, format="JPEG", quality=95, subsampling=0),
    "jpeg-90": lambda im, fh: im.save(fh, format="JPEG", quality=90),
}
CHOSEN = "webp-lossless"
EVENT = 12_000  # drawings an event keeps


def measure(image: Image.Image, save: Callable[[Image.Image, io.BytesIO], None], repeat: int):
    """(median encode ms, bytes, decode ms, PSNR dB against the original)."""
    times = []
    for _ in range(repeat):
        fh = io.BytesIO()
        t0 = time.perf_counter()
        save(image, fh)
        times.append((time.perf_counter() - t0) * 1000)
    data = fh.getvalue()
    t0 = time.perf_counter()
    back = Image.open(io.BytesIO(data)).convert("RGB")
    back.load()
    decode = (time.perf_counter() - t0) * 1000
    diff = np.asarray(back, np.float32) - np.asarray(image, np.float32)
    mse = float((diff**2).mean())
    psnr = float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
    return statistics.median(times), len(data), decode, psnr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    pics = pictures()
    rows: dict[str, list[tuple[float, int, float, float]]] = {}
    print(f"{len(pics)} pictures, 512x512: " + ", ".join(n for n, _ in pics))
    print(
        f"{'format':14s} {'encode ms':>9s} {'KB':>7s} {'decode ms':>9s} {'PSNR dB':>8s}"
        f" {'GB/event':>8s}   (medians; scenes only: encode ms, KB)"
    )
    for name, save in FORMATS.items():
        rows[name] = [measure(im, save, args.repeat) for _, im in pics]
        enc, size, dec, psnr = (statistics.median(c) for c in zip(*rows[name], strict=True))
        scenes = [r for (n, _), r in zip(pics, rows[name], strict=True) if n.startswith("scene")]
        s_enc = statistics.median(r[0] for r in scenes)
        s_kb = statistics.median(r[1] for r in scenes) / 1024
        print(
            f"{name:14s} {enc:9.1f} {size / 1024:7.0f} {dec:9.1f} {psnr:8.1f}"
            f" {size * EVENT / 1e9:8.2f}   ({s_enc:.1f} ms, {s_kb:.0f} KB)"
        )
    base = statistics.median(r[0] for r in rows["png-1"])
    base_kb = statistics.median(r[1] for r in rows["png-1"]) / 1024
    enc = statistics.median(r[0] for r in rows[CHOSEN])
    kb = statistics.median(r[1] for r in rows[CHOSEN]) / 1024
    psnr = statistics.median(r[3] for r in rows[CHOSEN])
    print(
        f"SUMMARY formats: {CHOSEN} {enc:.1f} ms {kb:.0f} KB (PSNR {psnr:.1f} dB) vs png-1"
        f" {base:.1f} ms {base_kb:.0f} KB per 512x512 drawing;"
        f" {kb * 1024 * EVENT / 1e9:.1f} GB per {EVENT} drawings"
    )


if __name__ == "__main__":
    main()
