"""Flood guard: token bucket, human check on bursts, pauses, bounded memory; and the
fairness simulation's goals (bench/fairness.py, on a fake clock)."""

from __future__ import annotations

import dataclasses
import importlib.util
import random
import sys
from types import ModuleType
from typing import Any

import pytest
from builders import REPO

from kiosk.core import floods
from kiosk.core.checks import CHOICES, distractors
from kiosk.core.config import LimitSettings
from kiosk.core.floods import (
    Challenge,
    CheckPaused,
    CheckRequired,
    FloodGuard,
    NicknamesLimited,
    RateLimited,
)
from kiosk.core.policy import PolicyError

PICTURES = [
    ("A duck and a swan on a pond", REPO / "assets" / "duck-and-swan.png"),
    ("A duck on a pond", REPO / "assets" / "duck.png"),
    ("A swan on a pond", REPO / "assets" / "swan.png"),
]
NO_BURSTS = {"burst_prompts": 100}  # bursts never trip: the bucket alone


def guard(seed: int = 1, **limits: Any) -> FloodGuard:
    return FloodGuard(LimitSettings(**limits), PICTURES, random.Random(seed))


def challenge_of(g: FloodGuard, key: str, now: float, typing_cps: float | None = None) -> Challenge:
    with pytest.raises(CheckRequired) as err:
        g.check(key, now, typing_cps)
    return err.value.challenge


def right_answer(c: Challenge) -> str:
    return str(next(choice.number for choice in c.choices if choice.title == c.subject))


def wrong_answer(c: Challenge) -> str:
    return str(next(choice.number for choice in c.choices if choice.title != c.subject))


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    g = guard(rate_per_minute=6, rate_burst=3, **NO_BURSTS)  # one token every 10 s
    for t in (0.0, 0.1, 0.2):
        g.check("ann", t)
    with pytest.raises(RateLimited) as err:
        g.check("ann", 0.3)
    assert err.value.retry_in_s == pytest.approx(10.0 - 0.3)
    with pytest.raises(RateLimited) as err:  # a refused attempt spends nothing
        g.check("ann", 5.0)
    assert err.value.retry_in_s == pytest.approx(5.0)
    g.check("ann", 10.0)
    with pytest.raises(RateLimited):
        g.check("ann", 10.1)
    g.check("bob", 10.1)  # a bucket per player


def test_bucket_holds_at_most_rate_burst_after_a_long_idle() -> None:
    g = guard(rate_per_minute=6, rate_burst=2, **NO_BURSTS)
    g.check("ann", 0.0)
    g.check("ann", 1000.0)
    g.check("ann", 1000.0)
    with pytest.raises(RateLimited):
        g.check("ann", 1000.0)


def test_every_submission_counts_dedup_hits_included() -> None:
    """The engine calls check before the dedup lookup: there is no separate call for an
    accepted prompt, so an answer from the cache spends a token like a new drawing."""
    g = guard(rate_per_minute=1, rate_burst=5, **NO_BURSTS)
    for i in range(5):  # the same prompt five times: five dedup hits at the engine
        g.check("ann", float(i))
    with pytest.raises(RateLimited):
        g.check("ann", 5.0)


def test_refusal_says_in_how_many_seconds() -> None:
    g = guard(rate_per_minute=5, rate_burst=1, **NO_BURSTS)  # one token every 12 s
    g.check("ann", 100.0)
    with pytest.raises(RateLimited) as err:
        g.check("ann", 100.0)
    assert isinstance(err.value, PolicyError)
    assert str(err.value) == "Easy! Your next prompt is possible in 12 s."
    with pytest.raises(RateLimited, match=r"possible in 3 s\.$"):
        g.check("ann", 109.5)  # 2.5 s left: rounded up


def test_burst_asks_a_human_check_and_keeps_asking_the_same_one() -> None:
    g = guard(rate_burst=10, burst_prompts=3, burst_window_s=20)
    for t in (0.0, 3.0, 6.0):
        g.check("ann", t)
    c = challenge_of(g, "ann", 9.0)
    assert isinstance(c, Challenge) and c.question == f"Press the number of: {c.subject}"
    assert c.question in str(CheckRequired(c))
    assert challenge_of(g, "ann", 30.0) == c  # open until answered, even after the window
    assert g.open_challenge("ann") == c and g.open_challenge("bob") is None
    g.check("bob", 9.0)  # others play on


