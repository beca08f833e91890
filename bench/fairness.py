"""Fair play under a flood: the original booth's worst hour, simulated on a fake clock.

    .venv/bin/python bench/fairness.py [--draw-s S] [--visitors N] [--runs N] [--seed N]

30 visitors at human pace (type a prompt for 20-60 s, wait for the drawing, look at it for
10-30 s, play again), 25 on their own phones and 5 at the booth's keyboard, and macros on
phones re-sending a new prompt every 1-5 s, all through the real
`kiosk.core.fairqueue.FairQueue` and `kiosk.core.floods.FloodGuard` with the booth's
[limits] from kiosk.toml, and the engine's caps and back-pressure. One worker draws one
job at a time (batch 1) in `--draw-s` seconds. No models, no threads, no sleeping: an hour
takes a fraction of a second, so the hour is replayed `--runs` times with other seeds and
each visitor's waits are pooled (one hour gives a visitor about 54 drawings, so their p95
is their third longest wait: too noisy alone).

The macros are the worst case for the guard: every prompt is new (no dedup hit), they
report no typing speed (like the headless path). The variants that must meet the goals:
(a) one macro phone with one nickname that cannot answer a check; (b) a macro phone with
a new nickname for every prompt, pressing "1" at every check; (c) a blind guesser, one
nickname, pressing "1" at every check; (d) five macro phones that joined together, each a
blind guesser. For reference, not goals: a person at the macro solving every check, and
the fair queue with the engine's caps alone (no flood guard).

Goals (PASS/FAIL): the macro (all its phones together) adds at most one drawing time to
any visitor's p95 wait (submit -> drawing done) and gets at most a fair share of the
drawings (1/31: one player among 31). Not a test: tests/test_floods.py runs `simulate`
small and asserts the goals; nothing here measures wall-clock time.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import sys
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, pct

from kiosk.core.api import KEYBOARD, Job, is_phone
from kiosk.core.checks import CHOICES
from kiosk.core.config import LimitSettings, load_settings
from kiosk.core.fairqueue import FairQueue
from kiosk.core.floods import (
    CheckPaused,
    CheckRequired,
    FloodGuard,
    NicknamesLimited,
    RateLimited,
)
from kiosk.core.policy import Busy, PolicyError, QueueFullError

MACRO = 1000  # the first macro device's id; visitors are 1..N
SUBMIT, DONE, ANSWER = "submit", "done", "answer"
Answers = Literal["never", "blind", "right"]


@dataclass(frozen=True, kw_only=True)
class Variant:
    """Who plays and which defences are on."""

    name: str
    devices: int = 0
    """Macro phones (0: no macro), each re-sending a new prompt every 1-5 s."""
    fresh_nicknames: bool = False
    """A new nickname for every prompt (else one per device)."""
    answers: Answers = "never"
    """At a human check: never (a macro cannot see), blind (presses "1"), right (a person
    sits at the macro)."""
    guard: bool = True
    goal: bool = True
    """Must meet both goals with the default settings."""


NO_MACRO = Variant(name="no macro")
ONE_NICK = Variant(name="(a) macro, one nickname", devices=1)
FRESH_NICKS = Variant(
    name="(b) macro, new nicknames", devices=1, fresh_nicknames=True, answers="blind"
)
BLIND = Variant(name="(c) blind guesser", devices=1, answers="blind")
JOINED = Variant(name="(d) 5 macro phones", devices=5, answers="blind")
CHECKS_SOLVED = Variant(name="macro, checks solved", devices=1, answers="right", goal=False)
QUEUE_ONLY = Variant(
    name="macro, queue only", devices=1, fresh_nicknames=True, guard=False, goal=False
)
VARIANTS = (NO_MACRO, ONE_NICK, FRESH_NICKS, BLIND, JOINED, CHECKS_SOLVED, QUEUE_ONLY)
GOAL_VARIANTS = tuple(v for v in VARIANTS if v.devices and v.goal)


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    """The booth and the crowd."""

    limits: LimitSettings
    pictures: list[tuple[str, Path]]
    visitors: int = 30
    keyboard: int = 5
    """Of the visitors, how many play at the booth's keyboard (one source, in turn); the
    others each on their own phone. They type independently: more than one keyboard
    could take, so the keyboard's share of turns is tested hard."""
    hours: float = 1.0
    runs: int = 20
    seed: int = 7
    draw_s: float = 2.0
    typing_s: tuple[float, float] = (20.0, 60.0)
    looking_s: tuple[float, float] = (10.0, 30.0)
    prompt_chars: tuple[int, int] = (15, 80)
    macro_every_s: tuple[float, float] = (1.0, 5.0)
    answer_s: float = 5.0
    """How long a person takes to answer a check (a macro answers at once)."""


