"""Draw the human check's distractor pictures with Pillow: things that are clearly not a
duck or a swan, so a check has real choices even at a booth with one target.

Run `python assets/draw_distractors.py` to regenerate distractors/*.png beside this
script. Deterministic: same pixels every run. Their titles are in kiosk.core.checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 128
HERE = Path(__file__).resolve().parent / "distractors"
Draw = ImageDraw.ImageDraw


def _cat(d: Draw) -> None:
    d.ellipse([34, 60, 94, 118], fill=(230, 140, 50))  # body
    d.ellipse([38, 22, 90, 70], fill=(235, 150, 60))  # head
    d.polygon([(42, 36), (48, 8), (62, 28)], fill=(235, 150, 60))  # ears
    d.polygon([(86, 36), (80, 8), (66, 28)], fill=(235, 150, 60))
    d.ellipse([50, 38, 58, 48], fill=(30, 30, 30))  # eyes
    d.ellipse([70, 38, 78, 48], fill=(30, 30, 30))
    d.line([(94, 100), (118, 70)], fill=(230, 140, 50), width=8)  # tail


def _fish(d: Draw) -> None:
    d.rectangle([0, 0, SIZE, SIZE], fill=(40, 90, 170))
    d.ellipse([20, 40, 96, 88], fill=(250, 120, 40))
    d.polygon([(90, 64), (122, 38), (122, 90)], fill=(250, 120, 40))  # tail
    d.ellipse([32, 54, 42, 64], fill=(255, 255, 255))
    d.ellipse([35, 57, 40, 62], fill=(0, 0, 0))


def _house(d: Draw) -> None:
    d.rectangle([0, 100, SIZE, SIZE], fill=(90, 160, 70))
    d.rectangle([28, 60, 100, 110], fill=(200, 60, 50))
    d.polygon([(20, 62), (64, 20), (108, 62)], fill=(110, 60, 40))  # roof
    d.rectangle([56, 80, 72, 110], fill=(90, 50, 20))  # door
    d.rectangle([36, 70, 50, 84], fill=(250, 240, 150))  # window


def _tree(d: Draw) -> None:
    d.rectangle([56, 70, 72, 120], fill=(110, 70, 30))
    d.ellipse([24, 14, 104, 90], fill=(40, 140, 50))


def _car(d: Draw) -> None:
    d.rectangle([10, 60, 118, 92], fill=(40, 80, 200))
    d.polygon([(30, 60), (44, 36), (86, 36), (100, 60)], fill=(60, 110, 220))
    d.rectangle([48, 42, 82, 58], fill=(200, 230, 250))  # windows
    d.ellipse([20, 80, 46, 106], fill=(20, 20, 20))  # wheels
    d.ellipse([82, 80, 108, 106], fill=(20, 20, 20))


def _flower(d: Draw) -> None:
    d.line([(64, 64), (64, 124)], fill=(40, 140, 50), width=6)
    for cx, cy in ((64, 34), (64, 86), (38, 60), (90, 60)):
        d.ellipse([cx - 18, cy - 18, cx + 18, cy + 18], fill=(230, 60, 150))
    d.ellipse([50, 46, 78, 74], fill=(250, 210, 40))


def _sun(d: Draw) -> None:
    d.rectangle([0, 0, SIZE, SIZE], fill=(120, 190, 250))
    for i in range(12):
        a = i * math.pi / 6
        c, s = math.cos(a), math.sin(a)
        d.line(
            [(64 + 34 * c, 64 + 34 * s), (64 + 58 * c, 64 + 58 * s)], fill=(250, 200, 30), width=6
        )
    d.ellipse([32, 32, 96, 96], fill=(255, 220, 40))


def _cup(d: Draw) -> None:
    d.rectangle([30, 40, 86, 110], fill=(240, 240, 235), outline=(80, 80, 80), width=3)
    d.arc([74, 56, 110, 92], -90, 90, fill=(80, 80, 80), width=6)  # handle
    d.rectangle([34, 44, 82, 56], fill=(110, 60, 30))  # coffee


PICTURES: dict[str, Callable[[Draw], None]] = {
    "cat": _cat,
    "fish": _fish,
    "house": _house,
    "tree": _tree,
    "car": _car,
    "flower": _flower,
    "sun": _sun,
    "cup": _cup,
}


def draw(kind: str) -> Image.Image:
    im = Image.new("RGB", (SIZE, SIZE), (245, 240, 225))
    PICTURES[kind](ImageDraw.Draw(im))
    return im


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for kind in PICTURES:
        draw(kind).save(HERE / f"{kind}.png", optimize=True)
        print(HERE / f"{kind}.png")


if __name__ == "__main__":
    main()
