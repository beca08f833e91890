"""The drawer: the one thread that owns the models and draws batch after batch.

It holds the fair queue, the retries and the batch being drawn (under the bus's
condition), resumes what a previous run left, loads the models and answers where a
job stands (position, ETA). The caller's side is kiosk.engine.intake.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from kiosk.core.api import Job, QueueEntry, Waiter
from kiosk.core.commands import PauseScope
from kiosk.core.config import TINY_NOTICE, Settings
from kiosk.core.eta import CallTimes, queue_etas
from kiosk.core.events import Failed, ModelsFailed, ModelsLoading, ModelsReady, Notice, Queued
from kiosk.core.fairqueue import FairQueue
from kiosk.core.ports import StoreAPI
from kiosk.engine.batch import BatchRunner, GeneratorLike, JudgeLike
from kiosk.engine.bus import Bus
from kiosk.engine.desk import pause_scope
from kiosk.engine.writer import Writer
from kiosk.storage.images import clean_temp_files
from kiosk.storage.lock import DataDirLock
from kiosk.storage.schema import sqlite_warning

log = logging.getLogger(__name__)


class Drawer:
    """The worker thread, its queue and its models, for one engine."""

    def __init__(
        self,
        settings: Settings,
        store: StoreAPI,
        bus: Bus,
        lock: DataDirLock,
        *,
        times: CallTimes,
        generator: GeneratorLike | None,
        judge: JudgeLike | None,
        pause: PauseScope,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.times = times
        self.generator = generator
        self.judge = judge
        self.pause_scope: PauseScope = pause
        """Why drawing is paused here ("" not): this booth's pause or the whole event's."""
        self.load_error: str | None = None
        self._lock = lock
        self._queue = FairQueue()
        self._retry: deque[Job] = deque()
        self._inflight: list[Job] = []
        self._inflight_since = 0.0
        self._loaded = False
        self._resumed: list[Job] = []
        self._stopping = False
        self._ready = threading.Event()
        self._runner: BatchRunner | None = None
        g = settings.generator
        self.writer = Writer(g.writers, bus.cond, backlog=4 * g.batch)
        """Saves finished drawings off this thread (inline with `writers = 0`)."""
        self._thread: threading.Thread | None = None

    @property
    def paused(self) -> bool:
        """Staff paused drawing here (this booth, or the whole event)."""
        return bool(self.pause_scope)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Resume pending jobs (their `queued` events again), then load the models and
        draw in the worker thread."""
        publish = self.bus.publish
        if self.settings.tiny:
            publish(Notice(level="warning", message=TINY_NOTICE))
        warning = None if self.settings.store.url else sqlite_warning()  # a shared store
        if warning:
            publish(Notice(level="warning", message=warning))
        clean_temp_files(self.settings.data_path)
        self.check_decoder()
        with self.bus.cond:
            self.load_queue()
            places = {e.job_id: (e.position, e.eta_s) for e in self.queue_snapshot()}
            for job in self._resumed:
                position, eta = places[job.id]
                publish(self.queued(job, position, eta, resumed=True))
            jobs = {job.id: job for job in self._resumed}
            for waiter in self.store.jobs.waiters():  # those of failed jobs failed with them
                if waiter.job_id in jobs:
                    position, eta = places[waiter.job_id]
                    job = jobs[waiter.job_id]
                    publish(self.queued(job, position, eta, resumed=True, waiter=waiter))
        self._thread = threading.Thread(target=self._run, name="kiosk-engine", daemon=True)
        self._thread.start()

    def check_decoder(self) -> None:
        """The decoder changes the pictures and can shift scores: say so when this run's
        differs from the last run's on the same data dir."""
        vae = self.settings.generator.vae
        last = self.store.meta.swap("generator.vae", vae)
        if last is not None and last != vae:
            self.bus.publish(
                Notice(
                    level="warning",
                    message=f"The decoder changed since the last run on this data dir ({last}"
                    f" -> {vae}): new drawings may score differently from earlier ones. Keep"
                    " one decoder for a whole event.",
                )
            )

    def load_queue(self) -> None:
        """Build the queue from the database, once (at start, or at an earlier submit):
        the jobs a previous run of this booth left pending (never another booth's: see
        `kiosk staff adopt`). One whose target is no longer configured fails with the
        reason, without model work. Called under the bus's condition."""
        if self._loaded:
            return
        self._loaded = True
        for job in self._drawable(self.store.booths.resume()):
            self._queue.push(job)
            self._resumed.append(job)

    @property
    def loaded(self) -> bool:
        """Whether the queue was built from the store (see load_queue)."""
        return self._loaded

    def adopted(self) -> list[Job]:
        """Jobs this booth owns in the store that this run does not hold yet (after staff
        adopted another booth's): to push. Called under the bus's condition."""
        known = {j.id for j in [*self._queue, *self._retry, *self._inflight, *self.writer.jobs()]}
        pending = self.store.jobs.pending(self.store.booth)
        return self._drawable([j for j in pending if j.id not in known])

    def _drawable(self, jobs: list[Job]) -> list[Job]:
        """The jobs whose target this booth has; the others fail, saying why."""
        targets = {t.id for t in self.settings.targets}
        for job in jobs:
            if job.target_id not in targets:
                self._fail_unknown_target(job)
        return [j for j in jobs if j.target_id in targets]

    def _fail_unknown_target(self, job: Job) -> None:
        reason = f"the target {job.target_id!r} is no longer configured at this booth"
        failed: list[Waiter | Job] = [*self.store.jobs.fail(job.id, reason), job]
        for w in failed:
            self.bus.publish(
                Failed(job_id=job.id, nickname=w.nickname, prompt=w.prompt, reason=reason)
            )

    def stop(self, timeout: float) -> None:
        """Finish the running batch and write what was drawn, then stop the worker and let
        the data dir go (or leave that to the worker when it outlasts `timeout`)."""
        with self.bus.cond:
            self._stopping = True
            self.bus.cond.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the engine is still drawing; the data dir stays locked until then")
                return
        self._let_go()

    def _let_go(self) -> None:
        """The data dir and the booth's name, for the next kiosk."""
        self._lock.release()
        try:
            self.store.release_booth()
        except Exception:  # the process ends soon; the server lets it go with it
            log.warning("could not let the booth's name go", exc_info=True)

    # -- the queue, as the caller's side sees it --------------------------------------------

    def push(self, job: Job) -> None:
        """Queue a new job (under the bus's condition) and wake the worker; a pause set or
        lifted at another booth is read here too."""
        self._queue.push(job)
        if self.paused:
            self._read_pause()
        self.bus.cond.notify_all()

    def held_by(self, player_id: int) -> int:
        """A player's jobs waiting, being drawn or written in this run (the store counts
        the rest)."""
        jobs = {j.id: j for j in [*self._inflight, *self._retry, *self.writer.jobs()]}.values()
        return self._queue.count(player_id) + sum(j.player_id == player_id for j in jobs)

    def held_by_source(self, source: str) -> int:
        """A source's jobs waiting, being drawn or written in this run (pending jobs of an
        earlier run are in the queue from the first submit on: see load_queue)."""
        jobs = {j.id: j for j in [*self._inflight, *self._retry, *self.writer.jobs()]}.values()
        return self._queue.count_source(source) + sum(j.source == source for j in jobs)

    def backlog_s(self) -> float | None:
        """Seconds of drawing until the last waiting job is done (what a new job would
        wait), from measured calls; None before any call was timed."""
        snapshot = self.queue_snapshot()
        return snapshot[-1].eta_s if snapshot else self._running_left_s()

    def place(self, job_id: int) -> tuple[int, float | None]:
        """(position, ETA) of a job: position 0 while it is being drawn."""
        for entry in self.queue_snapshot():
            if entry.job_id == job_id:
                return entry.position, entry.eta_s
        return 0, self._running_left_s()

    def queued(
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

    def _running_left_s(self) -> float | None:
        if not self.times:
            return None
        if not self._inflight:
            return 0.0
        spent = (time.perf_counter() - self._inflight_since) * 1000.0
        return max(self.times.estimate(len(self._inflight)) - spent, 0.0) / 1000.0

    def queue_snapshot(self) -> list[QueueEntry]:
        """Waiting jobs in running order, with positions and ETAs from measured calls."""
        with self.bus.cond:
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
        """Block until no job waits, runs or is being written (or loading failed); while
        staff have paused drawing, until the running batch is saved (waiting jobs stay for
        the resume)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.bus.cond:
            while self._working() and self.load_error is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self.bus.cond.wait(left)
        return self.load_error is None

    def _busy(self) -> bool:
        return bool(len(self._queue) or self._retry or self._inflight)

    def _working(self) -> bool:
        """Something is being drawn, or will be: waiting jobs count only when not paused."""
        busy = bool(self._inflight or self.writer.jobs())
        return busy or (not self.paused and self._busy())

    # -- the worker thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._work()
        finally:
            self.writer.drain()  # every drawing handed over is committed (or failed)
            with self.bus.cond:
                stopping = self._stopping
            if stopping:  # stop() may have given up waiting: the lock is ours to drop
                self._let_go()

    def _work(self) -> None:
        try:
            self._load_models()
        except Exception as exc:
            self.load_error = str(exc) or type(exc).__name__
            log.debug("model loading failed", exc_info=True)
            self.bus.publish(ModelsFailed(reason=self.load_error))
            with self.bus.cond:
                self.bus.cond.notify_all()
            self._ready.set()
            return
        self._ready.set()
        while self._next_batch():
            retry = self._runner.run(self._inflight) if self._runner else []
            with self.bus.cond:
                self._retry.extend(retry)
                self._inflight = []
                self.bus.cond.notify_all()

    def _requeue(self, jobs: list[Job]) -> None:
        """Jobs a writer thread hands back to retry (a follower whose lead failed)."""
        with self.bus.cond:
            self._retry.extend(jobs)
            self.bus.cond.notify_all()

    def _next_batch(self) -> bool:
        """Wait for work; retries go first, one at a time (e.g. after running out of memory).
        A batch holds only jobs this booth still owns as it takes them (see _take)."""
        with self.bus.cond:
            while True:
                while not (self._busy() and not self.paused) and not self._stopping:
                    self.bus.cond.wait()
                    if self.paused and self._busy():  # lifted elsewhere (resume-all)?
                        self._read_pause()
                if self._stopping:
                    return False
                self._read_pause()
                if self.paused:
                    continue  # paused elsewhere (another booth's pause-all): wait here
                if self._retry:
                    batch = [self._retry.popleft()]
                else:
                    size = min(self.settings.generator.batch, len(self._queue))
                    batch = [self._queue.pop() for _ in range(size)]
                self._inflight = self._take(batch)
                if self._inflight:
                    self._inflight_since = time.perf_counter()
                    return True
                self.bus.cond.notify_all()  # nothing left to draw: wait_idle may return

    def _read_pause(self) -> None:
        """The pause as the store has it now: staff at another booth (pause-all) or a
        `kiosk staff` command elsewhere may have set it. It is read as each batch is
        taken, and when the worker wakes while paused: on the shared store another
        booth's commit wakes it (its NOTIFY), on SQLite its next prompt or staff action."""
        try:
            self.pause_scope = pause_scope(self.store)
        except Exception:  # the store is unreachable: keep what we knew
            log.warning("could not read the pause from the store", exc_info=True)

    def _take(self, batch: list[Job]) -> list[Job]:
        """The jobs of a batch this booth still owns (staff may have handed them to another
        booth with `kiosk staff adopt`): the others are dropped here, drawn there."""
        try:
            mine = self.store.booths.owned([j.id for j in batch])
        except Exception:  # unreachable: draw them; the commit checks the owner again
            log.warning("could not check the jobs' owner", exc_info=True)
            return batch
        gone = [j for j in batch if j.id not in mine]
        if gone:
            ids = ", ".join(str(j.id) for j in gone)
            self.bus.publish(
                Notice(level="info", message=f"jobs {ids} went to another booth: drawn there")
            )
        return [j for j in batch if j.id in mine]

    def _load_models(self) -> None:
        from kiosk.ml.models import apply_offline, embedding_cache_dir, load_models

        start = time.perf_counter()
        settings = self.settings
        apply_offline(settings)
        self.generator, self.judge = load_models(
            settings.generator,
            settings.judge,
            [(t.id, settings.target_image(t)) for t in settings.targets],
            safety=settings.safety,
            tiny_root=settings.data_path / "tiny-models" if settings.tiny else None,
            generator=self.generator,
            judge=self.judge,
            cache_dir=embedding_cache_dir(settings),
            stage=lambda stage, step, total: self.bus.publish(
                ModelsLoading(stage=stage, step=step, total=total)
            ),
        )
        safety = self.settings.safety
        self._runner = BatchRunner(
            store=self.store,
            data_dir=self.settings.data_path,
            generator=self.generator,
            judge=self.judge,
            publish=self.bus.publish,
            times=self.times,
            safety=safety if safety.probes else None,
            writer=self.writer if self.writer.threads else None,
            requeue=self._requeue,
            stopping=lambda: self._stopping,
        )
        compile_error = getattr(self.generator, "compile_error", None)
        if compile_error:
            message = f"torch.compile failed, drawing without it: {compile_error}"
            self.bus.publish(Notice(level="warning", message=message))
        self.bus.publish(
            ModelsReady(
                generator=self.generator.name,
                judge=self.judge.name,
                device=self.generator.device,
                tiny=self.settings.tiny,
                load_s=time.perf_counter() - start,
                decoder=str(getattr(self.generator, "decoder", "")),
            )
        )