@dataclass
class SimResult:
    """What one variant produced, pooled over the runs."""

    variant: Variant
    waits: dict[int, list[float]] = field(default_factory=dict)
    """Visitor id -> seconds from submit to drawing done, one per drawing."""
    drawings: Counter[int] = field(default_factory=Counter)
    """Player id -> drawings made (macro devices MACRO, MACRO + 1, ... included)."""
    macro_sent: int = 0
    macro_accepted: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    """Refusals by "who: why", e.g. "macro: RateLimited"."""

    @property
    def total(self) -> int:
        return sum(self.drawings.values())

    @property
    def macro_drawings(self) -> int:
        return sum(n for who, n in self.drawings.items() if who >= MACRO)

    @property
    def macro_share(self) -> float:
        return self.macro_drawings / self.total if self.total else 0.0

    def p(self, visitor: int, q: float) -> float:
        return pct(self.waits[visitor], q)


class _Run:
    """One simulated hour: an event heap on a fake clock, one worker, batch 1. Every
    attempt meets what the engine asks, in its order: the guard (pace, check, a phone's
    nicknames), the caps on waiting jobs (per player, per phone), back-pressure."""

    def __init__(self, cfg: SimConfig, variant: Variant, seed: int, out: SimResult) -> None:
        self.cfg, self.variant, self.out = cfg, variant, out
        macros = range(MACRO, MACRO + variant.devices)
        self.rngs = {w: random.Random(f"{seed}-{w}") for w in [*range(cfg.visitors + 1), *macros]}
        self.guard = (
            FloodGuard(cfg.limits, cfg.pictures, random.Random(f"{seed}-guard"))
            if variant.guard
            else None
        )
        self.queue = FairQueue()
        self.running: Job | None = None
        self.owner: dict[int, int] = {}  # job id -> who (a macro's nicknames are one device)
        self.events: list[tuple[float, int, str, int]] = []
        self.seq = 0
        self.since: dict[int, float] = {}  # visitor -> first attempt of the current prompt
        self.cps: dict[int, float] = {}  # visitor -> typing speed of the current prompt
        self.nick: dict[int, str] = {}  # who -> the nickname of their last attempt
        self.answering: set[int] = set()

    def source(self, who: int) -> str:
        return KEYBOARD if who <= self.cfg.keyboard else f"phone:{who}"

    def at(self, t: float, kind: str, who: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, who))

    def play(self) -> None:
        for who in range(1, self.cfg.visitors + 1):
            self.start_typing(0.0, who)
        for who in range(MACRO, MACRO + self.variant.devices):  # within the first minute
            self.at(self.rngs[who].uniform(0.0, 60.0), SUBMIT, who)
        end = self.cfg.hours * 3600.0
        while self.events and self.events[0][0] <= end:
            t, _, kind, who = heapq.heappop(self.events)
            if kind == SUBMIT:
                self.submit(t, who)
            elif kind == ANSWER:
                self.answer(t, who)
            else:
                self.done(t)

    def start_typing(self, t: float, who: int) -> None:
        rng = self.rngs[who]
        typing = rng.uniform(*self.cfg.typing_s)
        self.cps[who] = rng.randint(*self.cfg.prompt_chars) / typing
        self.at(t + typing, SUBMIT, who)

    def submit(self, t: float, who: int) -> None:
        if who >= MACRO:
            self.out.macro_sent += 1
            self.at(t + self.rngs[who].uniform(*self.cfg.macro_every_s), SUBMIT, who)
            fresh = self.variant.fresh_nicknames
            self.nick[who] = f"macro{who}-{self.out.macro_sent}" if fresh else f"macro{who}"
        else:
            self.since.setdefault(who, t)
            self.nick[who] = f"visitor{who}"
        try:
            if self.guard is not None:
                cps = None if who >= MACRO else self.cps[who]
                self.guard.check(self.nick[who], t, cps, self.source(who))
            self.enqueue(t, who)
        except PolicyError as refusal:
            self.refused(t, who, refusal)

    def enqueue(self, t: float, who: int) -> None:
        lim, source = self.cfg.limits, self.source(who)
        pid = _player_id(self.nick[who])
        held = [*self.queue, *([self.running] if self.running else [])]
        if sum(j.player_id == pid for j in held) >= lim.queued_per_player:
            raise QueueFullError("queue full")  # the engine's caps, checked after the guard
        if is_phone(source) and sum(j.source == source for j in held) >= lim.queued_per_device:
            raise QueueFullError("the phone's drawing is on its way")
        if len(self.queue) * self.cfg.draw_s > lim.max_wait_s:
            raise Busy("busy")  # back-pressure
        self.seq += 1
        self.queue.push(_job(self.seq, pid, self.nick[who], source, t))
        self.owner[self.seq] = who
        self.out.macro_accepted += who >= MACRO
        self.next_job(t)

    def refused(self, t: float, who: int, refusal: PolicyError) -> None:
        macro = who >= MACRO
        self.out.refusals[f"{'macro' if macro else 'visitor'}: {type(refusal).__name__}"] += 1
        if isinstance(refusal, CheckRequired):
            answers = self.variant.answers if macro else "right"
            if answers != "never" and who not in self.answering:
                self.answering.add(who)
                self.at(t + (0.5 if answers == "blind" else self.cfg.answer_s), ANSWER, who)
        elif not macro and isinstance(refusal, RateLimited | CheckPaused | NicknamesLimited):
            self.at(t + refusal.retry_in_s + 1.0, SUBMIT, who)  # a visitor waits, then tries
        elif not macro:
            self.at(t + 60.0, SUBMIT, who)  # busy: "try again in a minute"

    def answer(self, t: float, who: int) -> None:
        """A person answers the open check rightly, then sends the prompt again; a blind
        macro presses "1"."""
        self.answering.discard(who)
        assert self.guard is not None
        nick, source = self.nick[who], self.source(who)
        challenge = self.guard.open_challenge(nick, source)
        if challenge is not None:
            blind = who >= MACRO and self.variant.answers == "blind"
            right = next(c.number for c in challenge.choices if c.title == challenge.subject)
            self.guard.answer(nick, challenge.id, "1" if blind else str(right), t, source)
        if who < MACRO:
            self.at(t, SUBMIT, who)

    def next_job(self, t: float) -> None:
        if self.running is None and len(self.queue):
            self.running = self.queue.pop()
            self.at(t + self.cfg.draw_s, DONE, 0)

    def done(self, t: float) -> None:
        assert self.running is not None
        who = self.owner.pop(self.running.id)
        self.running = None
        self.out.drawings[who] += 1
        if who < MACRO:
            self.out.waits.setdefault(who, []).append(t - self.since.pop(who))
            self.start_typing(t + self.rngs[who].uniform(*self.cfg.looking_s), who)
        self.next_job(t)


