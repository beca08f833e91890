"""Digits five rows high, for a player code read from a step back (Textual's Digits has
three rows)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

FONT: dict[str, tuple[str, ...]] = {
    "0": (" ███ ", "█   █", "█   █", "█   █", " ███ "),
    "1": ("  █  ", " ██  ", "  █  ", "  █  ", " ███ "),
    "2": (" ███ ", "█   █", "  ██ ", " █   ", "█████"),
    "3": ("████ ", "    █", " ███ ", "    █", "████ "),
    "4": ("█   █", "█   █", "█████", "    █", "    █"),
    "5": ("█████", "█    ", "████ ", "    █", "████ "),
    "6": (" ███ ", "█    ", "████ ", "█   █", " ███ "),
    "7": ("█████", "    █", "   █ ", "  █  ", "  █  "),
    "8": (" ███ ", "█   █", " ███ ", "█   █", " ███ "),
    "9": (" ███ ", "█   █", " ████", "    █", " ███ "),
}
ROWS = 5


def big(digits: str) -> str:
    """`digits` drawn five rows high, two blank columns between them (others skipped)."""
    glyphs = [FONT[d] for d in digits if d in FONT]
    return "\n".join("  ".join(g[row] for g in glyphs) for row in range(ROWS))


class BigDigits(Static):
    """A number drawn five rows high."""

    DEFAULT_CSS = """
    BigDigits { width: auto; height: 5; color: $accent; text-style: bold; }
    """

    def __init__(self, digits: str, *, id: str | None = None) -> None:
        super().__init__(Text(big(digits)), id=id)
        self.digits = digits
