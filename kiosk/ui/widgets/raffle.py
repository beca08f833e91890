"""A raffle's winners for the crowd, display only (keys are the screen's business): the
staff reveal and the wall show it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Static

from kiosk.core import i18n
from kiosk.core.api import RaffleResult, Redraw
from kiosk.core.i18n import N_
from kiosk.core.policy import format_percent
from kiosk.ui.lang import lang_of, tr
from kiosk.ui.widgets.bigtext import BigText

REVEAL_STEP_S = 3.0
"""The next winner appears by itself after this long."""


class RaffleBoard(Vertical):
    """The winners, one at a time in big letters, those so far below."""

    DEFAULT_CSS = """
    RaffleBoard {
        width: 100%; max-width: 116; height: auto; border: double $accent; padding: 1 2;
    }
    RaffleBoard Static { width: 100%; text-align: center; }
    RaffleBoard #reveal-title { text-style: bold; color: $accent; }
    RaffleBoard #reveal-rule { color: $text-muted; }
    RaffleBoard #reveal-which { text-style: bold; margin: 1 0 0 0; }
    RaffleBoard #reveal-name { color: $accent; text-style: bold; margin: 1 0; }
    RaffleBoard #reveal-winners { margin: 1 0 0 0; }
    RaffleBoard #reveal-redraws { height: auto; margin: 1 0 0 0; color: $warning; }
    RaffleBoard #reveal-help { color: $text-muted; margin: 1 0 0 0; }
    """

    def __init__(self, result: RaffleResult, title: str, help: str) -> None:
        super().__init__(id="reveal-box")
        self.result = result
        self._title = title
        self._help = help
        self.shown = len(result.winners) if result.redraws else 0
        """How many winners are revealed (in order); all of them once a redraw is known."""
        self._current = 0
        """The winner shown big (an index into the winners)."""
        self._redrawn: set[int] = set()
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        r = self.result
        title = tr(self, N_("RAFFLE  ·  {title}"), title=self._title)
        eligible = tr(self, N_("{n} eligible"), n=len(r.eligible))
        yield Static(Text(title), id="reveal-title")
        yield Static(Text(f"{r.rule}  ·  {eligible}"), id="reveal-rule")
        for part in ("which", "name", "score", "winners", "redraws"):
            yield Static(id=f"reveal-{part}")
        yield Static(Text(self._help), id="reveal-help")

    def on_mount(self) -> None:
        self.step()
        if self.shown < len(self.result.winners):
            self._timer = self.set_interval(REVEAL_STEP_S, self._tick)

    def _tick(self) -> None:
        if self.app.screen is self.screen:  # not while staff answer a question over it
            self.step()

    def step(self) -> None:
        """Reveal one more winner, big; the timer starts over, and stops once all show."""
        if self.shown < len(self.result.winners):
            self.shown += 1
            self._current = self.shown - 1
        if self._timer is not None:
            if self.shown >= len(self.result.winners):
                self._timer.stop()
            else:
                self._timer.reset()
        self._show()

    def redrawn(self, result: RaffleResult, index: int | None = None) -> None:
        """The winners after a redraw: winner `index` is shown big (None: all shown)."""
        self.result = result
        if index is None:
            self.shown = len(result.winners)
        else:
            self._redrawn.add(index)
            self._current = index
            self.shown = min(self.shown, len(result.winners))
        self._show()

    def _show(self) -> None:
        winners = self.result.winners
        which, name, score = (
            self.query_one(f"#reveal-{part}", Static) for part in ("which", "name", "score")
        )
        if not winners:
            which.update(Text(tr(self, N_("No eligible player is left to draw."))))
            name.update("")
            score.update("")
        else:
            i = min(self._current, len(winners) - 1)
            said = tr(self, N_("Winner {n} of {total}"), n=i + 1, total=len(winners))
            if i in self._redrawn:
                said += "  ·  " + tr(self, N_("redrawn"))
            which.update(Text(said))
            name.update(BigText(winners[i].nickname))
            score.update(Text(f"{winners[i].nickname}  ·  {format_percent(winners[i].percent)}"))
        lines = Text()
        for n, w in enumerate(winners[: self.shown], start=1):
            style = "reverse bold" if n - 1 == self._current else "bold"
            lines.append(f" {n}. {w.nickname}  {format_percent(w.percent)} ", style=style)
            lines.append("   ")
        self.query_one("#reveal-winners", Static).update(lines)
        said_redraws = [redraw_line(r, lang_of(self)) for r in self.result.redraws]
        redraws = self.query_one("#reveal-redraws", Static)
        redraws.update(Text("\n".join(said_redraws), style="bold"))
        redraws.display = bool(said_redraws)


def redraw_line(redraw: Redraw, lang: str = i18n.DEFAULT) -> str:
    """What the crowd reads about one redraw."""
    if redraw.winner is None:
        said = N_("Redrawn: {absent} was not here; nobody else could win it.")
        return i18n.translate(lang, said, absent=redraw.absent)
    said = N_("Redrawn: {absent} was not here; the prize goes to {winner}.")
    return i18n.translate(lang, said, absent=redraw.absent, winner=redraw.winner)
