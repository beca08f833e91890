"""The board: who ranks, the leaderboard, rank, best, counts and the lists screens show.

The `best` table keeps each player's best ranking submission per target, kept in the
transaction that changes it, so the board and rank queries are index range scans even
at a million rows (see bench/store_scale.py); `counters` holds the event totals.
"""

from __future__ import annotations

from kiosk.core.api import BoardRow, Recent, Review, Stats, from_row
from kiosk.storage.db import DbAPI
from kiosk.storage.dialect import Conn


def ranking(s: str = "") -> str:
    """Who ranks (`kiosk.core.api.ranks`) in SQL over a submissions row, aliased `s` if
    given. `best` holds only these, so the board, the raffle and the export rank them."""
    s = f"{s}." if s else ""
    return f"{s}hidden = 0 AND {s}staff = 0 AND {s}review != {int(Review.HELD)}"


def rebest(c: Conn, pid: int, target_id: str | None = None) -> None:
    """Recompute a player's best on a target (on every target they played when None)."""
    if target_id is None:
        played = c.execute("SELECT DISTINCT target_id FROM submissions WHERE player_id = ?", (pid,))
        for (tid,) in played.fetchall():
            rebest(c, pid, str(tid))
        return
    c.execute("DELETE FROM best WHERE player_id = ? AND target_id = ?", (pid, target_id))
    c.execute(
        "INSERT INTO best(target_id, player_id, submission_id, cosine, reached_at)"
        " SELECT target_id, player_id, id, cosine, created_at FROM submissions"
        f" WHERE player_id = ? AND target_id = ? AND {ranking()} ORDER BY cosine DESC, id LIMIT 1",
        (pid, target_id),
    )


class Board:
    """Read queries of the board and of the lists staff and the wall see."""

    def __init__(self, db: DbAPI) -> None:
        self.db = db

    def leaderboard(self, target_id: str, limit: int = 20) -> list[BoardRow]:
        """Each player's best on a target, best first; ties go to who reached it first."""
        rows = self.db.conn().execute(
            "SELECT p.nickname, s.percent, b.cosine, s.prompt, s.image, b.submission_id,"
            " b.reached_at FROM best b"
            " JOIN players p ON p.id = b.player_id JOIN submissions s ON s.id = b.submission_id"
            " WHERE b.target_id = ? ORDER BY b.cosine DESC, b.submission_id LIMIT ?",
            (target_id, limit),
        )
        return [from_row(BoardRow, r, rank=i + 1) for i, r in enumerate(rows)]

    def rank(self, player_id: int, target_id: str) -> int | None:
        """A player's place on a target's leaderboard (1 = first), or None if absent."""
        return self.placed(player_id, target_id)[0]

    def placed(self, player_id: int, target_id: str) -> tuple[int | None, float | None]:
        """(rank, best) of a player on a target in one query (one round trip to a shared
        store); (None, None) when they are not on its board."""
        # The player's row, then two index range counts ahead of it (an OR would make
        # SQLite scan the whole target), and the best drawing's percent.
        row = self.db.one(
            "SELECT (SELECT COUNT(*) FROM best a WHERE a.target_id = m.target_id"
            " AND a.cosine > m.cosine) + (SELECT COUNT(*) FROM best a"
            " WHERE a.target_id = m.target_id AND a.cosine = m.cosine"
            " AND a.submission_id < m.submission_id), s.percent"
            " FROM best m LEFT JOIN submissions s ON s.id = m.submission_id"
            " WHERE m.target_id = ? AND m.player_id = ?",
            target_id,
            player_id,
        )
        if row is None:
            return None, None
        return int(row[0]) + 1, None if row[1] is None else float(row[1])

    def best(self, player_id: int, target_id: str) -> float | None:
        """A player's best score on a target as it counts on the leaderboard."""
        row = self.db.one(
            "SELECT s.percent FROM best b JOIN submissions s ON s.id = b.submission_id"
            " WHERE b.target_id = ? AND b.player_id = ?",
            target_id,
            player_id,
        )
        return float(row[0]) if row else None

    def ranked_count(self, target_id: str) -> int:
        """How many players rank on a target (its whole board's length): one index count."""
        return int(self.db.one("SELECT COUNT(*) FROM best WHERE target_id = ?", target_id)[0])

    def stats(self) -> Stats:
        """The event's counters."""
        c = self.db.conn()
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

    def booths(self) -> dict[str, tuple[int, int]]:
        """Per booth: (drawings its GPU drew, jobs it owns waiting); '' names rows from
        before booths. Reads every drawing once (for staff, not for every screen)."""
        found: dict[str, tuple[int, int]] = {}
        c = self.db.conn()
        for booth, n in c.execute(
            "SELECT booth, COUNT(*) FROM submissions WHERE dedup_of IS NULL GROUP BY booth"
        ):
            found[str(booth)] = (int(n), 0)
        for booth, n in c.execute(
            "SELECT booth, COUNT(*) FROM jobs WHERE state = 'pending' GROUP BY booth"
        ):
            found[str(booth)] = (found.get(str(booth), (0, 0))[0], int(n))
        return dict(sorted(found.items()))

    def latest_raffle(self) -> int | None:
        """The id of the newest raffle, or None before the first."""
        row = self.db.one("SELECT MAX(id) FROM raffles")
        return int(row[0]) if row and row[0] is not None else None

    def recent(self, limit: int = 100, nickname: str = "") -> list[Recent]:
        """The latest submissions, newest first (those of nicknames containing `nickname`)."""
        if nickname:
            return self._recent("WHERE s.nickname LIKE ? ESCAPE '\\'", [_like(nickname)], limit)
        return self._recent("", [], limit)

    def visible_recent(self, limit: int = 12) -> list[Recent]:
        """The latest drawings a public screen may show (those that rank), newest first.
        Walks the primary key backwards, skipping the few."""
        return self._recent(f"WHERE {ranking('s')}", [], limit)

    def held(self, limit: int = 100) -> list[Recent]:
        """Drawings the safety probes held, oldest first (hiding one also answers it)."""
        held = f"s.review = {int(Review.HELD)}"
        return self._recent(f"WHERE {held} AND s.hidden = 0", [], limit, newest=False)

    def _recent(
        self, where: str, args: list[object], limit: int, *, newest: bool = True
    ) -> list[Recent]:
        order = "DESC" if newest else "ASC"
        rows = self.db.conn().execute(
            "SELECT s.id, s.nickname, s.prompt, s.percent, s.created_at, s.image,"
            " s.dedup_of IS NOT NULL, s.hidden, s.staff, p.banned,"
            f" s.review = {int(Review.HELD)}, s.flags"
            f" FROM submissions s JOIN players p ON p.id = s.player_id {where}"
            f" ORDER BY s.id {order} LIMIT ?",
            (*args, limit),
        )
        return [
            Recent(
                id=r[0],
                nickname=r[1],
                prompt=r[2],
                percent=r[3],
                created_at=r[4],
                image=r[5],
                dedup=bool(r[6]),
                hidden=bool(r[7]),
                staff=bool(r[8]),
                banned=bool(r[9]),
                held=bool(r[10]),
                flags=str(r[11]),
            )
            for r in rows
        ]


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
