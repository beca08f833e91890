"""The engine: submit -> policy -> fair queue -> generate -> judge -> store -> events.

A facade over its parts: the bus (events in order, the one condition), the intake
(the caller's side: submit, gate, dedup) and the drawer (the worker thread that owns
the models). Constructing one touches nothing on disk: the database, the targets
table and the staff's state are opened under the data-dir lock: by `claim()`, which
keeps it for the run (`start()` claims), or on first use, which takes it for the while.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.core.api import (
    KEYBOARD,
    AuditRow,
    BoardRow,
    EventStats,
    QueueEntry,
    RaffleResult,
    Recent,
    Stats,
    Submission,
    Subscriber,
)
from kiosk.core.commands import PauseScope, StaffAction, StaffCommand, StaffOutcome
from kiosk.core.config import Settings
from kiosk.core.eta import CallTimes
from kiosk.core.events import (
    Done,
    LeaderboardChanged,
    Queued,
    RaffleDrawn,
    StaffActed,
    TargetChanged,
)
from kiosk.core.ports import StoreAPI
from kiosk.engine.batch import GeneratorLike, JudgeLike, shown_relpath
from kiosk.engine.bus import Bus
from kiosk.engine.desk import StaffDesk
from kiosk.engine.drawer import Drawer
from kiosk.engine.gate import Gate
from kiosk.engine.intake import Intake
from kiosk.storage.lock import DataDirLock
from kiosk.storage.store import open_store


class Engine:
    """The kiosk's engine; the UI and the headless demo both drive it (see EngineAPI)."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: StoreAPI | None = None,
        generator: GeneratorLike | None = None,
        judge: JudgeLike | None = None,
        codes: bool | None = None,
    ) -> None:
        self.settings = settings
        self.data_dir = settings.data_path
        self.bus = Bus()
        self.times = CallTimes()
        self._lock = DataDirLock(self.data_dir)
        self._given = (store, generator, judge)
        self._codes = settings.players.codes if codes is None else codes
        self._intake: Intake | None = None

    # -- the data dir and the parts -----------------------------------------------------

    def claim(self) -> None:
        """Take the data dir for the run and open the parts on it (idempotent); raises
        DataDirBusy when another kiosk holds it, having written nothing. `start` claims
        it too; callers may claim early to fail before showing a screen."""
        if not self._lock.held:
            self._lock.acquire()
        try:
            self._opened().store.hold_booth()  # one kiosk per booth on a shared store
        except BaseException:
            self._lock.release()
            raise

    def _opened(self) -> Intake:
        """The parts, opened on first use under the data-dir lock (taken for the while
        when not claimed, as a staff command or a test's engine that is never started)."""
        if self._intake is None:
            held = self._lock.held
            with self._lock if not held else contextlib.nullcontext():
                self._intake = self._open()
        return self._intake

    def _open(self) -> Intake:
        """The store migrated, the targets table synced, the staff's names, pause and
        target read: what the parts start from."""
        settings = self.settings
        store, generator, judge = self._given
        store = store or open_store(
            settings.store.url, self.data_dir / "kiosk.db", booth=settings.event.booth
        )
        store.meta.sync_targets(
            [(t.id, t.title, str(settings.target_image(t))) for t in settings.targets]
        )
        desk = StaffDesk(store, settings)
        desk.apply_staff_nicknames()  # a name added to the config after it played
        drawer = Drawer(
            settings,
            store,
            self.bus,
            self._lock,
            times=self.times,
            generator=generator,
            judge=judge,
            pause=desk.pause_scope(),
        )
        target_id = desk.active_target()
        gate = Gate(settings, store, codes=self._codes)
        return Intake(
            settings, store, self.bus, gate=gate, desk=desk, drawer=drawer, target_id=target_id
        )

    @property
    def intake(self) -> Intake:
        """The caller's side (opened on first use: see _opened)."""
        return self._opened()

    @property
    def drawer(self) -> Drawer:
        return self.intake.drawer

    @property
    def store(self) -> StoreAPI:
        return self.intake.store

    @property
    def gate(self) -> Gate:
        return self.intake.gate

    @property
    def desk(self) -> StaffDesk:
        return self.intake.desk

    @property
    def target_id(self) -> str:
        return self.intake.target_id

    @property
    def paused(self) -> bool:
        return self.drawer.paused

    @property
    def pause_scope(self) -> PauseScope:
        """Why drawing is paused: this booth's pause, the whole event's, or not ("")."""
        return self.drawer.pause_scope

    @property
    def booth(self) -> str:
        """This booth's name (its store's)."""
        return self.store.booth

    @property
    def load_error(self) -> str | None:
        return self.drawer.load_error

    @property
    def generator(self) -> GeneratorLike | None:
        return self.drawer.generator

    @property
    def judge(self) -> JudgeLike | None:
        return self.drawer.judge

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Take the data dir, resume pending jobs, then load models in the worker thread.

        Raises kiosk.storage.lock.DataDirBusy when another kiosk writes to the same data dir.
        """
        self.claim()
        self.store.watch(self._committed_elsewhere)  # a shared store: other booths' news
        self.drawer.start()

    def _committed_elsewhere(self) -> None:
        """Another booth (or staff's command) committed to the shared store: this booth's
        screens re-read the board and follow the event's target if it changed, visitors
        here who joined another booth's drawing hear how it went, and the worker wakes
        to read the event-wide pause (a resume-all reaches it at once)."""
        with self.bus.cond:
            if self.desk.active_target() != self.intake.target_id:
                self._retarget(None)
            self.intake.settle_joined()
            self.bus.publish(LeaderboardChanged(target=self.target_id))
            self.bus.cond.notify_all()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the running batch, then stop the worker; queued jobs stay persisted.

        The data-dir lock is released only once the worker has exited: if it is still
        mid-batch after `timeout`, the worker releases it itself when the batch ends, so
        no second engine can resume a job this one is drawing.
        """
        if self._intake is not None:
            self._intake.drawer.stop(timeout)

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        return self.bus.subscribe(fn)

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self.drawer.wait_ready(timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self.drawer.wait_idle(timeout)

    def queue_snapshot(self) -> list[QueueEntry]:
        return self.drawer.queue_snapshot()

    # -- the caller's side ------------------------------------------------------------

    def submit(
        self,
        nickname: str,
        prompt: str,
        *,
        code: str | None = None,
        typing_cps: float | None = None,
        source: str = KEYBOARD,
    ) -> Done | Queued:
        return self.intake.submit(nickname, prompt, code, typing_cps, source)

    def dedup_key(self, norm_prompt: str, target_id: str | None = None) -> str:
        """The dedup key of a normalised prompt on a target (default: the active one)."""
        return self.intake.dedup_key(norm_prompt, target_id)

    def needs_code(self, nickname: str) -> bool:
        return self.gate.needs_code(nickname)

    def check_code(self, nickname: str, code: str) -> bool:
        return self.gate.is_code(nickname, code)

    def answer_check(
        self, nickname: str, challenge_id: str, answer: str, *, source: str = KEYBOARD
    ) -> bool:
        return self.gate.answer_check(nickname, challenge_id, answer, source)

    def check_picture(self, picture_id: str) -> Path | None:
        return self.gate.floods.picture(picture_id)

    # -- staff ------------------------------------------------------------------------------

    def staff(self, cmd: StaffCommand, actor: str = "staff") -> StaffOutcome:
        publish = self.bus.publish
        with self.bus.cond:
            outcome = self.desk.run(cmd, actor)
            effect = _EFFECTS.get(cmd.action)
            if outcome.ok and effect is not None:
                effect(self, cmd)
            publish(
                StaffActed(
                    action=outcome.action,
                    subject=outcome.subject,
                    ok=outcome.ok,
                    message=outcome.message,
                )
            )
            if outcome.ok:
                publish(LeaderboardChanged(target=self.target_id))
        return outcome

    def _retarget(self, _: StaffCommand | None) -> None:
        self.intake.target_id = target = self.desk.active_target()
        self.bus.publish(TargetChanged(target=target, title=self.desk.title(target)))

    def _pause(self, _: StaffCommand) -> None:
        self.drawer.pause_scope = self.desk.pause_scope()
        self.bus.cond.notify_all()

    def _adopt(self, _: StaffCommand) -> None:
        """The adopted jobs join this booth's queue (and their waiters' places)."""
        drawer = self.drawer
        if not drawer.loaded:
            return  # the queue is built at start, with them
        for job in drawer.adopted():
            drawer.push(job)
            position, eta = drawer.place(job.id)
            self.bus.publish(drawer.queued(job, position, eta, resumed=True))

    def _lift_pause(self, cmd: StaffCommand) -> None:
        self.gate.lift_pause(cmd.subject)

    def raffle(self, *, actor: str = "staff", **options: Any) -> RaffleResult:
        return self._announce(self.desk.raffle(actor=actor, **options))

    def redraw(self, raffle_id: int, absent: str, actor: str = "staff") -> RaffleResult:
        return self._announce(self.desk.redraw(raffle_id, absent, actor))

    def _announce(self, result: RaffleResult) -> RaffleResult:
        self.bus.publish(
            RaffleDrawn(
                raffle_id=result.raffle_id,
                target=result.target,
                rule=result.rule,
                seed=result.seed,
                eligible=len(result.eligible),
                winners=tuple(w.nickname for w in result.winners),
            )
        )
        return result

    # -- reads ------------------------------------------------------------------------------

    def held_for_review(self, limit: int = 100) -> list[Recent]:
        return self.store.board.held(limit)

    def recent(self, limit: int = 100, nickname: str = "") -> list[Recent]:
        return self.store.board.recent(limit, nickname)

    def audit(self, limit: int = 200) -> list[AuditRow]:
        return self.store.moderation.audit_log(limit)

    def event_stats(self) -> EventStats:
        return self.store.moderation.event_stats()

    def note_staff(self, action: str, subject: str = "") -> None:
        """Audit a booth-side staff event: a PIN try (ok, wrong, locked: never the PIN),
        staff mode opened or closed, the kiosk quit."""
        self.store.moderation.record(action, subject, actor="booth")

    def leaderboard(self, limit: int = 20, target_id: str | None = None) -> list[BoardRow]:
        return self.store.board.leaderboard(target_id or self.target_id, limit)

    def stats(self) -> Stats:
        return self.store.board.stats()

    def image_path(self, item: Submission | BoardRow | Recent) -> Path:
        """Absolute path of a drawing as screens may show it: a drawing held for review
        shows as its blurred stand-in."""
        return self.store.pictures.fetch(self.data_dir, shown_relpath(item))

    def original_path(self, item: Recent) -> Path:
        return self.store.pictures.fetch(self.data_dir, item.image)


_EFFECTS: dict[StaffAction, Callable[[Engine, StaffCommand], None]] = {
    "target": Engine._retarget,
    "pause": Engine._pause,
    "resume": Engine._pause,
    "pause-all": Engine._pause,
    "resume-all": Engine._pause,
    "adopt": Engine._adopt,
    "unpause": Engine._lift_pause,
    "reset-code": Engine._lift_pause,
}
"""What a staff action that succeeded changes in the running engine (the desk has
already changed the store)."""
