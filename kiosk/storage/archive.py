"""The database side of event days: what an event holds, and a database made ready to move.

`kiosk event new` (kiosk.ops.eventdays) moves a closed database into an archive folder;
here is the SQL it needs: the counts shown for an event (live or archived, SQLite or the
shared store: one rule) and the WAL checkpoint that folds every committed row into the
main file before it moves.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kiosk.core.api import StoreError
from kiosk.storage.dialect import Conn

DB_NAME = "kiosk.db"
# The database and the files SQLite may keep beside it: they always move together.
DB_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal")


@dataclass(frozen=True)
class EventCounts:
    """What one event's database holds."""

    players: int
    drawings: int  # pictures the model drew (dedup hits reuse one, so are not counted)
    submissions: int  # every prompt that got a score, dedup hits included
    pending_jobs: int  # accepted prompts not drawn yet
    waiting: int  # visitors who joined a pending job with the same prompt

    @property
    def empty(self) -> bool:
        return not (self.players or self.submissions or self.pending_jobs or self.waiting)

    @property
    def queued_prompts(self) -> int:
        """Visitors' prompts that are still waiting for a drawing."""
        return self.pending_jobs + self.waiting


NO_EVENT = EventCounts(players=0, drawings=0, submissions=0, pending_jobs=0, waiting=0)


def count_event(db: Path) -> EventCounts:
    """The counts of an event's database, read-only (alongside a running kiosk too)."""
    if not db.exists():
        return NO_EVENT
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise StoreError(f"database {db}: cannot open: {exc}") from None
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        return read_counts(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"database {db}: cannot read its counts: {exc}") from None
    finally:
        conn.close()


def read_counts(conn: Conn) -> EventCounts:
    """The counts of the event on this connection (an SQLite file of any schema, or the
    shared store through its Store: see Repositories.event_counts)."""
    try:  # the running totals (schema 2 on) match `kiosk stats` and need no scan
        players, submissions = conn.execute("SELECT players, submissions FROM counters").fetchone()
    except sqlite3.OperationalError:
        players = conn.execute("SELECT COUNT(*) FROM players").fetchone()[0]
        submissions = conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    drawings = conn.execute("SELECT COUNT(*) FROM submissions WHERE dedup_of IS NULL").fetchone()
    pending = conn.execute("SELECT COUNT(*) FROM jobs WHERE state = 'pending'").fetchone()
    try:
        waiting = conn.execute("SELECT COUNT(*) FROM waiters WHERE state = 'waiting'").fetchone()[0]
    except sqlite3.OperationalError:  # before schema 4 nobody could join a job
        waiting = 0
    return EventCounts(
        players=int(players),
        drawings=int(drawings[0]),
        submissions=int(submissions),
        pending_jobs=int(pending[0]),
        waiting=int(waiting),
    )


def checkpoint(db: Path) -> bool:
    """Fold the WAL into the database file and truncate it, then close.

    Returns False when a reader (a `kiosk wall`, a `kiosk leaderboard` at that moment)
    kept part of the WAL in use: nothing is lost, since the -wal file moves with the
    database, but that reader keeps showing the database it opened.
    """
    try:
        conn = sqlite3.connect(db, isolation_level=None, timeout=10)
    except sqlite3.Error as exc:
        raise StoreError(f"database {db}: cannot open: {exc}") from None
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"database {db}: cannot checkpoint: {exc}") from None
    finally:
        conn.close()
    return not busy


def schema_version(db: Path) -> int:
    """The schema version of a database file, read-only (0 when it cannot be read)."""
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0
