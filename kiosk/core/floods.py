"""Flood guard: a token bucket per player, and a human check only when a player bursts.

Pure: no I/O and no clock of its own. Every call takes `now` in seconds, so a simulation
can drive it (bench/fairness.py); the engine passes `time.time()`, so a pause it persists
(`paused_until`) still means the same instant after a restart.

`check` is the whole gate for one submission attempt, dedup hits included: it raises a
PolicyError when the attempt is refused and, when it returns, has already spent one token
and counted the prompt towards a burst. There is no separate "accepted" call to forget,
and two threads cannot both spend the last token (a lock guards the state).
"""

from __future__ import annotations

import math
import random
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.core.config import LimitSettings
from kiosk.core.i18n import N_
from kiosk.core.policy import PolicyError

IDLE_FORGET_S = 3600.0
"""A player not seen for this long is forgotten (a full bucket again), unless paused."""
MAX_PLAYERS = 100_000
"""Most players kept at once; past it the longest idle ones are forgotten first."""
SWEEP_S = 60.0
"""How often (in the injected clock) idle players are looked for."""
MAX_CHOICES = 9
"""Pictures in one check: one digit key each."""
_EPS = 1e-9  # float slack, so a bucket refilled to 0.999999999 counts as one token


@dataclass(frozen=True, kw_only=True)
class Choice:
    """One picture of a human check, shown with the number to press."""

    number: int
    """1-based: the key the visitor presses."""
    title: str
    """The picture's target title; show it only where the picture cannot be shown."""
    picture: Path


@dataclass(frozen=True, kw_only=True)
class Challenge:
    """A human check: press the number of the picture named in `question`. It does not
    carry the answer; only the guard knows it."""

    id: str
    question: str
    """E.g. "Press the number of: A swan on a pond"."""
    subject: str
    """The title asked about (the end of `question`)."""
    choices: tuple[Choice, ...]
    """The pictures, in a random order, numbered 1..n."""


class RateLimited(PolicyError):
    """The player's bucket is empty; `retry_in_s` says when the next prompt is possible."""

    def __init__(self, retry_in_s: float) -> None:
        self.retry_in_s = retry_in_s
        super().__init__(N_("Easy! Your next prompt is possible in {wait_s}."), wait_s=retry_in_s)


class CheckRequired(PolicyError):
    """The player burst: answer `challenge` (see FloodGuard.answer) before the next prompt."""

    def __init__(self, challenge: Challenge) -> None:
        self.challenge = challenge
        super().__init__(
            N_("Quick check before your next prompt. Press the number of: {subject}"),
            subject=challenge.subject,
        )


class CheckPaused(PolicyError):
    """Too many failed checks (or wrong player codes) in a row: the player may not play
    until `until`."""

    def __init__(
        self,
        until: float,
        retry_in_s: float,
        msgid: str = N_("Too many wrong answers. Please try again in {wait_s}."),
        **params: object,
    ) -> None:
        self.until = until
        self.retry_in_s = retry_in_s
        super().__init__(msgid, wait_s=retry_in_s, **params)


class CodesPaused(CheckPaused):
    """Too many wrong player codes in a row for one nickname: nobody plays as it until
    `until` (a 4-digit code is not guessed at the rate limit's pace; staff lift it)."""

    def __init__(self, nickname: str, until: float, retry_in_s: float) -> None:
        super().__init__(
            until,
            retry_in_s,
            N_(
                "Too many wrong player codes for {nick}. Please try again in {wait_s},"
                " or ask the staff."
            ),
            nick=nickname,
        )


@dataclass
class _Player:
    """What the guard remembers about one player key."""

    tokens: float
    stamp: float  # when `tokens` was last brought up to date
    seen: float
    recent: deque[float] = field(default_factory=deque)  # accepted prompts in the window
    challenge: Challenge | None = None
    expected: str = ""  # the number that answers `challenge`
    failures: int = 0  # wrong answers in a row
    code_failures: int = 0  # wrong player codes in a row
    paused_until: float = 0.0
    waived: bool = False  # a check was passed: the next prompt is not checked again


