"""Raffles in the store: who may win, and each draw and redraw recorded to replay.

A raffle keeps its seed and eligible list; a redraw keeps its seed and the candidates it
drew from (the eligible ones still eligible then, not winners, never absent), so a
replay draws the same winners whatever changed since.
"""

from __future__ import annotations

import json
import time
from typing import Any

from kiosk.core.api import Entrant, from_row
from kiosk.storage.db import DbAPI


class Raffles:
    """The raffles and raffle_redraws tables."""

    def __init__(self, db: DbAPI) -> None:
        self.db = db

    def entrants(self, target_id: str) -> list[Entrant]:
        """Players who may win on a target, best first: those on its board (`best`: who
        ranks, kiosk.storage.board.ranking), not banned, not hidden. The one home of "who
        is eligible" (draws and redraws)."""
        rows = self.db.conn().execute(
            "SELECT p.id, p.nickname, s.percent FROM best b"
            " JOIN players p ON p.id = b.player_id JOIN submissions s ON s.id = b.submission_id"
            " WHERE b.target_id = ? AND p.banned = 0 AND p.hidden = 0 AND p.staff = 0"
            " ORDER BY b.cosine DESC, b.submission_id",
            (target_id,),
        )
        return [from_row(Entrant, r) for r in rows]

    def add(
        self,
        *,
        target_id: str,
        wanted: int,
        rule: str,
        seed: int,
        eligible: list[Entrant],
        winners: list[Entrant],
        actor: str = "staff",
    ) -> int:
        """Record a raffle with everything needed to replay it; returns its id."""
        with self.db.transaction() as c:
            rid = int(
                c.execute(
                    "INSERT INTO raffles(at, target_id, wanted, rule, seed, eligible, winners)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (time.time(), target_id, wanted, rule, seed, _dump(eligible), _dump(winners)),
                ).fetchone()[0]
            )
            names = ", ".join(w.nickname for w in winners)
            self.db.audit(c, actor, "raffle", f"{rid} {target_id}", f"{rule} seed {seed}: {names}")
        return rid

    def get(self, rid: int) -> dict[str, Any] | None:
        """A stored raffle: target, wanted, rule, seed, eligible, winners, redraws (each
        with replaced, replacement, seed and candidates: None when drawn before the
        candidates were recorded)."""
        c = self.db.conn()
        row = c.execute(
            "SELECT id, at, target_id, wanted, rule, seed, eligible, winners FROM raffles"
            " WHERE id = ?",
            (rid,),
        ).fetchone()
        if row is None:
            return None
        redraws = c.execute(
            "SELECT replaced, replacement, seed, candidates FROM raffle_redraws"
            " WHERE raffle_id = ? ORDER BY id",
            (rid,),
        ).fetchall()
        return {
            "id": row[0],
            "at": row[1],
            "target": row[2],
            "wanted": row[3],
            "rule": row[4],
            "seed": row[5],
            "eligible": _load(row[6]),
            "winners": _load(row[7]),
            "redraws": [
                {
                    "replaced": r[0],
                    "replacement": r[1],
                    "seed": r[2],
                    "candidates": None if r[3] is None else _load(r[3]),
                }
                for r in redraws
            ],
        }

    def add_redraw(
        self,
        rid: int,
        replaced: str,
        replacement: str | None,
        seed: int,
        actor: str = "staff",
        *,
        candidates: list[Entrant] | None = None,
    ) -> None:
        """Record a redraw: who was not there, who replaced them (None: nobody was left),
        the seed and the candidates it drew from."""
        kept = None if candidates is None else _dump(candidates)
        with self.db.transaction() as c:
            c.execute(
                "INSERT INTO raffle_redraws(raffle_id, at, replaced, replacement, seed,"
                " candidates) VALUES (?, ?, ?, ?, ?, ?)",
                (rid, time.time(), replaced, replacement, seed, kept),
            )
            self.db.audit(c, actor, "redraw", str(rid), f"{replaced} -> {replacement}")


def _dump(entrants: list[Entrant]) -> str:
    return json.dumps([[e.player_id, e.nickname, e.percent] for e in entrants], ensure_ascii=False)


def _load(text: str) -> list[Entrant]:
    return [Entrant(player_id=p, nickname=n, percent=s) for p, n, s in json.loads(text)]
