"""Helpers for engine tests: the real generator with a counter and a gate, an event recorder,
and prompts drawn through an engine by hand (builders.complete, no models)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from builders import complete

from kiosk.core.config import GeneratorSettings, Settings
from kiosk.core.events import Event, Queued
from kiosk.engine.engine import Engine
from kiosk.ml.generate import Generator, Rendered
from kiosk.storage.db import Db
from kiosk.storage.pg import PgDb
from kiosk.storage.store import PgStore, Store


def engine_db(engine: Engine) -> Db | PgDb:
    """The database under an engine (SQLite's or PostgreSQL's): tests read and write its
    rows directly."""
    store = engine.store
    assert isinstance(store, Store | PgStore)
    return store.db


def demo_engine(settings: Settings) -> Engine:
    """The engine `kiosk demo` runs: it checks only the player codes a script gives."""
    return Engine(settings, codes=False)


class CountingGenerator(Generator):
    """The real diffusers generator, counting the prompts it draws once loaded (the
    warm-up and compile calls while loading are not counted)."""

    def __init__(self, settings: GeneratorSettings) -> None:
        super().__init__(settings)
        self.prompts: list[str] = []
        self.calls: list[int] = []  # prompts per call
        self.fail_with: BaseException | None = None
        self.gate: threading.Event | None = None
        self._counting = False

    def load(self) -> None:
        super().load()
        self._counting = True

    def generate(
        self,
        prompts: Sequence[str],
        seeds: Sequence[int],
        progress: Callable[[int, int], object] | None = None,
    ) -> Rendered:
        if not self._counting:
            return super().generate(prompts, seeds, progress)
        if self.gate is not None:
            self.gate.wait(30)
        if self.fail_with is not None:
            raise self.fail_with
        self.prompts.extend(prompts)
        self.calls.append(len(prompts))
        return super().generate(prompts, seeds, progress)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def drawn(engine: Engine, nickname: str, prompt: str, cosine: float) -> int:
    """Accept a prompt and commit a drawing with this score, as the worker would."""
    queued = engine.submit(nickname, prompt)
    assert isinstance(queued, Queued)
    (job,) = [j for j in engine.store.jobs.pending() if j.id == queued.job_id]
    sid = complete(engine.store, job, cosine)
    with engine.bus.cond:  # the worker would have taken it off the queue
        engine.drawer._queue = type(engine.drawer._queue)()
    return sid
