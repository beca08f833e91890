"""`kiosk wall`: the crowd's screen, a read-only Textual app beside the booth.

It never talks to the engine: a `WallFeed` (kiosk.engine.feed) reads the data dir's
database read-only in one thread of its own, and hands the app a new `WallView` when
something was committed. The app shows the event and its target, the top 3 with their
drawings, the top 10, the latest drawings as they arrive and the counts, and reveals a
new raffle (or a redraw) full screen. Pictures grow with the terminal; under 100 x 30
only words show, and the pictures come back when it grows again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from kiosk.core import i18n
from kiosk.core.api import BoardRow, RaffleResult, Recent, WallFeed, WallView
from kiosk.core.i18n import N_
from kiosk.core.join import JoinCode
from kiosk.core.policy import format_percent
from kiosk.ui.graphics import Mode, image_class
from kiosk.ui.lang import tr
from kiosk.ui.wall.cards import LatestCard, PodiumCard, WallReveal
from kiosk.ui.widgets.board import LeaderboardPane
from kiosk.ui.widgets.joinqr import JoinQR
from kiosk.ui.widgets.target import TargetPane

POLL_S = 0.2
"""How often the reader asks SQLite whether anything was committed (a few microseconds)."""
COMPACT = (100, 30)
"""Below this many columns or rows the wall shows words only, no pictures."""


@dataclass
class ViewRead(Message):
    """A fresh view from the reader thread."""

    view: WallView


class WallApp(App[None]):
    """The crowd's screen: read-only, live, for a projector, a second monitor or a browser."""

    CSS_PATH = "wall.tcss"
    TITLE = "AI Drawing Judge: wall"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,ctrl+q", "quit", "Quit"),
        Binding("escape", "close_reveal", "Close the raffle", show=False),
    ]

    def __init__(
        self,
        feed: WallFeed,
        *,
        graphics: Mode = "halfcell",
        title: str = "",
        lang: str = "en",
        join: Callable[[], JoinCode | None] | None = None,
    ) -> None:
        super().__init__()
        self._join = join
        """Where phones join, while a phone server beside this wall says so (its QR code
        shows under the target)."""
        self.lang = lang
        """The crowd's language: the event's first (`[event] languages`)."""
        self.feed = feed
        self.image_cls = image_class(graphics)
        self.view: WallView | None = None
        self._board: list[BoardRow] = []
        self._raffle_seen: tuple[int, tuple[str, ...]] | None = None
        self._raffle_known = False
        self._reveal: WallReveal | None = None
        if title:
            self.title = title

    def compose(self) -> ComposeResult:
        yield Static(id="wall-title")
        with Horizontal(id="wall-main"):
            with Vertical(id="wall-left"):
                with Horizontal(id="podium"):
                    for place in range(3):
                        yield PodiumCard(self.image_cls, place)
                yield LeaderboardPane(lambda: self._board, name_max=24, id="wall-board")
            with Vertical(id="wall-right"):
                yield TargetPane(self.image_cls, "", Path(), id="wall-target")
                if self._join is not None:
                    yield JoinQR(self._join, id="wall-qr")
                with Vertical(id="latest"):
                    yield Static(id="latest-words")
        yield Static(id="wall-status")

    def on_mount(self) -> None:
        self.query_one("#latest").border_title = tr(self, N_("Latest drawings"))
        self.query_one("#wall-board").border_title = tr(self, N_("Top 10"))
        self.query_one(TargetPane).border_title = tr(self, N_("The target"))
        self._fit(self.size)
        self.show_status("connecting to the database...")
        self.read_forever()

    def on_resize(self, event: events.Resize) -> None:
        # App's own resize handler, which updates self.size, runs after this one.
        self._fit(event.size)

    # -- the reader ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="wall-reader")
    def read_forever(self) -> None:
        """Poll the feed in this one thread (SQLite's per-connection data_version) until
        the app exits; post a message only when there is a new view."""
        worker = get_current_worker()
        try:
            while not worker.is_cancelled:
                view = self.feed.poll()
                if view is not None:
                    self.post_message(ViewRead(view))
                time.sleep(POLL_S)
        finally:
            self.feed.close()

    def on_view_read(self, message: ViewRead) -> None:
        self.show_view(message.view)

    # -- showing ---------------------------------------------------------------------------

    def show_view(self, view: WallView) -> None:
        """Put a view on the screen (only what changed is redrawn)."""
        old, self.view = self.view, view
        self.query_one("#wall-title", Static).update(
            Text.assemble((view.event, "bold"), "   ", counts(view, self.lang))
        )
        if old is None:
            self._fit(self.size, latest=False)  # the size is known for sure by now
        if old is None or (old.target_id, old.target_title) != (view.target_id, view.target_title):
            self.query_one(TargetPane).show(view.target_title, view.target_image)
        self._board = list(view.board)
        board = self.query_one(LeaderboardPane)
        board.reload()
        for card in self.query(PodiumCard):
            row = view.board[card.place] if card.place < len(view.board) else None
            card.show(row, view.image(row) if row else None)
        self._show_latest(view, self.size)
        self._show_raffle(view)
        self.show_status(view.note, view.read_at)

    def show_status(self, note: str, read_at: float | None = None) -> None:
        status = self.query_one("#wall-status", Static)
        if note:
            status.update(Text(note, style="bold"))
        else:
            stamp = time.strftime("%H:%M:%S", time.localtime(read_at))
            status.update(Text(tr(self, N_("live · updated {time}"), time=stamp), style="dim"))

    def _show_latest(self, view: WallView, size: Size) -> None:
        latest = self.query_one("#latest", Vertical)
        cards = list(self.query(LatestCard))
        wanted = _latest_count(size)
        if len(cards) != wanted:
            for card in cards:
                card.remove()
            cards = [LatestCard(self.image_cls, _latest_width(size.width)) for _ in range(wanted)]
            latest.mount_all(cards, before=0)
        self._fill_latest(cards, view.latest, view)
        words = self.query_one("#latest-words", Static)
        words.update(
            _latest_words(view.latest[wanted:]) if view.latest else _nothing_yet(self.lang)
        )

    def _fill_latest(
        self, cards: Sequence[LatestCard], items: Sequence[Recent], view: WallView
    ) -> None:
        for card, item in zip(cards, items, strict=False):
            card.display = True
            card.show(item, view.image(item))
        for card in cards[len(items) :]:
            card.display = False

    def _show_raffle(self, view: WallView) -> None:
        """Reveal a new raffle, or a redraw of one (reopened if it was closed); those
        already drawn when the wall first read the database are old news."""
        if view.note:  # no database read: nothing new to say
            return
        raffle = view.raffle
        seen, self._raffle_seen = self._raffle_seen, _raffle_key(raffle)
        known, self._raffle_known = self._raffle_known, True
        if not known or raffle is None or self._raffle_seen == seen:
            return
        reveal = self._reveal
        if reveal is not None and reveal.is_attached:
            if reveal.result.raffle_id == raffle.raffle_id:
                reveal.update_result(raffle)
                return
            reveal.action_close()
        self._reveal = WallReveal(raffle)
        self.push_screen(self._reveal)

    def action_close_reveal(self) -> None:
        if self._reveal is not None and self._reveal.is_attached:
            self._reveal.action_close()

    # -- layout ------------------------------------------------------------------------------

    def _fit(self, size: Size, *, latest: bool = True) -> None:
        """Picture sizes from the terminal's: the podium's share the room above the top 10."""
        width, height = size
        # The wall's own screen, also while a raffle reveal is on top of it.
        self.query_one("#wall-main").screen.set_class(_compact(size), "-compact")
        left = width * 2 // 3
        # rows: title 1, status 1, board 10 + header 1 + borders 2, card label + borders 3
        room_rows = max(height - 18, 2)
        podium = max(min(left // 3 - 4, 2 * room_rows), 8)
        for picture in self.query(".podium-picture"):
            picture.styles.width = podium
        for picture in self.query(".latest-picture"):
            picture.styles.width = _latest_width(width)
        target = self.query_one("#target-picture > .picture--image")
        target.styles.width = max(min(width // 3 - 6, height // 2), 8)
        if latest and self.view is not None:
            self._show_latest(self.view, size)


def counts(view: WallView, lang: str = i18n.DEFAULT) -> str:
    """The headline's counts, each saying what it counts."""
    n = view.drawings
    one = N_("{n} prompt scored")
    prompts = i18n.translate(lang, one if n == 1 else N_("{n} prompts scored"), n=n)
    if view.on_board is None:  # a feed that does not count the board
        n = view.players
        players = i18n.translate(lang, N_("{n} player") if n == 1 else N_("{n} players"), n=n)
        return f"{players} · {prompts}"
    n = view.on_board
    board = N_("{n} player on the board ({all} in all)")
    if n != 1:
        board = N_("{n} players on the board ({all} in all)")
    return f"{i18n.translate(lang, board, n=n, all=view.players)} · {prompts}"


def _compact(size: Size) -> bool:
    return size.width < COMPACT[0] or size.height < COMPACT[1]


def _latest_count(size: Size) -> int:
    """How many latest drawings get a picture: none in compact mode, else what fits."""
    if _compact(size):
        return 0
    picture_rows = max(_latest_width(size.width) // 2, 1)
    return max(1, min(6, (size.height - 16) // (picture_rows + 1)))


def _raffle_key(raffle: RaffleResult | None) -> tuple[int, tuple[str, ...]] | None:
    """A raffle and its winners: it changes with a new raffle and with each redraw."""
    if raffle is None:
        return None
    return raffle.raffle_id, tuple(w.nickname for w in raffle.winners)


def _latest_width(width: int) -> int:
    return max(min(width // 10, 40), 8)


def _latest_words(items: Sequence[Recent]) -> Text:
    """One line each: who, the score, as much of the prompt as fits."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for item in items:
        text.append(item.nickname, "bold")
        text.append(f"  {format_percent(item.percent)}  ")
        text.append(item.prompt, "italic dim")
        text.append("\n")
    return text


def _nothing_yet(lang: str) -> Text:
    said = i18n.translate(lang, N_("No drawings yet: the first one appears here."))
    return Text(said, style="dim")
