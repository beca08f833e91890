"""A sitting: the time one visitor plays at the booth's keyboard.

It starts when a nickname is accepted and ends on Ctrl+N, the "I'm done" key, or after
`[event] sitting_idle_s` without a key (not while the visitor's own drawing is on its
way: they are watching the queue). Within a sitting the player code is asked at most
once: the code given to a new player, or typed for a claimed nickname and accepted, is
kept for the rest of the sitting and sent with every prompt. When the sitting ends, all
of it is forgotten, so the next person at the keyboard never plays as the last one.

Pure: no clock of its own (every call takes `now`), no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.core.policy import player_key


@dataclass
class Sitting:
    """Who is at the keyboard now, in which language, and what they are waiting for."""

    nickname: str | None = None
    """The nickname accepted in this sitting (sanitised), None before one is."""
    code: str | None = None
    """The player code that played in this sitting: never asked again within it."""
    jobs: set[int] = field(default_factory=set)
    """This visitor's jobs (their drawings and the ones they joined)."""
    submissions: set[int] = field(default_factory=set)
    """Dedup hits: submissions answered at once with a stored drawing."""
    waiting: set[int] = field(default_factory=set)
    """Jobs not finished yet: while one waits, the sitting does not end on idle."""
    latest_job: int | None = None
    """The job whose state the result pane shows."""
    last_key: float = 0.0

    @property
    def started(self) -> bool:
        return self.nickname is not None

    def is_me(self, nickname: str | None) -> bool:
        """Whether `nickname` is this sitting's player (lookalike letters fold)."""
        return (
            nickname is not None
            and self.nickname is not None
            and player_key(nickname) == player_key(self.nickname)
        )

    def begin(self, nickname: str, now: float) -> bool:
        """A nickname was accepted; True when it is another player than before (their
        jobs, code and result are forgotten)."""
        self.last_key = now
        if self.is_me(nickname):
            self.nickname = nickname
            return False
        self.nickname = nickname
        self.code = None
        self.jobs.clear()
        self.submissions.clear()
        self.waiting.clear()
        self.latest_job = None
        return True

    def code_for(self, nickname: str) -> str | None:
        """The code to send with a prompt of `nickname`: this sitting's, if it is theirs."""
        return self.code if self.is_me(nickname) else None

    def keep_code(self, nickname: str, code: str) -> None:
        """A code played (given to a new player, or typed and accepted)."""
        if self.is_me(nickname):
            self.code = code

    def forget_code(self) -> None:
        """The code was refused (staff gave a new one): ask again."""
        self.code = None

    def queued(self, job_id: int) -> None:
        self.jobs.add(job_id)
        self.waiting.add(job_id)
        self.latest_job = job_id

    def finished(self, job_id: int | None) -> None:
        if job_id is not None:
            self.waiting.discard(job_id)

    def touch(self, now: float) -> None:
        """A key was pressed (or the visitor's drawing arrived)."""
        self.last_key = now

    def idle(self, now: float, idle_s: float, *, typed: bool = False) -> bool:
        """Whether the visitor has walked away: a sitting (or a half-typed form, `typed`)
        with no key for `idle_s` (0: never) and no drawing of theirs still on its way."""
        return (
            idle_s > 0
            and (self.started or typed)
            and not self.waiting
            and now - self.last_key >= idle_s
        )
