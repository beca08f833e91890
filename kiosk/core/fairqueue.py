"""Round-robin queue across sources, then across players within a source.

A source is the booth's keyboard or one phone (Job.source). Sources take turns, one job
per turn; within a source its players take turns. So a flooder waits behind everyone,
not in front, and a macro that invents a nickname for every prompt still gets one turn
per round: its nicknames share its device's turn.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from kiosk.core.api import Job


class _Line:
    """One source's jobs, grouped per player; its players take turns."""

    def __init__(self) -> None:
        self.jobs: dict[int, deque[Job]] = {}
        self.turns: deque[int] = deque()

    def push(self, job: Job) -> None:
        if job.player_id not in self.jobs:
            self.jobs[job.player_id] = deque()
            self.turns.append(job.player_id)
        self.jobs[job.player_id].append(job)

    def pop(self) -> Job:
        """The next job in turn; its player goes to the back of the source's line."""
        pid = self.turns.popleft()
        queue = self.jobs[pid]
        job = queue.popleft()
        if queue:
            self.turns.append(pid)
        else:
            del self.jobs[pid]
        return job

    def copy(self) -> _Line:
        line = _Line()
        line.jobs = {pid: deque(q) for pid, q in self.jobs.items()}
        line.turns = deque(self.turns)
        return line

    def __len__(self) -> int:
        return sum(len(q) for q in self.jobs.values())


class FairQueue:
    """Sources take turns, one job per turn; within a source, players take turns.

    Not thread-safe on its own: the engine guards it with its condition lock.
    """

    def __init__(self) -> None:
        self._lines: dict[str, _Line] = {}
        self._turns: deque[str] = deque()

    def __len__(self) -> int:
        return sum(len(line) for line in self._lines.values())

    def push(self, job: Job) -> None:
        if job.source not in self._lines:
            self._lines[job.source] = _Line()
            self._turns.append(job.source)
        self._lines[job.source].push(job)

    def pop(self) -> Job:
        """The next job in turn; its source goes to the back of the line."""
        return self._pop(self._lines, self._turns)

    @staticmethod
    def _pop(lines: dict[str, _Line], turns: deque[str]) -> Job:
        source = turns.popleft()
        line = lines[source]
        job = line.pop()
        if line.turns:
            turns.append(source)
        else:
            del lines[source]
        return job

    def count(self, player_id: int) -> int:
        """A player's jobs waiting, from every source."""
        return sum(len(line.jobs.get(player_id, ())) for line in self._lines.values())

    def count_source(self, source: str) -> int:
        """The jobs waiting from one source (the keyboard, or one phone)."""
        line = self._lines.get(source)
        return 0 if line is None else len(line)

    def __iter__(self) -> Iterator[Job]:
        """Jobs in the order they will run, without changing the queue."""
        lines = {source: line.copy() for source, line in self._lines.items()}
        turns = deque(self._turns)
        while turns:
            yield self._pop(lines, turns)

    def position(self, job_id: int) -> int:
        """1-based place of a job in the running order, 0 if it is not queued."""
        for i, job in enumerate(self, start=1):
            if job.id == job_id:
                return i
        return 0