class FloodGuard:
    """Rate limit and human check per player key (thread-safe; see the module docstring).

    `pictures` are (title, picture file) pairs, the configured targets: a check shows them
    in a random order and asks for one by its title, fresh each time.
    """

    def __init__(
        self,
        limits: LimitSettings,
        pictures: list[tuple[str, Path]],
        rng: random.Random | None = None,
    ) -> None:
        if not pictures:
            raise ValueError("a human check needs at least one picture")
        self.limits = limits
        self._pictures: list[tuple[str, Path]] = []  # one per title: the question is clear
        for title, path in pictures:
            if all(title != known for known, _ in self._pictures):
                self._pictures.append((title, path))
        self._rng = rng if rng is not None else random.SystemRandom()
        self._refill = limits.rate_per_minute / 60.0  # tokens per second
        self._players: OrderedDict[str, _Player] = OrderedDict()  # least recently seen first
        self._swept = -math.inf
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Players remembered now (bounded: see IDLE_FORGET_S and MAX_PLAYERS)."""
        return len(self._players)

    def check(self, player_key: str, now: float, typing_cps: float | None = None) -> None:
        """Let one submission attempt through, spending a token, or raise: CheckPaused
        while paused, CheckRequired while a check is open or when the player bursts or
        typed faster than `typing_cps_max` chars/s, RateLimited when the bucket is empty.
        A refused attempt spends nothing."""
        with self._lock:
            p = self._touch(player_key, now)
            if p.paused_until > now:
                raise CheckPaused(p.paused_until, p.paused_until - now)
            if p.challenge is not None:
                raise CheckRequired(p.challenge)
            self._refill_bucket(p, now)
            if p.tokens < 1.0 - _EPS:
                raise RateLimited((1.0 - p.tokens) / self._refill)
            window = self.limits.burst_window_s
            while p.recent and p.recent[0] <= now - window:
                p.recent.popleft()
            fast = typing_cps is not None and typing_cps > self.limits.typing_cps_max
            if not p.waived and (fast or len(p.recent) >= self.limits.burst_prompts):
                raise CheckRequired(self._ask(p))
            p.waived = False
            p.tokens = max(0.0, p.tokens - 1.0)
            p.recent.append(now)

    def answer(self, player_key: str, challenge_id: str, answer: str, now: float) -> bool:
        """Whether `answer` (the number pressed) answers the player's open check.

        Right: the burst is forgotten and the next prompt is not checked again. Wrong: the
        check is closed (the next submit draws a fresh one) and counts as a failure;
        `check_failures` in a row pause the player for `check_pause_s` (see
        `paused_until`). No open check with that id: False, and nothing counts."""
        with self._lock:
            p = self._players.get(player_key)
            if p is None or p.challenge is None or p.challenge.id != challenge_id:
                return False
            p.challenge = None
            if answer.strip() == p.expected:
                p.failures = 0
                p.recent.clear()
                p.waived = True
                return True
            p.failures += 1
            if p.failures >= self.limits.check_failures:
                p.failures = 0
                p.paused_until = now + self.limits.check_pause_s
            return False

    def wrong_code(self, player_key: str, now: float, allowed: int) -> float | None:
        """A wrong player code typed for this nickname. `allowed` in a row pause it for
        `check_pause_s`: when the pause ends, else None. Anyone typing them counts, so a
        guesser pauses the nickname itself (staff lift it; see lift_pause)."""
        with self._lock:
            p = self._touch(player_key, now)
            p.code_failures += 1
            if p.code_failures < allowed:
                return None
            p.code_failures = 0
            p.paused_until = max(p.paused_until, now + self.limits.check_pause_s)
            p.challenge = None
            return p.paused_until

    def right_code(self, player_key: str) -> None:
        """The right player code: wrong ones before it no longer count."""
        with self._lock:
            p = self._players.get(player_key)
            if p is not None:
                p.code_failures = 0

    def open_challenge(self, player_key: str) -> Challenge | None:
        """The check the player must answer now, if any (e.g. to show it again)."""
        with self._lock:
            p = self._players.get(player_key)
            return None if p is None else p.challenge

    def paused_until(self, player_key: str, now: float) -> float | None:
        """When the player's pause for failed checks ends; None when not paused at `now`."""
        with self._lock:
            p = self._players.get(player_key)
            return p.paused_until if p is not None and p.paused_until > now else None

    def restore_pause(self, player_key: str, until: float, now: float) -> None:
        """Pause a player until `until` (a persisted pause, at start); past times are ignored."""
        if until <= now:
            return
        with self._lock:
            p = self._touch(player_key, now)
            p.paused_until = max(p.paused_until, until)
            p.challenge = None

    def lift_pause(self, player_key: str) -> None:
        """Staff let a paused player play again (their bucket is kept)."""
        with self._lock:
            p = self._players.get(player_key)
            if p is not None:
                p.paused_until = 0.0
                p.failures = 0
                p.code_failures = 0

    def _touch(self, player_key: str, now: float) -> _Player:
        """The player's state, created with a full bucket; marks them seen, forgets idle ones."""
        self._forget_idle(now)
        p = self._players.get(player_key)
        if p is None:
            if len(self._players) >= MAX_PLAYERS:
                self._evict_one(now)
            p = self._players[player_key] = _Player(
                tokens=float(self.limits.rate_burst), stamp=now, seen=now
            )
        else:
            self._players.move_to_end(player_key)
            p.seen = max(p.seen, now)
        return p

    def _refill_bucket(self, p: _Player, now: float) -> None:
        elapsed = max(0.0, now - p.stamp)  # a clock stepping back refills nothing
        p.tokens = min(float(self.limits.rate_burst), p.tokens + elapsed * self._refill)
        p.stamp = max(p.stamp, now)

    def _forget_idle(self, now: float) -> None:
        """Drop players idle for IDLE_FORGET_S (oldest first), at most once per SWEEP_S."""
        if now - self._swept < SWEEP_S:
            return
        self._swept = now
        idle = []
        for key, p in self._players.items():
            if now - p.seen <= IDLE_FORGET_S:
                break  # ordered by last seen: the rest are more recent
            if p.paused_until <= now:
                idle.append(key)
        for key in idle:
            del self._players[key]

    def _evict_one(self, now: float) -> None:
        """Forget the least recently seen player who is not paused (or the oldest of all)."""
        victim = next(
            (k for k, p in self._players.items() if p.paused_until <= now),
            next(iter(self._players)),
        )
        del self._players[victim]

    def _ask(self, p: _Player) -> Challenge:
        """A fresh check for `p`: new id, new order, a new picture asked for."""
        pictures = list(self._pictures)
        if len(pictures) > MAX_CHOICES:
            pictures = self._rng.sample(pictures, MAX_CHOICES)
        self._rng.shuffle(pictures)
        choices = tuple(
            Choice(number=i, title=title, picture=path)
            for i, (title, path) in enumerate(pictures, start=1)
        )
        asked = self._rng.choice(choices)
        p.challenge = Challenge(
            id=f"{self._rng.getrandbits(64):016x}",
            question=f"Press the number of: {asked.title}",
            subject=asked.title,
            choices=choices,
        )
        p.expected = str(asked.number)
        return p.challenge
