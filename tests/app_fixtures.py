"""Helpers for the booth app tests: a scripted fake engine, polling, screens shown.

The real tiny engine drives the behaviour tests; the fake engine makes the SVG
snapshots deterministic (the real scores depend on the data dir's path, which
is part of the model names and so of the generation seed).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from builders import REPO
from textual.app import App
from textual.message import Message
from textual.pilot import Pilot
from textual.screen import Screen

from kiosk.core.api import (
    KEYBOARD,
    AuditRow,
    BoardRow,
    EngineAPI,
    EventStats,
    QueueEntry,
    RaffleResult,
    Recent,
    Stats,
    Submission,
)
from kiosk.core.commands import StaffCommand, StaffError, StaffOutcome
from kiosk.core.config import Settings
from kiosk.core.events import (
    Done,
    Event,
    Failed,
    LeaderboardChanged,
    ModelsFailed,
    ModelsLoading,
    ModelsReady,
    Queued,
    Started,
)
from kiosk.core.policy import PolicyError, clean_field, normalise_prompt, player_key
from kiosk.ui.messages import EngineEvent

E = TypeVar("E", bound=Event)
SIZE = (120, 40)


async def wait_for(
    pilot: Pilot[Any], ready: Callable[[], object], timeout: float = 20.0, what: str = "condition"
) -> None:
    """Let the app run until `ready()` is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.05)


def showing(app: App[Any], screen: type[Screen[Any]]) -> bool:
    """The app shows a screen of this type, composed: its widgets can be queried."""
    return isinstance(app.screen, screen) and app.screen.is_mounted


def fake_percent(prompt: str) -> float:
    """A stable made-up score for a prompt."""
    digest = hashlib.sha256(normalise_prompt(prompt).encode()).digest()
    return 40.0 + int.from_bytes(digest[:4], "big") % 600000 / 10000.0


