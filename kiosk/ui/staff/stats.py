"""The event at a glance for staff: counts, activity and scores as charts, drawing times.

The charts are bar charts with labelled axes: the count at the top of the y axis and 0
at its foot, what each bar is, and where the x axis starts and ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, Static
from textual.worker import get_current_worker

from kiosk.core.api import EngineAPI, EventStats
from kiosk.ui.screens import dismiss_once

_EIGHTHS = " ▁▂▃▄▅▆▇█"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


class BarChart:
    """A bar chart as text: `values` left to right, `height` rows tall, the y axis
    labelled with the largest value and 0, the x axis with (left, middle, right) words."""

    def __init__(
        self, values: Sequence[int], x_labels: tuple[str, str, str], height: int = 6
    ) -> None:
        self.values = list(values)
        self.x_labels = x_labels
        self.height = height

    def lines(self, width: int) -> list[str]:
        """The chart in `width` columns (the newest bars when they do not all fit)."""
        top = max(self.values, default=0)
        y_width = len(str(top))
        plot = max(width - y_width - 1, 1)
        values = self.values[-plot:]
        if top == 0:
            return ["(nothing yet)"]
        bar = max(1, min(6, plot // len(values)))
        body = []
        for row in range(self.height - 1, -1, -1):
            cells = []
            for v in values:
                eighths = round(v * self.height * 8 / top) - row * 8
                block = _EIGHTHS[max(0, min(8, eighths))]
                cells.append(block * max(1, bar - 1) + (" " if bar > 1 else ""))
            label = str(top) if row == self.height - 1 else "0" if row == 0 else ""
            body.append(f"{label:>{y_width}}│{''.join(cells)}")
        used = bar * len(values)
        body.append(" " * y_width + "└" + "─" * used)
        body.append(" " * (y_width + 1) + self._x_axis(used))
        return body

    def _x_axis(self, used: int) -> str:
        left, middle, right = self.x_labels
        axis = [" "] * max(used, len(left) + len(middle) + len(right) + 2)
        spots = ((0, left), ((used - len(middle)) // 2, middle), (used - len(right), right))
        for start, word in spots:
            axis[max(start, 0) : max(start, 0) + len(word)] = word
        return "".join(axis).rstrip()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(options.max_width):
            yield Text(line, no_wrap=True, overflow="crop")


class StatsScreen(Screen[None]):
    """Staff's stats view; reads the store in a thread, and again on F5."""

    DEFAULT_CSS = """
    StatsScreen { padding: 1 2; }
    StatsScreen .stats-chart { height: auto; color: $accent; margin: 0 0 1 0; }
    StatsScreen .stats-label { color: $text-muted; }
    StatsScreen #stats-numbers { height: auto; margin: 0 0 1 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f11", "close", "Back to staff mode", priority=True),
        Binding("f5", "reload", "Refresh", priority=True),
    ]

    def __init__(self, engine: EngineAPI) -> None:
        super().__init__()
        self.engine = engine
        self.shown: EventStats | None = None
        """The figures on screen (None until read)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="stats-numbers")
            yield Label(
                "Prompts per 10 minutes (y: prompts; x: 10-minute slots, oldest to the latest)",
                classes="stats-label",
            )
            yield Static(id="stats-activity", classes="stats-chart")
            yield Label(
                "Scores of the drawings (y: drawings; x: score, 5% a bar)", classes="stats-label"
            )
            yield Static(id="stats-scores", classes="stats-chart")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    @work(thread=True, exclusive=True, group="stats", exit_on_error=False)
    def action_reload(self) -> None:
        stats = self.engine.event_stats()
        waiting = len(self.engine.queue_snapshot())
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, stats, waiting)

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
        slots = len(s.per_10_min)
        since = f"{10 * (slots - 1)} min earlier" if slots > 1 else ""
        activity = BarChart(s.per_10_min, (since, "", "latest"))
        self.query_one("#stats-activity", Static).update(activity)
        scores = BarChart(s.score_bins, ("0%", "50%", "100%"))
        self.query_one("#stats-scores", Static).update(scores)

    def action_close(self) -> None:
        dismiss_once(self, None)
