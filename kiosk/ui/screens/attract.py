"""Attract mode: after an idle spell, explain the game to someone walking by (the target,
how to play, the top scores) and cycle the best drawings; any key starts playing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.containers import Center, Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Label, Static
from textual.worker import get_current_worker

from kiosk.core.i18n import N_
from kiosk.core.join import JoinCode
from kiosk.core.policy import format_percent
from kiosk.ui.lang import tr
from kiosk.ui.screens import dismiss_once
from kiosk.ui.widgets.banner import TinyBanner
from kiosk.ui.widgets.joinqr import JoinQR
from kiosk.ui.widgets.picture import Picture


@dataclass(frozen=True, kw_only=True)
class Showcase:
    """One drawing shown in attract mode."""

    rank: int
    nickname: str
    percent: float
    prompt: str
    image: Path


class AttractScreen(Screen[None]):
    """Cycles the leaderboard's best drawings with nicknames and scores."""

    CYCLE_S = 4.0

    @dataclass
    class Loaded(Message):
        """The drawings to cycle through, read in a worker thread."""

        items: Sequence[Showcase]

    def __init__(
        self,
        image_class: type[Widget],
        fetch: Callable[[], Sequence[Showcase]],
        *,
        title: str,
        target: Path,
        tiny: bool,
        join: Callable[[], JoinCode | None] | None = None,
    ) -> None:
        super().__init__()
        self._join = join
        self._image_class = image_class
        self._fetch = fetch
        self._title = title
        self._target = target
        self._tiny = tiny
        self._items: Sequence[Showcase] = ()
        self._index = 0

    def compose(self) -> ComposeResult:
        if self._tiny:
            yield TinyBanner(id="tiny-banner")
        with Center(), Vertical(id="attract-box"):
            yield Label(Text(self._title), id="attract-title")
            how = N_(
                "Describe the picture on the left in words: an AI draws it, and CLIP judges"
                " how close your drawing comes. The best score wins!"
            )
            yield Static(Text(tr(self, how)), id="attract-how")
            with Horizontal(id="attract-row"):
                with Vertical(classes="attract-col"):
                    yield Label(tr(self, N_("The picture to describe")), classes="attract-label")
                    yield Picture(self._image_class, self._target, id="attract-target")
                with Vertical(classes="attract-col"):
                    yield Label(tr(self, N_("Best drawings")), classes="attract-label")
                    yield Picture(self._image_class, None, id="attract-picture")
                    yield Static(id="attract-caption")
                yield Static(id="attract-top")
                if self._join is not None:
                    yield JoinQR(self._join, id="attract-qr")
            yield Static(Text(tr(self, N_("Press any key to play"))), id="attract-cta")

    def on_mount(self) -> None:
        self._load()
        self.set_interval(self.CYCLE_S, self._next)

    def reload(self) -> None:
        """Read the board again now (it changed: a new best, a hidden drawing)."""
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        items = tuple(self._fetch())
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(items))

    def on_attract_screen_loaded(self, message: Loaded) -> None:
        self._items = message.items
        self._index %= max(len(self._items), 1)
        self._show()

    def _next(self) -> None:
        """The next drawing, from a fresh read of the board: new best drawings (and the
        first one, when attract mode began on an empty board) join as they arrive, and
        hidden ones leave."""
        self._index += 1
        self._load()

    def _show(self) -> None:
        table = Table.grid(padding=(0, 1))
        table.add_column(justify="right")
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=16)
        table.add_column(justify="right")
        for item in self._items:
            table.add_row(str(item.rank), Text(item.nickname, "bold"), format_percent(item.percent))
        empty = Text(tr(self, N_("No scores yet: be the first!")))
        heading = Text(tr(self, N_("Top scores")), style="bold")
        self.query_one("#attract-top", Static).update(
            Group(heading, table if self._items else empty)
        )
        if not self._items:
            return
        item = self._items[self._index]
        self.query_one("#attract-picture", Picture).show(item.image)
        self.query_one("#attract-caption", Static).update(
            Text.assemble(
                f"#{item.rank}  ",
                (item.nickname, "bold"),
                "  ",
                (format_percent(item.percent), "bold"),
                "\n",
                (item.prompt, "italic"),
            )
        )

    def on_key(self, event: events.Key) -> None:
        event.stop()
        dismiss_once(self)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        event.stop()
        dismiss_once(self)
