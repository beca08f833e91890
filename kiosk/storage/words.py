"""Words staff added to or removed from the blocklist, kept in the database.

One row per word: its latest state (blocked or not), when and by whom. The booth's list
file and better-profanity's list are read at start; these rows are applied on top of
them (`kiosk.core.blocklist.Blocklist.load(..., changes=store.words.changes())`).
"""

from __future__ import annotations

import time

from kiosk.core.api import StoreError
from kiosk.storage.db import DbAPI


class Words:
    """The blocked_words table."""

    def __init__(self, db: DbAPI) -> None:
        self.db = db

    def changes(self) -> list[tuple[str, bool]]:
        """Staff's words as (word, blocked), oldest change first: applied in this order,
        the latest change of each word wins."""
        rows = self.db.conn().execute("SELECT word, blocked FROM blocked_words ORDER BY at, word")
        return [(str(word), bool(blocked)) for word, blocked in rows]

    def set(self, word: str, blocked: bool, *, actor: str = "staff", reason: str = "") -> None:
        """Block a word (or unblock it, shipped words included), with its audit row
        ("block-word" / "unblock-word"), in one transaction. Store the canonical form
        (`kiosk.core.blocklist.canonical`)."""
        word = " ".join(word.split())
        if not word:
            raise StoreError("no word given")
        with self.db.transaction() as c:
            c.execute(
                "INSERT INTO blocked_words(word, blocked, at, actor) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(word) DO UPDATE SET"
                " blocked = excluded.blocked, at = excluded.at, actor = excluded.actor",
                (word, int(blocked), time.time(), actor),
            )
            self.db.audit(c, actor, "block-word" if blocked else "unblock-word", word, reason)
