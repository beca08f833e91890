"""The engine's public seam: the domain types and the EngineAPI Protocol the UI talks to.

The booth app takes an `EngineAPI`, not the concrete engine, so a test double that
implements the same Protocol is checked by mypy against it. Domain types are small
frozen keyword-only dataclasses shared by the engine, the store and the UI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from enum import IntEnum, IntFlag
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from kiosk.core.commands import StaffCommand, StaffOutcome
from kiosk.core.events import Done, Event, Queued

KEYBOARD = "keyboard"
"""The booth's keyboard as a source of prompts (a phone is `phone:<device id>`)."""

T = TypeVar("T")


def from_row(cls: type[T], row: Sequence[Any], **extra: Any) -> T:
    """A dataclass from a database row whose columns follow the class's field order
    (fields given in `extra` are not in the row; trailing fields with defaults may be
    left out of it)."""
    names = [f.name for f in fields(cast(Any, cls)) if f.name not in extra]
    return cls(**dict(zip(names[: len(row)], row, strict=True)), **extra)


class StoreError(Exception):
    """The database cannot be used; the message says why in plain words."""


class StoreOffline(StoreError):
    """The event's shared store cannot be reached right now (its server or the network):
    it comes back by itself, and the booth with it."""


class JobMoved(StoreError):
    """A job this booth was drawing is no longer its own (staff handed it to another
    booth, which draws it): nothing of it is committed here."""


class InFlight(StoreError):
    """Another booth accepted the same drawing a moment ago, between this booth's look
    and its write: nothing was written; the prompt joins that booth's job instead."""


@dataclass(frozen=True, kw_only=True)
class Job:
    """Accepted work that has not produced a submission yet."""

    id: int
    player_id: int
    nickname: str
    target_id: str
    raw_prompt: str
    prompt: str
    norm_prompt: str
    dedup_key: str
    seed: int
    created_at: float
    source: str = KEYBOARD
    """Where the prompt came from: the unit of fair play (KEYBOARD, or `phone:<device id>`)."""
    booth: str = ""
    """The booth that owns it (accepted it, or adopted it): only its GPU draws it."""


def is_phone(source: str) -> bool:
    """Whether a source is one phone (limited as a device), not the booth's keyboard (many
    people in turn)."""
    return source != KEYBOARD


@dataclass(frozen=True, kw_only=True)
class Waiter:
    """A prompt that joined a job already waiting or drawing with the same dedup key:
    it gets that job's drawing and score when it is done, without a job of its own."""

    id: int
    job_id: int
    player_id: int
    nickname: str
    raw_prompt: str
    prompt: str
    created_at: float
    booth: str = ""
    """The booth where the prompt was typed."""


@dataclass(frozen=True, kw_only=True)
class Submission:
    """One scored drawing as stored."""

    id: int
    player_id: int
    nickname: str
    target_id: str
    prompt: str
    dedup_key: str
    image: str
    cosine: float
    percent: float
    seed: int
    gen_ms: float
    judge_ms: float
    created_at: float
    dedup_of: int | None
    flags: str = ""
    """What the safety probes found ("" nothing)."""
    review: int = 0
    """A `Review` state."""
    rank: int | None = None
    """The player's place on the target's board once this was committed (None: not on it)."""
    best: float | None = None
    """The player's best score on the target as it counts then (None: none counts)."""

    @property
    def held(self) -> bool:
        return self.review == Review.HELD


class Review(IntEnum):
    """Submission.review: nothing to review, held for staff (blurred, not ranked), approved."""

    NONE = 0
    HELD = 1
    APPROVED = 2


class Hidden(IntFlag):
    """Why a drawing is hidden, a set: each hide sets its own reason, each unhide clears only it."""

    ALONE = 1  # staff hid this drawing itself (hide-submission)
    WITH_PLAYER = 2  # its player is hidden: set on their drawings, and on what they submit later
    WITH_ORIGINAL = 4  # staff hid the original drawing this dedup copy shows


def ranks(*, hidden: int, staff: bool, review: int) -> bool:
    """Who ranks: a drawing not hidden, not by staff, not held for review (see storage.board)."""
    return not hidden and not staff and review != Review.HELD


@dataclass(frozen=True, kw_only=True)
class Result:
    """What the worker produced for one job, ready to commit."""

    image: str
    cosine: float
    percent: float
    gen_ms: float
    judge_ms: float
    generator: str
    judge: str
    flags: str = ""
    """What the safety probes found, when they held the drawing or took a penalty."""
    review: int = 0
    """Review.HELD: blurred and not ranked until staff approve it."""


@dataclass(frozen=True, kw_only=True)
class BoardRow:
    """One leaderboard line."""

    rank: int
    nickname: str
    percent: float
    cosine: float
    prompt: str
    image: str
    submission_id: int
    reached_at: float


@dataclass(frozen=True, kw_only=True)
class Stats:
    """Event counters."""

    players: int
    submissions: int
    dedup_hits: int
    pending_jobs: int
    top_submitter: str | None
    """The player with the most prompts drawn (dedup hits do not count)."""
    top_submitter_count: int


