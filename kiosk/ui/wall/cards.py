"""The wall's pieces: a podium card, a latest-drawing card, and the raffle reveal.

The reveal says when staff redrew a winner (from what the store records), so the crowd
sees the prize change hands instead of a name silently swapped for another.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Center, Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from kiosk.core.api import BoardRow, RaffleResult, Recent
from kiosk.core.i18n import N_
from kiosk.core.policy import format_percent
from kiosk.ui.lang import tr
from kiosk.ui.screens import dismiss_once
from kiosk.ui.widgets.picture import Picture
from kiosk.ui.widgets.raffle import RaffleBoard

RAFFLE_SHOW_S = 120.0
"""How long a raffle reveal stays on the wall (Esc closes it sooner)."""
MEDALS = ("1st", "2nd", "3rd")


class PodiumCard(Vertical):
    """One of the top 3: the drawing, then rank, nickname and score."""

    def __init__(self, image_cls: type[Widget], place: int) -> None:
        super().__init__(classes="podium-card")
        self._image_cls = image_cls
        self.place = place
        self.border_title = MEDALS[place]

    def compose(self) -> ComposeResult:
        yield Picture(self._image_cls, placeholder="", classes="podium-picture")
        yield Static(classes="podium-name")

    def show(self, row: BoardRow | None, path: Path | None) -> None:
        self.query_one(Picture).show(path)
        name = self.query_one(".podium-name", Static)
        if row is None:
            waiting = tr(self, N_("waiting for a player"))
            name.update(Text(waiting, style="dim", justify="center"))
            return
        name.update(
            Text.assemble(
                (row.nickname, "bold"),
                "  ",
                (format_percent(row.percent), "bold"),
                justify="center",
            )
        )


class LatestCard(Horizontal):
    """A drawing that just arrived: its picture, who, the score, the prompt."""

    def __init__(self, image_cls: type[Widget], width: int) -> None:
        super().__init__(classes="latest-card")
        self._image_cls = image_cls
        self._width = width
        self._shown: tuple[Recent, Path] | None = None

    def compose(self) -> ComposeResult:
        picture = Picture(self._image_cls, placeholder="", classes="latest-picture")
        picture.styles.width = self._width
        yield picture
        yield Static(classes="latest-text")

    def on_mount(self) -> None:
        if self._shown is not None:  # given before it was composed
            self.show(*self._shown)

    def show(self, item: Recent, path: Path) -> None:
        """Show a drawing now, or as soon as the card is composed (as Picture does)."""
        self._shown = (item, path)
        if not self.children:
            return
        self.query_one(Picture).show(path)
        self.query_one(".latest-text", Static).update(
            Text.assemble(
                (item.nickname, "bold"),
                "  ",
                (format_percent(item.percent), "bold"),
                "\n",
                (item.prompt, "italic"),
            )
        )


class WallReveal(Screen[None]):
    """A raffle, revealed full screen for the crowd; it closes by itself. A reveal
    opened for a redraw shows every winner, and who was redrawn."""

    DEFAULT_CSS = "WallReveal { align: center middle; }"
    HELP = N_("The winners: congratulations! Come to the booth to collect your prize.")

    def __init__(self, result: RaffleResult) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        with Center():
            yield RaffleBoard(self.result, self.result.target, tr(self, self.HELP))

    def on_mount(self) -> None:
        self.set_timer(RAFFLE_SHOW_S, self.action_close)

    def update_result(self, result: RaffleResult) -> None:
        """Staff redrew a winner at the booth: show the new winners and say so."""
        self.result = result
        self.query_one(RaffleBoard).redrawn(result)

    def action_close(self) -> None:
        dismiss_once(self, None)
