"""The wall's pieces: a podium card, a latest-drawing card, and the raffle reveal.

The reveal says when staff redrew a winner (from what the store records), so the crowd
sees the prize change hands instead of a name silently swapped for another.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Static

from kiosk.core import i18n
from kiosk.core.api import BoardRow, RaffleResult, Recent, Redraw
from kiosk.core.i18n import N_
from kiosk.core.policy import format_percent
from kiosk.ui.lang import lang_of, tr
from kiosk.ui.staff.raffle import RaffleReveal
from kiosk.ui.widgets.picture import Picture

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


class WallReveal(RaffleReveal):
    """A raffle, revealed full screen for the crowd; it closes by itself. Under the
    winners it says who was redrawn; a reveal opened for a redraw shows every winner."""

    HELP = N_("The winners: congratulations! Come to the booth to collect your prize.")

    def __init__(self, result: RaffleResult) -> None:
        super().__init__(result)
        self._redraws = Static(classes="reveal-redraws")
        if result.redraws:
            self._shown = len(result.winners)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#reveal-help", Static).update(Text(tr(self, self.HELP)))
        self.query_one("#reveal-box").mount(self._redraws, before="#reveal-help")
        self._say_redraws()
        self.set_timer(RAFFLE_SHOW_S, self.action_close)

    def on_key(self, event: events.Key) -> None:
        """The crowd's screen redraws nobody: that is staff's job at the booth (Textual
        would go on to the booth reveal's handler without prevent_default)."""
        event.prevent_default()

    def update_result(self, result: RaffleResult) -> None:
        """Staff redrew a winner at the booth: show the new winners and say so."""
        self.result = result
        self._shown = len(result.winners)
        self._show()
        self._say_redraws()

    def _say_redraws(self) -> None:
        lines = [redraw_line(r, lang_of(self)) for r in self.result.redraws]
        self._redraws.update(Text("\n".join(lines), style="bold"))
        self._redraws.display = bool(lines)


def redraw_line(redraw: Redraw, lang: str = i18n.DEFAULT) -> str:
    """What the crowd reads about one redraw."""
    if redraw.winner is None:
        said = N_("Redrawn: {absent} was not here; nobody else could win it.")
        return i18n.translate(lang, said, absent=redraw.absent)
    said = N_("Redrawn: {absent} was not here; the prize goes to {winner}.")
    return i18n.translate(lang, said, absent=redraw.absent, winner=redraw.winner)
