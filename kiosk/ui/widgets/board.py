"""The live leaderboard: top players by best score, the current player highlighted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from kiosk.core.api import BoardRow
from kiosk.core.i18n import N_
from kiosk.core.policy import format_percent, player_key
from kiosk.ui.lang import tr

Fetch = Callable[[], Sequence[BoardRow]]
RANK_WIDTH, SCORE_WIDTH = 3, 7
PROMPT_MIN = 8  # the prompt column shows only when it gets at least this many cells


class LeaderboardPane(Static):
    """Top N rows; reloads off the event loop whenever the engine says the board changed."""

    DEFAULT_CSS = """
    LeaderboardPane {
        height: 1fr; padding: 0 1;
        border: round $primary; border-title-color: $accent; border-title-style: bold;
    }
    LeaderboardPane > .board--header { color: $accent; text-style: bold; }
    LeaderboardPane > .board--me { background: $accent 30%; text-style: bold; }
    LeaderboardPane > .board--dim { color: $text-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"board--me", "board--header", "board--dim"}

    @dataclass
    class Loaded(Message):
        """Fresh leaderboard rows, read in a worker thread."""

        rows: Sequence[BoardRow]

    def __init__(self, fetch: Fetch, *, name_max: int = 24, id: str | None = None) -> None:
        super().__init__(id=id)
        self._fetch = fetch
        self._name_max = name_max
        self._rows: Sequence[BoardRow] = ()
        self._me: str | None = None

    @property
    def rows(self) -> Sequence[BoardRow]:
        return self._rows

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        """Say it again in the app's language."""
        self.border_title = tr(self, N_("Leaderboard"))
        self.update(self._table())

    def on_resize(self) -> None:
        self.update(self._table())  # the prompt column comes and goes with the width

    @work(thread=True, exclusive=True, group="board", exit_on_error=False)
    def reload(self) -> None:
        """Read the board in a thread (SQLite), then hand the rows to the loop."""
        rows = tuple(self._fetch())
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(rows))

    def on_leaderboard_pane_loaded(self, message: Loaded) -> None:
        message.stop()
        self._rows = message.rows
        self.update(self._table())

    def highlight(self, nickname: str | None) -> None:
        """Highlight this player's row (None: nobody)."""
        self._me = player_key(nickname) if nickname else None
        self.update(self._table())

    def columns(self, width: int) -> tuple[int, bool]:
        """(the name column's width, whether the prompt column shows) for a content width.

        Names come first after rank and score: shown in full up to the nickname limit, and
        the prompt column gets what is left, or goes when that is too little to read.
        """
        longest = max((cell_len(r.nickname) for r in self._rows), default=0)
        wanted = max(min(longest, self._name_max), cell_len(tr(self, N_("Player"))))
        # box=None with padding (0, 1): each column takes one cell either side
        left = width - RANK_WIDTH - SCORE_WIDTH - 2 * 3
        if left - wanted - 2 >= PROMPT_MIN:
            return wanted, True
        return max(min(wanted, left), 1), False

    def _table(self) -> RenderableType:
        header = self.get_component_rich_style("board--header")
        table = Table(box=None, expand=True, padding=(0, 1), show_edge=False, header_style=header)
        name_width, prompts = self.columns(self.size.width or 80)
        table.add_column("#", width=RANK_WIDTH, justify="right", no_wrap=True)
        table.add_column(
            tr(self, N_("Player")), width=name_width, no_wrap=True, overflow="ellipsis"
        )
        table.add_column(tr(self, N_("Score")), width=SCORE_WIDTH, justify="right", no_wrap=True)
        if prompts:
            table.add_column(tr(self, N_("Prompt")), ratio=1, no_wrap=True, overflow="ellipsis")
        me_style = self.get_component_rich_style("board--me")
        for row in self._rows:
            mine = self._me is not None and player_key(row.nickname) == self._me
            cells = [Text(str(row.rank)), Text(row.nickname), Text(format_percent(row.percent))]
            table.add_row(
                *cells,
                *([Text(row.prompt)] if prompts else []),
                style=me_style if mine else Style(),
            )
        if not self._rows:
            dim = self.get_component_rich_style("board--dim")
            return Group(
                table, Text("\n  " + tr(self, N_("No scores yet: be the first!")), style=dim)
            )
        return table
