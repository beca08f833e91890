"""Read queries of the store: leaderboard, rank, best, stats.

All are index range scans (see bench/store_scale.py): the `best` table holds each
player's best per target and `counters` holds the event totals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kiosk.core.api import BoardRow, Stats, from_row
from kiosk.storage.mixin import StoreMixin


class Queries(StoreMixin):
    """Mixin for Store: every query here reads through `self._conn()`."""

    # -- for readers beside the kiosk (the wall) -------------------------------------------

    def data_version(self) -> int:
        """Changes whenever another connection commits (SQLite's PRAGMA data_version): a
        reader polls this instead of re-reading everything."""
        return int(self._conn().execute("PRAGMA data_version").fetchone()[0])

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Several reads as one consistent snapshot (a read transaction; WAL lets the
        writer go on meanwhile)."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def latest_raffle_id(self) -> int | None:
        """The id of the newest raffle, or None before the first."""
        row = self._conn().execute("SELECT MAX(id) FROM raffles").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def leaderboard(self, target_id: str, limit: int = 20) -> list[BoardRow]:
        """Each player's best on a target, best first; ties go to who reached it first."""
        rows = (
            self._conn()
            .execute(
                "SELECT p.nickname, s.percent, b.cosine, s.prompt, s.image, b.submission_id,"
                " b.reached_at FROM best b"
                " JOIN players p ON p.id = b.player_id JOIN submissions s ON s.id = b.submission_id"
                " WHERE b.target_id = ? ORDER BY b.cosine DESC, b.submission_id LIMIT ?",
                (target_id, limit),
            )
            .fetchall()
        )
        return [from_row(BoardRow, r, rank=i + 1) for i, r in enumerate(rows)]

    def rank(self, player_id: int, target_id: str) -> int | None:
        """A player's place on a target's leaderboard (1 = first), or None if absent."""
        c = self._conn()
        mine = c.execute(
            "SELECT cosine, submission_id FROM best WHERE target_id = ? AND player_id = ?",
            (target_id, player_id),
        ).fetchone()
        if mine is None:
            return None
        # Two index range counts: an OR here would make SQLite scan the whole target.
        ahead = c.execute(
            "SELECT (SELECT COUNT(*) FROM best WHERE target_id = ?1 AND cosine > ?2)"
            " + (SELECT COUNT(*) FROM best WHERE target_id = ?1 AND cosine = ?2"
            " AND submission_id < ?3)",
            (target_id, mine[0], mine[1]),
        ).fetchone()[0]
        return int(ahead) + 1

    def best_percent(self, player_id: int, target_id: str) -> float | None:
        """A player's best score on a target as it counts on the leaderboard."""
        row = (
            self._conn()
            .execute(
                "SELECT s.percent FROM best b JOIN submissions s ON s.id = b.submission_id"
                " WHERE b.target_id = ? AND b.player_id = ?",
                (target_id, player_id),
            )
            .fetchone()
        )
        return float(row[0]) if row else None

    def stats(self) -> Stats:
        c = self._conn()
        players, subs, dedups = c.execute(
            "SELECT players, submissions, dedup_hits FROM counters"
        ).fetchone()
        pending = c.execute("SELECT COUNT(*) FROM jobs WHERE state = 'pending'").fetchone()[0]
        top = c.execute(
            "SELECT nickname, drawn FROM players WHERE drawn > 0 ORDER BY drawn DESC, id LIMIT 1"
        ).fetchone()
        return Stats(
            players=int(players),
            submissions=int(subs),
            dedup_hits=int(dedups),
            pending_jobs=int(pending),
            top_submitter=top[0] if top else None,
            top_submitter_count=int(top[1]) if top else 0,
        )
