"""The rest of the store's contract, on SQLite and on PostgreSQL with the same assertions
(the `store` fixture): waiters, moderation that holds, reviews, raffles, carry-in, meta,
pauses and the event's stats."""

from __future__ import annotations

import time

import pytest
from builders import accept, commit, complete, scored
from store_fixtures import Backend

from kiosk.core import policy
from kiosk.core.api import (
    CarriedPlayer,
    Entrant,
    Job,
    Review,
    StaffState,
    StoreError,
)
from kiosk.storage.store import PgStore, Store

AnyStore = Store | PgStore


def join(store: AnyStore, nickname: str, job: Job) -> bool:
    joined = store.jobs.add_waiter(
        player_key=policy.player_key(nickname),
        nickname=nickname,
        dedup_key=job.dedup_key,
        raw_prompt=job.prompt,
        prompt=job.prompt,
    )
    return joined is not None


def test_a_prompt_in_flight_is_joined_and_gets_the_same_drawing(store: AnyStore) -> None:
    job = accept(store, "ada", "a duck")
    assert join(store, "bob", job) and join(store, "cy", job)
    assert [w.nickname for w in store.jobs.waiters(job.id)] == ["bob", "cy"]
    bob = store.players.get("bob")
    assert bob is not None and store.jobs.waiting_count(bob[0]) == 1
    sub, *followers = store.jobs.complete(job, scored(0.5))
    assert [f.nickname for f in followers] == ["bob", "cy"]
    assert all(f.dedup_of == sub.id and f.image == sub.image for f in followers)
    assert [f.rank for f in followers] == [2, 3]  # at the same score, after the first
    assert store.jobs.waiters() == [] and store.jobs.pending() == []
    s = store.board.stats()
    assert (s.players, s.submissions, s.dedup_hits) == (3, 3, 2)
    # Nothing in flight: nobody joins; the finished drawing is found instead.
    assert not join(store, "dee", job)
    assert store.jobs.find_original(job.dedup_key) is not None


def test_a_failed_job_fails_its_waiters_and_keeps_them(store: AnyStore) -> None:
    job = accept(store, "ada", "a swan")
    assert join(store, "bob", job)
    assert store.jobs.record_attempt(job.id, "oom") == 1
    (waiter,) = store.jobs.fail(job.id, "out of memory")
    assert waiter.nickname == "bob"
    assert store.jobs.pending() == [] and store.jobs.waiters() == []
    assert store.board.stats().submissions == 0


def test_hides_hold_for_copies_players_and_later_drawings(store: AnyStore) -> None:
    first = commit(store, "ada", "a duck", 0.9)
    original = store.jobs.submission(first)
    assert original is not None
    job = accept(store, "bob", "a duck")  # a copy of ada's drawing
    (copy,) = store.jobs.complete_as_dedup(job, original)
    hid = store.moderation.hide_submission(first, reason="rude")
    assert (hid.drawings, hid.hidden) == (2, 2)
    assert store.board.leaderboard("duck") == []
    assert store.jobs.hidden_original(original.dedup_key)
    store.moderation.hide_player("bob", True)
    assert store.moderation.hide_submission(first, False).hidden == 1  # bob's copy stays
    assert [r.nickname for r in store.board.leaderboard("duck")] == ["ada"]
    commit(store, "bob", "bob's own duck", 0.99)  # stored hidden: bob is hidden
    assert [r.nickname for r in store.board.leaderboard("duck")] == ["ada"]
    assert [r.nickname for r in store.board.visible_recent()] == ["ada"]
    store.moderation.hide_player("bob", False)
    assert [r.nickname for r in store.board.leaderboard("duck")] == ["bob", "ada"]
    assert copy.dedup_of == first
    with pytest.raises(StoreError, match="no submission"):
        store.moderation.hide_submission(10_000)
    assert [a.action for a in store.moderation.audit_log()] == [
        "unhide",
        "unhide-submission",
        "hide",
        "hide-submission",
    ]


def test_a_held_drawing_ranks_once_staff_approve_it(store: AnyStore) -> None:
    job = accept(store, "ada", "a duck")
    (sub,) = store.jobs.complete(job, scored(0.8, flags="nsfw", review=Review.HELD))
    assert store.board.leaderboard("duck") == []
    assert [(r.id, r.held, r.flags) for r in store.board.held()] == [(sub.id, True, "nsfw")]
    store.moderation.approve(sub.id, reason="fine")
    assert [r.nickname for r in store.board.leaderboard("duck")] == ["ada"]
    assert store.board.held() == []
    with pytest.raises(StoreError, match="no drawing"):
        store.moderation.approve(10_000)


