"""The database: one SQLite connection per thread, transactions, the audit row, migrations.

WAL mode with synchronous=FULL: a committed score survives power loss. The repositories
(kiosk.storage.jobs, board, ...) each hold the `Db` and read and write through it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from kiosk.core.api import StoreError
from kiosk.storage import schema
from kiosk.storage.dialect import SQLITE, Conn, Dialect


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


def write_audit(
    c: Conn, actor: str, action: str, subject: str, reason: str, *, booth: str = ""
) -> None:
    """The audit row of a staff action, written in the action's transaction (with the
    booth where it was taken)."""
    c.execute(
        "INSERT INTO audit(at, actor, action, detail, subject, reason, booth)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (time.time(), actor, action, f"{subject} {reason}".strip(), subject, reason, booth),
    )


class DbAPI(Protocol):
    """What the repositories need of a database, SQLite's or PostgreSQL's."""

    @property
    def dialect(self) -> Dialect: ...
    @property
    def booth(self) -> str:
        """The booth this store serves (its jobs, its audit rows; '' unnamed)."""
        ...

    def conn(self) -> Conn: ...
    def close(self) -> None: ...
    def transaction(self) -> AbstractContextManager[Conn]: ...
    def reading(self) -> AbstractContextManager[None]: ...
    def data_version(self) -> int: ...
    def watch(self, on_change: Callable[[], object]) -> bool: ...
    def one(self, sql: str, *args: object) -> Any: ...
    def audit(self, c: Conn, actor: str, action: str, subject: str, reason: str) -> None: ...
    def hold_booth(self) -> None: ...
    def release_booth(self) -> None: ...
    def booth_running(self, booth: str) -> bool: ...


class Db:
    """A database file, migrated at open; safe to share between threads (one connection each)."""

    dialect = SQLITE

    def __init__(self, path: Path, *, readonly: bool = False, booth: str = "") -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.booth = booth
        self._local = threading.local()
        if not readonly:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot use the data dir {self.path.parent}: {exc.strerror or exc}"
                ) from None
        try:
            schema.migrate(self.conn(), readonly=readonly)
        except schema.SchemaError as exc:
            raise StoreError(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"database {self.path}: cannot open: {exc}") from exc

    def conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
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
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back whole on any error."""
        conn = self.conn()
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

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Several reads as one consistent snapshot (a read transaction; WAL lets the
        writer go on meanwhile)."""
        conn = self.conn()
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def data_version(self) -> int:
        """Changes whenever another connection commits (SQLite's PRAGMA data_version): a
        reader polls this instead of re-reading everything."""
        return int(self.conn().execute("PRAGMA data_version").fetchone()[0])

    def watch(self, on_change: Callable[[], object]) -> bool:
        """No push from a file: False (a reader polls data_version, a few microseconds;
        one booth's own engine publishes its changes itself)."""
        return False

    def audit(self, c: Conn, actor: str, action: str, subject: str, reason: str) -> None:
        """The audit row of a staff action at this booth, in the action's transaction."""
        write_audit(c, actor, action, subject, reason, booth=self.booth)

    # An SQLite file is one booth's: the data-dir lock already keeps a second kiosk out,
    # and no other booth can be running on it.
    def hold_booth(self) -> None:
        """Nothing to hold beyond the data-dir lock."""

    def release_booth(self) -> None:
        """Nothing to let go."""

    def booth_running(self, booth: str) -> bool:
        """No other booth runs on this file."""
        return False

    def one(self, sql: str, *args: object) -> Any:
        """The first row of a query on this thread's connection (None: no row)."""
        return self.conn().execute(sql, args).fetchone()
