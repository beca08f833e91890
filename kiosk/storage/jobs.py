"""Jobs: accepted work, the prompts waiting on it (in-flight dedup), and committing it.

A job is written before it is queued, so a restart resumes it. A prompt whose drawing is
already waiting or being drawn joins that job as a waiter instead of queueing a second
one; committing the job turns each waiter into a dedup submission in the same
transaction. A committed submission comes back with its player's rank and best.

Booths: a job belongs to the booth whose store accepted it (`db.booth`); only that booth
may commit or fail it (ownership and adoption: kiosk.storage.booths). A prompt joins a
job in flight whatever booth owns it. A submission names the booth that served it: the
booth that drew a drawing, the booth where a dedup hit or a join was typed.

The reads (pending jobs, waiters, dedup lookups) are kiosk.storage.lookups'. On a shared
store each statement is a round trip, so the writes read what they need back with
RETURNING rather than a second statement.
"""

from __future__ import annotations

import time
from dataclasses import replace

from kiosk.core.api import (
    KEYBOARD,
    Hidden,
    InFlight,
    Job,
    JobMoved,
    Result,
    Submission,
    Waiter,
    from_row,
    ranks,
)
from kiosk.storage.board import Board
from kiosk.storage.db import DbAPI
from kiosk.storage.dialect import Conn
from kiosk.storage.lookups import JOB_COLS, Lookups, waiting
from kiosk.storage.players import Players

PENDING = "SELECT 1 FROM jobs WHERE dedup_key = ? AND state = 'pending' LIMIT 1"
"""Whether a job draws this dedup key now (at any booth)."""


def _reused(original: Submission) -> Result:
    """A dedup hit's result: the original drawing and score, no model time."""
    return Result(
        image=original.image,
        cosine=original.cosine,
        percent=original.percent,
        gen_ms=0.0,
        judge_ms=0.0,
        generator="",
        judge="",
        flags=original.flags,
        review=original.review,  # a copy of a held drawing is held with it
    )


