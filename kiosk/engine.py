"""The engine: submit -> policy -> fair queue -> generate -> judge -> store -> events.

One worker thread owns the models. `submit` runs in the caller's thread and is
fast: policy, dedup lookup, and a persisted job row. Events go to subscribers.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk import policy
from kiosk.batch import BatchRunner, GeneratorLike, JudgeLike
from kiosk.config import TINY_NOTICE, Settings
from kiosk.events import (
    Done,
    Event,
    LeaderboardChanged,
    ModelsFailed,
    ModelsLoading,
    ModelsReady,
    Notice,
    Queued,
)
from kiosk.fairqueue import FairQueue
from kiosk.images import clean_temp_files
from kiosk.lock import DataDirLock
from kiosk.schema import sqlite_warning
from kiosk.store import BoardRow, Job, Stats, Store, Submission
from scoring.judge import judge_identity

log = logging.getLogger(__name__)
Subscriber = Callable[[Event], None]

__all__ = ["Engine", "GeneratorLike", "JudgeLike", "QueueEntry"]


@dataclass(frozen=True)
class QueueEntry:
    """One waiting job as the queue pane shows it."""

    position: int
    job_id: int
    nickname: str
    prompt: str
    eta_s: float | None


class Engine:
    """The kiosk's engine; the UI and the headless demo both drive it."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        generator: GeneratorLike | None = None,
        judge: JudgeLike | None = None,
    ) -> None:
        self.settings = settings
        self.data_dir = settings.data_path
        self.store = store or Store(self.data_dir / "kiosk.db")
        self.store.sync_targets(
            [(t.id, t.title, str(settings.target_image(t))) for t in settings.targets]
        )
        self.generator = generator
        self.judge = judge
        self.limits = policy.Limits(settings.limits.prompt_max, settings.limits.nickname_max)
        self.target_id = settings.active_target.id
        self.load_error: str | None = None
        self._subscribers: list[Subscriber] = []
        self._cond = threading.Condition()
        self._queue = FairQueue()
        self._retry: deque[Job] = deque()
        self._inflight: list[Job] = []
        self._stopping = False
        self._ready = threading.Event()
        self._runner: BatchRunner | None = None
        self._thread: threading.Thread | None = None
        self._lock = DataDirLock(self.data_dir)

    # -- lifecycle ----------------------------------------------------------------------

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Receive every event; returns a function that unsubscribes."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def _publish(self, event: Event) -> None:
        for fn in list(self._subscribers):
            try:
                fn(event)
            except Exception:  # a broken subscriber must not stop the engine
                log.exception("event subscriber failed on %s", event.name)

    def start(self) -> None:
        """Take the data dir, resume pending jobs, then load models in the worker thread.

        Raises kiosk.lock.DataDirBusy when another kiosk writes to the same data dir.
        """
        self.claim()
        if self.settings.tiny:
            self._publish(Notice("warning", TINY_NOTICE))
        warning = sqlite_warning()
        if warning:
            self._publish(Notice("warning", warning))
        clean_temp_files(self.data_dir)
        with self._cond:
            for job in self.store.pending_jobs():
                self._queue.push(job)
            resumed = list(self._queue)
        for position, job in enumerate(resumed, start=1):
            self._publish(
                Queued(
                    job.id,
                    job.nickname,
                    job.prompt,
                    job.target_id,
                    position,
                    self._eta(position),
                    resumed=True,
                )
            )
        self._thread = threading.Thread(target=self._run, name="kiosk-engine", daemon=True)
        self._thread.start()

    def claim(self) -> None:
        """Take the data dir for this engine (idempotent); raises DataDirBusy if taken.

        `start` claims it too; callers may claim early to fail before showing a screen.
        """
        if not self._lock.held:
            self._lock.acquire()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the running batch, then stop the worker; queued jobs stay persisted."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._lock.release()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once models are loaded; False on timeout or when loading failed."""
        return self._ready.wait(timeout) and self.load_error is None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job waits or runs (or loading failed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._busy() and self.load_error is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return self.load_error is None

    def _busy(self) -> bool:
        return bool(len(self._queue) or self._retry or self._inflight)

    # -- the caller's side ------------------------------------------------------------

    def submit(self, nickname: str, prompt: str) -> Done | Queued:
        """Accept one prompt: a dedup hit is answered at once, a miss is queued.

        Raises policy.PolicyError with a message for the visitor when input is refused.
        """
        nick = policy.clean_field(nickname, what="nickname", max_len=self.limits.nickname_max)
        text = policy.clean_field(prompt, what="prompt", max_len=self.limits.prompt_max)
        norm = policy.normalise_prompt(text)
        if not norm:
            raise policy.PolicyError("Please describe a picture in words.")
        key = policy.dedup_key(norm, self.target_id, self._generator_name, self._judge_name)
        pkey = policy.player_key(nick)
        original = self.store.find_original(key)
        if original is not None:
            return self._answer_dedup(pkey, nick, prompt, text, norm, original)
        with self._cond:
            known = self.store.player(pkey)
            cap = self.settings.limits.queued_per_player
            if known is not None and self._waiting(known[0]) >= cap:
                raise policy.QueueFullError(
                    f"You already have {cap} drawings waiting; please wait for one to finish."
                )
            job = self.store.add_job(
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
            position = self._queue.position(job.id)
            self._cond.notify_all()
        queued = Queued(
            job.id, job.nickname, job.prompt, job.target_id, position, self._eta(position)
        )
        self._publish(queued)
        return queued

    def _answer_dedup(
        self, pkey: str, nick: str, raw: str, text: str, norm: str, original: Submission
    ) -> Done:
        like = Job(
            0,
            0,
            nick,
            self.target_id,
            raw,
            text,
            norm,
            original.dedup_key,
            original.seed,
            time.time(),
        )
        sub = self.store.add_dedup(player_key=pkey, nickname=nick, job_like=like, original=original)
        done = self._done_event(None, sub, True)
        self._publish(done)
        self._publish(LeaderboardChanged(sub.target_id))
        return done

    def _waiting(self, player_id: int) -> int:
        jobs = [*self._inflight, *self._retry]
        return self._queue.count(player_id) + sum(j.player_id == player_id for j in jobs)

    @property
    def _generator_name(self) -> str:
        return self.generator.name if self.generator else self.settings.generator.model

    @property
    def _judge_name(self) -> str:
        if self.judge:
            return self.judge.name
        return judge_identity(self.settings.judge.model, self.settings.judge.pretrained)

    def _eta(self, position: int) -> float | None:
        """Seconds until a job at `position` is done; None until a drawing was timed."""
        ms = self._runner.ms_per_job if self._runner else 0.0
        if not ms:
            return None
        batch = self.settings.generator.batch
        batches = math.ceil(position / batch) + (1 if self._inflight else 0)
        return batches * ms * batch / 1000.0

    def queue_snapshot(self) -> list[QueueEntry]:
        """Waiting jobs in running order, with positions and ETAs."""
        with self._cond:
            jobs = [*self._retry, *self._queue]
            return [
                QueueEntry(i, j.id, j.nickname, j.prompt, self._eta(i))
                for i, j in enumerate(jobs, start=1)
            ]

    def leaderboard(self, limit: int = 20, target_id: str | None = None) -> list[BoardRow]:
        return self.store.leaderboard(target_id or self.target_id, limit)

    def stats(self) -> Stats:
        return self.store.stats()

    def image_path(self, item: Submission | BoardRow) -> Path:
        """Absolute path of a submission's or leaderboard row's drawing."""
        return self.data_dir / item.image

    def _done_event(self, job_id: int | None, sub: Submission, dedup: bool) -> Done:
        rank = self.store.rank(sub.player_id, sub.target_id)
        best = self.store.best_percent(sub.player_id, sub.target_id)
        return Done(
            job_id,
            sub.id,
            sub.nickname,
            sub.prompt,
            sub.target_id,
            sub.percent,
            sub.cosine,
            rank,
            best,
            dedup,
            str(self.image_path(sub)),
            sub.gen_ms,
            sub.judge_ms,
        )

    # -- the worker's side ------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._load_models()
        except Exception as exc:
            self.load_error = str(exc) or type(exc).__name__
            log.debug("model loading failed", exc_info=True)
            self._publish(ModelsFailed(self.load_error))
            with self._cond:
                self._cond.notify_all()
            self._ready.set()
            return
        self._ready.set()
        while self._next_batch():
            retry = self._runner.run(self._inflight) if self._runner else []
            with self._cond:
                self._retry.extend(retry)
                self._inflight = []
                self._cond.notify_all()

    def _next_batch(self) -> bool:
        """Wait for work; retries go first, one at a time (e.g. after running out of memory)."""
        with self._cond:
            while not self._busy() and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return False
            if self._retry:
                self._inflight = [self._retry.popleft()]
            else:
                size = min(self.settings.generator.batch, len(self._queue))
                self._inflight = [self._queue.pop() for _ in range(size)]
            return True

    def _load_models(self) -> None:
        from kiosk.models import load_models

        start = time.perf_counter()
        self.generator, self.judge = load_models(
            self.settings,
            self.generator,
            self.judge,
            lambda stage, step, total: self._publish(ModelsLoading(stage, step, total)),
        )
        self._runner = BatchRunner(
            self.store, self.data_dir, self.generator, self.judge, self._publish, self._done_event
        )
        compile_error = getattr(self.generator, "compile_error", None)
        if compile_error:
            self._publish(
                Notice("warning", f"torch.compile failed, drawing without it: {compile_error}")
            )
        self._publish(
            ModelsReady(
                self.generator.name,
                self.judge.name,
                self.generator.device,
                self.settings.tiny,
                time.perf_counter() - start,
            )
        )
