"""Waiting-time estimates from measured model calls, at the batch sizes actually used.

A lone visitor's drawing goes in a batch of one; assuming every batch is full would
show them up to `batch` times the real wait. So each call's time is recorded by its
size, and a queue position's ETA adds the calls before it at the sizes they will have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SMOOTHING = 0.2  # weight of the newest measurement in the running average


@dataclass
class CallTimes:
    """Running average of one model call's wall time (draw + judge + save), by batch size."""

    ms: dict[int, float] = field(default_factory=dict)

    def record(self, size: int, ms: float) -> None:
        old = self.ms.get(size)
        self.ms[size] = ms if old is None else (1 - SMOOTHING) * old + SMOOTHING * ms

    def __bool__(self) -> bool:
        return bool(self.ms)

    def estimate(self, size: int) -> float:
        """ms for a call of `size` jobs: measured, else from the nearest measured size
        (per job when larger: a bigger batch costs at most proportionally more; the same
        time when smaller: a smaller one is not slower). 0.0 before any measurement."""
        if size in self.ms:
            return self.ms[size]
        if not self.ms:
            return 0.0
        near = min(self.ms, key=lambda s: (abs(s - size), -s))
        return self.ms[near] * size / near if size > near else self.ms[near]


def queue_etas(
    times: CallTimes,
    *,
    retries: int,
    queued: int,
    batch: int,
    running_left_ms: float = 0.0,
) -> list[float | None]:
    """Seconds until each waiting job is done, in running order: `retries` jobs first, one
    per call, then `queued` jobs in calls of up to `batch`. `running_left_ms` is what the
    call in progress still needs. None for every job until a call has been timed."""
    if not times:
        return [None] * (retries + queued)
    etas: list[float | None] = []
    clock = max(running_left_ms, 0.0)
    for _ in range(retries):
        clock += times.estimate(1)
        etas.append(clock / 1000.0)
    left = queued
    while left > 0:
        size = min(batch, left)
        clock += times.estimate(size)
        etas.extend([clock / 1000.0] * size)
        left -= size
    return etas
