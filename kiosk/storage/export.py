"""The database side of `kiosk export`: a consistent snapshot, and the rows it exports.

The snapshot is taken with SQLite's backup API from a read-only connection, so it works
while a kiosk runs on the data dir (a reader never waits for a writer in WAL mode) and
writes nothing there. When no WAL file exists (nobody has the database open: an
archived event) the source is opened `immutable` so that SQLite does not create empty
-wal/-shm files beside it; the file is checked to be unchanged afterwards, else the
snapshot is taken again the ordinary way. The copy is migrated to this kiosk's schema, so
an event archived by an older kiosk exports too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.core.api import StoreError
from kiosk.storage import schema
from kiosk.storage.store import Store

Row = tuple[Any, ...]

# Every column of a submission, then its player's flags (the row's own `staff` and
# `hidden` are the submission's: hidden alone, or with its player).
_SUBMISSIONS = (
    "SELECT s.*, p.banned AS player_banned, p.staff AS player_staff,"
    " p.hidden AS player_hidden FROM submissions s JOIN players p ON p.id = s.player_id"
    " ORDER BY s.id"
)
_AUDIT = "SELECT * FROM audit ORDER BY id"


@dataclass(frozen=True)
class Table:
    """Rows of one export: the column names, then the rows (read lazily)."""

    columns: list[str]
    rows: Iterator[Row]


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _quiet(db: Path) -> bool:
    """Whether no connection has the database open (no WAL, no rollback journal)."""
    return not any(Path(f"{db}{tail}").exists() for tail in ("-wal", "-journal"))


def _backup(db: Path, dest: Path, *, immutable: bool) -> None:
    query = "mode=ro&immutable=1" if immutable else "mode=ro"
    src = sqlite3.connect(f"{db.resolve().as_uri()}?{query}", uri=True, timeout=10)
    try:
        dst = sqlite3.connect(dest, isolation_level=None)
        try:
            src.backup(dst)  # one step: one read transaction, a consistent copy
        finally:
            dst.close()
    finally:
        src.close()


def snapshot(db: Path, dest: Path) -> None:
    """Copy the database at `db` into the new file `dest`, consistently, changing nothing
    beside `db`; the copy is migrated to this kiosk's schema. Raises StoreError."""
    db = Path(db)
    try:
        before = _stamp(db)
        if before is not None and _quiet(db):
            _backup(db, dest, immutable=True)
            if not (_quiet(db) and _stamp(db) == before):  # a writer came meanwhile
                dest.unlink()
                _backup(db, dest, immutable=False)
        else:
            _backup(db, dest, immutable=False)
        conn = sqlite3.connect(dest, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")  # the copy needs no -wal/-shm
            schema.migrate(conn)
        finally:
            conn.close()
    except schema.SchemaError as exc:
        raise StoreError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"database {db}: cannot take a snapshot: {exc}") from exc


class Snapshot(Store):
    """A snapshot file opened read-only: the store's own queries (the leaderboard), plus
    the whole-table reads an export needs."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, readonly=True)

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _table(self, sql: str) -> Table:
        cur = self.db.conn().execute(sql)
        return Table(columns=[d[0] for d in cur.description], rows=iter(cur))

    def submissions(self) -> Table:
        """Every submission with every column, plus its player's flags, oldest first."""
        return self._table(_SUBMISSIONS)

    def audit(self) -> Table:
        """The whole audit log, oldest first."""
        return self._table(_AUDIT)

    def raffle_records(self) -> list[dict[str, Any]]:
        """Every raffle as `Store.raffles.get` gives it (winners, eligible, redraws)."""
        ids = [int(r[0]) for r in self.db.conn().execute("SELECT id FROM raffles ORDER BY id")]
        records = [self.raffles.get(rid) for rid in ids]
        return [r for r in records if r is not None]

    def targets(self) -> list[tuple[str, str]]:
        """(id, title) of the targets the event recorded, or played on."""
        rows = self.db.conn().execute(
            "SELECT id, title FROM targets UNION SELECT DISTINCT target_id, target_id FROM best"
            " WHERE target_id NOT IN (SELECT id FROM targets) ORDER BY 1"
        )
        return [(str(i), str(t)) for i, t in rows]

    def images(self) -> list[str]:
        """The image paths the submissions refer to, each once, in order of first use."""
        rows = self.db.conn().execute(
            "SELECT image FROM submissions GROUP BY image ORDER BY MIN(id)"
        )
        return [str(r[0]) for r in rows]