@dataclass(frozen=True, kw_only=True)
class QueueEntry:
    """One waiting job as the queue pane shows it."""

    position: int
    job_id: int
    nickname: str
    prompt: str
    eta_s: float | None


@dataclass(frozen=True, kw_only=True)
class AuditRow:
    """One staff action (or attempt) as recorded: never deleted."""

    id: int
    at: float
    actor: str
    action: str
    subject: str
    reason: str
    booth: str = ""
    """The booth where staff acted ('' before booths were named)."""


@dataclass(frozen=True, kw_only=True)
class PlayerFlags:
    """A player and what staff set on them."""

    id: int
    nickname: str
    staff: bool
    banned: bool
    hidden: bool


@dataclass(frozen=True, kw_only=True)
class Entrant:
    """A player eligible for a raffle: their best on the target, in board order."""

    player_id: int
    nickname: str
    percent: float


@dataclass(frozen=True)
class Hid:
    """What a hide or unhide of one drawing did: how many drawings it touched (the one,
    with its dedup copies), and how many of them are hidden after it."""

    drawings: int
    hidden: int


@dataclass(frozen=True)
class CarriedPlayer:
    """A player staff flagged: the flags that go with them into the next event day."""

    key: str
    nickname: str
    banned: bool
    staff: bool
    hidden: bool


@dataclass(frozen=True)
class StaffState:
    """Staff settings of one event day that outlive it, and the target staff switched to
    (for the archive's manifest: a fresh event starts on the config's target)."""

    words: list[tuple[str, bool, float, str]] = field(default_factory=list)
    """(word, blocked, at, actor), oldest change first."""
    players: list[CarriedPlayer] = field(default_factory=list)
    target: str | None = None

    def with_flag(self, flag: str) -> list[str]:
        """Nicknames of the carried players with this flag ("banned", "staff", "hidden")."""
        return [p.nickname for p in self.players if getattr(p, flag)]

    def words_blocked(self, blocked: bool) -> list[str]:
        return [w for w, b, _, _ in self.words if b == blocked]


@dataclass(frozen=True, kw_only=True)
class Recent:
    """A submission as staff moderate it: who, what, score, when, and its flags."""

    id: int
    nickname: str
    prompt: str
    percent: float
    created_at: float
    image: str
    dedup: bool
    hidden: bool
    staff: bool
    banned: bool
    held: bool = False
    """The safety probes held it: blurred and not ranked until staff approve it."""
    flags: str = ""


@dataclass(frozen=True, kw_only=True)
class Redraw:
    """A raffle winner who was not there, and who won in their place (None: nobody left)."""

    absent: str
    winner: str | None


@dataclass(frozen=True, kw_only=True)
class RaffleResult:
    """A raffle: its winners, the seed and the eligible list it was drawn from."""

    raffle_id: int
    target: str
    rule: str
    seed: int
    eligible: list[Entrant]
    winners: list[Entrant]
    """The winners now: each redraw applied."""
    redraws: tuple[Redraw, ...] = ()
    """The winners who were not there, and who won in their place."""


@dataclass(frozen=True, kw_only=True)
class Submitter:
    """One player's prompts, told apart: drawn (the model worked), dedup hits (answered
    from an earlier drawing), refused (rate limit, words, a ban...)."""

    nickname: str
    drawn: int
    dedup_hits: int
    refusals: int


@dataclass(frozen=True, kw_only=True)
class EventStats:
    """The event at a glance, for staff: counts, activity, scores, drawing times."""

    players: int
    drawings: int
    submissions: int
    dedup_hits: int
    refusals: int
    hidden: int
    per_10_min: list[int]
    """Submissions in each 10-minute slot, oldest first, up to the last 36 (6 hours)."""
    score_bins: list[int]
    """Drawings (originals) by score: 0-5%, 5-10%, ..., 95-100%."""
    top_submitters: list[Submitter]
    """The players with the most prompts drawn (dedup hits and refusals cost the GPU
    nothing and do not count), most first, up to 5."""
    most_refused: list[Submitter]
    """The players with the most refused prompts (a flood shows here), up to 3."""
    draw_ms_p50: float | None
    draw_ms_p95: float | None
    drawings_per_booth: dict[str, int] = field(default_factory=dict)
    """Drawings (originals) by the booth whose GPU drew them ('' before booths were named)."""


Subscriber = Callable[[Event], None]


