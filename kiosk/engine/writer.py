"""The stages after the drawing: judged on a stage thread, then encoded, written and
committed on writer threads, so the model thread starts the next batch at once.

The model thread hands a drawn batch to the stage thread (at most one more waits there);
the stage thread judges it and hands over one task per drawing to the writers. Their jobs
count as being written (the drawer's wait_idle, queue, ETA and stop see them) until the
task has run: committed, or failed with its reason. The job row stays until the commit, so
a kill before it redraws the job on restart (the same picture: the seed derives from the
dedup key). With no threads, judging and saving run inline on the model thread, as the
kiosk always did.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kiosk.core.api import Job

log = logging.getLogger(__name__)


class Writer:
    """A stage thread and a small pool of writer threads, each with a bounded backlog."""

    def __init__(self, threads: int, cond: threading.Condition, backlog: int) -> None:
        self.threads = threads
        self._cond = cond
        self._backlog = max(backlog, 1)
        self._tickets = 0  # handed out in hand-over order
        self._turn = 0  # the ticket whose commit may run now
        self._local = threading.local()
        self._writing: list[Job] = []  # a requeued job may be in here twice, for a moment
        self._staged: list[list[Job]] = []  # batches drawn, waiting for or being judged
        self._pool = (
            ThreadPoolExecutor(threads, thread_name_prefix="kiosk-writer") if threads else None
        )
        self._stage = ThreadPoolExecutor(1, thread_name_prefix="kiosk-stage") if threads else None

    def jobs(self) -> list[Job]:
        """The jobs whose drawings wait to be written or are being written."""
        with self._cond:
            staged = [j for batch in self._staged for j in batch]
            return list({j.id: j for j in [*staged, *self._writing]}.values())

    def stage(self, jobs: Sequence[Job], task: Callable[[], object]) -> None:
        """Run `task` (judge a drawn batch, then `submit` its drawings) on the stage thread:
        inline without threads. The model thread waits here while a batch already waits."""
        if self._stage is None:
            self._call(task)
            return
        batch = list(jobs)
        with self._cond:
            while len(self._staged) >= 2:  # one being judged, one waiting
                self._cond.wait()
            self._staged.append(batch)
        self._stage.submit(self._run_stage, batch, task)

    def _run_stage(self, batch: list[Job], task: Callable[[], object]) -> None:
        try:
            self._call(task)
        finally:
            with self._cond:
                self._staged = [b for b in self._staged if b is not batch]
                self._cond.notify_all()

    def submit(self, jobs: Sequence[Job], task: Callable[[], object]) -> None:
        """Run `task` for `jobs`: inline without threads, else on a writer thread once the
        backlog has room (the model thread waits here rather than pile up pictures)."""
        if self._pool is None:
            self._call(task)
            return
        with self._cond:
            while len(self._writing) >= self._backlog:
                self._cond.wait()
            self._writing.extend(jobs)
            ticket, self._tickets = self._tickets, self._tickets + 1
        self._pool.submit(self._run, jobs, task, ticket)

    def wait_turn(self) -> None:
        """On a writer thread: wait until every drawing handed over before this one is
        committed or failed, so submissions keep the jobs' order (ties rank by it)."""
        ticket = getattr(self._local, "ticket", None)
        if ticket is None:
            return
        with self._cond:
            while self._turn < ticket:
                self._cond.wait()

    def _run(self, jobs: Sequence[Job], task: Callable[[], object], ticket: int) -> None:
        self._local.ticket = ticket
        try:
            self._call(task)
        finally:
            self.wait_turn()  # tasks end in order too (the pool is FIFO: no deadlock)
            self._local.ticket = None
            with self._cond:
                self._turn = ticket + 1
                for job in jobs:
                    self._writing.remove(job)
                self._cond.notify_all()

    @staticmethod
    def _call(task: Callable[[], object]) -> None:
        try:
            task()
        except Exception:  # tasks fail their jobs themselves; a writer thread must survive
            log.exception("a save task failed unexpectedly")

    def drain(self) -> None:
        """Wait for every task handed over, then stop the threads (the stage first: it
        hands tasks to the writers)."""
        for pool in (self._stage, self._pool):
            if pool is not None:
                pool.shutdown(wait=True)


class HostBatch:
    """A batch of pictures as the writer threads read it: a list of PIL images as it is,
    or a float tensor batch (B, 3, H, W) in [0, 1], turned into 8-bit pixels where it
    lies (the device: a quarter of the bytes to copy, and no per-picture float work on a
    writer thread) and copied to the host once, by the first row asked for."""

    def __init__(self, images: Any) -> None:
        self._images = images
        self._host: Any = images if isinstance(images, list | tuple) else None
        self._lock = threading.Lock()

    def row(self, i: int) -> Any:
        """Picture i: a PIL image or a host tensor of 8-bit pixels (3, H, W)."""
        with self._lock:
            if self._host is None:
                pixels = self._images.detach().float().clamp(0.0, 1.0).mul(255.0).round()
                self._host = pixels.byte().cpu()  # the rounding diffusers' PIL output uses
                self._images = None  # the device memory goes with the model thread's ref
        return self._host[i]


class Countdown:
    """Runs `then` once, when the last of `n` parties has ticked (from any thread)."""

    def __init__(self, n: int, then: Callable[[], object]) -> None:
        self._n = n
        self._then = then
        self._lock = threading.Lock()

    def add(self) -> None:
        """One more party to wait for (before any tick could be the last)."""
        with self._lock:
            self._n += 1

    def tick(self) -> None:
        with self._lock:
            self._n -= 1
            last = self._n == 0
        if last:
            self._then()
