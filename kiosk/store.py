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
from dataclasses import dataclass
from pathlib import Path

from kiosk import schema
from kiosk.queries import BoardRow, Queries, Stats


class StoreError(Exception):
    """The database cannot be used; the message says why in plain words."""


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


@dataclass(frozen=True)
class Job:
    """Accepted work that has not produced a submission yet."""

    id: int
    player_id: int
    nickname: str
    target_id: str
    raw_prompt: str
    prompt: str
    norm_prompt: str
    dedup_key: str
    seed: int
    created_at: float


@dataclass(frozen=True)
class Submission:
    """One scored drawing as stored."""

    id: int
    player_id: int
    nickname: str
    target_id: str
    prompt: str
    dedup_key: str
    image: str
    cosine: float
    percent: float
    seed: int
    gen_ms: float
    judge_ms: float
    created_at: float
    dedup_of: int | None


@dataclass(frozen=True)
class Result:
    """What the worker produced for one job, ready to commit."""

    image: str
    cosine: float
    percent: float
    gen_ms: float
    judge_ms: float
    generator: str
    judge: str


_SUB_COLS = (
    "s.id, s.player_id, s.nickname, s.target_id, s.prompt, s.dedup_key, s.image, s.cosine,"
    " s.percent, s.seed, s.gen_ms, s.judge_ms, s.created_at, s.dedup_of"
)
_JOB_COLS = (
    "j.id, j.player_id, p.nickname, j.target_id, j.raw_prompt, j.prompt, j.norm_prompt,"
    " j.dedup_key, j.seed, j.created_at"
)


def _reused(original: Submission) -> Result:
    """A dedup hit's result: the original drawing and score, no model time."""
    return Result(original.image, original.cosine, original.percent, 0.0, 0.0, "", "")


