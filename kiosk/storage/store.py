"""SQLite store: schema and migrations, durable jobs and submissions, leaderboard queries.

WAL mode with synchronous=FULL: a committed score survives power loss. One
connection per thread. The `best` table keeps each player's best submission per
target, maintained in the same transaction as the submission, so the
leaderboard and rank queries are index range scans even at a million rows.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from kiosk.core.api import (
    HELD,
    BoardRow,
    Job,
    Result,
    Stats,
    StoreError,
    Submission,
    Waiter,
    from_row,
)
from kiosk.storage import schema
from kiosk.storage.carry import CarryIn
from kiosk.storage.players import PlayerCodes
from kiosk.storage.queries import Queries
from kiosk.storage.raffles import Raffles
from kiosk.storage.staff import HIDDEN_WITH_PLAYER, StaffActions
from kiosk.storage.waiters import JOB_COLS, Waiters
from kiosk.storage.words import BlockedWords


def plain_db_error(path: Path, exc: sqlite3.Error) -> str:
    """An SQLite error as an operator reads it; nothing was written."""
    text = str(exc)
    if "full" in text:
        why = "the disk is full"
    elif "readonly" in text or "read-only" in text:
        why = "the data dir is read-only"
    elif "locked" in text or "busy" in text:
        why = "the database is busy (another process holds it)"
    else:
        why = text
    return f"could not save to {path}: {why} ({text}); nothing was written"


_SUB_COLS = (
    "s.id, s.player_id, s.nickname, s.target_id, s.prompt, s.dedup_key, s.image, s.cosine,"
    " s.percent, s.seed, s.gen_ms, s.judge_ms, s.created_at, s.dedup_of, s.flags, s.review"
)


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


class Store(Waiters, StaffActions, Raffles, PlayerCodes, BlockedWords, CarryIn, Queries):
    """The kiosk's database; safe to share between threads (one connection each)."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._local = threading.local()
        if not readonly:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot use the data dir {self.path.parent}: {exc.strerror or exc}"
                ) from None
        with self._lock_errors("open"):
            schema.migrate(self._conn(), readonly=readonly)

    @contextmanager
    def _lock_errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except schema.SchemaError as exc:
            raise StoreError(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"database {self.path}: cannot {what}: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self.readonly:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10)
            else:
                conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            conn.execute("PRAGMA busy_timeout = 10000")
            if not self.readonly:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back whole on any error."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(plain_db_error(self.path, exc)) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:  # SQLite may have rolled back already (disk full)
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise StoreError(plain_db_error(self.path, exc)) from exc
            raise

    # -- what the last run was set up with -----------------------------------------------

    def swap_meta(self, key: str, value: str) -> str | None:
        """Record a setting of this run; return the one the last run recorded (None: none)."""
        with self.transaction() as c:
            row = c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            c.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        return str(row[0]) if row else None

    def meta(self, key: str) -> str | None:
        """A setting the last run recorded (see swap_meta), or None."""
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    # -- targets and players ----------------------------------------------------------

    def ensure_player(self, key: str, nickname: str) -> int:
        """The id of a player, created with this nickname if new."""
        with self.transaction() as c:
            return self._player_id(c, key, nickname)

    def sync_targets(self, targets: list[tuple[str, str, str]]) -> None:
        """Record the configured targets (id, title, image path)."""
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO targets(id, title, image) VALUES (?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET title = excluded.title, image = excluded.image",
                targets,
            )

    def _player_id(self, c: sqlite3.Connection, key: str, nickname: str) -> int:
        row = c.execute("SELECT id, played FROM players WHERE key = ?", (key,)).fetchone()
        if row:
            if not row[1]:  # staff named them before they played (a ban): they play now
                c.execute(
                    "UPDATE players SET played = 1, nickname = ? WHERE id = ?", (nickname, row[0])
                )
                c.execute("UPDATE counters SET players = players + 1")
            return int(row[0])
        cur = c.execute(
            "INSERT INTO players(key, nickname, created_at) VALUES (?, ?, ?)",
            (key, nickname, time.time()),
        )
        c.execute("UPDATE counters SET players = players + 1")
        return int(cur.lastrowid or 0)

    def player(self, key: str) -> tuple[int, str, bool] | None:
        """(id, nickname, staff) of a player by identity key."""
        row = (
            self._conn()
            .execute("SELECT id, nickname, staff FROM players WHERE key = ?", (key,))
            .fetchone()
        )
        return (int(row[0]), str(row[1]), bool(row[2])) if row else None

    # -- jobs -------------------------------------------------------------------------

    def add_job(
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
    ) -> Job:
        """Persist accepted work before it is queued: a restart resumes it."""
        now = time.time()
        with self.transaction() as c:
            pid = self._player_id(c, player_key, nickname)
            cur = c.execute(
                "INSERT INTO jobs(player_id, target_id, raw_prompt, prompt, norm_prompt,"
                " dedup_key, seed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (pid, target_id, raw_prompt, prompt, norm_prompt, dedup_key, seed, now),
            )
            job_id = int(cur.lastrowid or 0)
            nick = c.execute("SELECT nickname FROM players WHERE id = ?", (pid,)).fetchone()[0]
        return Job(
            id=job_id,
            player_id=pid,
            nickname=nick,
            target_id=target_id,
            raw_prompt=raw_prompt,
            prompt=prompt,
            norm_prompt=norm_prompt,
            dedup_key=dedup_key,
            seed=seed,
            created_at=now,
        )

    def pending_jobs(self) -> list[Job]:
        """Unfinished jobs in the order they were accepted."""
        rows = (
            self._conn()
            .execute(
                f"SELECT {JOB_COLS} FROM jobs j JOIN players p ON p.id = j.player_id"
                " WHERE j.state = 'pending' ORDER BY j.id"
            )
            .fetchall()
        )
        return [from_row(Job, r) for r in rows]

    def record_attempt(self, job_id: int, reason: str) -> int:
        """Count a failed attempt (the job stays pending); return the attempts so far."""
        with self.transaction() as c:
            c.execute(
                "UPDATE jobs SET attempts = attempts + 1, error = ? WHERE id = ?",
                (reason, job_id),
            )
            row = c.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return int(row[0]) if row else 0

    def fail_job(self, job_id: int, reason: str) -> list[Waiter]:
        """Mark a job failed with its reason, and the waiters that joined it; they are kept
        for staff, not retried. Returns those waiters."""
        with self.transaction() as c:
            c.execute(
                "UPDATE jobs SET state = 'failed', error = ? WHERE id = ?",
                (reason, job_id),
            )
            waiters = self._waiters(c, job_id)
            c.execute(
                "UPDATE waiters SET state = 'failed', error = ?"
                " WHERE job_id = ? AND state = 'waiting'",
                (reason, job_id),
            )
        return waiters

    def _finish_waiters(
        self, c: sqlite3.Connection, job: Job, original: Submission
    ) -> list[Submission]:
        """Each waiter of a job becomes a dedup submission of its drawing, after it (so it
        ranks after the earlier prompt at the same score)."""
        subs = []
        for w in self._waiters(c, job.id):
            like = replace(job, raw_prompt=w.raw_prompt, prompt=w.prompt)
            subs.append(self._insert(c, w.player_id, like, _reused(original), original.id))
        c.execute("DELETE FROM waiters WHERE job_id = ? AND state = 'waiting'", (job.id,))
        return subs

    # -- submissions ------------------------------------------------------------------

    def find_original(self, key: str) -> Submission | None:
        """The first generated (not deduplicated, not hidden) submission with this key."""
        row = (
            self._conn()
            .execute(
                f"SELECT {_SUB_COLS} FROM submissions s"
                " WHERE s.dedup_key = ? AND s.dedup_of IS NULL AND s.hidden = 0"
                " ORDER BY s.id LIMIT 1",
                (key,),
            )
            .fetchone()
        )
        return from_row(Submission, row) if row else None

    def complete_job(self, job: Job, result: Result) -> list[Submission]:
        """Commit the submission, one for each waiter, and remove the job, in one
        transaction. The job's own submission comes first."""
        with self.transaction() as c:
            sub = self._insert(c, job.player_id, job, result, None)
            followers = self._finish_waiters(c, job, sub)
            c.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
            return self._placed([sub, *followers])

    def complete_job_as_dedup(self, job: Job, original: Submission) -> list[Submission]:
        """A queued job whose drawing appeared meanwhile: record it (and its waiters) as
        dedup hits."""
        with self.transaction() as c:
            sub = self._insert(c, job.player_id, job, _reused(original), original.id)
            followers = self._finish_waiters(c, job, original)
            c.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
            return self._placed([sub, *followers])

    def add_dedup(
        self, *, player_key: str, nickname: str, job_like: Job, original: Submission
    ) -> Submission:
        """Record an immediate dedup hit as a submission (no job, no model work)."""
        with self.transaction() as c:
            pid = self._player_id(c, player_key, nickname)
            return self._placed([self._insert(c, pid, job_like, _reused(original), original.id)])[0]

    def _placed(self, subs: list[Submission]) -> list[Submission]:
        """The submissions with their players' rank and best as this transaction leaves
        them (read on its own connection, before it commits)."""
        return [
            replace(
                s,
                rank=self.rank(s.player_id, s.target_id),
                best=self.best_percent(s.player_id, s.target_id),
            )
            for s in subs
        ]

    def _insert(
        self,
        c: sqlite3.Connection,
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
        nick, staff, hidden = c.execute(
            "SELECT nickname, staff, hidden FROM players WHERE id = ?", (pid,)
        ).fetchone()
        cur = c.execute(
            "INSERT INTO submissions(player_id, nickname, target_id, raw_prompt, prompt,"
            " norm_prompt, dedup_key, image, cosine, percent, seed, gen_ms, judge_ms,"
            " generator, judge, created_at, dedup_of, staff, job_id, hidden, flags, review)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                HIDDEN_WITH_PLAYER if hidden else 0,
                result.flags,
                result.review,
            ),
        )
        sid = int(cur.lastrowid or 0)
        c.execute(
            "UPDATE players SET submissions = submissions + 1,"
            " dedup_hits = dedup_hits + ?, drawn = drawn + ? WHERE id = ?",
            (1 if dedup_of is not None else 0, 1 if dedup_of is None else 0, pid),
        )
        c.execute(
            "UPDATE counters SET submissions = submissions + 1, dedup_hits = dedup_hits + ?",
            (1 if dedup_of is not None else 0,),
        )
        if not staff and not hidden and result.review != HELD:
            # Strictly greater: on a tie the earlier submission keeps the place.
            c.execute(
                "INSERT INTO best(target_id, player_id, submission_id, cosine, reached_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(target_id, player_id) DO UPDATE SET"
                " submission_id = excluded.submission_id, cosine = excluded.cosine,"
                " reached_at = excluded.reached_at WHERE excluded.cosine > best.cosine",
                (job.target_id, pid, sid, cosine, now),
            )
        return Submission(
            id=sid,
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

    def submission(self, sid: int) -> Submission | None:
        row = (
            self._conn()
            .execute(f"SELECT {_SUB_COLS} FROM submissions s WHERE s.id = ?", (sid,))
            .fetchone()
        )
        return from_row(Submission, row) if row else None


__all__ = ["BoardRow", "Job", "Result", "Stats", "Store", "StoreError", "Submission", "Waiter"]