class FakeEngine:
    """The engine's public surface, scripted: no models, no threads, same events."""

    def __init__(
        self,
        settings: Settings,
        *,
        fail: str | None = None,
        ready: bool = True,
        images: tuple[Path, ...] = (),
    ) -> None:
        self.settings = settings
        self.target_id = settings.active_target.id
        self.data_dir = settings.data_path
        self.load_error: str | None = None
        self.fail = fail
        self.ready = ready
        self.images = images or (REPO / "assets" / "duck.png", REPO / "assets" / "swan.png")
        self.board: list[BoardRow] = []
        self.waiting: list[QueueEntry] = []
        self.originals: dict[str, Done] = {}
        self._subscribers: list[Callable[[Event], None]] = []
        self._next_id = 1
        self.paused = False
        self.pause_scope = ""
        self.staff_log: list[StaffCommand] = []
        self.notes: list[tuple[str, str]] = []

    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def publish(self, event: Event) -> None:
        for fn in list(self._subscribers):
            fn(event)

    def start(self) -> None:
        self.publish(ModelsLoading(stage="loading the drawing model", step=1, total=4))
        if self.fail is not None:
            self.load_error = self.fail
            self.publish(ModelsFailed(reason=self.fail))
        elif self.ready:
            self.publish(
                ModelsReady(
                    generator="fake",
                    judge="fake",
                    device="cpu",
                    tiny=self.settings.tiny,
                    load_s=0.0,
                )
            )

    def claim(self) -> None:
        """Nothing to take: the fake engine writes no data dir."""

    def stop(self, timeout: float = 30.0) -> None:
        """Nothing runs in the background."""

    def needs_code(self, nickname: str) -> bool:
        return False  # the scripted engine claims no nicknames

    def check_code(self, nickname: str, code: str) -> bool:
        return False

    def answer_check(
        self, nickname: str, challenge_id: str, answer: str, *, source: str = KEYBOARD
    ) -> bool:
        return False  # it never asks a human check

    def check_picture(self, picture_id: str) -> Path | None:
        return None

    def submit(
        self,
        nickname: str,
        prompt: str,
        *,
        code: str | None = None,
        typing_cps: float | None = None,
        source: str = KEYBOARD,
    ) -> Done | Queued:
        nick = clean_field(nickname, what="nickname", max_len=24)
        text = clean_field(prompt, what="prompt", max_len=300)
        if not normalise_prompt(text):
            raise PolicyError("Please describe a picture in words.")
        original = self.originals.get(normalise_prompt(text))
        if original is not None:
            done = self._record(nick, text, original.score, original.image, None, dedup=True)
            self.publish(done)
            self.publish(LeaderboardChanged(target=self.target_id))
            return done
        job_id = self._take_id()
        self.waiting.append(
            QueueEntry(
                position=len(self.waiting) + 1,
                job_id=job_id,
                nickname=nick,
                prompt=text,
                eta_s=3.0 * (len(self.waiting) + 1),
            )
        )
        queued = Queued(
            job_id=job_id,
            nickname=nick,
            prompt=text,
            target=self.target_id,
            position=len(self.waiting),
            eta_s=3.0,
        )
        self.publish(queued)
        return queued

    def finish_all(self) -> None:
        """Draw every waiting job: Started, then Done, then a board change."""
        jobs, self.waiting = self.waiting, []
        for i, entry in enumerate(jobs):
            self.publish(
                Started(
                    job_id=entry.job_id,
                    nickname=entry.nickname,
                    prompt=entry.prompt,
                    batch=len(jobs),
                )
            )
            image = str(self.images[i % len(self.images)])
            done = self._record(
                entry.nickname,
                entry.prompt,
                fake_percent(entry.prompt),
                image,
                entry.job_id,
                dedup=False,
            )
            self.originals[normalise_prompt(entry.prompt)] = done
            self.publish(done)
        self.publish(LeaderboardChanged(target=self.target_id))

    def fail_all(self, reason: str) -> None:
        jobs, self.waiting = self.waiting, []
        for entry in jobs:
            self.publish(
                Failed(
                    job_id=entry.job_id, nickname=entry.nickname, prompt=entry.prompt, reason=reason
                )
            )

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _record(
        self, nick: str, prompt: str, score: float, image: str, job_id: int | None, *, dedup: bool
    ) -> Done:
        sid = self._take_id()
        mine = [r for r in self.board if player_key(r.nickname) == player_key(nick)]
        if not mine or mine[0].percent < score:
            self.board = [r for r in self.board if r not in mine]
            self.board.append(
                BoardRow(
                    rank=0,
                    nickname=nick,
                    percent=score,
                    cosine=score / 100,
                    prompt=prompt,
                    image=image,
                    submission_id=sid,
                    reached_at=sid,
                )
            )
        self.board.sort(key=lambda r: (-r.percent, r.reached_at))
        self.board = [replace(r, rank=i) for i, r in enumerate(self.board, start=1)]
        rank = next(r.rank for r in self.board if player_key(r.nickname) == player_key(nick))
        best = next(r.percent for r in self.board if player_key(r.nickname) == player_key(nick))
        return Done(
            job_id=job_id,
            submission_id=sid,
            nickname=nick,
            prompt=prompt,
            target=self.target_id,
            score=score,
            cosine=score / 100,
            rank=rank,
            best=best,
            dedup=dedup,
            image=image,
            gen_ms=0.0,
            judge_ms=0.0,
        )

    def staff(self, cmd: StaffCommand, actor: str = "staff") -> StaffOutcome:
        """Staff actions on the scripted board: `hide` drops a player's rows."""
        self.staff_log.append(cmd)
        if cmd.action == "hide":
            key = player_key(cmd.subject)
            self.board = [r for r in self.board if player_key(r.nickname) != key]
        return StaffOutcome(action=cmd.action, subject=cmd.subject, ok=True, message="done")

    def raffle(self, *, actor: str = "staff", **options: Any) -> RaffleResult:
        raise StaffError("the fake engine draws no raffles")

    def redraw(self, raffle_id: int, absent: str, actor: str = "staff") -> RaffleResult:
        raise StaffError("the fake engine draws no raffles")

    def recent(self, limit: int = 100, nickname: str = "") -> list[Recent]:
        """The board's rows as submissions, newest first, at fixed times (snapshots)."""
        rows = sorted(self.board, key=lambda r: -r.submission_id)
        return [
            Recent(
                id=r.submission_id,
                nickname=r.nickname,
                prompt=r.prompt,
                percent=r.percent,
                created_at=1_767_225_600.0 + 60 * r.submission_id,
                image=r.image,
                dedup=False,
                hidden=False,
                staff=False,
                banned=False,
            )
            for r in rows
            if nickname.casefold() in r.nickname.casefold()
        ][:limit]

    def audit(self, limit: int = 200) -> list[AuditRow]:
        return []

    def event_stats(self) -> EventStats:
        return EventStats(
            players=len(self.board),
            drawings=len(self.originals),
            submissions=self._next_id - 1,
            dedup_hits=0,
            refusals=0,
            hidden=0,
            per_10_min=[],
            score_bins=[0] * 20,
            top_submitters=[],
            most_refused=[],
            draw_ms_p50=None,
            draw_ms_p95=None,
        )

    def note_staff(self, action: str, subject: str = "") -> None:
        self.notes.append((action, subject))

    def queue_snapshot(self) -> list[QueueEntry]:
        return list(self.waiting)

    def leaderboard(self, limit: int = 20, target_id: str | None = None) -> list[BoardRow]:
        return self.board[:limit]

    def image_path(self, item: Submission | BoardRow | Recent) -> Path:
        return self.data_dir / item.image

    def original_path(self, item: Recent) -> Path:
        return self.data_dir / item.image

    def held_for_review(self, limit: int = 100) -> list[Recent]:
        return []  # the scripted engine has no safety probes

    def stats(self) -> Stats:
        return Stats(
            players=len(self.board),
            submissions=self._next_id,
            dedup_hits=0,
            pending_jobs=len(self.waiting),
            top_submitter=None,
            top_submitter_count=0,
        )


def _fake_engine_is_an_engine(fake: FakeEngine) -> EngineAPI:
    """mypy checks here that the fake implements the Protocol the app takes."""
    return fake


def engine_events(seen: Sequence[Message], kind: type[E]) -> list[E]:
    """The engine events of one kind among the messages an app delivered (message_hook)."""
    return [m.event for m in seen if isinstance(m, EngineEvent) and isinstance(m.event, kind)]


@asynccontextmanager
async def booth(
    app: Any, message_hook: Callable[[Message], None] | None = None
) -> AsyncIterator[Pilot[Any]]:
    """Run the booth app until its models are ready; stop its engine afterwards."""
    try:
        async with app.run_test(size=SIZE, message_hook=message_hook) as pilot:
            await wait_for(pilot, lambda: app.models_ready, 30, "models to load")
            yield pilot
    finally:
        app.stop_engine(10)


def svg_text(svg: str) -> str:
    """The words of a Textual SVG screenshot: its <text> runs, without the markup (a
    nickname like "cy" must not be found in an attribute such as cy="0")."""
    import html
    import re

    body = re.sub(r"<style.*?</style>", "", svg, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]*>", "", body)).replace("\xa0", " ")