def test_bans_staff_tags_refusals_and_the_event_stats(store: AnyStore) -> None:
    commit(store, "ada", "a duck", 0.42)
    commit(store, "bob", "a swan", 0.87)
    store.moderation.set_banned("eve", True, nickname="Eve", reason="troll")  # never played
    flags = store.players.flags("eve")
    assert flags is not None and flags.banned and store.board.stats().players == 2
    store.moderation.set_staff("bob", True)
    assert [r.nickname for r in store.board.leaderboard("duck")] == ["ada"]
    store.moderation.count_refusal("ada")
    store.moderation.count_refusal()
    stats = store.moderation.event_stats()
    assert (stats.players, stats.drawings, stats.refusals, stats.hidden) == (2, 2, 2, 0)
    assert stats.score_bins[8] == 1 and stats.score_bins[17] == 1 and sum(stats.score_bins) == 2
    assert sum(stats.per_10_min) == 2
    assert [t.nickname for t in stats.most_refused] == ["ada"]
    assert store.board.recent(nickname="b%")[:1] == []  # LIKE's % is taken literally
    assert [r.nickname for r in store.board.recent(nickname="bo")] == ["bob"]


def test_a_raffle_and_its_redraws_are_kept_to_replay(store: AnyStore) -> None:
    for i, nick in enumerate(["ada", "bob", "cy", "dee"]):
        commit(store, nick, f"duck {i}", 0.1 * (i + 1))
    store.moderation.set_banned("cy", True)
    entrants = store.raffles.entrants("duck")
    assert [e.nickname for e in entrants] == ["dee", "bob", "ada"]
    rid = store.raffles.add(
        target_id="duck", wanted=1, rule="top 3", seed=7, eligible=entrants, winners=entrants[:1]
    )
    assert store.board.latest_raffle() == rid
    store.raffles.add_redraw(rid, "dee", "bob", 8, candidates=entrants[1:])
    got = store.raffles.get(rid)
    assert got is not None and got["seed"] == 7 and got["winners"] == entrants[:1]
    assert got["redraws"] == [
        {"replaced": "dee", "replacement": "bob", "seed": 8, "candidates": entrants[1:]}
    ]
    assert isinstance(got["eligible"][0], Entrant) and store.raffles.get(rid + 1) is None


def test_carried_flags_are_only_ever_added(store: AnyStore) -> None:
    commit(store, "ada", "a duck", 0.5)
    store.moderation.set_staff("ada", True)
    state = StaffState(
        words=[("quack", True, time.time(), "staff")],
        players=[
            CarriedPlayer("ada", "Ada", banned=True, staff=False, hidden=False),
            CarriedPlayer("zed", "Zed", banned=False, staff=False, hidden=True),
        ],
    )
    store.moderation.carry_in(state, source="day one")
    store.moderation.carry_in(state, source="day one")  # again: the same, no error
    ada, zed = store.players.flags("ada"), store.players.flags("zed")
    assert ada is not None and (ada.banned, ada.staff, ada.hidden) == (True, True, False)
    assert zed is not None and (zed.banned, zed.staff, zed.hidden) == (False, False, True)
    assert store.words.changes() == [("quack", True)]
    assert store.board.stats().players == 1  # zed has not played


def test_meta_pauses_and_player_codes(store: AnyStore) -> None:
    assert store.meta.swap("event.target", "swan") is None
    assert store.meta.swap("event.target", "duck") == "swan"
    assert store.meta.get("event.target") == "duck" and store.meta.get("nope") is None
    complete(store, accept(store, "ada", "a duck"), 0.5)
    store.players.pause("ada", 2e9)
    assert store.players.paused(1e9) == [("ada", 2e9)]
    store.players.pause("ada", 0)
    assert store.players.paused(1e9) == []
    with store.reading():
        assert store.board.ranked_count("duck") == 1


def test_a_prompt_typed_at_another_booth_joins_or_reuses_the_first(
    backend: Backend, store: AnyStore
) -> None:
    """Two stores on one database (two booths): a prompt in flight at booth A, typed at
    booth B, joins A's job and gets its drawing; once drawn, it is a dedup hit at B."""
    other = backend.open()
    job = accept(store, "ada", "a duck")
    assert join(other, "bob", job)  # booth B sees booth A's job in flight
    sub, follower = store.jobs.complete(job, scored(0.7))
    assert (follower.nickname, follower.dedup_of) == ("bob", sub.id)
    found = other.jobs.find_original(job.dedup_key)
    assert found is not None and found.id == sub.id and found.nickname == "ada"
    assert [r.nickname for r in other.board.leaderboard("duck")] == ["ada", "bob"]
    store.moderation.hide_player("ada", True)  # staff at A: it holds at B at once
    assert [r.nickname for r in other.board.leaderboard("duck")] == ["bob"]
