"""The stores: a database and the repositories that read and write through it.

`Store` (an SQLite file) and `PgStore` (a PostgreSQL server, the shared store of several
booths) implement `kiosk.core.ports.StoreAPI` with the same repositories: `store.jobs`,
`store.board`, `store.booths`, `store.moderation`, `store.players`, `store.words`, `store.raffles`,
`store.meta`. `open_store` picks one from a location (`[store] url`, else the file).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kiosk.core.api import StoreError
from kiosk.core.ports import StoreAPI
from kiosk.storage.archive import EventCounts, read_counts
from kiosk.storage.board import Board
from kiosk.storage.booths import Booths
from kiosk.storage.db import Db, DbAPI
from kiosk.storage.dialect import Conn
from kiosk.storage.jobs import Jobs
from kiosk.storage.moderation import Moderation
from kiosk.storage.pictures import Pictures
from kiosk.storage.players import Players
from kiosk.storage.raffles import Raffles
from kiosk.storage.words import Words

if TYPE_CHECKING:  # psycopg is imported only when a PostgreSQL store is opened
    from kiosk.storage.pg import PgDb

URL_SCHEMES = ("postgresql", "postgres")


class Meta:
    """What each run was set up with (the meta table), and the configured targets."""

    def __init__(self, db: DbAPI) -> None:
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
            put_targets(c, targets)


def put_targets(c: Conn, targets: list[tuple[str, str, str]]) -> None:
    """Record targets (id, title, image path) in the caller's transaction."""
    c.executemany(
        "INSERT INTO targets(id, title, image) VALUES (?, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET title = excluded.title, image = excluded.image",
        targets,
    )


class Repositories:
    """The repositories over one database; safe to share between threads."""

    def __init__(self, db: DbAPI, *, readonly: bool) -> None:
        self.readonly = readonly
        self.booth = db.booth
        """The booth this store serves: it owns the jobs accepted through it."""
        self.players = Players(db)
        self.board = Board(db)
        self.jobs = Jobs(db, self.players, self.board)
        self.booths = Booths(db, self.jobs)
        self.moderation = Moderation(db)
        self.words = Words(db)
        self.raffles = Raffles(db)
        self.meta = Meta(db)
        self.pictures = Pictures(db)
        self._db = db

    def reading(self) -> AbstractContextManager[None]:
        """Several reads as one consistent snapshot (see Db.reading)."""
        return self._db.reading()

    def event_counts(self) -> EventCounts:
        """What the event holds now, read in one snapshot (`kiosk event list|new`)."""
        with self._db.reading():
            return read_counts(self._db.conn())

    def data_version(self) -> int:
        """Changes whenever another connection commits (see Db.data_version)."""
        return self._db.data_version()

    def watch(self, on_change: Callable[[], object]) -> bool:
        """Hear of other processes' commits (a shared store pushes them; see
        PgDb.watch); False where nothing is pushed (SQLite)."""
        return self._db.watch(on_change)

    def close(self) -> None:
        """Close this thread's connection."""
        self._db.close()

    def hold_booth(self) -> None:
        """Hold this booth's name while it runs (see PgDb.hold_booth); StoreError when
        another kiosk runs it."""
        self._db.hold_booth()

    def release_booth(self) -> None:
        self._db.release_booth()

    def booth_running(self, booth: str) -> bool:
        """Whether another kiosk is running this booth now (it cannot be adopted)."""
        return self._db.booth_running(booth)


class Store(Repositories):
    """The kiosk's SQLite database file; safe to share between threads (one connection
    each)."""

    def __init__(self, path: Path, *, readonly: bool = False, booth: str = "") -> None:
        self.db = Db(path, readonly=readonly, booth=booth)
        self.path = self.db.path
        super().__init__(self.db, readonly=readonly)


class PgStore(Repositories):
    """The event's PostgreSQL database, shared by every booth; safe to share between
    threads (one pooled connection each)."""

    def __init__(self, url: str, *, readonly: bool = False, booth: str = "") -> None:
        from kiosk.storage.pg import PgDb  # not at import: SQLite booths never load psycopg

        self.db: PgDb = PgDb(url, readonly=readonly, booth=booth)
        super().__init__(self.db, readonly=readonly)

    def shutdown(self) -> None:
        """Close every pooled connection (the process is done with the store)."""
        self.db.shutdown()


def open_store(url: str, path: Path, *, readonly: bool = False, booth: str = "") -> Store | PgStore:
    """The store at `url` (`[store] url`: postgresql://...) or, when it is empty, the
    SQLite file at `path`; `booth` names the booth it serves (`[event] booth`)."""
    if not url:
        return Store(path, readonly=readonly, booth=booth)
    if urlsplit(url).scheme not in URL_SCHEMES:
        raise StoreError(
            f"[store] url {url!r} is not a postgresql:// URL (leave it empty for the"
            " SQLite file in the data dir)"
        )
    return PgStore(url, readonly=readonly, booth=booth)


_API: type[StoreAPI] = Store  # mypy checks that both stores implement the seam
_PG_API: type[StoreAPI] = PgStore
