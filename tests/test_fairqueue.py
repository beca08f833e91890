"""Round-robin fairness: a flooder waits behind everyone else."""

from __future__ import annotations

from kiosk.core.api import Job
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
