"""One batch of jobs through the models, owned by the engine's worker thread.

Dedup re-check (one query) -> one generate call -> one judge call -> atomic PNG -> one
transaction per job -> events. A model error is retried once per job (alone,
with its reason recorded); a second error fails the job. Nothing here may kill
the worker: every error becomes a Failed or Retrying event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from kiosk.core import policy
from kiosk.core.api import (
    BoardRow,
    Job,
    JobMoved,
    Recent,
    Result,
    Review,
    StoreOffline,
    Submission,
    Waiter,
)
from kiosk.core.config import SafetySettings
from kiosk.core.eta import CallTimes
from kiosk.core.events import (
    Done,
    Event,
    Failed,
    Flagged,
    LeaderboardChanged,
    Notice,
    Progress,
    Retrying,
    Started,
)
from kiosk.core.ports import StoreAPI
from kiosk.engine.writer import Countdown, HostBatch, Writer
from kiosk.ml.blur import blurred
from kiosk.storage.images import blurred_relpath, image_relpath, to_pil, write_image

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ATTEMPTS = 2  # the first try and one retry
OFFLINE_RETRY_S = 2.0
"""While the shared store is offline, a drawn picture's commit is tried again this often."""
OFFLINE = (
    "The scoreboard is offline (the shared store cannot be reached): new prompts are"
    " refused, and drawings already made are kept until it is back."
)
BACK = "The scoreboard is back: the drawings kept meanwhile are saved."


class GeneratorLike(Protocol):
    """What the engine needs of a text-to-image model (kiosk.ml.generate.Generator)."""

    @property
    def name(self) -> str: ...
    @property
    def device(self) -> str: ...

    def load(self) -> None: ...
    def generate(
        self,
        prompts: Sequence[str],
        seeds: Sequence[int],
        progress: Callable[[int, int], object] | None = None,
    ) -> Any: ...


class JudgeLike(Protocol):
    """What the engine needs of a judge (scoring.judge.Judge)."""

    @property
    def name(self) -> str: ...

    def load(self) -> None: ...
    def add_target(self, target_id: str, path: str | Path) -> None: ...
    def score(self, images: Sequence[Any], target_ids: Sequence[str]) -> Any: ...


@dataclass(frozen=True)
class _Save:
    """One drawing to save: its job, its row in the batch and what the models said."""

    job: Job
    index: int
    cosine: float
    gen_ms: float
    judge_ms: float
    probe: Any = None


