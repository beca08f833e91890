"""The base of Store's mixins (waiters, staff, players, words, queries): what each of
them reads and writes through, which Store itself provides."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING


class StoreMixin:
    """Stubs for the type checker and for a mixin used without Store (a clear error)."""

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    if TYPE_CHECKING:  # StaffActions provides it in Store; no run-time stub to shadow it

        def _audit(
            self, c: sqlite3.Connection, actor: str, action: str, subject: str, reason: str
        ) -> None: ...