class Jobs(Lookups):
    """The jobs and waiters tables, and the submissions committed from them (their reads:
    Lookups)."""

    def __init__(self, db: DbAPI, players: Players, board: Board) -> None:
        super().__init__(db)
        self.players, self.board = players, board

    def add(
        self,
        *,
        player_key: str,
        nickname: str,
        target_id: str,
        raw_prompt: str,
        prompt: str,
        norm_prompt: str,
        dedup_key: str,
        seed: int,
        source: str = KEYBOARD,
    ) -> Job:
        """Persist accepted work before it is queued: a restart resumes it (in the fair
        queue of its source). On a shared store, InFlight when another booth's job draws
        the same key (it came between the caller's look and this write, which runs under
        the store's one write lock: one job per drawing, whatever the race)."""
        now, booth = time.time(), self.db.booth
        where = (source, booth)  # the fair queue's unit and the booth that owns it
        with self.db.transaction() as c:
            if self.db.dialect.shared and c.execute(PENDING, (dedup_key,)).fetchone():
                raise InFlight(f"another booth is drawing {dedup_key[:12]} already")
            pid, nick = self.players.row(c, player_key, nickname)
            job_id = c.execute(
                "INSERT INTO jobs(player_id, target_id, raw_prompt, prompt, norm_prompt,"
                " dedup_key, seed, created_at, source, booth)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (pid, target_id, raw_prompt, prompt, norm_prompt, dedup_key, seed, now, *where),
            ).fetchone()[0]
        return Job(
            id=int(job_id),
            player_id=pid,
            nickname=nick,
            target_id=target_id,
            raw_prompt=raw_prompt,
            prompt=prompt,
            norm_prompt=norm_prompt,
            dedup_key=dedup_key,
            seed=seed,
            created_at=now,
            source=source,
            booth=booth,
        )

    def _take(self, c: Conn, job: Job) -> None:
        """Remove the job as the transaction that commits it begins; JobMoved (and the
        transaction rolls back) unless it is still pending and this booth's."""
        taken = c.execute(
            "DELETE FROM jobs WHERE id = ? AND state = 'pending' AND booth = ? RETURNING id",
            (job.id, self.db.booth),
        ).fetchone()
        if taken is None:
            raise JobMoved(f"job {job.id} is no longer this booth's: another booth draws it")

    def record_attempt(self, job_id: int, reason: str) -> int:
        """Count a failed attempt (the job stays pending); return the attempts so far."""
        with self.db.transaction() as c:
            row = c.execute(
                "UPDATE jobs SET attempts = attempts + 1, error = ? WHERE id = ?"
                " RETURNING attempts",
                (reason, job_id),
            ).fetchone()
        return int(row[0]) if row else 0

    def fail(self, job_id: int, reason: str) -> list[Waiter]:
        """Mark a job failed with its reason, and the waiters that joined it; they are kept
        for staff, not retried. Returns those waiters."""
        with self.db.transaction() as c:
            failed = c.execute(
                "UPDATE jobs SET state = 'failed', error = ?"
                " WHERE id = ? AND booth = ? AND state = 'pending'",
                (reason, job_id, self.db.booth),
            ).rowcount
            if failed == 0:
                return []  # another booth's now (adopted): it is theirs to draw or fail
            waiters = waiting(c, job_id)
            c.execute(
                "UPDATE waiters SET state = 'failed', error = ?"
                " WHERE job_id = ? AND state = 'waiting'",
                (reason, job_id),
            )
        return waiters

    def _finish_waiters(self, c: Conn, job: Job, original: Submission) -> list[Submission]:
        """Each waiter of a job becomes a dedup submission of its drawing, after it (so it
        ranks after the earlier prompt at the same score)."""
        waiting = c.execute(
            "DELETE FROM waiters WHERE job_id = ? AND state = 'waiting'"
            " RETURNING id, player_id, raw_prompt, prompt, booth",
            (job.id,),
        ).fetchall()
        subs = []
        for _, pid, raw_prompt, prompt, booth in sorted(waiting):  # oldest first
            like = replace(job, raw_prompt=raw_prompt, prompt=prompt, booth=booth)
            subs.append(self._insert(c, int(pid), like, _reused(original), original.id))
        return subs

    def add_waiter(
        self, *, player_key: str, nickname: str, dedup_key: str, raw_prompt: str, prompt: str
    ) -> tuple[Waiter, Job] | None:
        """Join the pending job that draws this dedup key, if there is one: the prompt gets
        that job's drawing when it is done, with no job of its own. None: no such job."""
        now = time.time()
        if self.db.conn().execute(PENDING, (dedup_key,)).fetchone() is None:
            return None  # the usual case: no write transaction for it
        with self.db.transaction() as c:  # checked again inside: the job may have finished
            row = c.execute(
                f"SELECT {JOB_COLS} FROM jobs j JOIN players p ON p.id = j.player_id"
                " WHERE j.dedup_key = ? AND j.state = 'pending' ORDER BY j.id LIMIT 1",
                (dedup_key,),
            ).fetchone()
            if row is None:
                return None
            job = from_row(Job, row)
            pid, nick = self.players.row(c, player_key, nickname)
            wid = c.execute(
                "INSERT INTO waiters(job_id, player_id, raw_prompt, prompt, created_at, booth)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (job.id, pid, raw_prompt, prompt, now, self.db.booth),
            ).fetchone()[0]
        waiter = Waiter(
            id=int(wid),
            job_id=job.id,
            player_id=pid,
            nickname=nick,
            raw_prompt=raw_prompt,
            prompt=prompt,
            created_at=now,
            booth=self.db.booth,
        )
        return waiter, job

    def complete(self, job: Job, result: Result) -> list[Submission]:
        """Commit the submission, one for each waiter, and remove the job, in one
        transaction. The job's own submission comes first."""
        with self.db.transaction() as c:
            self._take(c, job)
            sub = self._insert(c, job.player_id, replace(job, booth=self.db.booth), result, None)
            followers = self._finish_waiters(c, job, sub)
            return self._placed([sub, *followers])

    def complete_as_dedup(self, job: Job, original: Submission) -> list[Submission]:
        """A queued job whose drawing appeared meanwhile: record it (and its waiters) as
        dedup hits."""
        with self.db.transaction() as c:
            self._take(c, job)
            like = replace(job, booth=self.db.booth)
            sub = self._insert(c, job.player_id, like, _reused(original), original.id)
            followers = self._finish_waiters(c, job, original)
            return self._placed([sub, *followers])

    def add_dedup(
        self, *, player_key: str, nickname: str, job_like: Job, original: Submission
    ) -> Submission:
        """Record an immediate dedup hit as a submission (no job, no model work)."""
        with self.db.transaction() as c:
            pid = self.players.id(c, player_key, nickname)
            like = replace(job_like, booth=self.db.booth)
            return self._placed([self._insert(c, pid, like, _reused(original), original.id)])[0]

    def _placed(self, subs: list[Submission]) -> list[Submission]:
        """The submissions with their players' rank and best as this transaction leaves
        them (read on its own connection, before it commits)."""
        placed = [(s, self.board.placed(s.player_id, s.target_id)) for s in subs]
        return [replace(s, rank=rank, best=best) for s, (rank, best) in placed]

    def _insert(
        self,
        c: Conn,
        pid: int,
        job: Job,
        result: Result,
        dedup_of: int | None,
    ) -> Submission:
        now = time.time()
        image, cosine, pct = result.image, result.cosine, result.percent
        gen_ms, judge_ms, generator, judge = (
            result.gen_ms,
            result.judge_ms,
            result.generator,
            result.judge,
        )
        # The player's totals first: the same statement reads what the row needs.
        nick, staff, hidden = c.execute(
            "UPDATE players SET submissions = submissions + 1,"
            " dedup_hits = dedup_hits + ?, drawn = drawn + ? WHERE id = ?"
            " RETURNING nickname, staff, hidden",
            (1 if dedup_of is not None else 0, 1 if dedup_of is None else 0, pid),
        ).fetchone()
        sid = c.execute(
            "INSERT INTO submissions(player_id, nickname, target_id, raw_prompt, prompt,"
            " norm_prompt, dedup_key, image, cosine, percent, seed, gen_ms, judge_ms,"
            " generator, judge, created_at, dedup_of, staff, job_id, hidden, flags, review,"
            " booth) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                pid,
                nick,
                job.target_id,
                job.raw_prompt,
                job.prompt,
                job.norm_prompt,
                job.dedup_key,
                image,
                cosine,
                pct,
                job.seed,
                gen_ms,
                judge_ms,
                generator,
                judge,
                now,
                dedup_of,
                staff,
                job.id or None,
                Hidden.WITH_PLAYER if hidden else 0,
                result.flags,
                result.review,
                job.booth,
            ),
        ).fetchone()[0]
        c.execute(
            "UPDATE counters SET submissions = submissions + 1, dedup_hits = dedup_hits + ?",
            (1 if dedup_of is not None else 0,),
        )
        if ranks(hidden=hidden, staff=staff, review=result.review):
            # Strictly greater: on a tie the earlier submission keeps the place.
            c.execute(
                "INSERT INTO best(target_id, player_id, submission_id, cosine, reached_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(target_id, player_id) DO UPDATE SET"
                " submission_id = excluded.submission_id, cosine = excluded.cosine,"
                " reached_at = excluded.reached_at WHERE excluded.cosine > best.cosine",
                (job.target_id, pid, sid, cosine, now),
            )
        return Submission(
            id=int(sid),
            player_id=pid,
            nickname=nick,
            target_id=job.target_id,
            prompt=job.prompt,
            dedup_key=job.dedup_key,
            image=image,
            cosine=cosine,
            percent=pct,
            seed=job.seed,
            gen_ms=gen_ms,
            judge_ms=judge_ms,
            created_at=now,
            dedup_of=dedup_of,
            flags=result.flags,
            review=result.review,
        )
