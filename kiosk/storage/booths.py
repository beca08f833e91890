"""Booths of one event: which booth owns which pending job, and handing a dead booth's
jobs to another (`kiosk staff adopt`).

A job belongs to the booth whose store accepted it (`db.booth`): only that booth draws
it, resumes it, and may commit or fail it (kiosk.storage.jobs checks the owner in the
committing transaction). A booth asks `owned` as it takes a batch, so it draws only the
jobs it owns at that moment. `running` names the booths running on a shared store now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from kiosk.core.api import Job, Submission, Waiter, from_row
from kiosk.storage.db import DbAPI
from kiosk.storage.dialect import BOOTH_LOCK
from kiosk.storage.jobs import Jobs
from kiosk.storage.lookups import SUB_COLS


class Booths:
    """The jobs table seen by booth: ownership, resume, adoption."""

    def __init__(self, db: DbAPI, jobs: Jobs) -> None:
        self.db, self.jobs = db, jobs

    def resume(self) -> list[Job]:
        """This booth's pending jobs, to draw (at start). An SQLite file is one booth's
        (the data-dir lock says so), so there the booth first takes every pending job in
        it, whatever name accepted it (rows from before booths, a renamed host): a single
        booth resumes all its work, as it always did."""
        booth = self.db.booth
        if not self.db.dialect.shared:
            others = "SELECT 1 FROM jobs WHERE state = 'pending' AND booth != ? LIMIT 1"
            if self.db.conn().execute(others, (booth,)).fetchone() is not None:
                with self.db.transaction() as c:
                    c.execute(
                        "UPDATE jobs SET booth = ? WHERE state = 'pending' AND booth != ?",
                        (booth, booth),
                    )
        return self.jobs.pending(booth)

    def owned(self, job_ids: Sequence[int]) -> set[int]:
        """Which of these jobs are still pending and this booth's: the ones it may draw
        (asked as it takes a batch; another booth may have adopted the rest)."""
        ids = list(dict.fromkeys(job_ids))
        if not ids:
            return set()
        rows = (
            self.db.conn()
            .execute(
                f"SELECT id FROM jobs WHERE id IN ({', '.join('?' * len(ids))})"
                " AND state = 'pending' AND booth = ?",
                [*ids, self.db.booth],
            )
            .fetchall()
        )
        return {int(r[0]) for r in rows}

    def settled(self, joined: Sequence[tuple[Waiter, str]]) -> dict[int, Submission | str]:
        """What became of prompts this booth joined to other booths' jobs, given as
        (waiter, the job's dedup key): by waiter id, the submission its job's commit made
        for it (with rank and best), or the reason that job failed. Still waiting: absent.
        A committed job's waiters leave the table, and the waiter's submission is its
        player's first with that key (a later one would have been a dedup hit of it)."""
        if not joined:
            return {}
        ids = [w.id for w, _ in joined]
        c = self.db.conn()
        rows = c.execute(
            f"SELECT id, state, error FROM waiters WHERE id IN ({', '.join('?' * len(ids))})",
            ids,
        ).fetchall()
        left = {int(i): (str(state), str(error or "")) for i, state, error in rows}
        out: dict[int, Submission | str] = {}
        for w, key in joined:
            state, error = left.get(w.id, ("done", ""))
            if state == "failed":
                out[w.id] = error
            elif state == "done":
                row = c.execute(
                    f"SELECT {SUB_COLS} FROM submissions s WHERE s.dedup_key = ?"
                    " AND s.player_id = ? ORDER BY s.id LIMIT 1",
                    (key, w.player_id),
                ).fetchone()
                if row is not None:
                    sub = from_row(Submission, row)
                    rank, best = self.jobs.board.placed(w.player_id, sub.target_id)
                    out[w.id] = replace(sub, rank=rank, best=best)
        return out

    def pending_by_booth(self) -> dict[str, int]:
        """Pending jobs by the booth that owns them."""
        rows = (
            self.db.conn()
            .execute("SELECT booth, COUNT(*) FROM jobs WHERE state = 'pending' GROUP BY booth")
            .fetchall()
        )
        return {str(b): int(n) for b, n in rows}

    def running(self) -> list[str]:
        """The booths running on the shared store now, by name ([] on SQLite: a file is one
        booth's, and its data-dir lock tells). A running booth holds BOOTH_LOCK with the
        hash of its name (kiosk.storage.pg.PgDb.hold_booth): a hash names no one, so the
        names the event has seen (and this booth's own) are matched to the held locks; a
        lock no name matches is told by its server process (named ones first)."""
        if not self.db.dialect.shared:
            return []
        c = self.db.conn()
        held = c.execute(
            "SELECT objid::bigint, pid FROM pg_locks WHERE locktype = 'advisory'"
            " AND classid::bigint = ? AND objsubid = 2 AND granted AND database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())",
            (BOOTH_LOCK,),
        ).fetchall()
        if not held:
            return []
        seen = c.execute(
            "SELECT name, hashtext(name)::bigint & 4294967295 FROM ("
            " SELECT booth AS name FROM jobs UNION SELECT booth FROM submissions"
            " UNION SELECT booth FROM waiters UNION SELECT booth FROM audit UNION SELECT ?"
            ") AS names",
            (self.db.booth,),
        ).fetchall()
        names: dict[int, list[str]] = {}
        for name, key in seen:
            names.setdefault(int(key), []).append(str(name))
        known = sorted(n for key, _ in held for n in names.get(int(key), []))
        unknown = [
            f"one not seen in this event yet (server process {pid})"
            for key, pid in held
            if int(key) not in names
        ]
        return known + unknown

    def adopt(self, booth: str, *, reason: str = "", actor: str = "staff") -> int:
        """Hand a (dead) booth's pending jobs, and the prompts waiting on them, to this
        booth, in one transaction with its audit row; how many jobs. A job has one owner
        at any time, and a booth draws only what it owns when it takes it (see owned), so
        none is drawn twice by booths that play by it."""
        me = self.db.booth
        with self.db.transaction() as c:
            moved = c.execute(
                "UPDATE jobs SET booth = ? WHERE booth = ? AND state = 'pending'", (me, booth)
            ).rowcount
            if moved > 0:
                why = f"{moved} pending job{'s' if moved != 1 else ''} to {me}"
                self.db.audit(c, actor, "adopt", booth, f"{why}; {reason}" if reason else why)
        return max(moved, 0)
