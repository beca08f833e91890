"""Who is waiting: the drawings being made now, then each waiting job with its ETA."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from kiosk.core.api import QueueEntry
from kiosk.core.policy import player_key


@dataclass(frozen=True, kw_only=True)
class DrawingNow:
    """A job the models are working on now."""

    job_id: int
    nickname: str
    prompt: str


def format_eta(seconds: float | None) -> str:
    """An ETA in words; None means no drawing has been timed yet."""
    if seconds is None:
        return "..."
    if seconds < 1:
        return "<1 s"
    if seconds < 90:
        return f"~{round(seconds)} s"
    return f"~{round(seconds / 60)} min"


class QueuePane(Static):
    """The queue as visitors see it; the current player's jobs are highlighted."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"queue--me", "queue--heading", "queue--dim"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Queue"
        self._drawing: Sequence[DrawingNow] = ()
        self._waiting: Sequence[QueueEntry] = ()
        self._me: str | None = None

    def show(
        self, drawing: Sequence[DrawingNow], waiting: Sequence[QueueEntry], me: str | None
    ) -> None:
        """Replace the contents; `me` is the current player's nickname."""
        self._drawing, self._waiting = tuple(drawing), tuple(waiting)
        self._me = player_key(me) if me else None
        self.update(self._table())

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def _table(self) -> RenderableType:
        heading, dim = self._style("queue--heading"), self._style("queue--dim")
        drawing = self._grid()
        for job in self._drawing:
            drawing.add_row(Text("▶"), *self._cells(job.nickname, job.prompt), "")
        waiting = self._grid()
        for entry in self._waiting:
            nick, prompt = self._cells(entry.nickname, entry.prompt)
            waiting.add_row(Text(str(entry.position)), nick, prompt, Text(format_eta(entry.eta_s)))
        return Group(
            Text("Drawing now", style=heading),
            drawing if self._drawing else Text("  nothing", style=dim),
            Text(""),
            Text("Waiting", style=heading),
            waiting if self._waiting else Text("  nobody: your turn!", style=dim),
        )

    @staticmethod
    def _grid() -> Table:
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(width=2, justify="right")
        table.add_column(ratio=2, no_wrap=True, overflow="ellipsis")
        table.add_column(ratio=3, no_wrap=True, overflow="ellipsis")
        table.add_column(width=5, justify="right", no_wrap=True)
        return table

    def _cells(self, nickname: str, prompt: str) -> tuple[Text, Text]:
        mine = self._me is not None and player_key(nickname) == self._me
        style = self._style("queue--me") if mine else Style()
        return Text(nickname, style=style), Text(prompt, style=style)
