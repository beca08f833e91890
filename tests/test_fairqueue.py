"""Round-robin fairness: a flooder waits behind everyone else, whatever nicknames it uses."""

from __future__ import annotations

from dataclasses import replace

from kiosk.core.api import KEYBOARD, Job
from kiosk.core.fairqueue import FairQueue


def job(jid: int, pid: int) -> Job:
    return Job(
        id=jid,
        player_id=pid,
        nickname=f"p{pid}",
        target_id="duck",
        raw_prompt="x",
        prompt="x",
        norm_prompt="x",
        dedup_key=f"k{jid}",
        seed=jid,
        created_at=0.0,
    )


def test_round_robin_between_players() -> None:
    q = FairQueue()
    for jid in (1, 2, 3, 4):  # player 1 floods
        q.push(job(jid, 1))
    q.push(job(5, 2))
    q.push(job(6, 3))
    assert [j.id for j in q] == [1, 5, 6, 2, 3, 4]
    assert q.position(6) == 3 and q.position(4) == 6 and q.position(99) == 0
    assert q.count(1) == 4 and len(q) == 6
    assert [q.pop().id for _ in range(6)] == [1, 5, 6, 2, 3, 4]
    assert len(q) == 0


def test_newcomer_goes_before_flooders_next_turn() -> None:
    q = FairQueue()
    q.push(job(1, 1))
    q.push(job(2, 1))
    assert q.pop().id == 1
    q.push(job(3, 2))
    # player 1 was already in line when player 2 arrived: one turn each, in arrival order
    assert [j.id for j in q] == [2, 3]
    q.push(job(4, 2))
    q.push(job(5, 1))
    assert [j.id for j in q] == [2, 3, 5, 4]


def phone(jid: int, pid: int, device: str) -> Job:
    return replace(job(jid, pid), source=f"phone:{device}")


def test_sources_take_turns_then_players_within_a_source() -> None:
    """A macro that invents a nickname for every prompt gets one turn per round: its
    nicknames share its phone's turn. The keyboard is one source, its players in turn."""
    q = FairQueue()
    for jid, pid in ((1, 10), (2, 11), (3, 12), (4, 13)):  # one phone, a nickname each
        q.push(phone(jid, pid, "macro"))
    q.push(phone(5, 1, "ann"))
    q.push(job(6, 2))  # the keyboard: two visitors in turn
    q.push(job(7, 3))
    q.push(phone(8, 4, "bob"))
    order = [1, 5, 6, 8, 2, 7, 3, 4]
    assert [j.id for j in q] == order
    assert [q.position(jid) for jid in order] == list(range(1, 9))
    assert q.count_source("phone:macro") == 4 and q.count_source(KEYBOARD) == 2
    assert q.count_source("phone:nobody") == 0 and q.count(10) == 1 and len(q) == 8
    assert [q.pop().id for _ in range(8)] == order and len(q) == 0


def test_one_player_on_two_sources_counts_on_both() -> None:
    q = FairQueue()
    q.push(job(1, 1))
    q.push(phone(2, 1, "ann"))
    assert q.count(1) == 2 and [j.id for j in q] == [1, 2]
