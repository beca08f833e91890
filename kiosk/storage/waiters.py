"""Waiters: in-flight dedup. A prompt whose drawing is already waiting or being drawn
joins that job instead of queueing a second one; the store turns each waiter into a
dedup submission in the same transaction that commits the job's drawing."""

from __future__ import annotations

import sqlite3
import time

from kiosk.core.api import Job, Waiter, from_row
from kiosk.storage.mixin import StoreMixin

JOB_COLS = (
    "j.id, j.player_id, p.nickname, j.target_id, j.raw_prompt, j.prompt, j.norm_prompt,"
    " j.dedup_key, j.seed, j.created_at"
)
WAITER_COLS = "w.id, w.job_id, w.player_id, p.nickname, w.raw_prompt, w.prompt, w.created_at"


class Waiters(StoreMixin):
    """Mixin for Store: the waiters table."""

    def _player_id(self, c: sqlite3.Connection, key: str, nickname: str) -> int:
        raise NotImplementedError

    def add_waiter(
        self, *, player_key: str, nickname: str, dedup_key: str, raw_prompt: str, prompt: str
    ) -> tuple[Waiter, Job] | None:
        """Join the pending job that draws this dedup key, if there is one: the prompt gets
        that job's drawing when it is done, with no job of its own. None: no such job."""
        now = time.time()
        pending = "SELECT 1 FROM jobs WHERE dedup_key = ? AND state = 'pending' LIMIT 1"
        if self._conn().execute(pending, (dedup_key,)).fetchone() is None:
            return None  # the usual case: no write transaction for it
        with self.transaction() as c:  # checked again inside: the job may have finished
            row = c.execute(
                f"SELECT {JOB_COLS} FROM jobs j JOIN players p ON p.id = j.player_id"
                " WHERE j.dedup_key = ? AND j.state = 'pending' ORDER BY j.id LIMIT 1",
                (dedup_key,),
            ).fetchone()
            if row is None:
                return None
            job = from_row(Job, row)
            pid = self._player_id(c, player_key, nickname)
            cur = c.execute(
                "INSERT INTO waiters(job_id, player_id, raw_prompt, prompt, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (job.id, pid, raw_prompt, prompt, now),
            )
            wid = int(cur.lastrowid or 0)
            nick = c.execute("SELECT nickname FROM players WHERE id = ?", (pid,)).fetchone()[0]
        waiter = Waiter(
            id=wid,
            job_id=job.id,
            player_id=pid,
            nickname=nick,
            raw_prompt=raw_prompt,
            prompt=prompt,
            created_at=now,
        )
        return waiter, job

    def waiters(self, job_id: int | None = None) -> list[Waiter]:
        """Prompts waiting on a job (every job's when `job_id` is None), oldest first."""
        return self._waiters(self._conn(), job_id)

    def _waiters(self, c: sqlite3.Connection, job_id: int | None) -> list[Waiter]:
        where = "w.state = 'waiting'" + ("" if job_id is None else " AND w.job_id = ?")
        rows = c.execute(
            f"SELECT {WAITER_COLS} FROM waiters w JOIN players p ON p.id = w.player_id"
            f" WHERE {where} ORDER BY w.id",
            () if job_id is None else (job_id,),
        ).fetchall()
        return [from_row(Waiter, r) for r in rows]

    def waiting_count(self, player_id: int) -> int:
        """How many prompts of a player wait on another job's drawing."""
        row = (
            self._conn()
            .execute(
                "SELECT COUNT(*) FROM waiters WHERE player_id = ? AND state = 'waiting'",
                (player_id,),
            )
            .fetchone()
        )
        return int(row[0])