class EngineAPI(Protocol):
    """What the booth app needs from an engine; `kiosk.engine.engine.Engine` is the real one."""

    @property
    def target_id(self) -> str:
        """Id of the active target."""
        ...

    @property
    def paused(self) -> bool:
        """Staff paused drawing (prompts are still saved)."""
        ...

    @property
    def pause_scope(self) -> str:
        """Why: "booth" (this booth's own pause), "event" (the whole event's), "" not."""
        ...

    @property
    def load_error(self) -> str | None:
        """Why the models could not be loaded, once that happened."""
        ...

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Receive every event; returns a function that unsubscribes."""
        ...

    def claim(self) -> None:
        """Take the data dir (raises DataDirBusy when another kiosk writes to it)."""
        ...

    def start(self) -> None:
        """Resume pending work and load the models (in the engine's own thread)."""
        ...

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the running batch, then stop; queued work stays persisted."""
        ...

    def submit(
        self,
        nickname: str,
        prompt: str,
        *,
        code: str | None = None,
        typing_cps: float | None = None,
        source: str = KEYBOARD,
    ) -> Done | Queued:
        """Accept one prompt (raises PolicyError, StoreError with a message). `code`: the
        player code of a claimed nickname; `typing_cps`: how fast the prompt was typed
        (the booth measures it); `source`: where it came from, the unit of fair play
        (KEYBOARD, or `phone:<device id>`). A new player's code comes back in
        `player_code`."""
        ...

    def needs_code(self, nickname: str) -> bool:
        """Whether this nickname is claimed: the booth asks for its code."""
        ...

    def check_code(self, nickname: str, code: str) -> bool:
        """Whether `code` is this player's code (staff check a raffle winner's)."""
        ...

    def answer_check(
        self, nickname: str, challenge_id: str, answer: str, *, source: str = KEYBOARD
    ) -> bool:
        """The visitor's answer to a human check (True: passed); `answer` is the number
        pressed or tapped. A phone's check is the device's (`source`), whatever nickname."""
        ...

    def check_picture(self, picture_id: str) -> Path | None:
        """The picture of an open human check's choice (CheckAsked.pictures), for a web
        page; None when no open check has it."""
        ...

    def queue_snapshot(self) -> list[QueueEntry]:
        """Waiting jobs in running order, with positions and ETAs."""
        ...

    def leaderboard(self, limit: int = 20, target_id: str | None = None) -> list[BoardRow]:
        """Each player's best on a target, best first."""
        ...

    def stats(self) -> Stats:
        """Event counters."""
        ...

    def image_path(self, item: Submission | BoardRow | Recent) -> Path:
        """Absolute path of a drawing."""
        ...

    def staff(self, cmd: StaffCommand, actor: str = "staff") -> StaffOutcome:
        """Carry out a staff action (audited); the screens follow by events."""
        ...

    def raffle(self, *, actor: str = "staff", **options: Any) -> RaffleResult:
        """Draw a raffle (raises StaffError when it cannot be drawn)."""
        ...

    def redraw(self, raffle_id: int, absent: str, actor: str = "staff") -> RaffleResult:
        """Replace a raffle winner who is not there (raises StaffError)."""
        ...

    def held_for_review(self, limit: int = 100) -> list[Recent]:
        """Drawings the safety probes held, oldest first."""
        ...

    def original_path(self, item: Recent) -> Path:
        """A drawing itself, even when held (for staff deciding on it)."""
        ...

    def recent(self, limit: int = 100, nickname: str = "") -> list[Recent]:
        """The latest submissions, newest first, optionally of nicknames containing text."""
        ...

    def audit(self, limit: int = 200) -> list[AuditRow]:
        """Staff actions, newest first."""
        ...

    def event_stats(self) -> EventStats:
        """Counts, activity per 10 minutes, score distribution, drawing times."""
        ...

    def note_staff(self, action: str, subject: str = "") -> None:
        """Audit something staff did at the booth (a PIN try's outcome, never the PIN)."""
        ...


class HeadlessEngine(EngineAPI, Protocol):
    """An engine driven from a script (the demo): one can wait for it."""

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once the models are loaded; False on timeout or when loading failed."""
        ...

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job waits or runs (or loading failed)."""
        ...


@dataclass(frozen=True, kw_only=True)
class WallView:
    """What the crowd's screen shows, read in one consistent snapshot of the database."""

    event: str
    target_id: str
    target_title: str
    target_image: Path
    board: list[BoardRow]
    """The top of the active target's board (hidden and staff rows never appear)."""
    on_board: int | None = None
    """How many players rank on it (the board shows only its top); None: not counted."""
    latest: list[Recent]
    """The newest drawings a public screen may show, newest first."""
    players: int
    drawings: int
    raffle: RaffleResult | None
    """The newest raffle (redraws applied), or None before the first."""
    data_dir: Path
    read_at: float
    note: str = ""
    """Why the view may be stale or empty ("waiting for the kiosk", "database busy")."""

    def image(self, item: BoardRow | Recent) -> Path:
        """Absolute path of a drawing on this view."""
        return self.data_dir / item.image


class WallFeed(Protocol):
    """What the wall app needs: a fresh view when the database changed. Called from one
    thread only (the wall's reader), never from the event loop."""

    def poll(self) -> WallView | None:
        """A new view when something was committed since the last one (or on the first
        call, or when the database appeared, went or is busy), else None. Never raises."""
        ...

    def close(self) -> None:
        """Let go of the database."""
        ...