def test_prompts_spread_beyond_the_window_are_not_a_burst() -> None:
    g = guard(rate_burst=10, burst_prompts=3, burst_window_s=20)
    for t in (0.0, 10.5, 21.0, 31.5, 42.0):
        g.check("ann", t)


def test_typing_faster_than_a_person_asks_a_check() -> None:
    g = guard(typing_cps_max=25)
    g.check("ann", 0.0, typing_cps=20.0)
    g.check("ann", 60.0, typing_cps=None)  # not measured (headless)
    challenge_of(g, "bob", 0.0, typing_cps=300.0)


def test_right_answer_lets_the_prompt_through_once() -> None:
    """A right answer lets one prompt through; while the burst lasts, the next is checked
    again (a person solving checks for a macro gets one prompt per check)."""
    g = guard(rate_burst=10, burst_prompts=3, burst_window_s=20, typing_cps_max=25)
    c = challenge_of(g, "ann", 0.0, typing_cps=300.0)
    assert g.answer("ann", c.id, right_answer(c), 1.0)
    assert g.open_challenge("ann") is None
    g.check("ann", 1.0, typing_cps=300.0)  # the same prompt sent again: let through
    challenge_of(g, "ann", 2.0, typing_cps=300.0)  # the next fast one is checked again

    for t in (0.0, 1.0, 2.0):
        g.check("bob", t)
    c = challenge_of(g, "bob", 3.0)
    assert not g.answer("bob", "not-the-id", right_answer(c), 3.0)  # nothing counts
    assert g.answer("bob", c.id, f" {right_answer(c)}\n", 4.0)
    g.check("bob", 4.0)
    challenge_of(g, "bob", 5.0)  # still a burst: checked again
    c = challenge_of(g, "cy", 0.0, typing_cps=99.0)
    assert g.answer("cy", c.id, right_answer(c), 1.0)
    for t in (1.0, 30.0, 31.0):  # the burst is over: prompts at a person's pace
        g.check("cy", t)


def test_wrong_answers_pause_the_player_longer_each_time() -> None:
    """check_failures wrong answers in a row pause the player; after a pause one wrong
    answer pauses again, twice as long each time (up to 8 times)."""
    g = guard(check_failures=3, check_pause_s=300, typing_cps_max=25)
    for i in range(3):
        c = challenge_of(g, "ann", float(i), typing_cps=99.0)
        assert not g.answer("ann", c.id, wrong_answer(c), float(i))
        assert g.open_challenge("ann") is None  # the next submit draws a fresh check
        assert (g.paused_until("ann", float(i)) is None) == (i < 2)
    assert g.paused_until("ann", 2.0) == pytest.approx(302.0)
    with pytest.raises(CheckPaused) as err:
        g.check("ann", 2.0)
    assert err.value.until == pytest.approx(302.0)
    assert "wrong answers" in str(err.value) and "5 min" in str(err.value)
    with pytest.raises(CheckPaused, match="in 10 s"):
        g.check("ann", 292.0)
    assert g.paused_until("ann", 302.0) is None
    now = 302.0
    for pause in (600.0, 1200.0, 2400.0, 2400.0):  # one wrong answer now: twice as long
        c = challenge_of(g, "ann", now)  # a wrong answer is owed right ones: checked
        assert not g.answer("ann", c.id, wrong_answer(c), now)
        assert g.paused_until("ann", now) == pytest.approx(now + pause)
        now += pause
    c = challenge_of(g, "ann", now)
    assert g.answer("ann", c.id, right_answer(c), now)  # one right answer is not enough
    c = challenge_of(g, "ann", now)
    assert g.answer("ann", c.id, right_answer(c), now)
    g.check("ann", now)


def test_failures_count_only_in_a_row_and_a_wrong_answer_owes_two_right_ones() -> None:
    g = guard(check_failures=2, typing_cps_max=25)
    c = challenge_of(g, "ann", 0.0, typing_cps=99.0)
    assert not g.answer("ann", c.id, wrong_answer(c), 0.0)
    for t in (1.0, 2.0):  # a blind guess passes these two in 36
        c = challenge_of(g, "ann", t)
        assert g.answer("ann", c.id, right_answer(c), t)
    g.check("ann", 2.0)
    c = challenge_of(g, "ann", 3.0, typing_cps=99.0)
    assert not g.answer("ann", c.id, wrong_answer(c), 3.0)
    assert g.paused_until("ann", 3.0) is None  # the wrong answers were not in a row


