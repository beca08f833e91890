"""Contact sheets: the top drawings of a board in a grid, with rank, nickname and score,
in a font that has Korean letters (found with fontconfig, else a known path)."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from kiosk.core.api import BoardRow
from kiosk.core.policy import format_percent

TILE, PAD, CAPTION, HEADER, COLUMNS = 240, 16, 64, 80, 4
_KNOWN_FONTS = (  # (regular, bold) Hangul fonts where fc-match is missing or says nothing
    ("/usr/share/fonts/truetype/nanum/NanumGothic.ttf", "NanumGothicBold.ttf"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc"),
    ("/System/Library/Fonts/AppleSDGothicNeo.ttc", "AppleSDGothicNeo.ttc"),
    ("C:/Windows/Fonts/malgun.ttf", "malgunbd.ttf"),
)
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Fonts:
    """The font files of the contact sheets; None: Pillow's own font (no Hangul)."""

    regular: str | None
    bold: str | None
    hangul: bool

    def load(self, size: int, *, bold: bool = False) -> Font:
        path = (self.bold if bold else None) or self.regular
        return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


def _glyph(font: Font, text: str) -> bytes:
    im = Image.new("L", (64, 64))
    ImageDraw.Draw(im).text((4, 4), text, font=font, fill=255)
    return im.tobytes()


def renders_hangul(font: Font) -> bool:
    """Whether "한" and "글" come out as two distinct glyphs, neither the missing-glyph box
    (a code point no font has), nor blank."""
    try:
        han, geul, missing = (_glyph(font, t) for t in ("한", "글", "\U0010fffd"))
    except UnicodeEncodeError:  # a bitmap font: Latin-1 only
        return False
    return len({han, geul, missing}) == 3 and any(han) and any(geul)


def _fc_match(pattern: str) -> str | None:
    try:
        done = subprocess.run(
            ["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _hangul_file(path: str | None) -> bool:
    try:
        return path is not None and renders_hangul(ImageFont.truetype(path, 24))
    except OSError:
        return False


def find_fonts() -> Fonts:
    """A Hangul font (fontconfig's choice for Korean, else a known path), with its bold."""
    pairs = [(_fc_match(":lang=ko"), _fc_match(":lang=ko:weight=bold"))]
    pairs += [(regular, str(Path(regular).with_name(bold))) for regular, bold in _KNOWN_FONTS]
    for regular, bold in pairs:
        if _hangul_file(regular):
            return Fonts(regular=regular, bold=bold if _hangul_file(bold) else None, hangul=True)
    return Fonts(regular=None, bold=None, hangul=False)


def sheet_size(count: int) -> tuple[int, int]:
    """Pixel size of a contact sheet of `count` drawings: at most COLUMNS a row, at least
    two columns wide (room for the heading), one row when the board is empty."""
    cols = max(2, min(COLUMNS, count))
    rows = max(1, math.ceil(count / cols))
    return PAD + cols * (TILE + PAD), HEADER + rows * (TILE + CAPTION + PAD) + PAD


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> str:
    """The text, cut with an ellipsis to fit `width` pixels."""
    try:
        if draw.textlength(text, font=font) <= width:
            return text
        while text and draw.textlength(text + "…", font=font) > width:
            text = text[:-1]
    except UnicodeEncodeError:  # a bitmap fallback font: _text copes
        return text
    return text + "…"


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: Font, **kw: Any) -> None:
    try:
        draw.text(xy, text, font=font, **kw)
    except UnicodeEncodeError:  # a bitmap fallback font: what it cannot encode becomes ?
        draw.text(xy, text.encode("latin-1", "replace").decode("latin-1"), font=font, **kw)


def _tile(path: Path, font: Font) -> Image.Image:
    """A drawing fitted to a tile; a missing or unreadable file, a grey tile saying so."""
    try:
        with Image.open(path) as im:
            return ImageOps.pad(im.convert("RGB"), (TILE, TILE), color=(240, 240, 240))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        why = "image missing" if isinstance(exc, FileNotFoundError) else "image unreadable"
    tile = Image.new("RGB", (TILE, TILE), (160, 160, 160))
    _text(ImageDraw.Draw(tile), (PAD, TILE // 2 - 12), why, font, fill=(255, 255, 255))
    return tile


def contact_sheet(
    rows: Sequence[BoardRow], pictures: Sequence[Path], heading: str, sub: str, fonts: Fonts
) -> Image.Image:
    """The top drawings in a grid, each with rank, nickname and score under it."""
    sheet = Image.new("RGB", sheet_size(len(rows)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    big, small = fonts.load(28, bold=True), fonts.load(16)
    name_font, score_font = fonts.load(20, bold=True), fonts.load(18)
    _text(draw, (PAD, 14), _fit(draw, heading, big, sheet.width - 2 * PAD), big, fill=(20, 20, 20))
    _text(draw, (PAD, 50), _fit(draw, sub, small, sheet.width - 2 * PAD), small, fill=(90, 90, 90))
    if not rows:
        _text(draw, (PAD, HEADER), "no drawings on this board yet", name_font, fill=(90, 90, 90))
    for i, (row, picture) in enumerate(zip(rows, pictures, strict=True)):
        x = PAD + (i % COLUMNS) * (TILE + PAD)
        y = HEADER + (i // COLUMNS) * (TILE + CAPTION + PAD)
        sheet.paste(_tile(picture, name_font), (x, y))
        name = _fit(draw, f"#{row.rank}  {row.nickname}", name_font, TILE)
        _text(draw, (x, y + TILE + 8), name, name_font, fill=(20, 20, 20))
        _text(draw, (x, y + TILE + 36), format_percent(row.percent), score_font, fill=(0, 90, 160))
    return sheet
