"""Shown over the booth while the terminal is too small to play in; gone once it is not."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from kiosk.core.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.screens import dismiss_once

MIN_COLUMNS = 110
MIN_ROWS = 28


def too_small(columns: int, rows: int) -> bool:
    """True when the booth cannot be laid out readably in a terminal of this size."""
    return columns < MIN_COLUMNS or rows < MIN_ROWS


class TooSmallScreen(ModalScreen[None]):
    """Says the terminal's size and the least the booth needs, until it is resized."""

    def compose(self) -> ComposeResult:
        with Vertical(id="too-small-box"):
            yield Label(Text(tr(self, N_("The window is too small"))), id="too-small-title")
            yield Static(id="too-small-help")

    def on_mount(self) -> None:
        self._say(self.app.size.width, self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        if not self.is_current:  # a resize queued before it was dismissed
            return
        if too_small(event.size.width, event.size.height):
            self._say(event.size.width, event.size.height)
        else:
            dismiss_once(self)

    def _say(self, columns: int, rows: int) -> None:
        self.query_one("#too-small-help", Static).update(
            Text(
                tr(
                    self,
                    N_(
                        "This terminal is {columns} x {rows}; the booth needs at least"
                        " {min_columns} x {min_rows}. Make the window bigger or the font"
                        " smaller."
                    ),
                    columns=columns,
                    rows=rows,
                    min_columns=MIN_COLUMNS,
                    min_rows=MIN_ROWS,
                )
            )
        )