def _player_id(nick: str) -> int:
    return zlib.crc32(nick.encode())


def _job(jid: int, pid: int, nick: str, source: str, t: float) -> Job:
    return Job(
        id=jid,
        player_id=pid,
        nickname=nick,
        target_id="duck-and-swan",
        raw_prompt=f"prompt {jid}",
        prompt=f"prompt {jid}",
        norm_prompt=f"prompt {jid}",
        dedup_key=f"k{jid}",  # every prompt new: no dedup hit spares the GPU
        seed=jid,
        created_at=t,
        source=source,
    )


def simulate(cfg: SimConfig, variant: Variant) -> SimResult:
    """Replay the hour `cfg.runs` times (seeds seed, seed+1, ...), pooling the results."""
    out = SimResult(variant=variant)
    for run in range(cfg.runs):
        _Run(cfg, variant, cfg.seed + run, out).play()
    return out


def worst_p95_increase(base: SimResult, other: SimResult) -> tuple[int, float]:
    """(visitor, seconds) of the largest p95 wait increase from `base` to `other`."""
    visitors = sorted(set(base.waits) & set(other.waits))
    return max(((v, other.p(v, 95) - base.p(v, 95)) for v in visitors), key=lambda x: x[1])


def fair_share(cfg: SimConfig) -> float:
    return 1.0 / (cfg.visitors + 1)


def goals(cfg: SimConfig, base: SimResult, flood: SimResult) -> tuple[bool, bool]:
    """(wait goal met, share goal met) for a run with the macro (all its phones together)
    against one without."""
    _, worst = worst_p95_increase(base, flood)
    return worst <= cfg.draw_s, flood.macro_share <= fair_share(cfg)


def booth_config() -> SimConfig:
    """The booth's limits and target pictures from the repo's kiosk.toml."""
    settings = load_settings(REPO / "kiosk.toml")
    pictures = [(t.title, settings.target_image(t)) for t in settings.targets]
    return SimConfig(limits=settings.limits, pictures=pictures)


