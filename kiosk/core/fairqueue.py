"""Round-robin queue across players: a flooder waits behind everyone, not in front."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from kiosk.core.api import Job


class FairQueue:
    """Jobs grouped per player; players take turns, one job per turn.

    Not thread-safe on its own: the engine guards it with its condition lock.
    """

    def __init__(self) -> None:
        self._jobs: dict[int, deque[Job]] = {}
        self._turns: deque[int] = deque()

    def __len__(self) -> int:
        return sum(len(q) for q in self._jobs.values())

    def push(self, job: Job) -> None:
        if job.player_id not in self._jobs:
            self._jobs[job.player_id] = deque()
            self._turns.append(job.player_id)
        self._jobs[job.player_id].append(job)

    def pop(self) -> Job:
        """The next job in turn; its player goes to the back of the line."""
        pid = self._turns.popleft()
        queue = self._jobs[pid]
        job = queue.popleft()
        if queue:
            self._turns.append(pid)
        else:
            del self._jobs[pid]
        return job

    def count(self, player_id: int) -> int:
        return len(self._jobs.get(player_id, ()))

    def __iter__(self) -> Iterator[Job]:
        """Jobs in the order they will run, without changing the queue."""
        jobs = {pid: deque(q) for pid, q in self._jobs.items()}
        turns = deque(self._turns)
        while turns:
            pid = turns.popleft()
            yield jobs[pid].popleft()
            if jobs[pid]:
                turns.append(pid)

    def position(self, job_id: int) -> int:
        """1-based place of a job in the running order, 0 if it is not queued."""
        for i, job in enumerate(self, start=1):
            if job.id == job_id:
                return i
        return 0
