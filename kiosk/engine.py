"""The engine: submit -> policy -> fair queue -> generate -> judge -> store -> events.

One worker thread owns the models. `submit` runs in the caller's thread and is
fast: policy, dedup lookup, and a persisted job row. Events go to subscribers.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kiosk import policy
from kiosk.config import Settings
from kiosk.events import (
    Done,
    Event,
    Failed,
    LeaderboardChanged,
    ModelsFailed,
    ModelsLoading,
    ModelsReady,
    Progress,
    Queued,
    Started,
)
from kiosk.fairqueue import FairQueue
from kiosk.images import clean_temp_files, image_relpath, write_png
from kiosk.store import BoardRow, Job, Result, Stats, Store, Submission

log = logging.getLogger(__name__)
Subscriber = Callable[[Event], None]


class GeneratorLike(Protocol):
    name: str
    device: str

    def load(self) -> None: ...
    def generate(
        self,
        prompts: Sequence[str],
        seeds: Sequence[int],
        progress: Callable[[int, int], None] | None = None,
    ) -> object: ...


class JudgeLike(Protocol):
    name: str

    def load(self) -> None: ...
    def add_target(self, target_id: str, path: str | Path) -> None: ...
    def score(self, images: Sequence[object], target_ids: Sequence[str]) -> object: ...


@dataclass(frozen=True)
class QueueEntry:
    """One waiting job as the queue pane shows it."""

    position: int
    job_id: int
    nickname: str
    prompt: str
    eta_s: float


def plain_reason(exc: BaseException) -> str:
    """An exception in words a visitor or operator understands."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "out of memory" in text.lower():
        return "the GPU ran out of memory while drawing; please try again"
    return f"drawing failed: {text[:200]}"


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
        self._subscribers: list[Subscriber] = []
        self._cond = threading.Condition()
        self._queue = FairQueue()
        self._inflight: list[Job] = []
        self._stopping = False
        self._ready = threading.Event()
        self.load_error: str | None = None
        self._ms_per_job = 0.0
        self._thread: threading.Thread | None = None

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
        """Resume pending jobs, then load models and serve the queue in the worker thread."""
        clean_temp_files(self.data_dir)
        self._thread = threading.Thread(target=self._run, name="kiosk-engine", daemon=True)
        with self._cond:
            for job in self.store.pending_jobs():
                self._queue.push(job)
        for entry in self.queue_snapshot():
            job = next(j for j in self._queue if j.id == entry.job_id)
            self._publish(
                Queued(
                    job.id,
                    job.nickname,
                    job.prompt,
                    job.target_id,
                    entry.position,
                    entry.eta_s,
                    resumed=True,
                )
            )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the running batch, then stop the worker; queued jobs stay persisted."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once models are loaded; False on timeout or when loading failed."""
        return self._ready.wait(timeout) and self.load_error is None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job waits or runs (or loading failed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while (len(self._queue) or self._inflight) and self.load_error is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return self.load_error is None

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
            job_like = Job(
                0, 0, nick, self.target_id, prompt, text, norm, key, original.seed, time.time()
            )
            sub = self.store.add_dedup(
                player_key=pkey, nickname=nick, job_like=job_like, original=original
            )
            done = self._done_event(None, sub, dedup=True)
            self._publish(done)
            self._publish(LeaderboardChanged(sub.target_id))
            return done
        with self._cond:
            known = self.store.player(pkey)
            if (
                known is not None
                and self._waiting(known[0]) >= self.settings.limits.queued_per_player
            ):
                raise policy.QueueFullError(
                    f"You already have {self.settings.limits.queued_per_player} drawings"
                    " waiting; please wait for one to finish."
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

    def _waiting(self, player_id: int) -> int:
        return self._queue.count(player_id) + sum(j.player_id == player_id for j in self._inflight)

    @property
    def _generator_name(self) -> str:
        return self.generator.name if self.generator else self.settings.generator.model

    @property
    def _judge_name(self) -> str:
        if self.judge:
            return self.judge.name
        j = self.settings.judge
        return (
            j.model
            if j.model.startswith(("local-dir:", "hf-hub:"))
            else f"{j.model}/{j.pretrained}"
        )

    def _eta(self, position: int) -> float:
        batches = math.ceil(position / self.settings.generator.batch) + (1 if self._inflight else 0)
        return batches * self._ms_per_job * self.settings.generator.batch / 1000.0

    def queue_snapshot(self) -> list[QueueEntry]:
        """Waiting jobs in running order, with positions and ETAs."""
        with self._cond:
            return [
                QueueEntry(i, j.id, j.nickname, j.prompt, self._eta(i))
                for i, j in enumerate(self._queue, start=1)
            ]

    def leaderboard(self, limit: int = 20, target_id: str | None = None) -> list[BoardRow]:
        return self.store.leaderboard(target_id or self.target_id, limit)

    def stats(self) -> Stats:
        return self.store.stats()

    def image_path(self, sub: Submission) -> Path:
        return self.data_dir / sub.image

    def _done_event(self, job_id: int | None, sub: Submission, *, dedup: bool) -> Done:
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
            self.load_error = str(exc)
            log.debug("model loading failed", exc_info=True)
            self._publish(ModelsFailed(self.load_error))
            with self._cond:
                self._cond.notify_all()
            self._ready.set()
            return
        self._ready.set()
        while True:
            with self._cond:
                while not len(self._queue) and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                size = min(self.settings.generator.batch, len(self._queue))
                self._inflight = [self._queue.pop() for _ in range(size)]
            try:
                self._process(self._inflight)
            finally:
                with self._cond:
                    self._inflight = []
                    self._cond.notify_all()

    def _load_models(self) -> None:
        from kiosk.models import load_models

        start = time.perf_counter()
        self.generator, self.judge = load_models(
            self.settings,
            self.generator,
            self.judge,
            lambda stage, step, total: self._publish(ModelsLoading(stage, step, total)),
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

    def _process(self, batch: list[Job]) -> None:
        for job in batch:
            self._publish(Started(job.id, job.nickname, job.prompt, len(batch)))
        leads: dict[str, Job] = {}
        followers: list[Job] = []
        for job in batch:
            original = self.store.find_original(job.dedup_key)
            if original is not None:
                self._finish_dedup(job, original)
            elif job.dedup_key in leads:
                followers.append(job)
            else:
                leads[job.dedup_key] = job
        if leads:
            self._draw(list(leads.values()))
        for job in followers:
            original = self.store.find_original(job.dedup_key)
            if original is not None:
                self._finish_dedup(job, original)
            else:
                self._fail(job, "the same drawing failed just before")
        for target in {j.target_id for j in batch}:
            self._publish(LeaderboardChanged(target))

    def _draw(self, jobs: list[Job]) -> None:
        assert self.generator is not None and self.judge is not None
        ids = tuple(j.id for j in jobs)
        try:
            drawing = self.generator.generate(
                [j.norm_prompt for j in jobs],
                [j.seed for j in jobs],
                lambda step, total: self._publish(Progress(ids, step, total)),
            )
            images = drawing.images  # type: ignore[attr-defined]
            verdict = self.judge.score(images, [j.target_id for j in jobs])
            cosines, gen_ms, judge_ms = verdict.cosines, drawing.ms, verdict.ms  # type: ignore[attr-defined]
        except Exception as exc:
            log.debug("batch failed", exc_info=True)
            for job in jobs:
                self._fail(job, plain_reason(exc))
            return
        n = len(jobs)
        per_job = (gen_ms + judge_ms) / n
        self._ms_per_job = (
            per_job if not self._ms_per_job else 0.8 * self._ms_per_job + 0.2 * per_job
        )
        for job, image, cosine in zip(jobs, images, cosines, strict=True):
            rel = image_relpath(job.dedup_key)
            try:
                write_png(image, self.data_dir / rel)
                sub = self.store.complete_job(
                    job,
                    Result(
                        rel,
                        cosine,
                        policy.percent(cosine),
                        gen_ms / n,
                        judge_ms / n,
                        self.generator.name,
                        self.judge.name,
                    ),
                )
            except Exception as exc:
                log.debug("saving failed", exc_info=True)
                self._fail(job, f"could not save the drawing: {exc}")
                continue
            self._publish(self._done_event(job.id, sub, dedup=False))

    def _finish_dedup(self, job: Job, original: Submission) -> None:
        sub = self.store.complete_job_as_dedup(job, original)
        self._publish(self._done_event(job.id, sub, dedup=True))

    def _fail(self, job: Job, reason: str) -> None:
        try:
            self.store.fail_job(job.id, reason)
        finally:
            self._publish(Failed(job.id, job.nickname, job.prompt, reason))
