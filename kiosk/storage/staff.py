"""Staff actions on the store: soft (flags and audit rows, never deletes).

Every action runs in one transaction with its audit row (time, actor, action,
subject, reason). Hiding an original drawing hides its dedup copies too; a hidden
player's later drawings are stored hidden; staff players never rank. A submission's
`hidden` is a set of reasons (the bits below): each hide sets its own and each unhide
clears only its own, so showing a drawing again never shows one hidden for another reason.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from kiosk.core.api import (
    AuditRow,
    EventStats,
    PlayerFlags,
    Recent,
    StoreError,
    Submitter,
    from_row,
)
from kiosk.storage.mixin import StoreMixin

HIDDEN_ALONE = 1
"""Staff hid this drawing itself (hide-submission)."""
HIDDEN_WITH_PLAYER = 2
"""Its player is hidden (hide): set on their drawings, and on what they submit later."""
HIDDEN_WITH_ORIGINAL = 4
"""Staff hid the original drawing this dedup copy shows."""


@dataclass(frozen=True)
class Hid:
    """What a hide or unhide of one drawing did: how many drawings it touched (the one,
    with its dedup copies), and how many of them are hidden after it."""

    drawings: int
    hidden: int


class StaffActions(StoreMixin):
    """Mixin for Store: staff flags on players and drawings, and the audit log."""

    # -- players ------------------------------------------------------------------------

    def player_flags(self, key: str) -> PlayerFlags | None:
        """A player by identity key, with their staff, banned and hidden flags."""
        row = (
            self._conn()
            .execute(
                "SELECT id, nickname, staff, banned, hidden FROM players WHERE key = ?", (key,)
            )
            .fetchone()
        )
        if row is None:
            return None
        return PlayerFlags(
            id=int(row[0]),
            nickname=str(row[1]),
            staff=bool(row[2]),
            banned=bool(row[3]),
            hidden=bool(row[4]),
        )

    def set_staff(
        self, player_key: str, staff: bool, *, reason: str = "", actor: str = "staff"
    ) -> None:
        """Mark a player as staff (they play, never rank) or not."""
        with self.transaction() as c:
            pid = self._known_player(c, player_key)
            c.execute("UPDATE players SET staff = ? WHERE id = ?", (int(staff), pid))
            c.execute("UPDATE submissions SET staff = ? WHERE player_id = ?", (int(staff), pid))
            self._recompute_player(c, pid)
            self._audit(c, actor, "tag-staff" if staff else "untag-staff", player_key, reason)

    def set_banned(
        self,
        player_key: str,
        banned: bool,
        *,
        nickname: str = "",
        reason: str = "",
        actor: str = "staff",
    ) -> None:
        """Ban a player (their next prompts are refused) or lift it; their rows stay. A
        nickname that has not played yet is banned too: its row waits, uncounted, and
        its first prompt is refused."""
        with self.transaction() as c:
            if banned:
                pid = self._reserve_player(c, player_key, nickname or player_key)
            else:
                pid = self._known_player(c, player_key)
            c.execute("UPDATE players SET banned = ? WHERE id = ?", (int(banned), pid))
            self._audit(c, actor, "ban" if banned else "unban", player_key, reason)

    def hide_player(
        self, player_key: str, hidden: bool, *, reason: str = "", actor: str = "staff"
    ) -> None:
        """Hide every drawing of a player, and what they submit later, until unhidden."""
        with self.transaction() as c:
            pid = self._known_player(c, player_key)
            c.execute("UPDATE players SET hidden = ? WHERE id = ?", (int(hidden), pid))
            change = "hidden | ?" if hidden else "hidden & ~?"
            c.execute(
                f"UPDATE submissions SET hidden = {change} WHERE player_id = ?",
                (HIDDEN_WITH_PLAYER, pid),
            )
            self._recompute_player(c, pid)
            self._audit(c, actor, "hide" if hidden else "unhide", player_key, reason)

    def _reserve_player(self, c: sqlite3.Connection, key: str, nickname: str) -> int:
        """The id of a player, made for staff when the nickname has not played yet: not
        counted among the players (played = 0) until its first prompt is accepted."""
        row = c.execute("SELECT id FROM players WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return int(row[0])
        cur = c.execute(
            "INSERT INTO players(key, nickname, created_at, played) VALUES (?, ?, ?, 0)",
            (key, nickname, time.time()),
        )
        return int(cur.lastrowid or 0)

    def _known_player(self, c: sqlite3.Connection, key: str) -> int:
        row = c.execute("SELECT id FROM players WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise StoreError(f"no player {key!r} has played yet")
        return int(row[0])

    # -- submissions --------------------------------------------------------------------

    def hide_submission(
        self, sid: int, hidden: bool = True, *, reason: str = "", actor: str = "staff"
    ) -> Hid:
        """Hide (or show again) one drawing; an original takes its dedup copies with it.
        Showing it again clears only what this hid: a copy hidden with its player, or
        hidden on its own, stays hidden."""
        with self.transaction() as c:
            row = c.execute("SELECT dedup_of FROM submissions WHERE id = ?", (sid,)).fetchone()
            if row is None:
                raise StoreError(f"no submission {sid}")
            marks = [(HIDDEN_ALONE, sid)]
            if row[0] is None:  # an original: its copies show the same picture
                copies = c.execute("SELECT id FROM submissions WHERE dedup_of = ?", (sid,))
                marks += [(HIDDEN_WITH_ORIGINAL, int(r[0])) for r in copies]
            change = "hidden | ?" if hidden else "hidden & ~?"
            c.executemany(f"UPDATE submissions SET hidden = {change} WHERE id = ?", marks)
            ids = [i for _, i in marks]
            where = f"id IN ({','.join('?' * len(ids))})"
            touched = c.execute(
                f"SELECT DISTINCT player_id, target_id FROM submissions WHERE {where}", ids
            ).fetchall()
            for pid, target_id in touched:
                self._recompute_best(c, int(pid), str(target_id))
            still = c.execute(
                f"SELECT COUNT(*) FROM submissions WHERE {where} AND hidden != 0", ids
            ).fetchone()[0]
            action = "hide-submission" if hidden else "unhide-submission"
            self._audit(c, actor, action, str(sid), reason)
        return Hid(drawings=len(ids), hidden=int(still))

    def hidden_original(self, key: str) -> bool:
        """Whether staff hid the drawing of this dedup key (it is not drawn again)."""
        row = (
            self._conn()
            .execute(
                "SELECT 1 FROM submissions WHERE dedup_key = ? AND dedup_of IS NULL"
                " AND hidden & ? LIMIT 1",
                (key, HIDDEN_ALONE),
            )
            .fetchone()
        )
        return row is not None

    def _recompute_player(self, c: sqlite3.Connection, pid: int) -> None:
        targets = c.execute(
            "SELECT DISTINCT target_id FROM submissions WHERE player_id = ?", (pid,)
        ).fetchall()
        for (target_id,) in targets:
            self._recompute_best(c, pid, str(target_id))

    def _recompute_best(self, c: sqlite3.Connection, pid: int, target_id: str) -> None:
        c.execute("DELETE FROM best WHERE player_id = ? AND target_id = ?", (pid, target_id))
        c.execute(
            "INSERT INTO best(target_id, player_id, submission_id, cosine, reached_at)"
            " SELECT target_id, player_id, id, cosine, created_at FROM submissions"
            " WHERE player_id = ? AND target_id = ? AND hidden = 0 AND staff = 0 AND review != 1"
            " ORDER BY cosine DESC, id LIMIT 1",
            (pid, target_id),
        )

    def recent(self, limit: int = 100, nickname: str = "") -> list[Recent]:
        """The latest submissions, newest first (those of nicknames containing `nickname`)."""
        if nickname:
            return self._recent("WHERE s.nickname LIKE ? ESCAPE '\\'", [_like(nickname)], limit)
        return self._recent("", [], limit)

    def visible_recent(self, limit: int = 12) -> list[Recent]:
        """The latest drawings a public screen may show, newest first: not hidden, not
        staff, not held for review. Walks the primary key backwards, skipping the few."""
        return self._recent("WHERE s.hidden = 0 AND s.staff = 0 AND s.review != 1", [], limit)

    def held_for_review(self, limit: int = 100) -> list[Recent]:
        """Drawings the safety probes held, oldest first (hiding one also answers it)."""
        return self._recent("WHERE s.review = 1 AND s.hidden = 0", [], limit, newest=False)

    def _recent(
        self, where: str, args: list[object], limit: int, *, newest: bool = True
    ) -> list[Recent]:
        order = "DESC" if newest else "ASC"
        rows = (
            self._conn()
            .execute(
                "SELECT s.id, s.nickname, s.prompt, s.percent, s.created_at, s.image,"
                " s.dedup_of IS NOT NULL, s.hidden, s.staff, p.banned, s.review = 1, s.flags"
                f" FROM submissions s JOIN players p ON p.id = s.player_id {where}"
                f" ORDER BY s.id {order} LIMIT ?",
                (*args, limit),
            )
            .fetchall()
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

    def approve_submission(self, sid: int, *, reason: str = "", actor: str = "staff") -> None:
        """Staff looked at a held drawing and let it rank (with its dedup copies)."""
        with self.transaction() as c:
            row = c.execute(
                "SELECT COALESCE(dedup_of, id) FROM submissions WHERE id = ?", (sid,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no drawing {sid}")
            original = int(row[0])
            players = c.execute(
                "SELECT DISTINCT player_id FROM submissions WHERE (id = ?1 OR dedup_of = ?1)"
                " AND review = 1",
                (original,),
            ).fetchall()
            c.execute(
                "UPDATE submissions SET review = 2 WHERE (id = ?1 OR dedup_of = ?1) AND review = 1",
                (original,),
            )
            for (pid,) in players:
                self._recompute_player(c, int(pid))
            self._audit(c, actor, "approve", str(sid), reason)

    def count_refusal(self, player_key: str | None = None) -> None:
        """One more prompt refused (for the event stats), and for its player when they
        have played before (a refused first prompt creates no player)."""
        with self.transaction() as c:
            c.execute("UPDATE counters SET refusals = refusals + 1")
            if player_key is not None:
                c.execute("UPDATE players SET refusals = refusals + 1 WHERE key = ?", (player_key,))

    def event_stats(self) -> EventStats:
        """The event at a glance. Reads every submission once (a staff view, in a thread)."""
        c = self._conn()
        players, subs, dedups, refusals = c.execute(
            "SELECT players, submissions, dedup_hits, refusals FROM counters"
        ).fetchone()
        hidden = c.execute("SELECT COUNT(*) FROM submissions WHERE hidden != 0").fetchone()[0]
        slots = dict(
            c.execute(
                "SELECT CAST(created_at / 600 AS INTEGER) AS slot, COUNT(*) FROM submissions"
                " GROUP BY slot ORDER BY slot DESC LIMIT 36"
            ).fetchall()
        )
        per_10 = [slots.get(s, 0) for s in range(min(slots), max(slots) + 1)] if slots else []
        bins = [0] * 20
        for b, n in c.execute(
            "SELECT MIN(CAST(percent / 5 AS INTEGER), 19), COUNT(*) FROM submissions"
            " WHERE dedup_of IS NULL GROUP BY 1"
        ):
            bins[int(b)] = int(n)
        who = "SELECT nickname, drawn, dedup_hits, refusals FROM players"
        top = c.execute(f"{who} WHERE drawn > 0 ORDER BY drawn DESC, id LIMIT 5").fetchall()
        refused = c.execute(
            f"{who} WHERE refusals > 0 ORDER BY refusals DESC, id LIMIT 3"
        ).fetchall()
        times = sorted(
            float(t)
            for (t,) in c.execute(
                "SELECT gen_ms + judge_ms FROM submissions WHERE dedup_of IS NULL"
                " ORDER BY id DESC LIMIT 500"
            )
        )
        return EventStats(
            players=int(players),
            drawings=sum(bins),
            submissions=int(subs),
            dedup_hits=int(dedups),
            refusals=int(refusals),
            hidden=int(hidden),
            per_10_min=per_10[-36:],
            score_bins=bins,
            top_submitters=[from_row(Submitter, r) for r in top],
            most_refused=[from_row(Submitter, r) for r in refused],
            draw_ms_p50=times[len(times) // 2] if times else None,
            draw_ms_p95=times[min(len(times) - 1, round(0.95 * len(times)))] if times else None,
        )

    # -- the audit log ------------------------------------------------------------------

    def record(
        self, action: str, subject: str = "", reason: str = "", actor: str = "staff"
    ) -> None:
        """An audit row for an action with no row of its own (target, pause, a PIN try)."""
        with self.transaction() as c:
            self._audit(c, actor, action, subject, reason)

    def audit_log(self, limit: int = 200) -> list[AuditRow]:
        """Staff actions, newest first."""
        rows = (
            self._conn()
            .execute(
                "SELECT id, at, actor, action, subject, reason FROM audit ORDER BY id DESC LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        return [from_row(AuditRow, r) for r in rows]

    def _audit(
        self, c: sqlite3.Connection, actor: str, action: str, subject: str, reason: str
    ) -> None:
        c.execute(
            "INSERT INTO audit(at, actor, action, detail, subject, reason)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), actor, action, f"{subject} {reason}".strip(), subject, reason),
        )

    def ranked_count(self, target_id: str) -> int:
        """How many players rank on a target (its whole board's length): one index count."""
        row = (
            self._conn()
            .execute("SELECT COUNT(*) FROM best WHERE target_id = ?", (target_id,))
            .fetchone()
        )
        return int(row[0])


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
