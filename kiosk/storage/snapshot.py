"""The shared store's event as an SQLite data dir: `kiosk store copy` the other way.

`kiosk export` and `kiosk event new` on a shared PostgreSQL store read its event into a
new data dir: a kiosk.db made by the normal migrations holding every table's rows with
their ids (kiosk.storage.copy's TABLES), and the drawings' files written out of
`pictures` at the paths the submissions name (an SQLite event keeps `pictures` empty: its
files are its pictures). So any kiosk command opens it as it opens a booth's own data
dir. The caller reads the store in one transaction, so the snapshot is consistent while
booths go on drawing; `clear_event` empties the store for the next event.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import psycopg

from kiosk.core.api import StoreError
from kiosk.storage.archive import DB_NAME
from kiosk.storage.copy import SEEDED, TABLES, picture_paths
from kiosk.storage.db import Db
from kiosk.storage.dialect import SCHEMA_TABLE
from kiosk.storage.pg import PgConn
from kiosk.storage.store import PgStore

BATCH = 2000
"""Rows fetched from the server at a time (a big event never sits in memory whole)."""


@dataclass(frozen=True)
class Snapped:
    """What a snapshot wrote: rows per table (TABLES order, `pictures` left out: they
    are files) and the drawings' files."""

    rows: dict[str, int]
    files: int


def snapshot_store(url: str, dest: Path) -> Snapped:
    """The event in the store at `url` into the new data dir `dest`, read in one
    read-only REPEATABLE READ transaction (booths may go on drawing meanwhile)."""
    store = PgStore(url, readonly=True)
    try:
        with store.db.reading():
            c = store.db.conn()
            return write_data_dir(c, dest)
    finally:
        store.shutdown()


def write_data_dir(c: PgConn, dest: Path) -> Snapped:
    """Every table read on `c` (inside the caller's transaction) into a fresh
    `dest/kiosk.db`, and the drawings' files beside it."""
    if (dest / DB_NAME).exists():
        raise StoreError(f"{dest} holds an event already: a snapshot goes into a new data dir")
    _check_tables(c)
    db = Db(dest / DB_NAME)  # created and migrated as any booth's
    try:
        with db.transaction() as out:
            rows = {t: _copy_table(c, out, t) for t in TABLES if t != "pictures"}
            _keep_sequences(c, out)
    except psycopg.Error as exc:
        raise StoreError(f"reading the store at {c.where} failed: {_first(exc)}") from None
    except sqlite3.Error as exc:
        raise StoreError(f"writing {dest / DB_NAME} failed: {_first(exc)}") from None
    finally:
        db.close()
    (dest / "images").mkdir(exist_ok=True)  # a data dir has one, drawings or not
    return Snapped(rows=rows, files=_write_pictures(c, dest))


@contextmanager
def refused_plainly(where: str, outcome: str) -> Iterator[None]:
    """A statement the server refused (a constraint, a trigger, a lost snapshot) said as a
    StoreError in one line, with what it means (`outcome`)."""
    try:
        yield
    except psycopg.Error as exc:
        raise StoreError(f"the store at {where} refused it: {_first(exc)}; {outcome}") from None


def clear_event(c: PgConn) -> None:
    """Empty every table of the event (children first), in the caller's transaction; the
    totals start again at zero as migration 2 seeds them. Ids go on from where they were:
    none is given twice on one store."""
    for table in reversed(TABLES):
        c.execute(f"DELETE FROM {table}")
    c.execute("INSERT INTO counters(id, players, submissions, dedup_hits) VALUES (1, 0, 0, 0)")


def _check_tables(c: PgConn) -> None:
    found = {
        str(r[0])
        for r in c.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema ="
            " current_schema() AND table_type = 'BASE TABLE'"
        )
    } - {SCHEMA_TABLE}
    if found != set(TABLES):  # a new table must be added to TABLES, not left behind
        raise StoreError(
            f"the store at {c.where} has tables {sorted(found)}, the snapshot knows {list(TABLES)}"
        )


def _copy_table(c: PgConn, out: sqlite3.Connection, table: str) -> int:
    """Every row of one table, ids kept, a batch at a time; the count must match."""
    columns = [str(r[1]) for r in out.execute(f"PRAGMA table_info({table})")]
    names = ", ".join(columns)
    order = " ORDER BY id" if "id" in columns else ""
    if table in SEEDED:
        out.execute(f"DELETE FROM {table}")  # the migrations' set-up rows: the store's win
    insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
    with c.raw.cursor(name=f"snapshot_{table}") as cur:  # server side: streamed
        cur.itersize = BATCH
        cur.execute(f"SELECT {names} FROM {table}{order}")
        n = out.executemany(insert, cur).rowcount
    got = int(out.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    if got != n:
        raise StoreError(f"{table}: {n} rows read from the store, {got} written")
    return got


def _keep_sequences(c: PgConn, out: sqlite3.Connection) -> None:
    """An AUTOINCREMENT table (jobs) goes on past every id the store gave, as it
    promises: finished jobs are deleted, their ids are never given again."""
    for (table,) in out.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'"
    ).fetchall():
        row = c.execute(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence(?, 'id'))", (table,)
        ).fetchone()
        given = int(row[0] or 0) if row else 0
        moved = out.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", (given, table)
        ).rowcount
        if moved == 0 and given > 0:  # no row copied: the table has no entry yet
            out.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)", (table, given))


def _write_pictures(c: PgConn, dest: Path) -> int:
    """The drawings' files (and held ones' blurred stand-ins) the submissions name, out of
    `pictures` into `dest`; returns how many (a file the store lacks stays missing, as it
    was there: screens show their frame)."""
    named = set(picture_paths(c))
    written = 0
    try:
        with c.raw.cursor(name="snapshot_pictures") as cur:
            cur.itersize = 16  # drawings are big: a few at a time
            cur.execute("SELECT path, data FROM pictures ORDER BY path")
            for rel, data in cur:
                path = _inside(dest, str(rel))
                if rel in named and path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(bytes(data))
                    written += 1
    except psycopg.Error as exc:
        raise StoreError(f"reading the store at {c.where} failed: {_first(exc)}") from None
    return written


def _inside(dest: Path, rel: str) -> Path | None:
    """`dest / rel` when `rel` is a plain relative path (no way out of `dest`), else None."""
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
        return None
    return dest.joinpath(*parts)


def _first(exc: Any) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
