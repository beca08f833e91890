"""What staff set for the whole event, carried from one event day's database into the next.

`kiosk event new` (kiosk.ops.eventdays) reads it here from the closing day's database before
it is archived, and writes it into the fresh one: staff's word changes, and the players
staff banned, tagged staff or hid. Each carried player waits in the fresh database as a
row that has not played (not counted, no scores), so the flag holds at its first prompt.
Reading is read-only and tolerates an older schema (an event from an older kiosk).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kiosk.core.api import CarriedPlayer, StaffState, StoreError

ACTIONS = {"banned": "ban", "staff": "tag-staff", "hidden": "hide"}
"""The player flags carried into the next event day, and the audit action of each."""


def read_staff_state(db: Path) -> StaffState:
    """The staff settings kept in an event's database, read-only (empty when none)."""
    if not db.exists():
        return StaffState()
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise StoreError(f"database {db}: cannot open: {exc}") from None
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        return StaffState(words=_words(conn), players=_players(conn), target=_target(conn))
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"database {db}: cannot read its staff settings: {exc}") from None
    finally:
        conn.close()


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}


def _words(conn: sqlite3.Connection) -> list[tuple[str, bool, float, str]]:
    if not _columns(conn, "blocked_words"):  # before schema 8 staff could not change words
        return []
    rows = conn.execute("SELECT word, blocked, at, actor FROM blocked_words ORDER BY at, word")
    return [(str(w), bool(b), float(at), str(actor)) for w, b, at, actor in rows]


def _players(conn: sqlite3.Connection) -> list[CarriedPlayer]:
    have = _columns(conn, "players")
    flags = [f if f in have else "0" for f in ACTIONS]
    rows = conn.execute(
        f"SELECT key, nickname, {', '.join(flags)} FROM players"
        f" WHERE {' OR '.join(f'{f} != 0' for f in flags)} ORDER BY id"
    )
    return [CarriedPlayer(str(k), str(n), bool(b), bool(s), bool(h)) for k, n, b, s, h in rows]


def _target(conn: sqlite3.Connection) -> str | None:
    if not _columns(conn, "meta"):
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'event.target'").fetchone()
    return str(row[0]) if row else None
