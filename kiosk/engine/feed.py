"""The crowd's screen's data: a read-only view of a data dir that notices new commits.

The wall is a separate process beside `kiosk run` (or `kiosk demo`, or nothing). It
opens the database read-only and takes no lock. Instead of re-reading the board on a
timer it asks SQLite whether anyone committed (`PRAGMA data_version`, a few microseconds)
and reads a new view only then. On the event's shared store (`[store] url`) the same
question is answered by the store's listening connection, which counts the commits
PostgreSQL notifies (no query on a timer). It keeps going when the database is missing
(no kiosk yet), busy, unreachable, replaced (a new event day) or points at a missing
image file (a drawing made at another booth whose file is not here).

"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import replace

from kiosk.core.api import RaffleResult, StoreError, WallView
from kiosk.core.commands import StaffError
from kiosk.core.config import Settings
from kiosk.core.ports import StoreAPI
from kiosk.engine.desk import StaffDesk
from kiosk.storage.store import PgStore, Store, open_store

log = logging.getLogger(__name__)

BOARD_SIZE = 10
LATEST_SIZE = 12
DB_NAME = "kiosk.db"


class Feed:
    """A `WallFeed` over a data dir. Use from one thread (SQLite connections are per
    thread, and `PRAGMA data_version` compares commits seen by one connection)."""

    def __init__(
        self, settings: Settings, *, board_size: int = BOARD_SIZE, latest: int = LATEST_SIZE
    ) -> None:
        self.settings = settings
        self.db = settings.data_path / DB_NAME
        self.board_size = board_size
        self.latest_size = latest
        self._store: Store | PgStore | None = None
        self._file: tuple[int, int] | None = None
        self._version: int | None = None
        self._last: WallView | None = None

    def poll(self) -> WallView | None:
        try:
            return self._poll()
        except (StoreError, sqlite3.Error) as exc:  # busy, locked, being replaced
            log.info("wall: cannot read %s: %s", self.settings.store.url or self.db, exc)
            self._version = None  # read again as soon as it can
            return self._stale(f"database busy: showing the board as of {self._as_of()}")

    def close(self) -> None:
        if isinstance(self._store, PgStore):
            self._store.shutdown()
        elif self._store is not None:
            self._store.close()
        self._store, self._file, self._version = None, None, None

    # -- inside ------------------------------------------------------------------------------

    def _poll(self) -> WallView | None:
        if self.settings.store.url:  # the event's shared store: its listener counts commits
            if self._store is None:
                self._store = open_store(self.settings.store.url, self.db, readonly=True)
            return self._view(self._store)
        try:
            st = os.stat(self.db)
        except FileNotFoundError:
            self.close()
            return self._stale(f"waiting for the kiosk to start on {self.settings.data_path}")
        if (st.st_dev, st.st_ino) != self._file:  # first time, or a new event day's database
            self.close()
            self._store = Store(self.db, readonly=True)
            self._file = (st.st_dev, st.st_ino)
        store = self._store
        assert store is not None
        return self._view(store)

    def _view(self, store: StoreAPI) -> WallView | None:
        """A new view when anyone committed since the last one (else None)."""
        version = store.data_version()
        if version == self._version and self._last is not None and not self._last.note:
            return None
        view = self._read(store)
        self._version = version
        self._last = view
        return view

    def _read(self, store: StoreAPI) -> WallView:
        desk = StaffDesk(store, self.settings)
        with store.reading():
            target_id = desk.active_target()
            board = store.board.leaderboard(target_id, self.board_size)
            on_board = store.board.ranked_count(target_id)
            latest = store.board.visible_recent(self.latest_size)
            stats = store.board.stats()
            raffle = self._raffle(desk, store.board.latest_raffle())
        # drawn at another booth: its file from the shared store
        for image in [r.image for r in board] + [r.image for r in latest]:
            store.pictures.fetch(self.settings.data_path, image)
        target = next(t for t in self.settings.targets if t.id == target_id)
        return WallView(
            event=self.settings.event.name,
            target_id=target_id,
            target_title=target.title,
            target_image=self.settings.target_image(target),
            board=board,
            on_board=on_board,
            latest=latest,
            players=stats.players,
            drawings=stats.submissions,
            raffle=raffle,
            data_dir=self.settings.data_path,
            read_at=time.time(),
        )

    @staticmethod
    def _raffle(desk: StaffDesk, rid: int | None) -> RaffleResult | None:
        """The newest raffle replayed (redraws applied, and listed)."""
        if rid is None:
            return None
        try:
            return desk.replay(rid)[0]
        except StaffError:
            return None

    def _as_of(self) -> str:
        if self._last is None:
            return "never"
        return time.strftime("%H:%M:%S", time.localtime(self._last.read_at))

    def _stale(self, note: str) -> WallView | None:
        """The last view with a note (None when that note is already shown)."""
        if self._last is not None and self._last.note == note:
            return None
        settings = self.settings
        target = settings.active_target
        base = self._last or WallView(
            event=settings.event.name,
            target_id=target.id,
            target_title=target.title,
            target_image=settings.target_image(target),
            board=[],
            latest=[],
            players=0,
            drawings=0,
            raffle=None,
            data_dir=settings.data_path,
            read_at=time.time(),
        )
        self._last = replace(base, note=note)
        return self._last
