"""Typed events the engine publishes to its subscribers (the TUI, the demo, tests).

Subscribers are called in the thread that caused the event (the caller of
`submit` or the engine's worker): they must hand off quickly, e.g. with
`App.call_from_thread` or a queue.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every engine event. `seq` numbers events in the order they were published
    (set by the engine when it publishes; 0 until then)."""

    name: ClassVar[str] = "event"
    seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data: its wire name, then its fields."""
        return {"event": self.name, **asdict(self)}


@dataclass(frozen=True, kw_only=True)
class ModelsLoading(Event):
    """Model loading advanced to a new stage."""

    name: ClassVar[str] = "loading"

    stage: str
    step: int
    total: int


@dataclass(frozen=True, kw_only=True)
class ModelsReady(Event):
    """Models are loaded and warm; jobs will now run."""

    name: ClassVar[str] = "ready"

    generator: str
    judge: str
    device: str
    tiny: bool
    load_s: float
    decoder: str = "full decoder (the pipeline's own VAE)"
    """Which decoder draws the pictures ([generator] vae), in words."""


@dataclass(frozen=True, kw_only=True)
class ModelsFailed(Event):
    """Models could not be loaded; no job will run."""

    name: ClassVar[str] = "models_failed"

    reason: str


@dataclass(frozen=True, kw_only=True)
class Queued(Event):
    """A job was accepted and waits for the GPU."""

    name: ClassVar[str] = "queued"

    job_id: int
    nickname: str
    prompt: str
    target: str
    position: int
    eta_s: float | None
    resumed: bool = False
    joined: bool = False
    """True when the same prompt was already waiting or being drawn: this one joined that
    job (same `job_id`) and gets its drawing and score, after it, without model work."""
    paused: bool = False
    """Staff paused drawing: the prompt is saved and drawn when they resume."""
    player_code: str | None = None
    """Only in what `submit` returns, never published: the code just given to a new
    player (the booth shows it once)."""


@dataclass(frozen=True, kw_only=True)
class Started(Event):
    """A job went to the models, in a batch of `batch` jobs."""

    name: ClassVar[str] = "started"

    job_id: int
    nickname: str
    prompt: str
    batch: int


@dataclass(frozen=True, kw_only=True)
class Progress(Event):
    """A denoising step of the running batch finished."""

    name: ClassVar[str] = "progress"

    job_ids: tuple[int, ...]
    step: int
    total: int


@dataclass(frozen=True, kw_only=True)
class Done(Event):
    """A drawing was scored and committed (or found already drawn: dedup)."""

    name: ClassVar[str] = "done"

    job_id: int | None
    submission_id: int
    nickname: str
    prompt: str
    target: str
    score: float
    cosine: float
    rank: int | None
    best: float | None
    dedup: bool
    image: str
    gen_ms: float
    judge_ms: float
    flagged: bool = False
    """The safety probe flagged the drawing: `image` is a blurred copy, and the score does
    not rank until staff approve it."""
    text_penalty: bool = False
    """The drawing shows written words; the score already has the configured penalty."""
    player_code: str | None = None
    """Only in what `submit` returns, never published (see Queued.player_code)."""
    first_by: str = ""
    """A dedup hit: the nickname whose drawing this is (it ranks before this one)."""


@dataclass(frozen=True, kw_only=True)
class Failed(Event):
    """A job could not be drawn or judged; the reason is in plain words."""

    name: ClassVar[str] = "failed"

    job_id: int
    nickname: str
    prompt: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Retrying(Event):
    """A job hit a model error and will be tried once more, alone."""

    name: ClassVar[str] = "retrying"

    job_id: int
    nickname: str
    prompt: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """Something the operator should know (tiny models, an old SQLite, ...)."""

    name: ClassVar[str] = "notice"

    level: str
    message: str


@dataclass(frozen=True, kw_only=True)
class LeaderboardChanged(Event):
    """A target's leaderboard may have changed."""

    name: ClassVar[str] = "leaderboard_changed"

    target: str


@dataclass(frozen=True, kw_only=True)
class StaffActed(Event):
    """A staff action was carried out (or refused: `ok` False, `message` says why)."""

    name: ClassVar[str] = "staff"

    action: str
    subject: str
    ok: bool
    message: str


@dataclass(frozen=True, kw_only=True)
class TargetChanged(Event):
    """Staff switched the active target: title, picture and board follow."""

    name: ClassVar[str] = "target"

    target: str
    title: str


@dataclass(frozen=True, kw_only=True)
class RaffleDrawn(Event):
    """Staff drew a raffle; it can be replayed from its seed and eligible list."""

    name: ClassVar[str] = "raffle"

    raffle_id: int
    target: str
    rule: str
    seed: int
    eligible: int
    winners: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Refused(Event):
    """A prompt was refused; `reason` is what the visitor was told."""

    name: ClassVar[str] = "refused"

    nickname: str
    prompt: str
    reason: str
    kind: str
    """policy (empty, too long...), rate (too fast), check (a human check is asked),
    paused (failed checks), words (the blocklist), banned, hidden (a hidden prompt),
    queue (too many waiting, for the player or their phone), busy (the queue is full:
    back-pressure), nicknames (too many new nicknames on one phone), code (a claimed
    nickname without its code)."""
    retry_in_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class CheckAsked(Event):
    """A player burst: before their next prompt they must pass a human check (the booth
    shows it; a script cannot answer it)."""

    name: ClassVar[str] = "challenge"

    nickname: str
    challenge_id: str
    question: str
    choices: int
    subject: str = ""
    """The title to find among the pictures (the end of `question`, for a page that says
    it in its own words)."""
    pictures: tuple[str, ...] = ()
    """The choices' opaque ids, numbered 1..n in this order: a web page shows each picture
    from `EngineAPI.check_picture(id)` and sends back the number tapped. They tell
    nothing about the picture."""


@dataclass(frozen=True, kw_only=True)
class Flagged(Event):
    """The safety probe held a drawing for staff review; it is blurred everywhere and does
    not rank until approved."""

    name: ClassVar[str] = "flagged"

    submission_id: int
    nickname: str
    prompt: str
    flags: str
