"""Engine events to the phones they concern, and the caps on what phones hold open.

The engine publishes from its threads (a submit's caller, the model thread, the
writers); the hub hands each event to the server's event loop with
`call_soon_threadsafe`, in order, and routes it there: a job's events to the devices
whose job it is, board changes to every phone. A prompt a phone submits is submitted in
a thread marked with its device, so the `queued` (or dedup `done`) it publishes names
that device before any later event of the job can arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from kiosk.core.api import QueueEntry
from kiosk.core.events import (
    Done,
    Event,
    Failed,
    LeaderboardChanged,
    Progress,
    Queued,
    Refused,
    Retrying,
    Started,
    TargetChanged,
)
from kiosk.core.floods import Challenge
from kiosk.core.policy import player_key

STREAM_BACKLOG = 64
"""Events one stream may have waiting; a phone that reads slower loses the oldest."""
BOARD_EVERY_S = 1.0
"""At most one top 10 a second to every phone, however fast drawings finish: read and
serialised once, sent as the same bytes to every stream (no phone fetches it)."""


@dataclass(frozen=True)
class Notice:
    """Something for one device's streams that is not an engine event (a refusal, a
    check asked), already in the words of the phone's language by the caller."""

    payload: dict[str, object]


@dataclass(frozen=True)
class Moved:
    """A device's waiting job moved up the queue."""

    job_id: int
    position: int
    eta_s: float | None
    paused: bool


@dataclass(frozen=True)
class Frame:
    """An event already written out, the same for every phone (the top 10)."""

    data: bytes


Item = Event | Notice | Moved | Frame | None
"""What a stream's queue holds; None ends the stream."""


class Hub:
    """The phones' side of the engine's events, on one event loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: Callable[[], list[QueueEntry]],
        paused: Callable[[], bool],
        board: Callable[[], Awaitable[Frame]],
    ) -> None:
        self.loop = loop
        self._queue = queue
        self._paused = paused
        self._board = board
        self._board_timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._moving = self._moved_again = False
        self._drawing: set[int] = set()
        """Phones' jobs started (their `started` went out: no later `queued` may)."""
        self.board_version = 0
        """Counts board changes (the server's cached top 10 is of one version)."""
        self.streams: dict[str, set[asyncio.Queue[Item]]] = defaultdict(set)
        self.jobs: dict[int, dict[str, str]] = {}
        """job id -> {device: the player key it plays as}: whose events a job's are."""
        self.challenges: dict[str, Challenge] = {}
        """The human check each device was asked last (its pictures are served)."""
        self._local = threading.local()

    # -- from the engine's threads -------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Engine subscriber (any thread): route it on the loop, in publishing order."""
        device = getattr(self._local, "device", None)
        if device is not None and isinstance(event, Refused):
            self._local.refused = event.kind
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
            self.loop.call_soon_threadsafe(self._route, event, device)

    @contextlib.contextmanager
    def submitting(self, device: str) -> Iterator[Callable[[], str | None]]:
        """Mark this thread's events as the device's (around `engine.submit`); gives a
        function that says the kind of the refusal the engine published, if any."""
        self._local.device = device
        self._local.refused = None
        try:
            yield lambda: getattr(self._local, "refused", None)
        finally:
            self._local.device = None

    # -- on the loop ----------------------------------------------------------------------

    def _route(self, event: Event, device: str | None) -> None:
        if isinstance(event, LeaderboardChanged | TargetChanged):
            self.board_version += 1
            if isinstance(event, TargetChanged):  # a new picture: the page reloads both
                self.broadcast(event)
            elif self._board_timer is None:
                self._board_timer = self.loop.call_later(BOARD_EVERY_S, self._send_board)
        elif device is not None:
            if isinstance(event, Queued):
                self.jobs.setdefault(event.job_id, {})[device] = player_key(event.nickname)
                self.push(device, event)
            elif isinstance(event, Done):
                self.push(device, event)
            # refused and challenge: the request that caused them says them (in words)
        elif isinstance(event, Started | Retrying):
            if event.job_id in self.jobs:
                self._drawing.add(event.job_id)
            for d in self.jobs.get(event.job_id, {}):
                self.push(d, event)
            self._moved()
        elif isinstance(event, Progress):
            owners = {d for j in event.job_ids for d in self.jobs.get(j, {})}
            for d in owners:
                self.push(d, event)
        elif isinstance(event, Done | Failed) and event.job_id is not None:
            self._finish(event.job_id, event)

    def _send_board(self) -> None:
        self._board_timer = None
        task = self.loop.create_task(self._board_to_all())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _board_to_all(self) -> None:
        with contextlib.suppress(Exception):  # the next change sends it again
            self.broadcast(await self._board())

    def _moved(self) -> None:
        """A job left the queue: the phones' waiting jobs each moved up one. The queue is
        read off the loop (it waits on the engine's lock), once for moves that come
        while it is being read."""
        if not self.jobs:
            return
        if self._moving:
            self._moved_again = True
            return
        self._moving = True
        task = self.loop.create_task(self._tell_moves())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _tell_moves(self) -> None:
        try:
            while True:
                self._moved_again = False
                entries = await self.loop.run_in_executor(None, self._queue)
                paused = self._paused()
                for entry in entries:
                    if entry.job_id in self._drawing:  # started while the queue was read
                        continue
                    for d in self.jobs.get(entry.job_id, {}):
                        self.push(d, Moved(entry.job_id, entry.position, entry.eta_s, paused))
                if not self._moved_again:
                    return
        except Exception:  # the next move tells them
            return
        finally:
            self._moving = False

    def _finish(self, job_id: int, event: Done | Failed) -> None:
        """A job's end, to the devices of the player it is for (several players can
        share a job: each has their own done event)."""
        owners = self.jobs.get(job_id)
        if not owners:
            return
        key = player_key(event.nickname)
        for d in [d for d, k in owners.items() if k == key]:
            self.push(d, event)
            del owners[d]
        if not owners:
            del self.jobs[job_id]
            self._drawing.discard(job_id)

    def push(self, device: str, item: Event | Notice | Moved) -> None:
        for queue in self.streams.get(device, ()):
            _offer(queue, item)

    def broadcast(self, item: Event | Frame) -> None:
        for queues in self.streams.values():
            for queue in queues:
                _offer(queue, item)

    def open(self, device: str) -> asyncio.Queue[Item]:
        queue: asyncio.Queue[Item] = asyncio.Queue(STREAM_BACKLOG)
        self.streams[device].add(queue)
        return queue

    def close(self, device: str, queue: asyncio.Queue[Item]) -> None:
        queues = self.streams.get(device)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self.streams[device]

    def count(self, device: str | None = None) -> int:
        """Streams open (of one device, or in all)."""
        if device is not None:
            return len(self.streams.get(device, ()))
        return sum(len(q) for q in self.streams.values())

    def end_all(self) -> None:
        """Every stream ends (the server stops)."""
        if self._board_timer is not None:
            self._board_timer.cancel()
        for queues in self.streams.values():
            for queue in queues:
                with contextlib.suppress(asyncio.QueueFull):
                    _offer(queue, None)


def _offer(queue: asyncio.Queue[Item], item: Item) -> None:
    """Put without waiting; when the stream is full, its oldest item makes room."""
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(item)
