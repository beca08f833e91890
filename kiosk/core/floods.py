"""Flood guard: token buckets per player and per source, a human check when one bursts.

A source is the booth's keyboard or one phone. A phone is limited as a device, whatever
nicknames it types: its own bucket, its bursts and its human check (a new nickname does
not draw a new check), its wrong answers and pause, and a few new nicknames an hour. The
keyboard is many people in turn: checks, pauses and buckets are per nickname.

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

from kiosk.core.api import KEYBOARD, is_phone
from kiosk.core.checks import Challenge, Choice, draw_check, pool_of
from kiosk.core.config import LimitSettings
from kiosk.core.i18n import N_
from kiosk.core.policy import PolicyError

__all__ = ["Challenge", "Choice", "FloodGuard"]

IDLE_FORGET_S = 3600.0
"""A player or source not seen for this long is forgotten (a full bucket again), unless
paused."""
MAX_PLAYERS = 100_000
"""Most players (and, apart, sources) kept at once; past it the longest idle ones are
forgotten first."""
SWEEP_S = 60.0
"""How often (in the injected clock) idle players are looked for."""
RIGHT_AFTER_WRONG = 2
"""After a wrong answer, the next prompt waits for this many right answers in a row (a
person gives them; a blind guess passes 1 in 36)."""
MAX_DOUBLINGS = 3
"""A pause for wrong answers doubles with each further one, up to 2**3 = 8 times
`check_pause_s`, until the player (the phone) is forgotten (IDLE_FORGET_S)."""
NICKNAME_WINDOW_S = 3600.0
"""A phone's nicknames count as new again after this long unused (`nicknames_per_device`)."""
_EPS = 1e-9  # float slack, so a bucket refilled to 0.999999999 counts as one token


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


class NicknamesLimited(PolicyError):
    """A phone played under `nicknames_per_device` nicknames within the hour: another new
    one waits until one of them has been unused for an hour (`retry_in_s`)."""

    def __init__(self, allowed: int, retry_in_s: float) -> None:
        self.retry_in_s = retry_in_s
        super().__init__(
            N_(
                "This phone has played under {n} nicknames this hour: please keep one of"
                " them, or try a new one in {wait_s}."
            ),
            n=allowed,
            wait_s=retry_in_s,
        )


@dataclass
class _State:
    """What the guard remembers about one player key, or one source."""

    tokens: float
    stamp: float  # when `tokens` was last brought up to date
    seen: float
    recent: deque[float] = field(default_factory=deque)  # attempts in the burst window
    challenge: Challenge | None = None
    expected: str = ""  # the number that answers `challenge`
    failures: int = 0  # wrong answers in a row
    code_failures: int = 0  # wrong player codes in a row
    paused_until: float = 0.0
    waived: bool = False  # a check was passed: the next prompt is not checked again
    owed: int = 0  # right answers owed after a wrong one (RIGHT_AFTER_WRONG): prompts wait
    pauses: int = 0  # pauses for wrong answers so far: each one is twice as long
    nicknames: dict[str, float] = field(default_factory=dict)  # a phone's: key -> last use


