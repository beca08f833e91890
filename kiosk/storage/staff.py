"""Staff actions on the store: soft (flags and audit rows, never deletes)."""

from __future__ import annotations

import sqlite3
import time
from contextlib import AbstractContextManager

from kiosk.core.api import StoreError


class StaffActions:
    """Mixin for Store: every action runs in one transaction and writes an audit row."""

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def hide_submission(self, sid: int, actor: str = "staff", reason: str = "") -> None:
        """Soft-delete a submission and recompute its player's best."""
        with self.transaction() as c:
            row = c.execute(
                "SELECT player_id, target_id FROM submissions WHERE id = ?", (sid,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no submission {sid}")
            c.execute("UPDATE submissions SET hidden = 1 WHERE id = ?", (sid,))
            self._recompute_best(c, int(row[0]), str(row[1]))
            self._audit(c, actor, "hide_submission", f"{sid} {reason}".strip())

    def set_staff(self, player_key: str, staff: bool, actor: str = "staff") -> None:
        """Mark a player as staff (off the leaderboard) or not."""
        with self.transaction() as c:
            row = c.execute("SELECT id FROM players WHERE key = ?", (player_key,)).fetchone()
            if row is None:
                raise StoreError(f"no player {player_key!r}")
            pid = int(row[0])
            c.execute("UPDATE players SET staff = ? WHERE id = ?", (int(staff), pid))
            c.execute("UPDATE submissions SET staff = ? WHERE player_id = ?", (int(staff), pid))
            targets = [
                r[0]
                for r in c.execute(
                    "SELECT DISTINCT target_id FROM submissions WHERE player_id = ?", (pid,)
                )
            ]
            for target_id in targets:
                self._recompute_best(c, pid, target_id)
            self._audit(c, actor, "set_staff", f"{player_key} {staff}")

    def _recompute_best(self, c: sqlite3.Connection, pid: int, target_id: str) -> None:
        c.execute("DELETE FROM best WHERE player_id = ? AND target_id = ?", (pid, target_id))
        c.execute(
            "INSERT INTO best(target_id, player_id, submission_id, cosine, reached_at)"
            " SELECT target_id, player_id, id, cosine, created_at FROM submissions"
            " WHERE player_id = ? AND target_id = ? AND hidden = 0 AND staff = 0"
            " ORDER BY cosine DESC, id LIMIT 1",
            (pid, target_id),
        )

    def _audit(self, c: sqlite3.Connection, actor: str, action: str, detail: str) -> None:
        c.execute(
            "INSERT INTO audit(at, actor, action, detail) VALUES (?, ?, ?, ?)",
            (time.time(), actor, action, detail),
        )
