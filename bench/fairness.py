"""Fair play under a flood: the original booth's worst hour, simulated on a fake clock.

    .venv/bin/python bench/fairness.py [--draw-s S] [--visitors N] [--runs N] [--seed N]

30 visitors at human pace (type a prompt for 20-60 s, wait for the drawing, look at it for
10-30 s, play again) and one macro player re-sending a prompt every 1-5 s, all through the
real `kiosk.core.fairqueue.FairQueue` and `kiosk.core.floods.FloodGuard` with the booth's
[limits] from kiosk.toml. One worker draws one job at a time (batch 1) in `--draw-s`
seconds. No models, no threads, no sleeping: an hour takes a fraction of a second, so
the hour is replayed `--runs` times with other seeds and each visitor's waits are pooled.
Pooling matters: one hour gives a visitor about 54 drawings, so their p95 is their third
longest wait, and the worst of 30 such differences moves by 3-5 s between two hours that
differ by nothing but the macro's first three drawings (try `--runs 1`).

The macro is the worst case for the guard: every prompt is new (no dedup hit), it reports
no typing speed (like the headless path), and it never answers a check. Variants show
what each part contributes: the fair queue alone; the rate limit with a person at the
macro solving every check; the full guard. Refused prompts never queue; the engine's cap
on waiting jobs per player (`queued_per_player`) applies to everyone.

Goals (PASS/FAIL): with the full guard the macro adds at most one drawing time to any
visitor's p95 wait (submit -> drawing done), and gets no more than a fair share of the
drawings (1/31: one player among 31). Not a test: tests/test_floods.py runs `simulate`
small and asserts the goals; nothing here measures wall-clock time.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, pct

from kiosk.core.api import Job
from kiosk.core.config import LimitSettings, load_settings
from kiosk.core.fairqueue import FairQueue
from kiosk.core.floods import CheckPaused, CheckRequired, FloodGuard, RateLimited
from kiosk.core.policy import PolicyError, QueueFullError

MACRO = 0  # the macro's player id; visitors are 1..N
SUBMIT, DONE, ANSWER = "submit", "done", "answer"


@dataclass(frozen=True, kw_only=True)
class Variant:
    """Who plays and which defences are on."""

    name: str
    macro: bool
    guard: bool = True
    macro_solves_checks: bool = False


NO_MACRO = Variant(name="no macro", macro=False)
FULL_GUARD = Variant(name="macro, full guard", macro=True)
CHECKS_SOLVED = Variant(name="macro, checks solved", macro=True, macro_solves_checks=True)
QUEUE_ONLY = Variant(name="macro, queue only", macro=True, guard=False)
VARIANTS = (NO_MACRO, FULL_GUARD, CHECKS_SOLVED, QUEUE_ONLY)


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    """The booth and the crowd."""

    limits: LimitSettings
    pictures: list[tuple[str, Path]]
    visitors: int = 30
    hours: float = 1.0
    runs: int = 20
    seed: int = 7
    draw_s: float = 2.0
    typing_s: tuple[float, float] = (20.0, 60.0)
    looking_s: tuple[float, float] = (10.0, 30.0)
    prompt_chars: tuple[int, int] = (15, 80)
    macro_every_s: tuple[float, float] = (1.0, 5.0)
    answer_s: float = 5.0
    """How long a person takes to answer a check."""


@dataclass
class SimResult:
    """What one variant produced, pooled over the runs."""

    variant: Variant
    waits: dict[int, list[float]] = field(default_factory=dict)
    """Visitor id -> seconds from submit to drawing done, one per drawing."""
    drawings: Counter[int] = field(default_factory=Counter)
    """Player id -> drawings made (MACRO included)."""
    macro_sent: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    """Refusals by "who: why", e.g. "macro: RateLimited"."""

    @property
    def total(self) -> int:
        return sum(self.drawings.values())

    @property
    def macro_share(self) -> float:
        return self.drawings[MACRO] / self.total if self.total else 0.0

    def p(self, visitor: int, q: float) -> float:
        return pct(self.waits[visitor], q)


class _Run:
    """One simulated hour: an event heap on a fake clock, one worker, batch 1."""

    def __init__(self, cfg: SimConfig, variant: Variant, seed: int, out: SimResult) -> None:
        self.cfg, self.variant, self.out = cfg, variant, out
        self.rngs = {who: random.Random(f"{seed}-{who}") for who in range(cfg.visitors + 1)}
        self.guard = (
            FloodGuard(cfg.limits, cfg.pictures, random.Random(f"{seed}-guard"))
            if variant.guard
            else None
        )
        self.queue = FairQueue()
        self.running: Job | None = None
        self.events: list[tuple[float, int, str, int]] = []
        self.seq = 0
        self.since: dict[int, float] = {}  # visitor -> first attempt of the current prompt
        self.cps: dict[int, float] = {}  # visitor -> typing speed of the current prompt
        self.answering: set[int] = set()

    def at(self, t: float, kind: str, who: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, who))

    def play(self) -> None:
        for who in range(1, self.cfg.visitors + 1):
            self.start_typing(0.0, who)
        if self.variant.macro:  # starts within the first minute, among the first visitors
            self.at(self.rngs[MACRO].uniform(0.0, 60.0), SUBMIT, MACRO)
        end = self.cfg.hours * 3600.0
        while self.events and self.events[0][0] <= end:
            t, _, kind, who = heapq.heappop(self.events)
            if kind == SUBMIT:
                self.submit(t, who)
            elif kind == ANSWER:
                self.answer(t, who)
            else:
                self.done(t, who)

    def start_typing(self, t: float, who: int) -> None:
        rng = self.rngs[who]
        typing = rng.uniform(*self.cfg.typing_s)
        self.cps[who] = rng.randint(*self.cfg.prompt_chars) / typing
        self.at(t + typing, SUBMIT, who)

    def submit(self, t: float, who: int) -> None:
        if who == MACRO:
            self.out.macro_sent += 1
            self.at(t + self.rngs[MACRO].uniform(*self.cfg.macro_every_s), SUBMIT, MACRO)
        else:
            self.since.setdefault(who, t)
        try:
            if self.guard is not None:
                self.guard.check(str(who), t, None if who == MACRO else self.cps[who])
            self.enqueue(t, who)
        except PolicyError as refusal:
            self.refused(t, who, refusal)

    def enqueue(self, t: float, who: int) -> None:
        mine = self.queue.count(who) + (self.running is not None and self.running.player_id == who)
        if mine >= self.cfg.limits.queued_per_player:
            raise QueueFullError("queue full")  # the engine's cap, checked after the guard
        self.seq += 1
        self.queue.push(_job(self.seq, who, t))
        self.next_job(t)

    def refused(self, t: float, who: int, refusal: PolicyError) -> None:
        name = "macro" if who == MACRO else "visitor"
        self.out.refusals[f"{name}: {type(refusal).__name__}"] += 1
        if isinstance(refusal, CheckRequired):
            solves = who != MACRO or self.variant.macro_solves_checks
            if solves and who not in self.answering:
                self.answering.add(who)
                self.at(t + self.cfg.answer_s, ANSWER, who)
        elif who != MACRO and isinstance(refusal, RateLimited | CheckPaused):
            self.at(t + refusal.retry_in_s + 1.0, SUBMIT, who)  # a visitor waits, then tries

    def answer(self, t: float, who: int) -> None:
        """A person answers the open check rightly, then sends the prompt again."""
        self.answering.discard(who)
        assert self.guard is not None
        challenge = self.guard.open_challenge(str(who))
        if challenge is not None:
            right = next(c.number for c in challenge.choices if c.title == challenge.subject)
            self.guard.answer(str(who), challenge.id, str(right), t)
        if who != MACRO:
            self.at(t, SUBMIT, who)

    def next_job(self, t: float) -> None:
        if self.running is None and len(self.queue):
            self.running = self.queue.pop()
            self.at(t + self.cfg.draw_s, DONE, self.running.player_id)

    def done(self, t: float, who: int) -> None:
        assert self.running is not None and self.running.player_id == who
        self.running = None
        self.out.drawings[who] += 1
        if who != MACRO:
            self.out.waits.setdefault(who, []).append(t - self.since.pop(who))
            self.start_typing(t + self.rngs[who].uniform(*self.cfg.looking_s), who)
        self.next_job(t)


def _job(jid: int, who: int, t: float) -> Job:
    return Job(
        id=jid,
        player_id=who,
        nickname=f"player{who}",
        target_id="duck-and-swan",
        raw_prompt=f"prompt {jid}",
        prompt=f"prompt {jid}",
        norm_prompt=f"prompt {jid}",
        dedup_key=f"k{jid}",  # every prompt new: no dedup hit spares the GPU
        seed=jid,
        created_at=t,
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
    """(wait goal met, share goal met) for a run with the macro against one without."""
    _, worst = worst_p95_increase(base, flood)
    return worst <= cfg.draw_s, flood.macro_share <= fair_share(cfg)


def booth_config() -> SimConfig:
    """The booth's limits and target pictures from the repo's kiosk.toml."""
    settings = load_settings(REPO / "kiosk.toml")
    pictures = [(t.title, settings.target_image(t)) for t in settings.targets]
    return SimConfig(limits=settings.limits, pictures=pictures)


def _visitor_table(results: dict[str, SimResult]) -> None:
    base, guard, queue = results[NO_MACRO.name], results[FULL_GUARD.name], results[QUEUE_ONLY.name]
    print("waits in s from submit to drawing done; drawings: without / with the macro")
    print(
        f"{'visitor':>7}  {'drawings':>8}  {'no macro p50/p95':>16}  {'full guard p50/p95':>18}"
        f"  {'d p95':>6}  {'queue only p50/p95':>18}  {'d p95':>6}"
    )
    for v in sorted(base.waits):

        def pair(r: SimResult, v: int = v) -> str:
            return f"{r.p(v, 50):7.1f} {r.p(v, 95):7.1f}"

        print(
            f"{v:>7}  {len(base.waits[v]):>4}/{len(guard.waits[v]):<3}  {pair(base):>16}  "
            f"{pair(guard):>18}  {guard.p(v, 95) - base.p(v, 95):+6.1f}  {pair(queue):>18}"
            f"  {queue.p(v, 95) - base.p(v, 95):+6.1f}"
        )


def _variant_table(cfg: SimConfig, results: dict[str, SimResult]) -> None:
    base = results[NO_MACRO.name]
    print(
        f"\n{'variant':<22} {'drawings':>8} {'macro':>6} {'share':>7} {'all p95':>8}"
        f" {'worst d p95':>11}  {'wait goal':<9} {'share goal':<10} prompts refused"
    )
    for name, r in results.items():
        every = [w for ws in r.waits.values() for w in ws]
        if r.variant.macro:
            who, worst = worst_p95_increase(base, r)
            wait_ok, share_ok = goals(cfg, base, r)
            marks = f"{worst:+7.2f} s#{who:<2} {_ok(wait_ok):<9} {_ok(share_ok):<10}"
        else:
            marks = f"{'-':>11}  {'-':<9} {'-':<10}"
        humans = sum(n for k, n in r.refusals.items() if k.startswith("visitor"))
        macro = ", ".join(
            f"{k.split(': ')[1]} {n}" for k, n in sorted(r.refusals.items()) if k[0] == "m"
        )
        refusals = f"visitors {humans}" + (f"; macro: {macro}" if macro else "")
        print(
            f"{name:<22} {r.total:>8} {r.drawings[MACRO]:>6} {r.macro_share:>7.2%}"
            f" {pct(every, 95):>6.1f} s {marks} {refusals}"
        )


def _ok(met: bool) -> str:
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
        f"fairness: {cfg.visitors} visitors at human pace + 1 macro (a new prompt every"
        f" {cfg.macro_every_s[0]:g}-{cfg.macro_every_s[1]:g} s), one worker, batch 1,"
        f" {cfg.draw_s:g} s a drawing; {cfg.runs} x {cfg.hours:g} h pooled, seed {cfg.seed}"
    )
    print(
        f"limits: {lim.rate_per_minute:g} prompts/min, burst {lim.rate_burst}; check after"
        f" {lim.burst_prompts} prompts in {lim.burst_window_s:g} s or > {lim.typing_cps_max:g}"
        f" chars/s; {lim.check_failures} wrong -> {lim.check_pause_s:g} s pause;"
        f" {lim.queued_per_player} waiting per player\n"
    )
    results = {v.name: simulate(cfg, v) for v in VARIANTS}
    _visitor_table(results)
    _variant_table(cfg, results)
    base, flood = results[NO_MACRO.name], results[FULL_GUARD.name]
    who, worst = worst_p95_increase(base, flood)
    wait_ok, share_ok = goals(cfg, base, flood)
    rr = results[QUEUE_ONLY.name].macro_share
    print(
        f"\nGOAL wait: the macro adds at most one drawing ({cfg.draw_s:g} s) to any visitor's"
        f" p95 wait: worst {worst:+.2f} s (visitor {who}): {_ok(wait_ok)}"
    )
    print(
        f"GOAL share: the macro gets at most a fair share: {flood.macro_share:.2%} of"
        f" {flood.total} drawings vs 1/{cfg.visitors + 1} = {fair_share(cfg):.2%}"
        f" (round robin alone lets it take {rr:.2%}): {_ok(share_ok)}"
    )
    base_p95 = statistics.median(base.p(v, 95) for v in base.waits)
    print(
        f"SUMMARY fairness: worst visitor p95 {worst:+.2f} s with the macro (<= {cfg.draw_s:g} s"
        f" {_ok(wait_ok)}), macro share {flood.macro_share:.2%} (<= {fair_share(cfg):.2%}"
        f" {_ok(share_ok)}; queue only {rr:.2%}); median visitor p95 {base_p95:.1f} s"
    )


if __name__ == "__main__":
    main()
