"""`kiosk store copy`: one booth's SQLite event moved into an empty shared PostgreSQL store.

Every table's rows go across with their ids, in one transaction on the target (holding the
store's write lock), so a copy that fails leaves the target as it was: nothing
half-copied. The source is read in one snapshot through a read-only connection and never
written; the data dir's lock is held meanwhile, so no booth writes to it during the copy
(its pending jobs would otherwise be drawn twice, once there and once from the copy).
Identity sequences move past the copied ids (the jobs' past the highest id SQLite ever
gave, as AUTOINCREMENT promises), so the next row on the shared store gets a fresh id.
kiosk.storage.snapshot goes the other way (the store's event as an SQLite data dir).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from kiosk.core.api import Review, StoreError
from kiosk.storage import schema
from kiosk.storage.dialect import Conn
from kiosk.storage.images import blurred_relpath
from kiosk.storage.lock import DataDirLock
from kiosk.storage.pg import PgConn, shown
from kiosk.storage.store import PgStore

TABLES = (
    "players",
    "targets",
    "submissions",  # in id order: a dedup copy's original (dedup_of) comes first
    "best",
    "jobs",
    "waiters",
    "audit",
    "counters",
    "meta",
    "raffles",
    "raffle_redraws",
    "blocked_words",
    "pictures",  # empty in an SQLite event: its files are put in after the rows
)
"""Every table of the schema, parents before the rows that refer to them."""

SEEDED = {"counters", "targets", "meta"}
"""Set-up rows, not an event: the migrations' zero totals, and the targets and settings a
booth records when it opens the store. The source's replace them."""


class CopyError(StoreError):
    """The copy was refused or failed; the target was left as it was."""


@dataclass(frozen=True)
class Copied:
    """What a copy moved: rows per table, in TABLES order."""

    rows: dict[str, int]
    source: Path
    target: str


def copy_event(source: Path, url: str) -> Copied:
    """Copy the SQLite event at `source` (a kiosk.db) into the empty store at `url`."""
    if not source.exists():
        raise CopyError(f"no database at {source}: nothing to copy (check --data-dir)")
    try:
        with DataDirLock(source.parent), _snapshot(source) as src:
            rows = _fill(src, url, source.parent)
    except sqlite3.Error as exc:  # a damaged file: the target's transaction rolled back
        raise CopyError(f"cannot read {source}: {exc}; nothing was copied") from None
    return Copied(rows=rows, source=source, target=shown(url))


def _fill(src: sqlite3.Connection, url: str, data_dir: Path) -> dict[str, int]:
    """Every table into the target, and the drawings' files, in one transaction under its
    write lock."""
    target = PgStore(url)  # reachable, and migrated to this kiosk's schema
    try:
        with target.db.transaction() as c:
            assert isinstance(c, PgConn)
            _refuse_unless_empty(c, shown(url))
            rows = {t: _copy_table(src, c, t) for t in TABLES}
            rows["pictures"] += _put_pictures(src, c, data_dir)
            _move_identities(src, c)
        return rows
    except psycopg.Error as exc:  # a row the server refused: all rolled back
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CopyError(f"copying into {shown(url)} failed: {first}; nothing was copied") from None
    finally:
        target.shutdown()


def _put_pictures(src: sqlite3.Connection, c: PgConn, data_dir: Path) -> int:
    """The drawings' files (and the blurred stand-ins of held ones) into the store's
    pictures, one at a time, so every booth and wall sees them; a missing file is left
    out (screens show their frame). Returns how many."""
    put = 0
    for rel in picture_paths(src):
        path = data_dir / rel
        if path.is_file():
            c.execute("INSERT INTO pictures(path, data) VALUES (?, ?)", (rel, path.read_bytes()))
            put += 1
    return put


def picture_paths(c: Conn) -> list[str]:
    """The files an event's submissions name, relative to its data dir: each drawing, and
    the blurred stand-in of each held one (both directions of the copy move these)."""
    held = int(Review.HELD)
    paths = [str(r[0]) for r in c.execute("SELECT DISTINCT image FROM submissions ORDER BY 1")]
    paths += [
        blurred_relpath(str(r[0]))
        for r in c.execute(f"SELECT DISTINCT image FROM submissions WHERE review = {held}")
    ]
    return paths


@contextmanager
def _snapshot(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection on the source, inside one read transaction (a snapshot)."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10)
    except sqlite3.Error as exc:
        raise CopyError(f"cannot read {path}: {exc}") from None
    with closing(conn):
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found != schema.VERSION:
            raise CopyError(
                f"{path} is at schema version {found}, this kiosk copies version"
                f" {schema.VERSION}: open it once with this kiosk (`kiosk demo` or `kiosk run`)"
                " to migrate it, then copy"
            )
        names = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        if names != set(TABLES):  # a new table must be added to TABLES, not left behind
            raise CopyError(f"{path} has tables {sorted(names)}, the copy knows {list(TABLES)}")
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")


def _refuse_unless_empty(c: PgConn, where: str) -> None:
    """CopyError unless the target holds no event yet (set-up rows only, see SEEDED)."""
    full = [
        t
        for t in TABLES
        if t not in SEEDED and c.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0]
    ]
    totals = c.execute("SELECT players, submissions, dedup_hits, refusals FROM counters").fetchall()
    if any(any(row) for row in totals):
        full.append("counters")
    if full:
        raise CopyError(
            f"the store at {where} already holds an event ({', '.join(full)} not empty):"
            " `kiosk store copy` only fills an empty store; nothing was copied"
        )


def _copy_table(src: sqlite3.Connection, c: PgConn, table: str) -> int:
    """Every row of one table, ids kept, by COPY; the count read back must match."""
    columns = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
    names = ", ".join(columns)
    order = " ORDER BY id" if "id" in columns else ""
    if table in SEEDED:
        c.execute(f"DELETE FROM {table}")
    n = 0
    with c.raw.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in src.execute(f"SELECT {names} FROM {table}{order}"):
            copy.write_row(row)
            n += 1
    got = int(c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    if got != n:
        raise CopyError(f"{table}: {n} rows read, {got} written; nothing was copied")
    return n


def _move_identities(src: sqlite3.Connection, c: PgConn) -> None:
    """Each identity sequence past the ids copied (jobs: past every id SQLite gave)."""
    given: dict[str, Any] = dict(src.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    identities = c.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema ="
        " current_schema() AND column_name = 'id' AND is_identity = 'YES'"
    ).fetchall()
    for table in sorted({r[0] for r in identities} & set(TABLES)):
        seq = c.execute("SELECT pg_get_serial_sequence(?, 'id')", (table,)).fetchone()[0]
        top = c.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
        top = max(int(top), int(given.get(table) or 0))
        if top > 0:
            c.execute("SELECT setval(?, ?)", (seq, top))
