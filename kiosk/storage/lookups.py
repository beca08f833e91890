"""Reads of the jobs, the waiters and the drawings by dedup key: what a booth looks up
before it accepts, joins or draws a prompt (kiosk.storage.jobs writes them).

Every read is one statement on the thread's connection, outside any write transaction
(or inside one, where a write passes its connection).
"""

from __future__ import annotations

from collections.abc import Sequence

from kiosk.core.api import Hidden, Job, Submission, Waiter, from_row
from kiosk.storage.db import DbAPI
from kiosk.storage.dialect import Conn

JOB_COLS = (
    "j.id, j.player_id, p.nickname, j.target_id, j.raw_prompt, j.prompt, j.norm_prompt,"
    " j.dedup_key, j.seed, j.created_at, j.source, j.booth"
)
WAITER_COLS = (
    "w.id, w.job_id, w.player_id, p.nickname, w.raw_prompt, w.prompt, w.created_at, w.booth"
)
SUB_COLS = (
    "s.id, s.player_id, s.nickname, s.target_id, s.prompt, s.dedup_key, s.image, s.cosine,"
    " s.percent, s.seed, s.gen_ms, s.judge_ms, s.created_at, s.dedup_of, s.flags, s.review"
)


def waiting(c: Conn, job_id: int | None) -> list[Waiter]:
    """Prompts waiting on a job (every job's when `job_id` is None), oldest first."""
    where = "w.state = 'waiting'" + ("" if job_id is None else " AND w.job_id = ?")
    rows = c.execute(
        f"SELECT {WAITER_COLS} FROM waiters w JOIN players p ON p.id = w.player_id"
        f" WHERE {where} ORDER BY w.id",
        () if job_id is None else (job_id,),
    ).fetchall()
    return [from_row(Waiter, r) for r in rows]


class Lookups:
    """The read side of the jobs repository."""

    def __init__(self, db: DbAPI) -> None:
        self.db = db

    def pending(self, booth: str | None = None) -> list[Job]:
        """Unfinished jobs in the order they were accepted: one booth's, or every booth's
        (None)."""
        where = "j.state = 'pending'" + ("" if booth is None else " AND j.booth = ?")
        rows = (
            self.db.conn()
            .execute(
                f"SELECT {JOB_COLS} FROM jobs j JOIN players p ON p.id = j.player_id"
                f" WHERE {where} ORDER BY j.id",
                () if booth is None else (booth,),
            )
            .fetchall()
        )
        return [from_row(Job, r) for r in rows]

    def waiters(self, job_id: int | None = None) -> list[Waiter]:
        """Prompts waiting on a job (every job's when `job_id` is None), oldest first."""
        return waiting(self.db.conn(), job_id)

    def waiting_count(self, player_id: int) -> int:
        """How many prompts of a player wait on another job's drawing."""
        row = (
            self.db.conn()
            .execute(
                "SELECT COUNT(*) FROM waiters WHERE player_id = ? AND state = 'waiting'",
                (player_id,),
            )
            .fetchone()
        )
        return int(row[0])

    def find_original(self, key: str) -> Submission | None:
        """The first generated (not deduplicated, not hidden) submission with this key."""
        return self.find_originals([key]).get(key)

    def find_originals(self, keys: Sequence[str]) -> dict[str, Submission]:
        """find_original for several keys in one query (a batch's re-check): the keys
        that have an original, each with its first."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        rows = (
            self.db.conn()
            .execute(
                f"SELECT {SUB_COLS} FROM submissions s"
                f" WHERE s.dedup_key IN ({', '.join('?' * len(unique))})"
                " AND s.dedup_of IS NULL AND s.hidden = 0",
                unique,
            )
            .fetchall()
        )
        found: dict[str, Submission] = {}
        for row in rows:
            sub = from_row(Submission, row)
            first = found.get(sub.dedup_key)
            if first is None or sub.id < first.id:
                found[sub.dedup_key] = sub
        return found

    def hidden_original(self, key: str) -> bool:
        """Whether staff hid the drawing of this dedup key (it is not drawn again)."""
        row = (
            self.db.conn()
            .execute(
                "SELECT 1 FROM submissions WHERE dedup_key = ? AND dedup_of IS NULL"
                " AND (hidden & ?) != 0 LIMIT 1",
                (key, Hidden.ALONE),
            )
            .fetchone()
        )
        return row is not None

    def submission(self, sid: int) -> Submission | None:
        """A submission by id (None: no such one)."""
        row = (
            self.db.conn()
            .execute(f"SELECT {SUB_COLS} FROM submissions s WHERE s.id = ?", (sid,))
            .fetchone()
        )
        return from_row(Submission, row) if row else None
