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

from kiosk.core import i18n
from kiosk.core.api import QueueEntry
from kiosk.core.i18n import N_
from kiosk.core.policy import player_key
from kiosk.ui.lang import lang_of, tr


@dataclass(frozen=True, kw_only=True)
class DrawingNow:
    """A job the models are working on now."""

    job_id: int
    nickname: str
    prompt: str


PAUSED = N_("Drawing is paused by the staff: prompts are saved and drawn when it resumes.")


def format_eta(seconds: float | None, lang: str = i18n.DEFAULT) -> str:
    """An ETA in words; None means no drawing has been timed yet."""
    if seconds is None:
        return "..."
    if seconds < 1:
        return i18n.translate(lang, N_("<1 s"))
    if seconds < 90:
        return i18n.translate(lang, N_("~{n} s"), n=round(seconds))
    return i18n.translate(lang, N_("~{m} min"), m=round(seconds / 60))


class QueuePane(Static):
    """The queue as visitors see it; the current player's jobs are highlighted."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "queue--me",
        "queue--heading",
        "queue--dim",
        "queue--paused",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._drawing: Sequence[DrawingNow] = ()
        self._waiting: Sequence[QueueEntry] = ()
        self._me: str | None = None
        self._paused = False

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        """Say it again in the app's language."""
        self.border_title = tr(self, N_("Queue"))
        self.update(self._table())

    def show(
        self,
        drawing: Sequence[DrawingNow],
        waiting: Sequence[QueueEntry],
        me: str | None,
        *,
        paused: bool = False,
    ) -> None:
        """Replace the contents; `me` is the current player's nickname. While staff have
        paused drawing, the pane says so and shows no ETA (nothing moves)."""
        self._drawing, self._waiting = tuple(drawing), tuple(waiting)
        self._me = player_key(me) if me else None
        self._paused = paused
        self.set_class(paused, "-paused")
        self.update(self._table())

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def _table(self) -> RenderableType:
        heading, dim = self._style("queue--heading"), self._style("queue--dim")
        drawing = self._grid()
        for job in self._drawing:
            drawing.add_row(Text("▶"), *self._cells(job.nickname, job.prompt), "")
        waiting = self._grid()
        lang = lang_of(self)
        for entry in self._waiting:
            nick, prompt = self._cells(entry.nickname, entry.prompt)
            eta = "" if self._paused else format_eta(entry.eta_s, lang)
            waiting.add_row(Text(str(entry.position)), nick, prompt, Text(eta))
        paused: list[RenderableType] = []
        if self._paused:
            paused = [Text(tr(self, PAUSED), style=self._style("queue--paused")), Text("")]
        nothing = "  " + tr(self, N_("nothing"))
        nobody = "  " + tr(self, N_("nobody: your turn!"))
        return Group(
            *paused,
            Text(tr(self, N_("Drawing now")), style=heading),
            drawing if self._drawing else Text(nothing, style=dim),
            Text(""),
            Text(tr(self, N_("Waiting")), style=heading),
            waiting if self._waiting else Text(nobody, style=dim),
        )

    @staticmethod
    def _grid() -> Table:
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(width=2, justify="right")
        table.add_column(ratio=2, no_wrap=True, overflow="ellipsis")
        table.add_column(ratio=3, no_wrap=True, overflow="ellipsis")
        table.add_column(width=7, justify="right", no_wrap=True)
        return table

    def _cells(self, nickname: str, prompt: str) -> tuple[Text, Text]:
        mine = self._me is not None and player_key(nickname) == self._me
        style = self._style("queue--me") if mine else Style()
        return Text(nickname, style=style), Text(prompt, style=style)