class Store(Queries):
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

    # -- targets and players ----------------------------------------------------------

    def sync_targets(self, targets: list[tuple[str, str, str]]) -> None:
        """Record the configured targets (id, title, image path)."""
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO targets(id, title, image) VALUES (?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET title = excluded.title, image = excluded.image",
                targets,
            )

    def _player_id(self, c: sqlite3.Connection, key: str, nickname: str) -> int:
        row = c.execute("SELECT id FROM players WHERE key = ?", (key,)).fetchone()
        if row:
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
            job_id, pid, nick, target_id, raw_prompt, prompt, norm_prompt, dedup_key, seed, now
        )

    def pending_jobs(self) -> list[Job]:
        """Unfinished jobs in the order they were accepted."""
        rows = (
            self._conn()
            .execute(
                f"SELECT {_JOB_COLS} FROM jobs j JOIN players p ON p.id = j.player_id"
                " WHERE j.state = 'pending' ORDER BY j.id"
            )
            .fetchall()
        )
        return [Job(*r) for r in rows]

    def record_attempt(self, job_id: int, reason: str) -> int:
        """Count a failed attempt (the job stays pending); return the attempts so far."""
        with self.transaction() as c:
            c.execute(
                "UPDATE jobs SET attempts = attempts + 1, error = ? WHERE id = ?",
                (reason, job_id),
            )
            row = c.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return int(row[0]) if row else 0

    def fail_job(self, job_id: int, reason: str) -> None:
        """Mark a job failed with its reason; it is kept for staff, not retried."""
        with self.transaction() as c:
            c.execute(
                "UPDATE jobs SET state = 'failed', error = ? WHERE id = ?",
                (reason, job_id),
            )

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
        return Submission(*row) if row else None

    def complete_job(self, job: Job, result: Result) -> Submission:
        """Commit the submission and remove its job, in one transaction."""
        with self.transaction() as c:
            sub = self._insert(c, job.player_id, job, result, None)
            c.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
        return sub

    def complete_job_as_dedup(self, job: Job, original: Submission) -> Submission:
        """A queued job whose drawing appeared meanwhile: record it as a dedup hit."""
        with self.transaction() as c:
            sub = self._insert(c, job.player_id, job, _reused(original), original.id)
            c.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
        return sub

    def add_dedup(
        self, *, player_key: str, nickname: str, job_like: Job, original: Submission
    ) -> Submission:
        """Record an immediate dedup hit as a submission (no job, no model work)."""
        with self.transaction() as c:
            pid = self._player_id(c, player_key, nickname)
            return self._insert(c, pid, job_like, _reused(original), original.id)

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
        nick, staff = c.execute(
            "SELECT nickname, staff FROM players WHERE id = ?", (pid,)
        ).fetchone()
        cur = c.execute(
            "INSERT INTO submissions(player_id, nickname, target_id, raw_prompt, prompt,"
            " norm_prompt, dedup_key, image, cosine, percent, seed, gen_ms, judge_ms,"
            " generator, judge, created_at, dedup_of, staff, job_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ),
        )
        sid = int(cur.lastrowid or 0)
        c.execute(
            "UPDATE players SET submissions = submissions + 1,"
            " dedup_hits = dedup_hits + ? WHERE id = ?",
            (1 if dedup_of is not None else 0, pid),
        )
        c.execute(
            "UPDATE counters SET submissions = submissions + 1, dedup_hits = dedup_hits + ?",
            (1 if dedup_of is not None else 0,),
        )
        if not staff:
            # Strictly greater: on a tie the earlier submission keeps the place.
            c.execute(
                "INSERT INTO best(target_id, player_id, submission_id, cosine, reached_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(target_id, player_id) DO UPDATE SET"
                " submission_id = excluded.submission_id, cosine = excluded.cosine,"
                " reached_at = excluded.reached_at WHERE excluded.cosine > best.cosine",
                (job.target_id, pid, sid, cosine, now),
            )
        return Submission(
            sid,
            pid,
            nick,
            job.target_id,
            job.prompt,
            job.dedup_key,
            image,
            cosine,
            pct,
            job.seed,
            gen_ms,
            judge_ms,
            now,
            dedup_of,
        )

    def submission(self, sid: int) -> Submission | None:
        row = (
            self._conn()
            .execute(f"SELECT {_SUB_COLS} FROM submissions s WHERE s.id = ?", (sid,))
            .fetchone()
        )
        return Submission(*row) if row else None

    # -- staff actions (soft, audited) ------------------------------------------------

    def hide_submission(self, sid: int, actor: str = "staff", reason: str = "") -> None:
        """Soft-delete a submission and recompute its player's best."""
        with self.transaction() as c:
            row = c.execute(
                "SELECT player_id, target_id FROM submissions WHERE id = ?", (sid,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no submission {sid}")
            c.execute("UPDATE submissions SET hidden = 1 WHERE id = ?", (sid,))
            self._recompute_best(c, int(row[0]), str(row[1]))
            self._audit(c, actor, "hide_submission", f"{sid} {reason}".strip())

    def set_staff(self, player_key: str, staff: bool, actor: str = "staff") -> None:
        """Mark a player as staff (off the leaderboard) or not."""
        with self.transaction() as c:
            row = c.execute("SELECT id FROM players WHERE key = ?", (player_key,)).fetchone()
            if row is None:
                raise StoreError(f"no player {player_key!r}")
            pid = int(row[0])
            c.execute("UPDATE players SET staff = ? WHERE id = ?", (int(staff), pid))
            c.execute("UPDATE submissions SET staff = ? WHERE player_id = ?", (int(staff), pid))
            targets = [
                r[0]
                for r in c.execute(
                    "SELECT DISTINCT target_id FROM submissions WHERE player_id = ?", (pid,)
                )
            ]
            for target_id in targets:
                self._recompute_best(c, pid, target_id)
            self._audit(c, actor, "set_staff", f"{player_key} {staff}")

    def _recompute_best(self, c: sqlite3.Connection, pid: int, target_id: str) -> None:
        c.execute("DELETE FROM best WHERE player_id = ? AND target_id = ?", (pid, target_id))
        c.execute(
            "INSERT INTO best(target_id, player_id, submission_id, cosine, reached_at)"
            " SELECT target_id, player_id, id, cosine, created_at FROM submissions"
            " WHERE player_id = ? AND target_id = ? AND hidden = 0 AND staff = 0"
            " ORDER BY cosine DESC, id LIMIT 1",
            (pid, target_id),
        )

    def _audit(self, c: sqlite3.Connection, actor: str, action: str, detail: str) -> None:
        c.execute(
            "INSERT INTO audit(at, actor, action, detail) VALUES (?, ?, ?, ?)",
            (time.time(), actor, action, detail),
        )


__all__ = ["BoardRow", "Job", "Result", "Stats", "Store", "StoreError", "Submission"]