def plain_reason(exc: BaseException) -> str:
    """An exception in words a visitor or operator understands."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "out of memory" in text.lower() or type(exc).__name__ == "OutOfMemoryError":
        return "the GPU ran out of memory while drawing"
    return f"drawing failed: {text[:200]}"


def shown_relpath(item: Submission | BoardRow | Recent) -> str:
    """A drawing as screens may show it, relative to a data dir: a drawing held for
    review shows as its blurred stand-in."""
    held = isinstance(item, Submission | Recent) and item.held
    return blurred_relpath(item.image) if held else item.image


def shown_path(data_dir: Path, item: Submission | BoardRow | Recent) -> Path:
    """Absolute path of a drawing as screens may show it (see shown_relpath)."""
    return data_dir / shown_relpath(item)


def done_event(data_dir: Path, job_id: int | None, sub: Submission, dedup: bool) -> Done:
    """The `done` event of a drawing (or a dedup hit): its rank and best as committed."""
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
        image=str(shown_path(data_dir, sub)),
        gen_ms=sub.gen_ms,
        judge_ms=sub.judge_ms,
        flagged=sub.held,
        text_penalty=bool(sub.flags) and not sub.held and "text" in sub.flags,
    )


@dataclass(kw_only=True)
class BatchRunner:
    """Runs batches for one engine on the model thread; returns the jobs that should be
    retried. Each drawing is saved by a task handed to the writer (inline without one)."""

    store: StoreAPI
    data_dir: Path
    generator: GeneratorLike
    judge: JudgeLike
    publish: Callable[[Event], object]
    times: CallTimes = field(default_factory=CallTimes)
    safety: SafetySettings | None = None
    """What to do with the judge's probe results (None: the probes are off)."""
    writer: Writer | None = None
    """Where saving runs (None: inline on the model thread)."""
    requeue: Callable[[list[Job]], object] = lambda jobs: None
    """Hands back jobs a writer thread found should be retried (a follower whose lead
    could not be saved)."""
    stopping: Callable[[], bool] = lambda: False
    """True once the engine is stopping: a commit waiting for the store gives up (its job
    stays pending, drawn again at the next start)."""
    _finished: set[int] = field(default_factory=set)

    def run(self, batch: list[Job]) -> list[Job]:
        """Process a batch; never raises. Returns jobs to try once more. Its saves may
        still run on writer threads; `leaderboard` goes out after the last of them."""
        self._finished = set()
        targets = {j.target_id for j in batch}
        tail = Countdown(1, lambda: self._leaderboard(targets))
        retry: list[Job] = []
        try:
            retry = self._run(batch, tail)
        except Exception as exc:  # the worker must survive anything
            log.exception("batch failed unexpectedly")
            for job in batch:
                if job.id not in self._finished and job not in retry:
                    self._fail(job, plain_reason(exc))
        tail.tick()
        return retry

    def _leaderboard(self, targets: set[str]) -> None:
        for target in targets:
            self.publish(LeaderboardChanged(target=target))

    def _run(self, batch: list[Job], tail: Countdown) -> list[Job]:
        for job in batch:
            self.publish(
                Started(job_id=job.id, nickname=job.nickname, prompt=job.prompt, batch=len(batch))
            )
        leads: dict[str, Job] = {}
        followers: dict[str, list[Job]] = {}
        keys = [j.dedup_key for j in batch]
        originals = self._kept(lambda: self.store.jobs.find_originals(keys))
        for job in batch:
            original = originals.get(job.dedup_key)
            if original is not None:
                self._finish_dedup(job, original)
            elif job.dedup_key in leads:
                followers.setdefault(job.dedup_key, []).append(job)
            else:
                leads[job.dedup_key] = job
        return self._draw(list(leads.values()), followers, tail) if leads else []

    def _follow(self, followers: list[Job]) -> list[Job]:
        """After their lead's commit (or failure): a dedup hit, or it fails or retries the
        way its lead did."""
        retry: list[Job] = []
        keys = [j.dedup_key for j in followers]
        originals = self._kept(lambda: self.store.jobs.find_originals(keys))
        for job in followers:
            original = originals.get(job.dedup_key)
            if original is not None:
                self._finish_dedup(job, original)
            else:
                retry.extend(self._model_error(job, "the same drawing failed just before"))
        return retry

    def _draw(self, jobs: list[Job], followers: dict[str, list[Job]], tail: Countdown) -> list[Job]:
        """Draw the batch here; judge and save it here too when inline, else on the
        writer's stage thread while this thread draws the next batch."""
        ids = tuple(j.id for j in jobs)
        start = time.perf_counter()
        try:
            drawing = self.generator.generate(
                [j.norm_prompt for j in jobs],
                [j.seed for j in jobs],
                lambda step, total: self.publish(Progress(job_ids=ids, step=step, total=total)),
            )
        except Exception as exc:
            return self._models_failed(jobs, followers, exc)
        if self.writer is None:
            retry = self._judge(jobs, followers, tail, drawing)
            # The whole call as the queue waits for it: judging and saving included.
            self.times.record(len(jobs), (time.perf_counter() - start) * 1000.0)
            return retry
        self.times.record(len(jobs), (time.perf_counter() - start) * 1000.0)
        self._finished.update(j.id for j in [*jobs, *(f for fs in followers.values() for f in fs)])
        tail.add()

        def judge_and_hand_over() -> None:
            try:
                retry = self._judge(jobs, followers, tail, drawing)
            except Exception as exc:  # the stage thread must survive anything
                log.exception("judging a batch failed unexpectedly")
                retry = self._models_failed(jobs, followers, exc)
            finally:
                tail.tick()
            if retry:
                self.requeue(retry)

        waiting = [*jobs, *(f for fs in followers.values() for f in fs)]
        self.writer.stage(waiting, judge_and_hand_over)
        return []

    def _models_failed(
        self, jobs: list[Job], followers: dict[str, list[Job]], exc: BaseException
    ) -> list[Job]:
        """A model error on a batch: each job retries once or fails, and so do followers."""
        log.debug("models failed on a batch", exc_info=True)
        reason = plain_reason(exc)
        failed = [r for job in jobs for r in self._model_error(job, reason)]
        return failed + self._follow([f for fs in followers.values() for f in fs])

    def _judge(
        self, jobs: list[Job], followers: dict[str, list[Job]], tail: Countdown, drawing: Any
    ) -> list[Job]:
        """Score a drawn batch in one judge call, then hand each drawing over to be saved."""
        try:
            verdict = self.judge.score(drawing.images, [j.target_id for j in jobs])
        except Exception as exc:
            return self._models_failed(jobs, followers, exc)
        n = len(jobs)
        probes = getattr(verdict, "probes", None) or [None] * n
        pictures = HostBatch(drawing.images)
        retry: list[Job] = []
        for i, (job, cosine, probe) in enumerate(zip(jobs, verdict.cosines, probes, strict=True)):
            save = _Save(job, i, cosine, drawing.ms / n, verdict.ms / n, probe)
            retry += self._hand_over(save, pictures, followers.get(job.dedup_key, []), tail)
        return retry

    def _hand_over(
        self, save: _Save, pictures: HostBatch, after: list[Job], tail: Countdown
    ) -> list[Job]:
        """Save one drawing, then settle its followers, on the writer (or inline: then
        returns the followers to retry; a writer thread requeues them itself)."""
        retry: list[Job] = []

        def task() -> None:
            try:
                self._save(save, to_pil(pictures.row(save.index)))
            except Exception as exc:  # e.g. a picture the host copy could not read
                log.debug("saving failed", exc_info=True)
                self._fail(save.job, f"could not save the drawing: {exc}")
            finally:
                retry.extend(self._follow(after) if after else [])
                if retry and self.writer is not None:
                    self.requeue(retry)
                tail.tick()

        tail.add()
        self._finished.update(j.id for j in (save.job, *after))
        if self.writer is None:
            task()
            return retry
        self.writer.submit([save.job, *after], task)
        return []

    def _verdict(self, probe: Any, cosine: float) -> tuple[float, str, int]:
        """(cosine to store, flags, review state) from a drawing's probe result: held for
        review when unsafe (or showing words, with `text = "flag"`), or the words penalty
        taken off its score (`text = "penalty"`)."""
        safety = self.safety
        if probe is None or safety is None:
            return cosine, "", 0
        held = bool(probe.flagged) or (bool(probe.text) and safety.text == "flag")
        penalised = bool(probe.text) and safety.text == "penalty"
        if penalised:
            cosine *= 1.0 - safety.text_penalty
        return cosine, str(probe.flags) if held or penalised else "", Review.HELD if held else 0

    def _save(self, save: _Save, image: Any) -> None:
        """Write the drawing (and its blurred stand-in when held), then commit it in one
        transaction that deletes the job row; a failure fails the job with its reason."""
        job = save.job
        rel = image_relpath(job.dedup_key)
        cosine, flags, review = self._verdict(save.probe, save.cosine)
        try:
            write_image(image, self.data_dir / rel)
            shown = [rel]
            if review == Review.HELD:  # what every screen shows until staff approve it
                write_image(blurred(image), self.data_dir / blurred_relpath(rel))
                shown.append(blurred_relpath(rel))
            for path in shown:  # on a shared store, where every booth reads them
                self._kept(partial(self.store.pictures.put, self.data_dir, path))
            result = Result(
                image=rel,
                cosine=cosine,
                percent=policy.percent(cosine),
                gen_ms=save.gen_ms,
                judge_ms=save.judge_ms,
                generator=self.generator.name,
                judge=self.judge.name,
                flags=flags,
                review=review,
            )
            if self.writer is not None:  # encoded in parallel, committed in order
                self.writer.wait_turn()
            sub, *followers = self._kept(lambda: self.store.jobs.complete(job, result))
        except JobMoved as exc:
            self._moved(job, exc)
            return
        except Exception as exc:
            log.debug("saving failed", exc_info=True)
            self._fail(job, f"could not save the drawing: {plain_reason(exc).split(': ', 1)[-1]}")
            return
        if sub.held:
            self.publish(
                Flagged(submission_id=sub.id, nickname=sub.nickname, prompt=sub.prompt, flags=flags)
            )
        self.publish(done_event(self.data_dir, job.id, sub, False))
        for follower in followers:
            self.publish(done_event(self.data_dir, job.id, follower, True))

    def _kept(self, write: Callable[[], T]) -> T:
        """Run a step of drawing that needs the store (the re-check, a drawn picture's
        writes); while the shared store is offline, keep the jobs and pictures and try
        again every OFFLINE_RETRY_S (saying so once, and when it is back) until it works,
        or the engine stops (then StoreOffline: the jobs stay pending for the next
        start)."""
        said = False
        while True:
            try:
                done = write()
            except StoreOffline as exc:
                if self.stopping():
                    raise
                if not said:
                    log.warning("keeping a drawing until the store is back: %s", exc)
                    self.publish(Notice(level="error", message=OFFLINE))
                    said = True
                time.sleep(OFFLINE_RETRY_S)
                continue
            if said:
                self.publish(Notice(level="info", message=BACK))
            return done

    def _model_error(self, job: Job, reason: str) -> list[Job]:
        """Record the attempt; retry once, then fail."""
        try:
            attempts = self.store.jobs.record_attempt(job.id, reason)
        except Exception:
            log.exception("could not record a failed attempt")
            attempts = MAX_ATTEMPTS
        if attempts < MAX_ATTEMPTS:
            self.publish(
                Retrying(job_id=job.id, nickname=job.nickname, prompt=job.prompt, reason=reason)
            )
            return [job]
        self._fail(job, reason)
        return []

    def _moved(self, job: Job, exc: JobMoved) -> None:
        """Staff handed the job to another booth while it was drawn here: that booth
        commits it; nothing of it is kept here, and its player is not told it failed."""
        self._finished.add(job.id)
        self.publish(Notice(level="info", message=str(exc)))

    def _finish_dedup(self, job: Job, original: Submission) -> None:
        try:
            subs = self.store.jobs.complete_as_dedup(job, original)
        except JobMoved as exc:
            self._moved(job, exc)
            return
        self._finished.add(job.id)
        for sub in subs:
            self.publish(done_event(self.data_dir, job.id, sub, True))

    def _fail(self, job: Job, reason: str) -> None:
        self._finished.add(job.id)
        waiters: list[Waiter] = []
        try:
            waiters = self.store.jobs.fail(job.id, reason)
        except Exception:  # e.g. the disk is full: the job stays pending for next start
            log.exception("could not mark job %s failed", job.id)
        self.publish(Failed(job_id=job.id, nickname=job.nickname, prompt=job.prompt, reason=reason))
        for w in waiters:
            self.publish(Failed(job_id=job.id, nickname=w.nickname, prompt=w.prompt, reason=reason))