def test_pauses_are_restored_at_start_and_lifted_by_staff() -> None:
    g = guard()
    g.restore_pause("ann", 500.0, now=100.0)
    g.restore_pause("bob", 50.0, now=100.0)  # already over
    assert g.paused_until("ann", 100.0) == 500.0 and g.paused_until("bob", 100.0) is None
    with pytest.raises(CheckPaused, match="in 6 min 40 s"):
        g.check("ann", 100.0)
    g.lift_pause("ann")
    g.check("ann", 100.0)


def test_wrong_player_codes_in_a_row_pause_the_nickname() -> None:
    """A 4-digit code is 10,000 tries: the rate limit alone lets a guesser through in a
    day. `allowed` wrong codes in a row pause the nickname; a right one resets the count."""
    g = guard(check_pause_s=600)
    for i in range(4):
        assert g.wrong_code("ann", float(i), allowed=5) is None
    g.right_code("ann")  # the owner typed it right: the count starts again
    for i in range(4):
        assert g.wrong_code("ann", 10.0 + i, allowed=5) is None
    assert g.wrong_code("ann", 14.0, allowed=5) == pytest.approx(614.0)
    with pytest.raises(CheckPaused, match="in 10 min"):
        g.check("ann", 14.0)
    g.check("bob", 14.0)  # another nickname plays on
    g.lift_pause("ann")  # staff: the owner is back
    g.check("ann", 15.0)
    assert g.wrong_code("ann", 16.0, allowed=5) is None  # lift_pause reset the count


def test_each_check_is_drawn_fresh_and_carries_no_answer() -> None:
    """Six pictures from the targets and the shipped distractors, in a random order, one
    asked for: a blind macro passes one check in six at best."""
    g = guard(seed=3, typing_cps_max=25)
    seen = [challenge_of(g, f"p{i}", 0.0, typing_cps=99.0) for i in range(40)]
    assert len({c.id for c in seen}) == 40
    assert len({tuple(ch.title for ch in c.choices) for c in seen}) > 1  # orders vary
    pool = {*PICTURES, *distractors()}
    assert len(pool) == 11 and {c.subject for c in seen} > {title for title, _ in PICTURES}
    answers = set()
    for c in seen:
        assert [ch.number for ch in c.choices] == list(range(1, CHOICES + 1)) and CHOICES >= 6
        assert {(ch.title, ch.picture) for ch in c.choices} < pool
        assert [ch.id for ch in c.choices] == [f"{c.id}-{n}" for n in range(1, CHOICES + 1)]
        assert all(g.picture(ch.id) == ch.picture for ch in c.choices)
        answers.add(right_answer(c))
    assert answers == {str(n) for n in range(1, CHOICES + 1)}  # no key is always right
    assert g.picture("nope-1") is None and g.picture(f"{seen[0].id}-99") is None
    assert {f.name for f in dataclasses.fields(Challenge)} == {
        "id",
        "question",
        "subject",
        "choices",
    }
    # the same seed draws the same checks (a simulation replays)
    again = guard(seed=3, typing_cps_max=25)
    assert challenge_of(again, "p0", 0.0, typing_cps=99.0) == seen[0]


def test_one_target_still_has_six_real_choices() -> None:
    g = FloodGuard(LimitSettings(), PICTURES[:1], random.Random(5))
    c = challenge_of(g, "ann", 0.0, typing_cps=99.0)
    assert len(c.choices) == CHOICES and len({ch.picture for ch in c.choices}) == CHOICES
    assert all(ch.picture.is_file() for ch in c.choices)
    right = right_answer(c)
    assert g.answer("ann", c.id, right, 1.0)
    assert g.picture(c.choices[0].id) is None  # answered: its pictures are no longer served


def test_memory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    g = guard()
    for i in range(5000):
        g.check(f"p{i}", 0.0)
    g.restore_pause("p0", 1e6, now=0.0)
    assert len(g) == 5000
    g.check("late", floods.IDLE_FORGET_S + floods.SWEEP_S + 1)
    assert len(g) == 2  # idle players forgotten; the paused one kept
    assert g.paused_until("p0", 4000.0) == 1e6

    monkeypatch.setattr(floods, "MAX_PLAYERS", 100)
    g = guard()
    g.restore_pause("p0", 1e6, now=0.0)
    for i in range(1, 300):
        g.check(f"p{i}", float(i) / 1000)
    assert len(g) == 100 and g.paused_until("p0", 1.0) == 1e6


