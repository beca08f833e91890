"""The join QR code: phones scan it to play. Two modules per cell (half blocks), dark on
light whatever the theme, with its quiet zone; it follows the join code as it rotates.
segno draws the code; without it, the URL is shown as text."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from kiosk.core.i18n import N_
from kiosk.core.join import JoinCode
from kiosk.ui.lang import tr

CAPTION = N_("Scan to play on your phone")
CELLS = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}


def half_blocks(text: str, border: int = 1) -> list[str]:
    """`text` as a QR code in half-block rows: a dark module is a drawn half cell."""
    import segno

    matrix = [[bool(m) for m in row] for row in segno.make(text, error="l", micro=False).matrix]
    size = len(matrix) + 2 * border
    blank = [False] * size
    rows = [blank] * border + [[False] * border + r + [False] * border for r in matrix]
    rows += [blank] * (border + (size % 2))
    return [
        "".join(CELLS[(top, bottom)] for top, bottom in zip(rows[y], rows[y + 1], strict=True))
        for y in range(0, len(rows), 2)
    ]


class JoinQR(Vertical):
    """The QR code of the join URL, with a line saying what it is for. Hidden until the
    phone server has said its join code."""

    DEFAULT_CSS = """
    JoinQR { width: 100%; height: auto; align-horizontal: center; }
    JoinQR > #qr-code {
        width: auto; height: auto;
        /* a QR code is dark on light, whatever the theme: scanners need the contrast */
        background: white; color: black;
    }
    JoinQR > #qr-caption { width: 100%; color: $text-muted; text-align: center; }
    """

    def __init__(self, join: Callable[[], JoinCode | None], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._join = join
        self._shown = ""

    def compose(self) -> ComposeResult:
        yield Static(id="qr-code")
        yield Static(id="qr-caption")

    def on_mount(self) -> None:
        self.display = False
        self.refresh_code()
        self.set_interval(1.0, self.refresh_code)

    def relabel(self) -> None:
        self.query_one("#qr-caption", Static).update(Text(tr(self, CAPTION)))

    def refresh_code(self) -> None:
        """Draw the code again when the join URL changed (it rotates)."""
        join = self._join()
        text = join.qr_text() if join is not None else ""
        if text == self._shown:
            return
        self._shown = text
        self.display = bool(text)
        if not text:
            return
        try:
            code = Text("\n".join(half_blocks(text)), no_wrap=True)
        except ImportError:  # segno is missing: the URL as text still lets a phone join
            code = Text(join.url() if join is not None else "", overflow="fold")
        self.query_one("#qr-code", Static).update(code)
        self.relabel()
