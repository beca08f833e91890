"""The booth: target, nickname and prompt, the player's result, the queue and the board.

One visitor at a time plays in a sitting (kiosk.core.sitting): the player code is asked
at most once in it, and when it ends (Ctrl+N, the done key, or idle) the form is cleared
for the next person. Every visitor text is a catalog message in the sitting's language.
"""

from __future__ import annotations

import logging
import time
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from kiosk.core import i18n
from kiosk.core.api import StoreError, StoreOffline
from kiosk.core.checks import Challenge
from kiosk.core.events import (
    Done,
    Event,
    Failed,
    LeaderboardChanged,
    Progress,
    Queued,
    Retrying,
    StaffActed,
    Started,
)
from kiosk.core.floods import CheckRequired
from kiosk.core.i18n import N_
from kiosk.core.policy import CodeRequired, PolicyError, sanitise
from kiosk.core.sitting import Sitting
from kiosk.ui.host import Booth
from kiosk.ui.lang import tr
from kiosk.ui.screens.check import CheckScreen, CodeNotice
from kiosk.ui.screens.too_small import TooSmallScreen, too_small
from kiosk.ui.widgets.banner import TinyBanner
from kiosk.ui.widgets.board import LeaderboardPane
from kiosk.ui.widgets.entry import EntryForm
from kiosk.ui.widgets.joinqr import JoinQR
from kiosk.ui.widgets.picture import Picture
from kiosk.ui.widgets.queue import DrawingNow, QueuePane, format_eta
from kiosk.ui.widgets.result import ResultPane
from kiosk.ui.widgets.target import TargetPane

log = logging.getLogger(__name__)
BOARD_SIZE = 15
QUEUE_EVERY_S = 0.1
"""Job events refresh the queue pane at most this often (a crowd on phones sends dozens
a second; each refresh reads the queue under the engine's lock, on the loop)."""
WIDE_COLUMNS = 120  # the full-width panes fit from here; narrower ones below
TALL_ROWS = 40  # below, with phones on, the target's picture shrinks for the join QR code
VISITOR_MODALS = (CodeNotice, CheckScreen)
WAITING = {  # (next in line, an ETA known): what the visitor's own job says
    (True, True): N_("Waiting: you are next, ready in {eta}."),
    (True, False): N_("Waiting: you are next."),
    (False, True): N_("Waiting: position {n} in the queue, ready in {eta}."),
    (False, False): N_("Waiting: position {n} in the queue."),
}
OFFLINE = N_("The scoreboard is offline: staff are on it. Please try again in a minute.")
THANKS = N_("Thanks for playing! Next player: type your nickname, then press Enter.")
PAUSED_JOB = N_(
    "Drawing is paused by the staff: your prompt is saved and will be drawn when it resumes."
)


