"""Words staff added to or removed from the blocklist, kept in the database."""

from __future__ import annotations

import sqlite3


class BlockedWords:
    """Mixin for Store: every query here reads through `self._conn()`."""

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError
