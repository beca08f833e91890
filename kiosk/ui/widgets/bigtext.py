"""Big block letters for a name the crowd reads from across the hall (the raffle reveal).

A 3x5 pixel font for Latin letters, digits and common nickname signs, drawn as large as
the width allows: two columns and one row per pixel (5 rows), else half blocks (3 rows).
A name with a letter the font lacks (Hangul, accents, emoji) is shown as itself, letter
spaced, rather than mixing big and small letters. No colours here: the widget's CSS
colours the blocks.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.style import StyleType
from rich.text import Text

# Each glyph: five rows of three pixels ("#" on). Lower case is drawn as upper case.
_FONT_ROWS = {
    "A": (".#.", "#.#", "###", "#.#", "#.#"),
    "B": ("##.", "#.#", "##.", "#.#", "##."),
    "C": (".##", "#..", "#..", "#..", ".##"),
    "D": ("##.", "#.#", "#.#", "#.#", "##."),
    "E": ("###", "#..", "##.", "#..", "###"),
    "F": ("###", "#..", "##.", "#..", "#.."),
    "G": (".##", "#..", "#.#", "#.#", ".##"),
    "H": ("#.#", "#.#", "###", "#.#", "#.#"),
    "I": ("###", ".#.", ".#.", ".#.", "###"),
    "J": ("..#", "..#", "..#", "#.#", ".#."),
    "K": ("#.#", "#.#", "##.", "#.#", "#.#"),
    "L": ("#..", "#..", "#..", "#..", "###"),
    "M": ("#.#", "###", "###", "#.#", "#.#"),
    "N": ("##.", "#.#", "#.#", "#.#", "#.#"),
    "O": (".#.", "#.#", "#.#", "#.#", ".#."),
    "P": ("##.", "#.#", "##.", "#..", "#.."),
    "Q": (".#.", "#.#", "#.#", "##.", ".##"),
    "R": ("##.", "#.#", "##.", "#.#", "#.#"),
    "S": (".##", "#..", ".#.", "..#", "##."),
    "T": ("###", ".#.", ".#.", ".#.", ".#."),
    "U": ("#.#", "#.#", "#.#", "#.#", "###"),
    "V": ("#.#", "#.#", "#.#", "#.#", ".#."),
    "W": ("#.#", "#.#", "###", "###", "#.#"),
    "X": ("#.#", "#.#", ".#.", "#.#", "#.#"),
    "Y": ("#.#", "#.#", ".#.", ".#.", ".#."),
    "Z": ("###", "..#", ".#.", "#..", "###"),
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("##.", "..#", ".#.", "#..", "###"),
    "3": ("##.", "..#", ".#.", "..#", "##."),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "##.", "..#", "##."),
    "6": (".##", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "##."),
    " ": ("...", "...", "...", "...", "..."),
    "-": ("...", "...", "###", "...", "..."),
    "_": ("...", "...", "...", "...", "###"),
    ".": ("...", "...", "...", "...", ".#."),
    "!": (".#.", ".#.", ".#.", "...", ".#."),
    "?": ("##.", "..#", ".#.", "...", ".#."),
    "'": (".#.", ".#.", "...", "...", "..."),
}
FONT: dict[str, tuple[tuple[bool, ...], ...]] = {
    ch: tuple(tuple(p == "#" for p in row) for row in rows) for ch, rows in _FONT_ROWS.items()
}
_HALF = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}


def _glyphs(text: str) -> list[tuple[tuple[bool, ...], ...]] | None:
    """The glyph of each letter, or None when the font lacks one of them."""
    glyphs = [FONT.get(ch.upper()) for ch in text]
    return None if any(g is None for g in glyphs) else [g for g in glyphs if g is not None]


def _large(glyphs: list[tuple[tuple[bool, ...], ...]]) -> list[str]:
    """Two columns and one row per pixel, two columns between letters."""
    return [
        "  ".join("".join("██" if on else "  " for on in g[row]) for g in glyphs)
        for row in range(5)
    ]


def _small(glyphs: list[tuple[tuple[bool, ...], ...]]) -> list[str]:
    """One column and half a row per pixel, one column between letters."""
    lines = []
    for top in (0, 2, 4):
        cells = []
        for g in glyphs:
            upper, lower = g[top], g[top + 1] if top + 1 < 5 else (False, False, False)
            cells.append("".join(_HALF[(u, lo)] for u, lo in zip(upper, lower, strict=True)))
        lines.append(" ".join(cells))
    return lines


def big_lines(text: str, width: int) -> list[str]:
    """`text` in the biggest letters that fit in `width` columns (plain when none do)."""
    glyphs = _glyphs(text)
    if glyphs:
        if 8 * len(glyphs) - 2 <= width:
            return _large(glyphs)
        if 4 * len(glyphs) - 1 <= width:
            return _small(glyphs)
    spaced = " ".join(text)
    return [spaced] if cell_len(spaced) <= width else [text]


class BigText:
    """A Rich renderable of `big_lines`, centred in the width it is given."""

    def __init__(self, text: str, style: StyleType = "") -> None:
        self.text = text
        self.style = style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in big_lines(self.text, options.max_width):
            yield Text(line, style=self.style, justify="center", no_wrap=True, overflow="crop")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max(cell_len(line) for line in big_lines(self.text, options.max_width))
        return Measurement(min(widest, options.max_width), options.max_width)