class BoothScreen(Screen[None]):
    """Where visitors play. Engine events arrive through `handle`, on the event loop."""

    # Priority: the app runs them before the next key is dispatched. A plain binding runs
    # after the keys typed right behind it were already sent to the old focus (the
    # prompt), where clearing the form wiped them.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "new_player", "New player", show=False, priority=True),
        Binding("f2", "language", "Language", show=False, priority=True),
        Binding("f3", "done", "I'm done", show=False, priority=True),
    ]

    def __init__(self, kiosk: Booth) -> None:
        super().__init__()
        self.kiosk = kiosk
        self.sitting = Sitting()
        self._drawing: dict[int, DrawingNow] = {}
        self._queue_timer: Timer | None = None

    @property
    def _me(self) -> str | None:
        return self.sitting.nickname

    def compose(self) -> ComposeResult:
        app = self.kiosk
        settings, target = app.settings, app.settings.active_target
        yield Static(id="title")
        banner = TinyBanner(id="tiny-banner")
        banner.display = settings.tiny
        yield banner
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield TargetPane(
                    app.image_class, target.title, settings.target_image(target), id="target"
                )
                if app.serves_phones:
                    yield JoinQR(lambda: self.kiosk.join_code, id="join-qr")
                yield QueuePane(id="queue")
            with Vertical(id="center"):
                yield EntryForm(
                    nickname_max=settings.limits.nickname_max,
                    prompt_max=settings.limits.prompt_max,
                    needs_code=self._needs_code,
                    id="entry",
                )
                yield ResultPane(app.image_class, id="result")
            yield LeaderboardPane(
                lambda: self.kiosk.engine.leaderboard(BOARD_SIZE),
                name_max=settings.limits.nickname_max,
                id="board",
            )
        yield Static(id="keys")

    def on_mount(self) -> None:
        self.set_class(self.kiosk.serves_phones, "-phones")
        self.relabel()

    def relabel(self) -> None:
        """Say everything again in the app's language (a switch, or a new sitting)."""
        self.query_one("#title", Static).update(self._title_text())
        self.query_one("#keys", Static).update(self._keys_text())
        self.query_one(TinyBanner).relabel()
        self.query_one(TargetPane).relabel()
        self.query_one(QueuePane).relabel()
        self.query_one(EntryForm).relabel()
        self.query_one(ResultPane).relabel()
        self.query_one(LeaderboardPane).relabel()
        for qr in self.query(JoinQR):
            qr.relabel()
        self._refresh_queue()

    def _title_text(self) -> Text:
        settings = self.kiosk.settings
        title = Text.assemble(
            (settings.event.name, "bold"),
            "  ·  ",
            tr(self, N_("Describe this picture: {title}"), title=settings.active_target.title),
        )
        if self.kiosk.engine.paused:
            title.append("  ·  ")
            title.append(tr(self, N_("Drawing is paused by the staff")), "bold reverse")
        return title

    def _keys_text(self) -> Text:
        """The visitor's keys, in words (the language key names the next language)."""
        languages: list[str] = list(self.kiosk.settings.event.languages)
        keys: list[tuple[str, str]] = [
            ("Ctrl+N", tr(self, N_("New player"))),
            ("F3", tr(self, N_("I'm done"))),
        ]
        if len(languages) > 1:
            after = i18n.next_language(self.kiosk.lang, languages)
            keys.insert(1, ("F2", i18n.LANGUAGES[after]))
        text = Text()
        for key, what in keys:
            text.append(f" {key} ", "reverse bold")
            text.append(f" {what}    ")
        return text

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
        self.set_class(rows < TALL_ROWS, "-short")
        if too_small(columns, rows) and self.app.screen is self:
            self.app.push_screen(TooSmallScreen())

    def _redraw_pictures(self) -> None:
        for picture in self.query(Picture):
            picture.redraw()

    # -- sittings ------------------------------------------------------------------------

    def action_new_player(self) -> None:
        """Ctrl+N: end the sitting; the form is empty for the next visitor."""
        self.end_sitting()

    def action_done(self) -> None:
        """The visitor is done: end the sitting and thank them."""
        self.end_sitting()
        self.query_one(EntryForm).hint(THANKS)

    def action_language(self) -> None:
        """Switch the visitor's language for this sitting (the key names the next one)."""
        languages: list[str] = list(self.kiosk.settings.event.languages)
        self.kiosk.lang = i18n.next_language(self.kiosk.lang, languages)
        self.relabel()

    def replay(self, keys: list[tuple[str, str | None]]) -> None:
        """Keys typed while the models loaded, in order, as if typed now."""
        focused = self.focused
        if focused is not None:
            for key, character in keys:
                focused.post_message(events.Key(key, character))

    def end_sitting(self) -> None:
        """Forget the visitor (nickname, code, result, language) for the next person,
        with the visitor's dialogs over the booth (a code, a check) closed."""
        while self.app.screen is not self and isinstance(self.app.screen, VISITOR_MODALS):
            self.app.pop_screen()
        self.kiosk.lang = self.kiosk.settings.event.languages[0]
        self.sitting = Sitting(last_key=time.monotonic())
        self.query_one(ResultPane).clear()
        self.query_one(LeaderboardPane).highlight(None)
        self.query_one(EntryForm).clear()
        self.relabel()

    def check_sitting(self, last_key: float, idle_s: float) -> bool:
        """Called every second: end the sitting when its visitor walked away (no key for
        `idle_s`, nothing of theirs on its way). True when it ended."""
        if self.app.screen is not self and not isinstance(self.app.screen, VISITOR_MODALS):
            return False  # staff mode, attract mode, a notice for the operator
        forms = self.query(EntryForm)
        if not forms:
            return False  # the app is closing: the screen's widgets are gone
        self.sitting.touch(max(self.sitting.last_key, last_key))
        typed = forms.first().has_text
        if not self.sitting.idle(time.monotonic(), idle_s, typed=typed):
            return False
        self.end_sitting()
        return True

    def _needs_code(self, nickname: str) -> bool:
        """A claimed nickname asks for its code, unless it already played in this sitting."""
        if self.sitting.code_for(nickname) is not None:
            return False
        try:
            return self.kiosk.engine.needs_code(nickname)
        except StoreError as exc:  # the shared store is offline: the prompt will say so
            log.warning("cannot tell whether %r has a code: %s", nickname, exc)
            return False

    def on_entry_form_nickname_accepted(self, message: EntryForm.NicknameAccepted) -> None:
        message.stop()
        self._begin(message.nickname)

    def _begin(self, nickname: str) -> None:
        nick = sanitise(nickname)
        if self.sitting.begin(nick, time.monotonic()):
            self.query_one(ResultPane).clear()
            self.query_one(LeaderboardPane).highlight(nick)
            self._refresh_queue()

    # -- visitor input -------------------------------------------------------------------

    def on_entry_form_submitted(self, message: EntryForm.Submitted) -> None:
        message.stop()
        self._begin(message.nickname)
        code = message.code or self.sitting.code_for(sanitise(message.nickname))
        self._submit(message.nickname, message.prompt, code, message.typing_cps)

    def _submit(
        self, nickname: str, prompt: str, code: str | None, typing_cps: float | None
    ) -> None:
        entry = self.query_one(EntryForm)
        try:
            # A dedup hit or a queued job row: one quick SQLite write, fine on the loop.
            result = self.kiosk.engine.submit(nickname, prompt, code=code, typing_cps=typing_cps)
        except CheckRequired as exc:
            entry.refused(prompt, N_("Quick check first: answer it, and your prompt goes on."))
            self._ask_check(exc.challenge, nickname, prompt, code)
            return
        except CodeRequired as exc:
            self.sitting.forget_code()
            entry.refused(prompt, exc.msgid, **exc.params)
            entry.ask_code(exc.msgid, **exc.params)
            return
        except PolicyError as exc:
            entry.refused(prompt, exc.msgid, **exc.params)
            return
        except StoreOffline as exc:  # the shared store's server: back by itself
            log.warning("submit could not be saved: %s", exc)
            entry.refused(prompt, OFFLINE)
            return
        except StoreError as exc:  # e.g. the disk is full: nothing was written
            log.error("submit could not be saved: %s", exc)
            entry.refused(
                prompt, N_("Sorry, the kiosk could not save that. Please tell the staff.")
            )
            return
        except Exception:  # a visitor never sees a crash
            log.exception("submit failed")
            entry.refused(prompt, N_("Sorry, that did not work; please try again."))
            return
        self.kiosk.note_activity()
        self._accepted(sanitise(nickname), code, result)

    def _accepted(self, nick: str, code: str | None, result: Queued | Done) -> None:
        """The prompt is in: keep the code for the sitting, then say what happens next."""
        entry = self.query_one(EntryForm)
        kept = result.player_code or code
        if kept is not None:
            self.sitting.keep_code(nick, kept)
            entry.code_accepted()
            self.query_one(ResultPane).show_code(kept)
        if result.player_code is not None:
            self.app.push_screen(CodeNotice(nick, result.player_code))
        if isinstance(result, Queued):
            self.sitting.queued(result.job_id)
            if result.joined:
                entry.accepted(N_("That picture is already on its way: you get it too, no wait."))
            else:
                entry.accepted(N_("Got it! Type another prompt, or press F3 when you are done."))
            self._show_queued(result.position, result.eta_s)
        else:
            self.sitting.submissions.add(result.submission_id)
            self.sitting.latest_job = None
            entry.accepted(N_("Same prompt as before: no need to draw it again."))

    def _ask_check(
        self, challenge: Challenge, nickname: str, prompt: str, code: str | None
    ) -> None:
        """The human check; its answer goes to the engine, then the same prompt is sent
        again: it goes through, or a fresh check is asked, or the pause is explained."""

        def answered(answer: str | None) -> None:
            entry = self.query_one(EntryForm)
            if answer is None:
                entry.refused(
                    prompt, N_("No problem: press Enter on your prompt when you are ready.")
                )
                return
            try:
                passed = self.kiosk.engine.answer_check(nickname, challenge.id, answer)
            except StoreError as exc:  # the shared store is offline: ask again later
                log.warning("check not answered: %s", exc)
                entry.refused(prompt, OFFLINE)
                return
            entry.query_one("#prompt", Input).clear()  # given back when refused again
            if not passed:
                entry.hint(N_("Not quite."), error=True)
            self._submit(nickname, prompt, code, None)

        self.app.push_screen(CheckScreen(challenge, self.kiosk.image_class), answered)

    def _show_queued(self, position: int, eta_s: float | None) -> None:
        result = self.query_one(ResultPane)
        if self.kiosk.engine.paused:
            result.status("queued", PAUSED_JOB)
        elif position == 0:
            self._show_drawing()
        else:
            eta = format_eta(eta_s, self.kiosk.lang)
            msgid = WAITING[(position <= 1, eta != "...")]
            result.status("queued", msgid, n=position, eta=eta)

    # -- engine events -------------------------------------------------------------------

    def handle(self, event: Event) -> None:
        """An engine event about jobs or the board (models events go to the app)."""
        latest = self.sitting.latest_job
        if isinstance(event, LeaderboardChanged):
            if event.target == self.kiosk.engine.target_id:
                self.query_one(LeaderboardPane).reload()
        elif isinstance(event, Progress):
            if latest in event.job_ids:
                self._show_drawing(N_("Drawing your picture... (step {step} of {total})"),
                                   step=event.step, total=event.total)  # fmt: skip
        elif isinstance(event, Retrying):
            if event.job_id == latest:
                self._show_drawing(N_("Drawing your picture... (trying again)"))
        elif isinstance(event, StaffActed):
            if event.action in ("pause", "resume"):
                self.query_one("#title", Static).update(self._title_text())
                self._refresh_queue()
        elif isinstance(event, Queued | Started | Done | Failed):
            self._job_event(event)

    def _job_event(self, event: Queued | Started | Done | Failed) -> None:
        sitting = self.sitting
        if isinstance(event, Started):
            self._drawing[event.job_id] = DrawingNow(
                job_id=event.job_id, nickname=event.nickname, prompt=event.prompt
            )
            if event.job_id == sitting.latest_job:
                self._show_drawing()
        elif isinstance(event, Done):
            if event.job_id is not None:
                self._drawing.pop(event.job_id, None)
            if self._mine(event.job_id, event.nickname) or event.submission_id in (
                sitting.submissions
            ):
                sitting.finished(event.job_id)
                self.query_one(ResultPane).show_done(event)
                self.kiosk.note_activity()
        elif isinstance(event, Failed):
            self._drawing.pop(event.job_id, None)
            if self._mine(event.job_id, event.nickname):
                sitting.finished(event.job_id)
                self.query_one(ResultPane).status(
                    "failed", N_("Sorry, that drawing failed: {reason}"), reason=event.reason
                )
        if self._queue_timer is None:  # one refresh for a burst of events (phones send many)
            self._queue_timer = self.set_timer(QUEUE_EVERY_S, self._queue_due)

    def _queue_due(self) -> None:
        self._queue_timer = None
        self._refresh_queue()

    def _mine(self, job_id: int | None, nickname: str) -> bool:
        """An event of this player's job. Several players can share a job (the same prompt
        in flight): each gets their own done event, told apart by nickname."""
        return job_id in self.sitting.jobs and self.sitting.is_me(nickname)

    def _show_drawing(self, msgid: str = N_("Drawing your picture..."), **params: object) -> None:
        self.query_one(ResultPane).status("generating", msgid, **params)

    def _refresh_queue(self) -> None:
        engine = self.kiosk.engine
        waiting = engine.queue_snapshot()  # in memory, under the engine's lock
        self.query_one(QueuePane).show(
            list(self._drawing.values()), waiting, self._me, paused=engine.paused
        )
        mine = next((e for e in waiting if e.job_id == self.sitting.latest_job), None)
        if mine is not None:
            self._show_queued(mine.position, mine.eta_s)
