"""Helpers for engine tests: the real generator with a counter and a gate, an event recorder."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from kiosk.core.config import GeneratorSettings
from kiosk.core.events import Event
from kiosk.ml.generate import Generator, Rendered


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
