"""Players' identity in the store: player codes (stored hashed) and re-keying."""

from __future__ import annotations

import sqlite3


class PlayerCodes:
    """Mixin for Store: every query here reads through `self._conn()`."""

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError
