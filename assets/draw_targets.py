"""Draw the kiosk's original target pictures with Pillow: a duck, a swan, and both.

Run `python assets/draw_targets.py` to regenerate duck.png, swan.png and
duck-and-swan.png beside this script. Deterministic: same pixels every run.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SIZE = 512
HERE = Path(__file__).resolve().parent


def _scene() -> Image.Image:
    """Sky, a far shore and a pond."""
    im = Image.new("RGB", (SIZE, SIZE), (186, 222, 247))
    d = ImageDraw.Draw(im)
    for y in range(SIZE // 2):  # sky gradient
        t = y / (SIZE / 2)
        d.line([(0, y), (SIZE, y)], fill=(int(150 + 70 * t), int(200 + 35 * t), 250))
    d.ellipse([380, 40, 460, 120], fill=(255, 236, 140))  # sun
    d.rectangle([0, 230, SIZE, 270], fill=(110, 170, 90))  # far shore
    for y in range(270, SIZE):  # water
        t = (y - 270) / (SIZE - 270)
        d.line([(0, y), (SIZE, y)], fill=(int(70 - 30 * t), int(140 - 40 * t), int(200 - 50 * t)))
    for x in range(0, SIZE, 64):  # ripples
        for y in range(300, SIZE, 48):
            d.arc(
                [x + (y % 32), y, x + 40 + (y % 32), y + 10], 0, 180, fill=(150, 200, 235), width=2
            )
    for x in (20, 40, 470, 490):  # reeds
        d.line([(x, 290), (x + 6, 200)], fill=(60, 110, 50), width=4)
        d.ellipse([x + 2, 190, x + 12, 225], fill=(120, 80, 40))
    return im


def _duck(d: ImageDraw.ImageDraw, x: int, y: int, s: float) -> None:
    """A mallard-ish duck facing right; (x, y) is the body centre at the waterline."""

    def box(cx: float, cy: float, rx: float, ry: float) -> list[float]:
        return [x + (cx - rx) * s, y + (cy - ry) * s, x + (cx + rx) * s, y + (cy + ry) * s]

    d.ellipse(box(0, -20, 70, 38), fill=(150, 110, 70), outline=(60, 40, 20), width=3)
    d.ellipse(box(-15, -28, 38, 18), fill=(110, 80, 50))  # wing
    d.polygon(
        [(x - 70 * s, y - 30 * s), (x - 100 * s, y - 50 * s), (x - 65 * s, y - 10 * s)],
        fill=(90, 60, 40),
    )  # tail
    d.rectangle(box(48, -58, 12, 22), fill=(240, 240, 240))  # neck ring
    d.ellipse(box(55, -90, 30, 28), fill=(20, 110, 60), outline=(10, 50, 30), width=3)  # head
    d.ellipse(box(62, -96, 5, 5), fill=(0, 0, 0))  # eye
    d.polygon(
        [(x + 80 * s, y - 92 * s), (x + 118 * s, y - 84 * s), (x + 80 * s, y - 76 * s)],
        fill=(250, 190, 30),
        outline=(150, 100, 0),
    )  # bill


def _swan(d: ImageDraw.ImageDraw, x: int, y: int, s: float) -> None:
    """A white swan facing left with an S-curved neck."""

    def box(cx: float, cy: float, rx: float, ry: float) -> list[float]:
        return [x + (cx - rx) * s, y + (cy - ry) * s, x + (cx + rx) * s, y + (cy + ry) * s]

    d.ellipse(box(0, -25, 95, 42), fill=(250, 250, 250), outline=(150, 150, 160), width=3)
    d.pieslice(box(20, -40, 70, 45), 180, 360, fill=(238, 238, 242))  # raised wing
    d.polygon(
        [(x + 90 * s, y - 30 * s), (x + 125 * s, y - 60 * s), (x + 85 * s, y - 5 * s)],
        fill=(245, 245, 248),
    )  # tail
    neck = [
        (x - 60 * s, y - 40 * s),
        (x - 75 * s, y - 90 * s),
        (x - 60 * s, y - 140 * s),
        (x - 75 * s, y - 175 * s),
    ]
    d.line(neck, fill=(250, 250, 250), width=int(22 * s), joint="curve")
    d.ellipse(box(-82, -182, 22, 17), fill=(250, 250, 250))  # head
    d.polygon(
        [(x - 98 * s, y - 188 * s), (x - 135 * s, y - 176 * s), (x - 98 * s, y - 170 * s)],
        fill=(235, 110, 30),
    )  # orange bill
    d.polygon(
        [(x - 96 * s, y - 192 * s), (x - 108 * s, y - 182 * s), (x - 96 * s, y - 168 * s)],
        fill=(20, 20, 20),
    )  # black knob
    d.ellipse(box(-84, -186, 4, 4), fill=(0, 0, 0))  # eye


def draw(kind: str) -> Image.Image:
    im = _scene()
    d = ImageDraw.Draw(im)
    if kind == "duck":
        _duck(d, 250, 380, 1.6)
    elif kind == "swan":
        _swan(d, 290, 400, 1.4)
    else:
        _swan(d, 360, 400, 1.05)
        _duck(d, 130, 420, 1.0)
    return im.filter(ImageFilter.SMOOTH)


def main() -> None:
    for kind in ("duck", "swan", "duck-and-swan"):
        draw(kind).save(HERE / f"{kind}.png", optimize=True)
        print(HERE / f"{kind}.png")


if __name__ == "__main__":
    main()