def _variant_table(cfg: SimConfig, results: dict[str, SimResult]) -> None:
    base = results[NO_MACRO.name]
    print(
        f"{'variant':<26} {'drawings':>8} {'macro':>6} {'share':>7} {'all p95':>8}"
        f" {'worst d p95':>12}  {'wait':<4} {'share':<5} {'macro accepted':>16}  macro refused"
    )
    for name, r in results.items():
        every = [w for ws in r.waits.values() for w in ws]
        if r.variant.devices:
            who, worst = worst_p95_increase(base, r)
            wait_ok, share_ok = goals(cfg, base, r)
            marks = f"{worst:+7.2f} s#{who:<2} {_ok(wait_ok, r):<4} {_ok(share_ok, r):<5}"
            accepted = f"{r.macro_accepted}/{r.macro_sent}"
        else:
            marks, accepted = f"{'-':>12}  {'-':<4} {'-':<5}", "-"
        refused = ", ".join(
            f"{k.split(': ')[1]} {n}" for k, n in sorted(r.refusals.items()) if k[0] == "m"
        )
        humans = sum(n for k, n in r.refusals.items() if k.startswith("visitor"))
        print(
            f"{name:<26} {r.total:>8} {r.macro_drawings:>6} {r.macro_share:>7.2%}"
            f" {pct(every, 95):>6.1f} s {marks} {accepted:>16}  {refused or '-'}"
            + (f"; visitors refused {humans}" if humans else "")
        )


def _ok(met: bool, r: SimResult | None = None) -> str:
    if r is not None and not r.variant.goal:
        return "(ok)" if met else "(no)"  # for reference: not a goal
    return "PASS" if met else "FAIL"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draw-s", type=float, default=2.0, help="seconds per drawing (batch 1)")
    ap.add_argument("--visitors", type=int, default=30)
    ap.add_argument("--runs", type=int, default=20, help="hours replayed, pooled")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    cfg = replace(
        booth_config(), draw_s=args.draw_s, visitors=args.visitors, runs=args.runs, seed=args.seed
    )
    lim = cfg.limits
    print(
        f"fairness: {cfg.visitors} visitors at human pace ({cfg.keyboard} at the keyboard, the"
        f" rest on their phones) + macro phones (a new prompt every {cfg.macro_every_s[0]:g}-"
        f"{cfg.macro_every_s[1]:g} s), one worker, batch 1, {cfg.draw_s:g} s a drawing;"
        f" {cfg.runs} x {cfg.hours:g} h pooled, seed {cfg.seed}"
    )
    print(
        f"limits: per player {lim.rate_per_minute:g}/min, burst {lim.rate_burst}, waiting"
        f" {lim.queued_per_player}; per phone {lim.source_rate_per_minute:g}/min, burst"
        f" {lim.source_burst}, waiting {lim.queued_per_device}, {lim.nicknames_per_device} new"
        f" nicknames/h; check after {lim.burst_prompts} prompts in {lim.burst_window_s:g} s or"
        f" > {lim.typing_cps_max:g} chars/s, {CHOICES} pictures, {lim.check_failures} wrong ->"
        f" {lim.check_pause_s:g} s pause; back-pressure past {lim.max_wait_s:g} s\n"
    )
    results = {v.name: simulate(cfg, v) for v in VARIANTS}
    _variant_table(cfg, results)
    base = results[NO_MACRO.name]
    verdicts = []
    print()
    for v in GOAL_VARIANTS:
        r = results[v.name]
        who, worst = worst_p95_increase(base, r)
        wait_ok, share_ok = goals(cfg, base, r)
        verdicts.append(wait_ok and share_ok)
        print(
            f"GOAL {v.name}: worst visitor p95 {worst:+.2f} s (visitor {who}; <= {cfg.draw_s:g} s"
            f" {_ok(wait_ok)}), share {r.macro_share:.2%} of {r.total} drawings (<="
            f" {fair_share(cfg):.2%} {_ok(share_ok)})"
        )
    worst_all = max(worst_p95_increase(base, results[v.name])[1] for v in GOAL_VARIANTS)
    share_all = max(results[v.name].macro_share for v in GOAL_VARIANTS)
    base_p95 = statistics.median(base.p(v, 95) for v in base.waits)
    print(
        f"SUMMARY fairness: {sum(verdicts)}/{len(verdicts)} macro variants meet both goals"
        f" ({_ok(all(verdicts))}); worst visitor p95 {worst_all:+.2f} s (<= {cfg.draw_s:g} s),"
        f" largest macro share {share_all:.2%} (<= {fair_share(cfg):.2%}); queue only"
        f" {results[QUEUE_ONLY.name].macro_share:.2%}; median visitor p95 {base_p95:.1f} s"
    )


if __name__ == "__main__":
    main()
