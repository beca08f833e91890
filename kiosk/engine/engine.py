"""The engine: submit -> policy -> fair queue -> generate -> judge -> store -> events.

One worker thread owns the models. `submit` runs in the caller's thread and is
fast: policy, dedup lookup, and a persisted job (or waiter) row. Events go to
subscribers in the order they happened, each with a sequence number. The lifecycle
(start, stop, the waits) and the worker thread are in kiosk.engine.worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from kiosk.core import policy
from kiosk.core.api import (
    AuditRow,
    BoardRow,
    EventStats,
    Job,
    PlayerFlags,
    QueueEntry,
    RaffleResult,
    Recent,
    Stats,
    Submission,
    Subscriber,
    Waiter,
)
from kiosk.core.commands import StaffCommand, StaffOutcome
from kiosk.core.config import Settings
from kiosk.core.eta import CallTimes
from kiosk.core.events import (
    Done,
    Event,
    LeaderboardChanged,
    Queued,
    RaffleDrawn,
    StaffActed,
    TargetChanged,
)
from kiosk.core.fairqueue import FairQueue
from kiosk.core.i18n import N_
from kiosk.engine.batch import BatchRunner, GeneratorLike, JudgeLike
from kiosk.engine.desk import StaffDesk
from kiosk.engine.gate import Gate
from kiosk.engine.worker import EngineWorker
from kiosk.storage.images import blurred_relpath
from kiosk.storage.lock import DataDirLock
from kiosk.storage.store import Store
from scoring.judge import judge_identity

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)

__all__ = ["Engine", "GeneratorLike", "JudgeLike", "QueueEntry"]


class Engine(EngineWorker):
    """The kiosk's engine; the UI and the headless demo both drive it (see EngineAPI)."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        generator: GeneratorLike | None = None,
        judge: JudgeLike | None = None,
        codes: bool | None = None,
    ) -> None:
        self.settings = settings
        self.data_dir = settings.data_path
        self._lock = DataDirLock(self.data_dir)
        # The data dir is taken before any write (migrations, targets, staff names), so a
        # second kiosk is refused (DataDirBusy) having written nothing; start() or claim()
        # take it again for the run.
        with self._lock:
            self.store = store or Store(self.data_dir / "kiosk.db")
            self.store.meta.sync_targets(
                [(t.id, t.title, str(settings.target_image(t))) for t in settings.targets]
            )
            self.desk = StaffDesk(self.store, settings)
            self.desk.apply_staff_nicknames()  # a name added to the config after it played
        self.generator = generator
        self.judge = judge
        self.limits = policy.Limits(
            prompt_max=settings.limits.prompt_max, nickname_max=settings.limits.nickname_max
        )
        self.target_id = self.desk.active_target()
        self.paused = self.desk.paused()
        self.gate = Gate(
            settings, self.store, codes=settings.players.codes if codes is None else codes
        )
        self.load_error: str | None = None
        self.times = CallTimes()
        self._targets = {
            t.id: policy.target_identity(t.id, settings.target_image(t).read_bytes())
            for t in settings.targets
        }
        g = settings.generator
        self._generation = policy.generation_identity(
            g.model, g.steps, g.guidance, g.width, g.height, g.vae
        )
        self._subscribers: list[Subscriber] = []
        # One re-entrant lock guards the queue and orders publication: an event is
        # delivered to every subscriber before the next one, and no later than the state
        # change it reports (a job's `queued` always comes before its `done`).
        self._cond = threading.Condition(threading.RLock())
        self._seq = 0
        self._queue = FairQueue()
        self._retry: deque[Job] = deque()
        self._inflight: list[Job] = []
        self._inflight_since = 0.0
        self._loaded = False
        self._resumed: list[Job] = []
        self._stopping = False
        self._ready = threading.Event()
        self._runner: BatchRunner | None = None
        self._thread: threading.Thread | None = None

    # -- events --------------------------------------------------------------------------

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Receive every event; returns a function that unsubscribes."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def _publish(self, event: E) -> E:
        """Number the event and hand it to every subscriber; returns the numbered event."""
        with self._cond:
            self._seq += 1
            event = replace(event, seq=self._seq)
            for fn in list(self._subscribers):
                try:
                    fn(event)
                except Exception:  # a broken subscriber must not stop the engine
                    log.exception("event subscriber failed on %s", event.name)
        return event

    # -- the caller's side ------------------------------------------------------------

    def dedup_key(self, norm_prompt: str, target_id: str | None = None) -> str:
        """The dedup key of a normalised prompt on a target (default: the active one)."""
        return policy.dedup_key(
            norm_prompt, self._targets[target_id or self.target_id], self._generation, self._judge
        )

    def submit(
        self,
        nickname: str,
        prompt: str,
        *,
        code: str | None = None,
        typing_cps: float | None = None,
    ) -> Done | Queued:
        """Accept one prompt (see _submit). A refusal is counted (for the event stats and
        the player's own), and published as a `refused` event; a human check asked for is
        published as a `challenge` event first."""
        try:
            return self._submit(nickname, prompt, code, typing_cps)
        except policy.PolicyError as exc:
            self._refused(nickname, prompt, exc)
            raise

    def _refused(self, nickname: object, prompt: object, exc: policy.PolicyError) -> None:
        for event in self.gate.refusal(nickname, prompt, exc):
            self._publish(event)

    def _submit(
        self, nickname: str, prompt: str, code: str | None, typing_cps: float | None
    ) -> Done | Queued:
        """Accept one prompt: a dedup hit is answered at once; a prompt already waiting or
        being drawn joins that job; anything else is queued.

        Raises policy.PolicyError with a message for the visitor when input is refused:
        in this order, bad input, too fast (the rate limit and the human check count
        every submission, dedup hits too), blocked words, a ban, a claimed nickname
        without its code, a hidden prompt, too many waiting.
        """
        nick = policy.clean_nickname(nickname, self.limits.nickname_max)
        text = policy.clean_field(prompt, what="prompt", max_len=self.limits.prompt_max)
        norm = policy.normalise_prompt(text)
        if not norm:
            raise policy.PolicyError(N_("Please describe a picture in words."))
        pkey = policy.player_key(nick)
        self.gate.check_pace(pkey, typing_cps)
        self.gate.check_words(nick, text)
        key = self.dedup_key(norm)
        flags = self.store.players.flags(pkey)
        if flags is not None and flags.banned:
            raise policy.Banned(N_("Sorry, this nickname cannot play right now."))
        claim = self.gate.check_code(pkey, nick, code)
        if self.store.jobs.hidden_original(key):
            raise policy.HiddenPrompt(N_("Sorry, that prompt cannot be drawn. Please try another."))
        self.desk.mark_known_staff(pkey, nick)
        accepted = self._accept(pkey, nick, prompt, text, norm, key, flags)
        if claim is None or not self.gate.claim(pkey, claim) or code is not None:
            return accepted
        return replace(accepted, player_code=claim)  # for this caller only, never published

    def needs_code(self, nickname: str) -> bool:
        """Whether this nickname is claimed (the booth asks for its code)."""
        return self.gate.needs_code(nickname)

    def check_code(self, nickname: str, code: str) -> bool:
        """Whether `code` is the player code of `nickname` (staff check a raffle winner)."""
        return self.gate.is_code(nickname, code)

    def answer_check(self, nickname: str, challenge_id: str, answer: str) -> bool:
        """The visitor's answer to a human check (see Gate.answer_check)."""
        return self.gate.answer_check(nickname, challenge_id, answer)

    def _accept(
        self,
        pkey: str,
        nick: str,
        prompt: str,
        text: str,
        norm: str,
        key: str,
        flags: PlayerFlags | None,
    ) -> Done | Queued:
        with self._cond:
            self._load_queue()
            original = self.store.jobs.find_original(key)
            if original is not None:
                return self._answer_dedup(pkey, nick, prompt, text, norm, original)
            self._check_cap(flags.id if flags else None)
            joined = self.store.jobs.add_waiter(
                player_key=pkey, nickname=nick, dedup_key=key, raw_prompt=prompt, prompt=text
            )
            if joined is not None:
                waiter, job = joined
                position, eta = self._place(job.id)
                queued = self._queued(job, position, eta, waiter=waiter)
            else:
                job = self.store.jobs.add(
                    player_key=pkey,
                    nickname=nick,
                    target_id=self.target_id,
                    raw_prompt=prompt,
                    prompt=text,
                    norm_prompt=norm,
                    dedup_key=key,
                    seed=policy.seed_for(key),
                )
                self._queue.push(job)
                self._cond.notify_all()
                position, eta = self._place(job.id)
                queued = self._queued(job, position, eta)
            return self._publish(queued)

    def _check_cap(self, player_id: int | None) -> None:
        cap = self.settings.limits.queued_per_player
        if player_id is not None and self._waiting(player_id) >= cap:
            raise policy.QueueFullError(
                N_("You already have {cap} drawings waiting; please wait for one to finish."),
                cap=cap,
            )

    def _place(self, job_id: int) -> tuple[int, float | None]:
        """(position, ETA) of a job: position 0 while it is being drawn."""
        for entry in self.queue_snapshot():
            if entry.job_id == job_id:
                return entry.position, entry.eta_s
        return 0, self._running_left_s()

    def _queued(
        self,
        job: Job,
        position: int,
        eta: float | None,
        *,
        resumed: bool = False,
        waiter: Waiter | None = None,
    ) -> Queued:
        """The `queued` event of a job, or of a waiter that joined it (`waiter` given)."""
        who = waiter or job
        return Queued(
            job_id=job.id,
            nickname=who.nickname,
            prompt=who.prompt,
            target=job.target_id,
            position=position,
            eta_s=eta,
            resumed=resumed,
            joined=waiter is not None,
            paused=self.paused,
        )

    def _answer_dedup(
        self, pkey: str, nick: str, raw: str, text: str, norm: str, original: Submission
    ) -> Done:
        like = Job(
            id=0,
            player_id=0,
            nickname=nick,
            target_id=self.target_id,
            raw_prompt=raw,
            prompt=text,
            norm_prompt=norm,
            dedup_key=original.dedup_key,
            seed=original.seed,
            created_at=time.time(),
        )
        sub = self.store.jobs.add_dedup(
            player_key=pkey, nickname=nick, job_like=like, original=original
        )
        done = self._publish(replace(self._done_event(None, sub, True), first_by=original.nickname))
        self._publish(LeaderboardChanged(target=sub.target_id))
        return done

    def _waiting(self, player_id: int) -> int:
        jobs = [*self._inflight, *self._retry]
        in_memory = self._queue.count(player_id) + sum(j.player_id == player_id for j in jobs)
        return in_memory + self.store.jobs.waiting_count(player_id)

    @property
    def _judge(self) -> str:
        if self.judge:
            return self.judge.name
        return judge_identity(self.settings.judge.model, self.settings.judge.pretrained)

    # -- staff ------------------------------------------------------------------------------

    def staff(self, cmd: StaffCommand, actor: str = "staff") -> StaffOutcome:
        """Carry out a staff action (audited) and let every screen follow at once."""
        with self._cond:
            outcome = self.desk.run(cmd, actor)
            if outcome.ok and cmd.action == "target":
                self.target_id = self.desk.active_target()
                title = self.desk.title(self.target_id)
                self._publish(TargetChanged(target=self.target_id, title=title))
            if outcome.ok and cmd.action in ("pause", "resume"):
                self.paused = cmd.action == "pause"
                self._cond.notify_all()
            if outcome.ok and cmd.action in ("unpause", "reset-code"):
                self.gate.lift_pause(cmd.subject)
            self._publish(
                StaffActed(
                    action=outcome.action,
                    subject=outcome.subject,
                    ok=outcome.ok,
                    message=outcome.message,
                )
            )
            if outcome.ok:
                self._publish(LeaderboardChanged(target=self.target_id))
        return outcome

    def raffle(self, *, actor: str = "staff", **options: Any) -> RaffleResult:
        """Draw a raffle (see StaffDesk.raffle) and announce it; raises StaffError."""
        return self._announce(self.desk.raffle(actor=actor, **options))

    def redraw(self, raffle_id: int, absent: str, actor: str = "staff") -> RaffleResult:
        """Replace a raffle winner who is not there (recorded); raises StaffError."""
        return self._announce(self.desk.redraw(raffle_id, absent, actor))

    def _announce(self, result: RaffleResult) -> RaffleResult:
        self._publish(
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

    def held_for_review(self, limit: int = 100) -> list[Recent]:
        """Drawings the safety probes held, oldest first: staff approve or hide them."""
        return self.store.board.held(limit)

    def recent(self, limit: int = 100, nickname: str = "") -> list[Recent]:
        """The latest submissions for staff to moderate, newest first."""
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
        held = isinstance(item, Submission | Recent) and item.held
        return self.data_dir / (blurred_relpath(item.image) if held else item.image)

    def original_path(self, item: Recent) -> Path:
        """The drawing itself, even when held: for staff deciding on it."""
        return self.data_dir / item.image
