"""The SQLite store: a `Db` and the repositories that read and write through it.

`Store` implements `kiosk.core.ports.StoreAPI`: `store.jobs`, `store.board`,
`store.moderation`, `store.players`, `store.words`, `store.raffles`, `store.meta`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from kiosk.core.ports import StoreAPI
from kiosk.storage.board import Board
from kiosk.storage.db import Db
from kiosk.storage.jobs import Jobs
from kiosk.storage.moderation import Moderation
from kiosk.storage.players import Players
from kiosk.storage.raffles import Raffles
from kiosk.storage.words import Words


class Meta:
    """What each run was set up with (the meta table), and the configured targets."""

    def __init__(self, db: Db) -> None:
        self.db = db

    def get(self, key: str) -> str | None:
        """A setting the last run recorded (see swap), or None."""
        row = self.db.one("SELECT value FROM meta WHERE key = ?", key)
        return str(row[0]) if row else None

    def swap(self, key: str, value: str) -> str | None:
        """Record a setting of this run; return the one the last run recorded (None: none)."""
        with self.db.transaction() as c:
            row = c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            c.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        return str(row[0]) if row else None

    def sync_targets(self, targets: list[tuple[str, str, str]]) -> None:
        """Record the configured targets (id, title, image path)."""
        with self.db.transaction() as c:
            c.executemany(
                "INSERT INTO targets(id, title, image) VALUES (?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET title = excluded.title, image = excluded.image",
                targets,
            )


class Store:
    """The kiosk's database; safe to share between threads (one connection each)."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.db = Db(path, readonly=readonly)
        self.path, self.readonly = self.db.path, readonly
        self.players = Players(self.db)
        self.board = Board(self.db)
        self.jobs = Jobs(self.db, self.players, self.board)
        self.moderation = Moderation(self.db)
        self.words = Words(self.db)
        self.raffles = Raffles(self.db)
        self.meta = Meta(self.db)

    def reading(self) -> AbstractContextManager[None]:
        """Several reads as one consistent snapshot (see Db.reading)."""
        return self.db.reading()

    def data_version(self) -> int:
        """Changes whenever another connection commits (see Db.data_version)."""
        return self.db.data_version()

    def close(self) -> None:
        """Close this thread's connection."""
        self.db.close()


_API: type[StoreAPI] = Store  # mypy checks that Store implements the seam
