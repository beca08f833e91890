"""Typed events the engine publishes to its subscribers (the TUI, the demo, tests).

Subscribers are called in the thread that caused the event (the caller of
`submit` or the engine's worker): they must hand off quickly, e.g. with
`App.call_from_thread` or a queue.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """Base of every engine event."""

    @property
    def name(self) -> str:
        return _NAMES[type(self)]

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.name, **asdict(self)}


@dataclass(frozen=True)
class ModelsLoading(Event):
    """Model loading advanced to a new stage."""

    stage: str
    step: int
    total: int


@dataclass(frozen=True)
class ModelsReady(Event):
    """Models are loaded and warm; jobs will now run."""

    generator: str
    judge: str
    device: str
    tiny: bool
    load_s: float


@dataclass(frozen=True)
class ModelsFailed(Event):
    """Models could not be loaded; no job will run."""

    reason: str


@dataclass(frozen=True)
class Queued(Event):
    """A job was accepted and waits for the GPU."""

    job_id: int
    nickname: str
    prompt: str
    target: str
    position: int
    eta_s: float | None
    resumed: bool = False


@dataclass(frozen=True)
class Started(Event):
    """A job went to the models, in a batch of `batch` jobs."""

    job_id: int
    nickname: str
    prompt: str
    batch: int


@dataclass(frozen=True)
class Progress(Event):
    """A denoising step of the running batch finished."""

    job_ids: tuple[int, ...]
    step: int
    total: int


@dataclass(frozen=True)
class Done(Event):
    """A drawing was scored and committed (or found already drawn: dedup)."""

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


@dataclass(frozen=True)
class Failed(Event):
    """A job could not be drawn or judged; the reason is in plain words."""

    job_id: int
    nickname: str
    prompt: str
    reason: str


@dataclass(frozen=True)
class Retrying(Event):
    """A job hit a model error and will be tried once more, alone."""

    job_id: int
    nickname: str
    prompt: str
    reason: str


@dataclass(frozen=True)
class Notice(Event):
    """Something the operator should know (tiny models, an old SQLite, ...)."""

    level: str
    message: str


@dataclass(frozen=True)
class LeaderboardChanged(Event):
    """A target's leaderboard may have changed."""

    target: str


_NAMES: dict[type, str] = {
    ModelsLoading: "loading",
    ModelsReady: "ready",
    ModelsFailed: "models_failed",
    Queued: "queued",
    Started: "started",
    Progress: "progress",
    Done: "done",
    Failed: "failed",
    Retrying: "retrying",
    Notice: "notice",
    LeaderboardChanged: "leaderboard_changed",
}