class FloodGuard:
    """Rate limits and human checks per player and per source (thread-safe; see the module
    docstring).

    `pictures` are (title, picture file) pairs, the configured targets: a check shows
    CHOICES of them and of the shipped distractors in a random order and asks for one by
    its title, fresh each time (kiosk.core.checks).
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
        self._pool = pool_of(pictures)
        self._rng = rng if rng is not None else random.SystemRandom()
        self._players: OrderedDict[str, _State] = OrderedDict()  # least recently seen first
        self._sources: OrderedDict[str, _State] = OrderedDict()
        self._open: dict[str, Challenge] = {}  # open checks by id (their pictures are served)
        self._swept = -math.inf
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Players remembered now (bounded: see IDLE_FORGET_S and MAX_PLAYERS)."""
        return len(self._players)

    def check(
        self,
        player_key: str,
        now: float,
        typing_cps: float | None = None,
        source: str = KEYBOARD,
    ) -> None:
        """Let one submission attempt through, spending a token of the player and of the
        source, or raise: CheckPaused while the player (or the phone) is paused,
        CheckRequired while a check is open or when the player (the phone) bursts or typed
        faster than `typing_cps_max` chars/s, NicknamesLimited for one new nickname too
        many on a phone, RateLimited when a bucket is empty. A refused attempt spends no
        token, but counts towards a burst: a macro hammering at an empty bucket bursts."""
        with self._lock:
            p, d = self._touch_both(player_key, source, now)
            holder = d if is_phone(source) else p  # whose check, bursts and failures
            for s in (p, d):  # the keyboard's own state is never paused
                if s.paused_until > now:
                    raise CheckPaused(s.paused_until, s.paused_until - now)
            if holder.challenge is not None:
                raise CheckRequired(holder.challenge)
            if is_phone(source):
                self._check_nickname(d, player_key, now)
            lim = self.limits
            while holder.recent and holder.recent[0] <= now - lim.burst_window_s:
                holder.recent.popleft()
            buckets = [(p, lim.rate_per_minute, lim.rate_burst)]
            if is_phone(source):  # the keyboard is many people in turn: theirs alone
                buckets.append((d, lim.source_rate_per_minute, lim.source_burst))
            for s, rate, size in buckets:
                self._refill_bucket(s, now, rate / 60.0, size)
                if s.tokens < 1.0 - _EPS:
                    holder.recent.append(now)  # hammering at an empty bucket is a burst too
                    raise RateLimited((1.0 - s.tokens) / (rate / 60.0))
            fast = typing_cps is not None and typing_cps > lim.typing_cps_max
            burst = len(holder.recent) >= lim.burst_prompts
            if not holder.waived and (fast or burst or holder.owed):
                raise CheckRequired(self._ask(holder))
            holder.recent.append(now)
            holder.waived = False
            p.tokens = max(0.0, p.tokens - 1.0)
            d.tokens = max(0.0, d.tokens - 1.0)
            if is_phone(source):
                d.nicknames[player_key] = now

    def answer(
        self, player_key: str, challenge_id: str, answer: str, now: float, source: str = KEYBOARD
    ) -> bool:
        """Whether `answer` (the number pressed, or tapped) answers the open check of the
        player (at the keyboard) or of the phone.

        Right: the next prompt is not checked (while the burst lasts, the one after it is).
        Wrong: the check is closed, the next prompt waits for RIGHT_AFTER_WRONG right
        answers in a row, and it counts as a failure; `check_failures` in a row pause the
        player, or the phone and this nickname, for `check_pause_s` (see `paused_until`).
        After a pause, one wrong answer pauses again, twice as long each time (see
        MAX_DOUBLINGS). No open check with that id: False, and nothing counts."""
        with self._lock:
            table, key = (
                (self._sources, source) if is_phone(source) else (self._players, player_key)
            )
            h = table.get(key)
            if h is None or h.challenge is None or h.challenge.id != challenge_id:
                return False
            self._close(h)
            if answer.strip() == h.expected:
                h.failures = 0
                h.owed = max(0, h.owed - 1)
                h.waived = not h.owed  # one prompt: while the burst lasts, the next is checked
                return True
            h.failures += 1
            h.owed = RIGHT_AFTER_WRONG
            if h.failures >= (1 if h.pauses else self.limits.check_failures):
                h.failures = 0
                h.paused_until = now + self.limits.check_pause_s * 2 ** min(h.pauses, MAX_DOUBLINGS)
                h.pauses += 1
                if h is not (p := self._touch(self._players, player_key, now)):
                    p.paused_until = max(p.paused_until, h.paused_until)  # kept by the store
                    h.nicknames.setdefault(player_key, now)  # lifted with it (lift_pause)
            return False

    def wrong_code(self, player_key: str, now: float, allowed: int) -> float | None:
        """A wrong player code typed for this nickname. `allowed` in a row pause it for
        `check_pause_s`: when the pause ends, else None. Anyone typing them counts, so a
        guesser pauses the nickname itself (staff lift it; see lift_pause)."""
        with self._lock:
            p = self._touch(self._players, player_key, now)
            p.code_failures += 1
            if p.code_failures < allowed:
                return None
            p.code_failures = 0
            p.paused_until = max(p.paused_until, now + self.limits.check_pause_s)
            self._close(p)
            return p.paused_until

    def right_code(self, player_key: str) -> None:
        """The right player code: wrong ones before it no longer count."""
        with self._lock:
            p = self._players.get(player_key)
            if p is not None:
                p.code_failures = 0

    def open_challenge(self, player_key: str, source: str = KEYBOARD) -> Challenge | None:
        """The check the player (at the keyboard) or the phone must answer now, if any
        (e.g. to show it again)."""
        with self._lock:
            h = self._sources.get(source) if is_phone(source) else self._players.get(player_key)
            return None if h is None else h.challenge

    def picture(self, picture_id: str) -> Path | None:
        """The picture of an open check's choice (Choice.id), for a web page; None when no
        open check has it."""
        challenge_id, _, number = picture_id.rpartition("-")
        with self._lock:
            challenge = self._open.get(challenge_id)
        if challenge is None:
            return None
        return next((c.picture for c in challenge.choices if str(c.number) == number), None)

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
            p = self._touch(self._players, player_key, now)
            p.paused_until = max(p.paused_until, until)
            self._close(p)

    def lift_pause(self, player_key: str) -> None:
        """Staff let a paused player play again (their bucket is kept), and the phones that
        played under the nickname within the hour."""
        with self._lock:
            phones = [d for d in self._sources.values() if player_key in d.nicknames]
            for s in [self._players.get(player_key), *phones]:
                if s is not None:
                    s.paused_until = 0.0
                    s.failures = s.code_failures = s.owed = s.pauses = 0

    def _touch_both(self, player_key: str, source: str, now: float) -> tuple[_State, _State]:
        self._forget_idle(now)
        return self._touch(self._players, player_key, now), self._touch(self._sources, source, now)

    def _touch(self, table: OrderedDict[str, _State], key: str, now: float) -> _State:
        """A player's (a source's) state, created with a full bucket; marks it seen."""
        s = table.get(key)
        if s is None:
            if len(table) >= MAX_PLAYERS:
                self._evict_one(table, now)
            size = self.limits.rate_burst if table is self._players else self.limits.source_burst
            s = table[key] = _State(tokens=float(size), stamp=now, seen=now)
        else:
            table.move_to_end(key)
            s.seen = max(s.seen, now)
        return s

    @staticmethod
    def _refill_bucket(s: _State, now: float, per_s: float, size: int) -> None:
        elapsed = max(0.0, now - s.stamp)  # a clock stepping back refills nothing
        s.tokens = min(float(size), s.tokens + elapsed * per_s)
        s.stamp = max(s.stamp, now)

    def _check_nickname(self, d: _State, player_key: str, now: float) -> None:
        """A phone plays under at most `nicknames_per_device` nicknames used in the hour."""
        for key, last in list(d.nicknames.items()):
            if last <= now - NICKNAME_WINDOW_S:
                del d.nicknames[key]
        allowed = self.limits.nicknames_per_device
        if player_key not in d.nicknames and len(d.nicknames) >= allowed:
            free_at = min(d.nicknames.values()) + NICKNAME_WINDOW_S
            raise NicknamesLimited(allowed, free_at - now)

    def _forget_idle(self, now: float) -> None:
        """Drop players and sources idle for IDLE_FORGET_S (oldest first), at most once per
        SWEEP_S."""
        if now - self._swept < SWEEP_S:
            return
        self._swept = now
        for table in (self._players, self._sources):
            idle = []
            for key, s in table.items():
                if now - s.seen <= IDLE_FORGET_S:
                    break  # ordered by last seen: the rest are more recent
                if s.paused_until <= now:
                    idle.append(key)
            for key in idle:
                self._close(table.pop(key))

    def _evict_one(self, table: OrderedDict[str, _State], now: float) -> None:
        """Forget the least recently seen one who is not paused (or the oldest of all)."""
        victim = next((k for k, s in table.items() if s.paused_until <= now), next(iter(table)))
        self._close(table.pop(victim))

    def _ask(self, holder: _State) -> Challenge:
        """A fresh check for a player or a phone: new id, new pictures and order, a new
        one asked for."""
        holder.challenge, holder.expected = draw_check(self._pool, self._rng)
        self._open[holder.challenge.id] = holder.challenge
        return holder.challenge

    def _close(self, holder: _State) -> None:
        """Close a holder's open check (answered, or no longer asked)."""
        if holder.challenge is not None:
            self._open.pop(holder.challenge.id, None)
            holder.challenge = None
