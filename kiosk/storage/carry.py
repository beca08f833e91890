"""What staff set for the whole event, carried from one event day's database into the next.

`kiosk event new` (kiosk.ops.eventdays) reads it from the closing day's database before
it is archived, and writes it into the fresh one: staff's word changes, and the players
staff banned, tagged staff or hid. Each carried player waits in the fresh database as a
row that has not played (not counted, no scores), so the flag holds at its first prompt.
Reading is read-only and tolerates an older schema (an event from an older kiosk).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.core.api import StoreError
from kiosk.storage.mixin import StoreMixin

_FLAGS = ("banned", "staff", "hidden")
ACTIONS = {"banned": "ban", "staff": "tag-staff", "hidden": "hide"}


@dataclass(frozen=True)
class CarriedPlayer:
    """A player staff flagged: the flags that go with them into the next event day."""

    key: str
    nickname: str
    banned: bool
    staff: bool
    hidden: bool


@dataclass(frozen=True)
class StaffState:
    """Staff settings of one event day that outlive it, and the target staff switched to
    (for the archive's manifest: a fresh event starts on the config's target)."""

    words: list[tuple[str, bool, float, str]] = field(default_factory=list)
    """(word, blocked, at, actor), oldest change first."""
    players: list[CarriedPlayer] = field(default_factory=list)
    target: str | None = None

    def with_flag(self, flag: str) -> list[str]:
        """Nicknames of the carried players with this flag ("banned", "staff", "hidden")."""
        return [p.nickname for p in self.players if getattr(p, flag)]

    def words_blocked(self, blocked: bool) -> list[str]:
        return [w for w, b, _, _ in self.words if b == blocked]


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
    flags = [f if f in have else "0" for f in _FLAGS]
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


class CarryIn(StoreMixin):
    """Mixin for Store: write a closing day's staff settings into this (fresh) event."""

    def carry_in(self, state: StaffState, *, source: str, actor: str = "event-new") -> None:
        """Staff's word changes and flagged players, each with an audit row naming where
        it came from; in one transaction. A player already here keeps their row and gains
        the flags (a flag is only ever added)."""
        why = f"carried over from {source}"
        with self.transaction() as c:
            for word, blocked, at, by in state.words:
                c.execute(
                    "INSERT OR REPLACE INTO blocked_words(word, blocked, at, actor)"
                    " VALUES (?, ?, ?, ?)",
                    (word, int(blocked), at, by),
                )
                self._audit(c, actor, "block-word" if blocked else "unblock-word", word, why)
            for p in state.players:
                c.execute(
                    "INSERT INTO players(key, nickname, created_at, played, banned, staff,"
                    " hidden) VALUES (?, ?, ?, 0, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                    " banned = max(banned, excluded.banned), staff = max(staff, excluded.staff),"
                    " hidden = max(hidden, excluded.hidden)",
                    (p.key, p.nickname, time.time(), int(p.banned), int(p.staff), int(p.hidden)),
                )
                for flag in _FLAGS:
                    if getattr(p, flag):
                        self._audit(c, actor, ACTIONS[flag], p.key, why)
