"""The engine's worker side: taking the data dir, resuming what a previous run left,
loading the models, and the one thread that draws batch after batch (a mixin for Engine).

The caller's side (submit, staff, reads) is in kiosk.engine.engine; both meet under the
engine's one condition (`_cond`), which guards the queue and orders publication.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from kiosk.core.api import Job, QueueEntry, Submission, Waiter
from kiosk.core.config import TINY_NOTICE, Settings
from kiosk.core.eta import CallTimes, queue_etas
from kiosk.core.events import (
    Done,
    Event,
    Failed,
    ModelsFailed,
    ModelsLoading,
    ModelsReady,
    Notice,
    Queued,
)
from kiosk.core.fairqueue import FairQueue
from kiosk.engine.batch import BatchRunner, GeneratorLike, JudgeLike
from kiosk.storage.images import clean_temp_files
from kiosk.storage.lock import DataDirLock
from kiosk.storage.schema import sqlite_warning
from kiosk.storage.store import Store

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)


class EngineWorker:
    """Mixin for Engine: its lifecycle (start, stop, waits) and its worker thread."""

    settings: Settings
    store: Store
    data_dir: Path
    generator: GeneratorLike | None
    judge: JudgeLike | None
    paused: bool
    load_error: str | None
    times: CallTimes
    _targets: dict[str, str]
    _cond: threading.Condition
    _queue: FairQueue
    _retry: deque[Job]
    _inflight: list[Job]
    _inflight_since: float
    _loaded: bool
    _resumed: list[Job]
    _stopping: bool
    _ready: threading.Event
    _runner: BatchRunner | None
    _thread: threading.Thread | None
    _lock: DataDirLock

    if TYPE_CHECKING:  # Engine provides them

        def _publish(self, event: E) -> E: ...

        def _queued(
            self,
            job: Job,
            position: int,
            eta: float | None,
            *,
            resumed: bool = False,
            waiter: Waiter | None = None,
        ) -> Queued: ...

        def image_path(self, item: Submission) -> Path: ...

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Take the data dir, resume pending jobs, then load models in the worker thread.

        Raises kiosk.storage.lock.DataDirBusy when another kiosk writes to the same data dir.
        """
        self.claim()
        if self.settings.tiny:
            self._publish(Notice(level="warning", message=TINY_NOTICE))
        warning = sqlite_warning()
        if warning:
            self._publish(Notice(level="warning", message=warning))
        clean_temp_files(self.data_dir)
        self._check_decoder()
        with self._cond:
            self._load_queue()
            places = {e.job_id: (e.position, e.eta_s) for e in self.queue_snapshot()}
            for job in self._resumed:
                position, eta = places[job.id]
                self._publish(self._queued(job, position, eta, resumed=True))
            jobs = {job.id: job for job in self._resumed}
            for waiter in self.store.jobs.waiters():  # those of failed jobs failed with them
                if waiter.job_id in jobs:
                    position, eta = places[waiter.job_id]
                    job = jobs[waiter.job_id]
                    self._publish(self._queued(job, position, eta, resumed=True, waiter=waiter))
        self._thread = threading.Thread(target=self._run, name="kiosk-engine", daemon=True)
        self._thread.start()

    def _check_decoder(self) -> None:
        """The decoder changes the pictures and can shift scores: say so when this run's
        differs from the last run's on the same data dir."""
        vae = self.settings.generator.vae
        last = self.store.meta.swap("generator.vae", vae)
        if last is not None and last != vae:
            self._publish(
                Notice(
                    level="warning",
                    message=f"The decoder changed since the last run on this data dir ({last}"
                    f" -> {vae}): new drawings may score differently from earlier ones. Keep"
                    " one decoder for a whole event.",
                )
            )

    def _load_queue(self) -> None:
        """Build the queue from the database, once (at start, or at an earlier submit):
        the jobs a previous run left pending. One whose target is no longer configured
        fails with the reason, without model work. Called under the engine's lock."""
        if self._loaded:
            return
        self._loaded = True
        for job in self.store.jobs.pending():
            if job.target_id in self._targets:
                self._queue.push(job)
                self._resumed.append(job)
            else:
                self._fail_unknown_target(job)

    def _fail_unknown_target(self, job: Job) -> None:
        reason = f"the target {job.target_id!r} is no longer configured at this booth"
        for w in self.store.jobs.fail(job.id, reason):
            self._publish(
                Failed(job_id=job.id, nickname=w.nickname, prompt=w.prompt, reason=reason)
            )
        self._publish(
            Failed(job_id=job.id, nickname=job.nickname, prompt=job.prompt, reason=reason)
        )

    def claim(self) -> None:
        """Take the data dir for this engine (idempotent); raises DataDirBusy if taken.

        `start` claims it too; callers may claim early to fail before showing a screen.
        """
        if not self._lock.held:
            self._lock.acquire()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the running batch, then stop the worker; queued jobs stay persisted.

        The data-dir lock is released only once the worker has exited: if it is still
        mid-batch after `timeout`, the worker releases it itself when the batch ends, so
        no second engine can resume a job this one is drawing.
        """
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the engine is still drawing; the data dir stays locked until then")
                return
        self._lock.release()

    def _running_left_s(self) -> float | None:
        if not self.times:
            return None
        if not self._inflight:
            return 0.0
        spent = (time.perf_counter() - self._inflight_since) * 1000.0
        return max(self.times.estimate(len(self._inflight)) - spent, 0.0) / 1000.0

    def queue_snapshot(self) -> list[QueueEntry]:
        """Waiting jobs in running order, with positions and ETAs from measured calls."""
        with self._cond:
            jobs = [*self._retry, *self._queue]
            left = self._running_left_s()
            etas = queue_etas(
                self.times,
                retries=len(self._retry),
                queued=len(self._queue),
                batch=self.settings.generator.batch,
                running_left_ms=(left or 0.0) * 1000.0,
            )
            return [
                QueueEntry(position=i, job_id=j.id, nickname=j.nickname, prompt=j.prompt, eta_s=e)
                for i, (j, e) in enumerate(zip(jobs, etas, strict=True), start=1)
            ]

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once models are loaded; False on timeout or when loading failed."""
        return self._ready.wait(timeout) and self.load_error is None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job waits or runs (or loading failed); while staff have paused
        drawing, until the running batch is done (waiting jobs stay for the resume)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._working() and self.load_error is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return self.load_error is None

    def _busy(self) -> bool:
        return bool(len(self._queue) or self._retry or self._inflight)

    def _working(self) -> bool:
        """Something is being drawn, or will be: waiting jobs count only when not paused."""
        return bool(self._inflight) or (not self.paused and self._busy())

    def _done_event(self, job_id: int | None, sub: Submission, dedup: bool) -> Done:
        """The `done` event of a drawing (or a dedup hit): its rank and best as stored now."""
        return Done(
            job_id=job_id,
            submission_id=sub.id,
            nickname=sub.nickname,
            prompt=sub.prompt,
            target=sub.target_id,
            score=sub.percent,
            cosine=sub.cosine,
            rank=sub.rank,
            best=sub.best,
            dedup=dedup,
            image=str(self.image_path(sub)),
            gen_ms=sub.gen_ms,
            judge_ms=sub.judge_ms,
            flagged=sub.held,
            text_penalty=bool(sub.flags) and not sub.held and "text" in sub.flags,
        )

    # -- the worker thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._work()
        finally:
            with self._cond:
                stopping = self._stopping
            if stopping:  # stop() may have given up waiting: the lock is ours to drop
                self._lock.release()

    def _work(self) -> None:
        try:
            self._load_models()
        except Exception as exc:
            self.load_error = str(exc) or type(exc).__name__
            log.debug("model loading failed", exc_info=True)
            self._publish(ModelsFailed(reason=self.load_error))
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
            while not (self._busy() and not self.paused) and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return False
            if self._retry:
                self._inflight = [self._retry.popleft()]
            else:
                size = min(self.settings.generator.batch, len(self._queue))
                self._inflight = [self._queue.pop() for _ in range(size)]
            self._inflight_since = time.perf_counter()
            return True

    def _load_models(self) -> None:
        from kiosk.ml.models import load_models

        start = time.perf_counter()
        self.generator, self.judge = load_models(
            self.settings,
            self.generator,
            self.judge,
            lambda stage, step, total: self._publish(
                ModelsLoading(stage=stage, step=step, total=total)
            ),
        )
        self._runner = BatchRunner(
            store=self.store,
            data_dir=self.data_dir,
            generator=self.generator,
            judge=self.judge,
            publish=self._publish,
            done_event=self._done_event,
            times=self.times,
            safety=self.settings.safety if self.settings.safety.probes else None,
        )
        compile_error = getattr(self.generator, "compile_error", None)
        if compile_error:
            message = f"torch.compile failed, drawing without it: {compile_error}"
            self._publish(Notice(level="warning", message=message))
        self._publish(
            ModelsReady(
                generator=self.generator.name,
                judge=self.judge.name,
                device=self.generator.device,
                tiny=self.settings.tiny,
                load_s=time.perf_counter() - start,
                decoder=str(getattr(self.generator, "decoder", "")),
            )
        )
