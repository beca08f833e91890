"""Players in the store: who they are, staff's flags on them, their codes and pauses.

A player's code hash is "" until they pick a code; the hash is never logged, and only
staff changes (actor other than "booth") leave an audit row.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from kiosk.core.api import PlayerFlags, StoreError
from kiosk.core.identity import player_key
from kiosk.storage.dialect import Conn

if TYPE_CHECKING:  # db migrates at open with rekey_players, below
    from kiosk.storage.db import DbAPI


class Players:
    """The players table."""

    def __init__(self, db: DbAPI) -> None:
        self.db = db

    def ensure(self, key: str, nickname: str) -> int:
        """The id of a player, created with this nickname if new."""
        with self.db.transaction() as c:
            return self.id(c, key, nickname)

    def id(self, c: Conn, key: str, nickname: str) -> int:
        """The id of a player in a transaction, created (and counted) if new."""
        return self.row(c, key, nickname)[0]

    @staticmethod
    def row(c: Conn, key: str, nickname: str) -> tuple[int, str]:
        """(id, nickname) of a player in a transaction, created (and counted) if new: one
        statement for a known player (each is a round trip to a shared store)."""
        row = c.execute("SELECT id, played, nickname FROM players WHERE key = ?", (key,)).fetchone()
        if row:
            if not row[1]:  # staff named them before they played (a ban): they play now
                c.execute(
                    "UPDATE players SET played = 1, nickname = ? WHERE id = ?", (nickname, row[0])
                )
                c.execute("UPDATE counters SET players = players + 1")
                return int(row[0]), nickname
            return int(row[0]), str(row[2])
        pid = c.execute(
            "INSERT INTO players(key, nickname, created_at) VALUES (?, ?, ?) RETURNING id",
            (key, nickname, time.time()),
        ).fetchone()[0]
        c.execute("UPDATE counters SET players = players + 1")
        return int(pid), nickname

    @staticmethod
    def reserve(c: Conn, key: str, nickname: str) -> int:
        """The id of a player, made for staff when the nickname has not played yet: not
        counted among the players (played = 0) until its first prompt is accepted."""
        row = c.execute("SELECT id FROM players WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return int(row[0])
        pid = c.execute(
            "INSERT INTO players(key, nickname, created_at, played) VALUES (?, ?, ?, 0)"
            " RETURNING id",
            (key, nickname, time.time()),
        ).fetchone()[0]
        return int(pid)

    @staticmethod
    def known(c: Conn, key: str) -> int:
        """The id of a player who has a row; StoreError when none."""
        row = c.execute("SELECT id FROM players WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise StoreError(f"no player {key!r} has played yet")
        return int(row[0])

    def get(self, key: str) -> tuple[int, str, bool] | None:
        """(id, nickname, staff) of a player by identity key."""
        row = self.db.one("SELECT id, nickname, staff FROM players WHERE key = ?", key)
        return (int(row[0]), str(row[1]), bool(row[2])) if row else None

    def flags(self, key: str) -> PlayerFlags | None:
        """A player by identity key, with their staff, banned and hidden flags."""
        row = self.db.one(
            "SELECT id, nickname, staff, banned, hidden FROM players WHERE key = ?", key
        )
        if row is None:
            return None
        i, nick, staff, banned, hidden = row
        return PlayerFlags(
            id=int(i),
            nickname=str(nick),
            staff=bool(staff),
            banned=bool(banned),
            hidden=bool(hidden),
        )

    def code_hash(self, player_key: str) -> str | None:
        """The player's code hash: None when no such player, "" when they have no code."""
        row = self.db.one("SELECT code_hash FROM players WHERE key = ?", player_key)
        return None if row is None else str(row[0])

    def set_code_hash(
        self, player_key: str, code_hash: str, *, actor: str = "booth", reason: str = ""
    ) -> None:
        """Store a player's code hash ("" clears it, so they pick a new code).

        The player picking their own code is routine ("booth"); anyone else, such as
        staff resetting a forgotten code, is written to the audit log."""
        if code_hash and not code_hash.startswith("$argon2"):
            raise ValueError("not a code hash: make one with kiosk.core.codes.hash_code")
        with self.db.transaction() as c:
            done = c.execute(
                "UPDATE players SET code_hash = ? WHERE key = ?", (code_hash, player_key)
            )
            if done.rowcount == 0:
                raise StoreError(f"no player {player_key!r} has played yet")
            if actor != "booth":
                action = "set-code" if code_hash else "clear-code"
                self.db.audit(c, actor, action, player_key, reason)

    def pause(self, player_key: str, until: float) -> None:
        """Pause a player (failed human checks) until a time, 0 to lift it; kept across a
        restart. Nothing happens for a nickname that has not played yet."""
        with self.db.transaction() as c:
            c.execute("UPDATE players SET paused_until = ? WHERE key = ?", (until, player_key))

    def paused(self, now: float) -> list[tuple[str, float]]:
        """(key, until) of the players paused beyond `now` (few: a full scan is fine)."""
        rows = self.db.conn().execute(
            "SELECT key, paused_until FROM players WHERE paused_until > ?", (now,)
        )
        return [(str(k), float(u)) for k, u in rows]


def rekey_players(conn: Conn) -> None:
    """Schema migration 9: recompute every players.key from the nickname as first typed.

    Two players whose names now fold to one key stay two players: the older (lower id)
    keeps the key, each newer one gets "<key>#<id>" and an audit row saying why. No row
    is merged or dropped. Runs inside the migration's transaction.
    """
    rows = conn.execute("SELECT id, key, nickname FROM players ORDER BY id").fetchall()
    wanted = {int(pid): player_key(str(nick)) for pid, _, nick in rows}
    old = {int(pid): str(key) for pid, key, _ in rows}
    final: dict[int, str] = {}
    owner: dict[str, int] = {}
    for pid, key in wanted.items():  # oldest first: it keeps the key
        if key not in owner:
            owner[key] = pid
            final[pid] = key
    for pid, key in wanted.items():
        if pid in final:
            continue
        moved = f"{key}#{pid}"
        while moved in owner:  # a nickname typed as "tom#7" already holds it
            moved += f"#{pid}"
        owner[moved] = pid
        final[pid] = moved
    changed = [(pid, key) for pid, key in final.items() if key != old[pid]]
    # Park the changed rows on keys no nickname can make (a control character; not NUL,
    # which PostgreSQL's text refuses), so a row taking another's old key never trips the
    # UNIQUE index half way.
    conn.executemany(
        "UPDATE players SET key = ? WHERE id = ?", [(f"\x1f{p}", p) for p, _ in changed]
    )
    conn.executemany("UPDATE players SET key = ? WHERE id = ?", [(k, p) for p, k in changed])
    now = time.time()
    for pid, key in final.items():
        if key != wanted[pid]:
            reason = f"name folds to the same player as {wanted[pid]!r}, who played first"
            conn.execute(
                "INSERT INTO audit(at, actor, action, detail, subject, reason)"
                " VALUES (?, 'migration', 'rekey', ?, ?, ?)",
                (now, f"{key} {reason}", key, reason),
            )