def load_fairness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fairness", REPO / "bench" / "fairness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fairness"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_fairness_simulation_meets_both_goals() -> None:
    """bench/fairness.py's simulation, small: each macro variant (one nickname, new
    nicknames, a blind guesser, several phones together) adds at most one drawing to any
    visitor's p95 and gets at most a fair share; the fair queue and caps alone do not
    hold the share (so the simulation can tell); no person is refused."""
    fairness = load_fairness()
    cfg = dataclasses.replace(fairness.booth_config(), visitors=8, keyboard=2, hours=0.5, runs=8)
    base = fairness.simulate(cfg, fairness.NO_MACRO)
    assert set(base.waits) == set(range(1, 9)) and all(base.waits.values())
    for variant in fairness.GOAL_VARIANTS:
        flood = fairness.simulate(cfg, variant)
        assert fairness.goals(cfg, base, flood) == (True, True), variant.name
        assert flood.macro_drawings > 0  # it did get its first prompt drawn
        assert not any(key.startswith("visitor") for key in base.refusals + flood.refusals)
    queue_only = fairness.simulate(cfg, fairness.QUEUE_ONLY)
    assert queue_only.macro_share > fairness.fair_share(cfg)


PHONE = "phone:abc"


def test_a_phone_has_one_bucket_and_one_burst_whatever_its_nicknames() -> None:
    g = guard(rate_per_minute=6, rate_burst=4, source_rate_per_minute=6, source_burst=6)
    for i in range(3):  # a fresh nickname for each: the phone's burst still counts them
        g.check(f"nick{i}", float(i), source=PHONE)
    c = challenge_of_phone(g, "nick3", 3.0)
    assert challenge_of_phone(g, "nick4", 4.0) == c  # no fresh check for a fresh nickname
    assert g.open_challenge("nick4", PHONE) == c and g.open_challenge("nick4") is None
    assert g.answer("nick4", c.id, right_answer(c), 5.0, PHONE)
    g.check("nick4", 5.0, source=PHONE)  # the prompt it was for
    challenge_of_phone(g, "nick0", 6.0)  # still a burst: another check, for the phone
    g.check("kim", 8.0)  # the keyboard and other phones play on
    g.check("kim", 8.0, source="phone:other")

    g = guard(rate_per_minute=60, rate_burst=10, source_rate_per_minute=6, source_burst=2)
    g.check("a", 0.0, source=PHONE)
    g.check("b", 0.0, source=PHONE)
    with pytest.raises(RateLimited) as err:  # the phone's bucket, not the players'
        g.check("c", 0.0, source=PHONE)
    assert err.value.retry_in_s == pytest.approx(10.0)
    for t in (0.0, 0.1, 0.2):  # the keyboard: many people in turn, a bucket each
        g.check(f"k{t}", t)


def test_a_phones_wrong_answers_pause_the_phone_under_any_nickname() -> None:
    g = guard(check_failures=3, check_pause_s=300, typing_cps_max=25)
    for i in range(3):
        c = challenge_of_phone(g, f"n{i}", float(i), typing_cps=99.0)
        assert not g.answer(f"n{i}", c.id, wrong_answer(c), float(i), PHONE)
    for nick in ("n9", "n2"):
        with pytest.raises(CheckPaused):
            g.check(nick, 10.0, source=PHONE)
    assert g.paused_until("n2", 10.0) == pytest.approx(302.0)  # the store keeps this one
    g.check("n9", 10.0, source="phone:other")
    g.lift_pause("n2")  # staff let the nickname play again, and the phone it played on
    g.check("n2", 11.0, source=PHONE)


def test_a_phone_plays_under_a_few_nicknames_an_hour() -> None:
    g = guard(nicknames_per_device=2, **NO_BURSTS)
    g.check("ann", 0.0, source=PHONE)
    g.check("bo", 100.0, source=PHONE)
    with pytest.raises(NicknamesLimited) as err:
        g.check("cy", 200.0, source=PHONE)
    assert err.value.retry_in_s == pytest.approx(3400.0)
    g.check("ann", 300.0, source=PHONE)  # a known one plays on (and is used again)
    g.check("cy", 200.0, source="phone:other")
    g.check("cy", 3701.0, source=PHONE)  # bo unused for an hour: a new one may come


def challenge_of_phone(
    g: FloodGuard, key: str, now: float, typing_cps: float | None = None
) -> Challenge:
    with pytest.raises(CheckRequired) as err:
        g.check(key, now, typing_cps, source=PHONE)
    return err.value.challenge
