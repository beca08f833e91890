"""Staff's actions on the store: soft (flags and audit rows, never deletes).

Every action runs in one transaction with its audit row (time, actor, action, subject,
reason). Hiding an original drawing hides its dedup copies too; a hidden player's later
drawings are stored hidden; staff players never rank. A submission's `hidden` is a set
of `Hidden` reasons: each hide sets its own and each unhide clears only its own, so
showing a drawing again never shows one hidden for another reason.
"""

from __future__ import annotations

import time

from kiosk.core.api import (
    AuditRow,
    EventStats,
    Hid,
    Hidden,
    Review,
    StaffState,
    StoreError,
    Submitter,
    from_row,
)
from kiosk.storage.board import rebest
from kiosk.storage.carry import ACTIONS
from kiosk.storage.db import DbAPI
from kiosk.storage.dialect import Conn
from kiosk.storage.players import Players


class Moderation:
    """Staff flags on players and drawings, reviews, refusals, the audit log, carry-in."""

    def __init__(self, db: DbAPI) -> None:
        self.db = db

    def set_staff(
        self, player_key: str, staff: bool, *, reason: str = "", actor: str = "staff"
    ) -> None:
        """Mark a player as staff (they play, never rank) or not."""
        with self.db.transaction() as c:
            pid = Players.known(c, player_key)
            c.execute("UPDATE players SET staff = ? WHERE id = ?", (int(staff), pid))
            c.execute("UPDATE submissions SET staff = ? WHERE player_id = ?", (int(staff), pid))
            rebest(c, pid)
            self.db.audit(c, actor, "tag-staff" if staff else "untag-staff", player_key, reason)

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
        with self.db.transaction() as c:
            if banned:
                pid = Players.reserve(c, player_key, nickname or player_key)
            else:
                pid = Players.known(c, player_key)
            c.execute("UPDATE players SET banned = ? WHERE id = ?", (int(banned), pid))
            self.db.audit(c, actor, "ban" if banned else "unban", player_key, reason)

    def hide_player(
        self, player_key: str, hidden: bool, *, reason: str = "", actor: str = "staff"
    ) -> None:
        """Hide every drawing of a player, and what they submit later, until unhidden."""
        with self.db.transaction() as c:
            pid = Players.known(c, player_key)
            c.execute("UPDATE players SET hidden = ? WHERE id = ?", (int(hidden), pid))
            change = "hidden | ?" if hidden else "hidden & ~?"
            c.execute(
                f"UPDATE submissions SET hidden = {change} WHERE player_id = ?",
                (Hidden.WITH_PLAYER, pid),
            )
            rebest(c, pid)
            self.db.audit(c, actor, "hide" if hidden else "unhide", player_key, reason)

    def hide_submission(
        self, sid: int, hidden: bool = True, *, reason: str = "", actor: str = "staff"
    ) -> Hid:
        """Hide (or show again) one drawing; an original takes its dedup copies with it.
        Showing it again clears only what this hid: a copy hidden with its player, or
        hidden on its own, stays hidden."""
        with self.db.transaction() as c:
            row = c.execute("SELECT dedup_of FROM submissions WHERE id = ?", (sid,)).fetchone()
            if row is None:
                raise StoreError(f"no submission {sid}")
            marks = [(Hidden.ALONE, sid)]
            if row[0] is None:  # an original: its copies show the same picture
                copies = c.execute("SELECT id FROM submissions WHERE dedup_of = ?", (sid,))
                marks += [(Hidden.WITH_ORIGINAL, int(r[0])) for r in copies]
            change = "hidden | ?" if hidden else "hidden & ~?"
            c.executemany(f"UPDATE submissions SET hidden = {change} WHERE id = ?", marks)
            ids = [i for _, i in marks]
            where = f"id IN ({','.join('?' * len(ids))})"
            touched = c.execute(
                f"SELECT DISTINCT player_id, target_id FROM submissions WHERE {where}", ids
            ).fetchall()
            for pid, target_id in touched:
                rebest(c, int(pid), str(target_id))
            still = c.execute(
                f"SELECT COUNT(*) FROM submissions WHERE {where} AND hidden != 0", ids
            ).fetchone()[0]
            action = "hide-submission" if hidden else "unhide-submission"
            self.db.audit(c, actor, action, str(sid), reason)
        return Hid(drawings=len(ids), hidden=int(still))

    def approve(self, sid: int, *, reason: str = "", actor: str = "staff") -> None:
        """Staff looked at a held drawing and let it rank (with its dedup copies)."""
        held = int(Review.HELD)
        with self.db.transaction() as c:
            row = c.execute(
                "SELECT COALESCE(dedup_of, id) FROM submissions WHERE id = ?", (sid,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no drawing {sid}")
            original = int(row[0])
            players = c.execute(
                "SELECT DISTINCT player_id FROM submissions WHERE (id = ?1 OR dedup_of = ?1)"
                f" AND review = {held}",
                (original,),
            ).fetchall()
            c.execute(
                f"UPDATE submissions SET review = {int(Review.APPROVED)}"
                f" WHERE (id = ?1 OR dedup_of = ?1) AND review = {held}",
                (original,),
            )
            for (pid,) in players:
                rebest(c, int(pid))
            self.db.audit(c, actor, "approve", str(sid), reason)

    def count_refusal(self, player_key: str | None = None) -> None:
        """One more prompt refused (for the event stats), and for its player when they
        have played before (a refused first prompt creates no player)."""
        with self.db.transaction() as c:
            c.execute("UPDATE counters SET refusals = refusals + 1")
            if player_key is not None:
                c.execute("UPDATE players SET refusals = refusals + 1 WHERE key = ?", (player_key,))

    def event_stats(self) -> EventStats:
        """The event at a glance. Reads every submission once (a staff view, in a thread)."""
        c, sql = self.db.conn(), self.db.dialect
        players, subs, dedups, refusals = c.execute(
            "SELECT players, submissions, dedup_hits, refusals FROM counters"
        ).fetchone()
        hidden = c.execute("SELECT COUNT(*) FROM submissions WHERE hidden != 0").fetchone()[0]
        slots = dict(
            c.execute(
                f"SELECT {sql.trunc('created_at / 600')} AS slot, COUNT(*) FROM submissions"
                " GROUP BY slot ORDER BY slot DESC LIMIT 36"
            ).fetchall()
        )
        per_10 = [slots.get(s, 0) for s in range(min(slots), max(slots) + 1)] if slots else []
        bins = [0] * 20
        for b, n in c.execute(
            f"SELECT {sql.least(sql.trunc('percent / 5'), '19')}, COUNT(*) FROM submissions"
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
        booths = c.execute(
            "SELECT booth, COUNT(*) FROM submissions WHERE dedup_of IS NULL"
            " GROUP BY booth ORDER BY booth"
        ).fetchall()  # as Board.booths (this repository has no Board)
        return EventStats(
            drawings_per_booth={str(b): int(n) for b, n in booths},
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

    def record(
        self, action: str, subject: str = "", reason: str = "", actor: str = "staff"
    ) -> None:
        """An audit row for an action with no row of its own (target, pause, a PIN try)."""
        with self.db.transaction() as c:
            self.db.audit(c, actor, action, subject, reason)

    def audit_log(self, limit: int = 200) -> list[AuditRow]:
        """Staff actions, newest first."""
        rows = (
            self.db.conn()
            .execute(
                "SELECT id, at, actor, action, subject, reason, booth FROM audit"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        return [from_row(AuditRow, r) for r in rows]

    def carry_in(self, state: StaffState, *, source: str, actor: str = "event-new") -> None:
        """Staff's word changes and flagged players, each with an audit row naming where
        it came from; in one transaction. A player already here keeps their row and gains
        the flags (a flag is only ever added)."""
        with self.db.transaction() as c:
            self.carry_into(c, state, source=source, actor=actor)

    def carry_into(
        self, c: Conn, state: StaffState, *, source: str, actor: str = "event-new"
    ) -> None:
        """carry_in, in the caller's transaction (the shared store's `event new` empties
        the event and carries staff's settings into the fresh one in one)."""
        why = f"carried over from {source}"
        for word, blocked, at, by in state.words:
            c.execute(
                "INSERT INTO blocked_words(word, blocked, at, actor) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(word) DO UPDATE SET blocked = excluded.blocked,"
                " at = excluded.at, actor = excluded.actor",
                (word, int(blocked), at, by),
            )
            self.db.audit(c, actor, "block-word" if blocked else "unblock-word", word, why)
        for p in state.players:
            c.execute(
                "INSERT INTO players(key, nickname, created_at, played, banned, staff,"
                " hidden) VALUES (?, ?, ?, 0, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                " banned = players.banned | excluded.banned,"
                " staff = players.staff | excluded.staff,"
                " hidden = players.hidden | excluded.hidden",  # flags: 0 or 1, only added
                (p.key, p.nickname, time.time(), int(p.banned), int(p.staff), int(p.hidden)),
            )
            for flag, action in ACTIONS.items():
                if getattr(p, flag):
                    self.db.audit(c, actor, action, p.key, why)
