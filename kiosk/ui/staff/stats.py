"""The event at a glance for staff: counts, activity and scores as charts, drawing times."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, Sparkline, Static
from textual.worker import get_current_worker

from kiosk.core.api import EventStats

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


class StatsScreen(Screen[None]):
    """Staff's stats view; reads the store in a thread, and again on F5."""

    DEFAULT_CSS = """
    StatsScreen { padding: 1 2; }
    StatsScreen Sparkline { height: 4; margin: 0 0 1 0; }
    StatsScreen .stats-label { color: $text-muted; }
    StatsScreen #stats-numbers { height: auto; margin: 0 0 1 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f11", "close", "Back to staff mode", priority=True),
        Binding("f5", "reload", "Refresh", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.shown: EventStats | None = None
        """The figures on screen (None until read)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="stats-numbers")
            yield Label("Submissions per 10 minutes (oldest to now)", classes="stats-label")
            yield Sparkline([], id="stats-activity")
            yield Label("Scores of the drawings: 0% to 100% in steps of 5", classes="stats-label")
            yield Sparkline([], id="stats-scores")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    @work(thread=True, exclusive=True, group="stats", exit_on_error=False)
    def action_reload(self) -> None:
        app = cast("KioskApp", self.app)
        stats = app.engine.event_stats()
        waiting = len(app.engine.queue_snapshot())
        if not get_current_worker().is_cancelled:
            app.call_from_thread(self._show, stats, waiting)

    def _show(self, s: EventStats, waiting: int) -> None:
        self.shown = s
        table = Table.grid(padding=(0, 3))
        for _ in range(4):
            table.add_column()
        table.add_row("players", str(s.players), "drawings", str(s.drawings))
        table.add_row("submissions", str(s.submissions), "dedup hits", str(s.dedup_hits))
        table.add_row("refusals", str(s.refusals), "hidden", str(s.hidden))
        table.add_row("drawing p50", _ms(s.draw_ms_p50), "drawing p95", _ms(s.draw_ms_p95))
        top = ", ".join(f"{t.nickname} ({t.drawn})" for t in s.top_submitters) or "-"
        table.add_row("waiting now", str(waiting), "most drawn", Text(top))
        refused = (
            ", ".join(
                f"{t.nickname} ({t.refusals} refused, {t.dedup_hits} dedup)" for t in s.most_refused
            )
            or "-"
        )
        table.add_row("", "", "most refused", Text(refused))
        self.query_one("#stats-numbers", Static).update(table)
        self.query_one("#stats-activity", Sparkline).data = [float(n) for n in s.per_10_min]
        self.query_one("#stats-scores", Sparkline).data = [float(n) for n in s.score_bins]

    def action_close(self) -> None:
        self.dismiss(None)
