"""Drawings where every booth, wall and export can read them.

An SQLite booth's data dir already is that place: its drawings' files live beside the
database, and nothing more is kept. On the event's shared store (PostgreSQL) a drawing's
file is also kept in the database (`pictures`: its path relative to a data dir, and its
bytes), written by the booth that drew it once the file is safely on its own disk and
before the submission is committed; any other process that shows it writes it into its
own data dir the first time (a cache: the same path, written whole or not at all), so
screens keep reading files.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from kiosk.core.api import StoreOffline
from kiosk.storage.db import DbAPI

log = logging.getLogger(__name__)


class Pictures:
    """The `pictures` table of a shared store; nothing on an SQLite one."""

    def __init__(self, db: DbAPI) -> None:
        self.db = db
        self.shared = db.dialect.name == "postgresql"

    def put(self, data_dir: Path, rel: str) -> None:
        """Keep the file at `data_dir / rel` where every booth reads it (a redrawn job's
        same picture is kept once)."""
        if not self.shared:
            return
        data = (data_dir / rel).read_bytes()
        with self.db.transaction() as c:
            c.execute(
                "INSERT INTO pictures(path, data) VALUES (?, ?) ON CONFLICT(path) DO NOTHING",
                (rel, data),
            )

    def fetch(self, data_dir: Path, rel: str) -> Path:
        """`data_dir / rel`, written there from the shared store first when it is missing
        (it stays missing when neither has it, or the store is offline: screens show
        their frame)."""
        path = data_dir / rel
        if not self.shared or path.exists():
            return path
        try:
            row = self.db.one("SELECT data FROM pictures WHERE path = ?", rel)
        except StoreOffline:
            return path
        if row is None:
            return path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(bytes(row[0]))
            os.replace(tmp, path)
        except OSError as exc:  # a read-only data dir: the screen shows its frame
            log.info("cannot keep %s here: %s", rel, exc)
        return path
