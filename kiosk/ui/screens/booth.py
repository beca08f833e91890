"""The booth: target, nickname and prompt, the player's result, the queue and the board."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from kiosk.core.api import StoreError
from kiosk.core.events import (
    Done,
    Event,
    Failed,
    LeaderboardChanged,
    Progress,
    Queued,
    Retrying,
    Started,
)
from kiosk.core.floods import Challenge, CheckRequired
from kiosk.core.policy import CodeRequired, PolicyError, player_key, sanitise
from kiosk.ui.screens.check import CheckScreen, CodeNotice
from kiosk.ui.screens.too_small import TooSmallScreen, too_small
from kiosk.ui.widgets.banner import TinyBanner
from kiosk.ui.widgets.board import LeaderboardPane
from kiosk.ui.widgets.entry import EntryForm
from kiosk.ui.widgets.picture import Picture
from kiosk.ui.widgets.queue import DrawingNow, QueuePane, format_eta
from kiosk.ui.widgets.result import ResultPane
from kiosk.ui.widgets.target import TargetPane

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

log = logging.getLogger(__name__)
BOARD_SIZE = 15
WIDE_COLUMNS = 120  # the full-width panes fit from here; narrower ones below


class BoothScreen(Screen[None]):
    """Where visitors play. Engine events arrive through `handle`, on the event loop."""

    # Priority: the app runs it before the next key is dispatched. A plain binding runs
    # after the keys typed right behind it were already sent to the old focus (the
    # prompt), where clearing the form wiped them.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "new_player", "New player", priority=True)
    ]

    def __init__(self) -> None:
        super().__init__()
        self._me: str | None = None  # the current player's nickname, sanitised
        self._mine_jobs: set[int] = set()
        self._mine_subs: set[int] = set()
        self._latest_job: int | None = None
        self._drawing: dict[int, DrawingNow] = {}

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        app = self.kiosk
        settings, target = app.settings, app.settings.active_target
        yield Static(self._title_text(), id="title")
        banner = TinyBanner(id="tiny-banner")
        banner.display = settings.tiny
        yield banner
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield TargetPane(
                    app.image_class, target.title, settings.target_image(target), id="target"
                )
                yield QueuePane(id="queue")
            with Vertical(id="center"):
                yield EntryForm(
                    nickname_max=settings.limits.nickname_max,
                    prompt_max=settings.limits.prompt_max,
                    needs_code=self.kiosk.engine.needs_code,
                    id="entry",
                )
                yield ResultPane(app.image_class, id="result")
            yield LeaderboardPane(
                lambda: self.kiosk.engine.leaderboard(BOARD_SIZE),
                name_max=settings.limits.nickname_max,
                id="board",
            )
        yield Footer()

    def _title_text(self) -> Text:
        settings = self.kiosk.settings
        return Text.assemble(
            (settings.event.name, "bold"),
            "  ·  Describe this picture: ",
            settings.active_target.title,
        )

    # -- lifecycle -----------------------------------------------------------------------

    def ready(self) -> None:
        """Models are loaded: show the board and queue, and put focus in the nickname."""
        self.query_one(EntryForm).focus_nickname()
        self.query_one(LeaderboardPane).reload()
        self._refresh_queue()

    def reconfigure(self) -> None:
        """The app switched settings (tiny demo models): banner, title, target, board."""
        settings = self.kiosk.settings
        self.query_one("#tiny-banner").display = settings.tiny
        self.query_one("#title", Static).update(self._title_text())
        target = settings.active_target
        self.query_one(TargetPane).show(target.title, settings.target_image(target))
        self._drawing.clear()
        self.action_new_player()

    def retarget(self) -> None:
        """Staff switched the target: title, picture and board follow; the player stays."""
        settings = self.kiosk.settings
        self.query_one("#title", Static).update(self._title_text())
        target = settings.active_target
        self.query_one(TargetPane).show(target.title, settings.target_image(target))
        self.query_one(LeaderboardPane).reload()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        self._redraw_pictures()
        self._fit(self.app.size.width, self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._redraw_pictures()
        self._fit(event.size.width, event.size.height)

    def _fit(self, columns: int, rows: int) -> None:
        """Narrower panes under 120 columns; below the least size, say so over the booth."""
        self.set_class(columns < WIDE_COLUMNS, "-narrow")
        if too_small(columns, rows) and self.app.screen is self:
            self.app.push_screen(TooSmallScreen())

    def _redraw_pictures(self) -> None:
        for picture in self.query(Picture):
            picture.redraw()

    def action_new_player(self) -> None:
        """Forget the current player (the nickname too) for the next visitor."""
        self._start_player(None)
        self.query_one(EntryForm).clear()

    def _start_player(self, nickname: str | None) -> None:
        self._me = nickname
        self._mine_jobs.clear()
        self._mine_subs.clear()
        self._latest_job = None
        self.query_one(ResultPane).clear()
        self.query_one(LeaderboardPane).highlight(nickname)
        self._refresh_queue()

    # -- visitor input -------------------------------------------------------------------

    def on_entry_form_submitted(self, message: EntryForm.Submitted) -> None:
        message.stop()
        nickname = sanitise(message.nickname)
        if self._me is None or player_key(nickname) != player_key(self._me):
            self._start_player(nickname)
        self._submit(message.nickname, message.prompt, message.code, message.typing_cps)

    def _submit(
        self, nickname: str, prompt: str, code: str | None, typing_cps: float | None
    ) -> None:
        entry = self.query_one(EntryForm)
        try:
            # A dedup hit or a queued job row: one quick SQLite write, fine on the loop.
            result = self.kiosk.engine.submit(nickname, prompt, code=code, typing_cps=typing_cps)
        except CheckRequired as exc:
            entry.refused("Quick check first: answer it, and your prompt goes on.", prompt)
            self._ask_check(exc.challenge, nickname, prompt, code)
            return
        except CodeRequired as exc:
            entry.refused(str(exc), prompt)
            entry.ask_code(str(exc))
            return
        except PolicyError as exc:
            entry.refused(str(exc), prompt)
            return
        except StoreError as exc:  # e.g. the disk is full: nothing was written
            log.error("submit could not be saved: %s", exc)
            entry.refused("Sorry, the kiosk could not save that. Please tell the staff.", prompt)
            return
        except Exception as exc:  # a visitor never sees a crash
            log.exception("submit failed")
            entry.refused(
                f"Sorry, that did not work ({type(exc).__name__}); please try again.", prompt
            )
            return
        self.kiosk.note_activity()
        if result.player_code is not None:
            self.app.push_screen(CodeNotice(sanitise(nickname), result.player_code))
        if isinstance(result, Queued):
            self._mine_jobs.add(result.job_id)
            self._latest_job = result.job_id
            if result.joined:
                entry.accepted("That picture is already on its way: you get it too, no wait.")
            else:
                entry.accepted("Got it! Type another prompt, or press Ctrl+N for a new player.")
            self._show_queued(result.position, result.eta_s, result.paused)
        else:
            self._mine_subs.add(result.submission_id)
            self._latest_job = None
            entry.accepted("Same prompt as before: no need to draw it again.")

    def _ask_check(
        self, challenge: Challenge, nickname: str, prompt: str, code: str | None
    ) -> None:
        """The human check; its answer goes to the engine, then the same prompt is sent
        again: it goes through, or a fresh check is asked, or the pause is explained."""

        def answered(answer: str | None) -> None:
            entry = self.query_one(EntryForm)
            if answer is None:
                entry.refused("No problem: press Enter on your prompt when you are ready.", prompt)
                return
            passed = self.kiosk.engine.answer_check(nickname, challenge.id, answer)
            entry.query_one("#prompt", Input).clear()  # given back when refused again
            if not passed:
                entry.hint("Not quite.", error=True)
            self._submit(nickname, prompt, code, None)

        self.app.push_screen(CheckScreen(challenge, self.kiosk.image_class), answered)

    def _show_queued(self, position: int, eta_s: float | None, paused: bool = False) -> None:
        if paused:
            self.query_one(ResultPane).status(
                "queued", "Your prompt is saved: drawing resumes shortly."
            )
            return
        if position == 0:
            self._show_drawing("")
            return
        ahead = "you are next" if position <= 1 else f"position {position} in the queue"
        eta = format_eta(eta_s)
        when = "" if eta == "..." else f", ready in {eta}"
        self.query_one(ResultPane).status("queued", f"Waiting: {ahead}{when}.")

    # -- engine events -------------------------------------------------------------------

    def handle(self, event: Event) -> None:
        """An engine event about jobs or the board (models events go to the app)."""
        if isinstance(event, LeaderboardChanged):
            if event.target == self.kiosk.engine.target_id:
                self.query_one(LeaderboardPane).reload()
        elif isinstance(event, Progress):
            if self._latest_job in event.job_ids:
                self._show_drawing(f" (step {event.step} of {event.total})")
        elif isinstance(event, Retrying):
            if event.job_id == self._latest_job:
                self._show_drawing(" (trying again)")
        elif isinstance(event, Queued | Started | Done | Failed):
            self._job_event(event)

    def _job_event(self, event: Queued | Started | Done | Failed) -> None:
        if isinstance(event, Started):
            self._drawing[event.job_id] = DrawingNow(
                job_id=event.job_id, nickname=event.nickname, prompt=event.prompt
            )
            if event.job_id == self._latest_job:
                self._show_drawing("")
        elif isinstance(event, Done):
            if event.job_id is not None:
                self._drawing.pop(event.job_id, None)
            if self._mine(event.job_id, event.nickname) or event.submission_id in self._mine_subs:
                self.query_one(ResultPane).show_done(event)
                self.kiosk.note_activity()
        elif isinstance(event, Failed):
            self._drawing.pop(event.job_id, None)
            if self._mine(event.job_id, event.nickname):
                self.query_one(ResultPane).status(
                    "failed", f"Sorry, that drawing failed: {event.reason}"
                )
        self._refresh_queue()

    def _mine(self, job_id: int | None, nickname: str) -> bool:
        """An event of this player's job. Several players can share a job (the same prompt
        in flight): each gets their own done event, told apart by nickname."""
        me = self._me
        return (
            job_id in self._mine_jobs and me is not None and player_key(nickname) == player_key(me)
        )

    def _show_drawing(self, detail: str) -> None:
        self.query_one(ResultPane).status("generating", f"Drawing your picture...{detail}")

    def _refresh_queue(self) -> None:
        waiting = self.kiosk.engine.queue_snapshot()  # in memory, under the engine's lock
        self.query_one(QueuePane).show(list(self._drawing.values()), waiting, self._me)
        mine = next((e for e in waiting if e.job_id == self._latest_job), None)
        if mine is not None:
            self._show_queued(mine.position, mine.eta_s)
