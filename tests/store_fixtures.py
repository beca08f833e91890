"""One contract, two stores: the `backend` and `store` fixtures run a test on SQLite and
on PostgreSQL (a fresh database on the session's throwaway cluster, tests/pg_fixtures.py).

A `Backend` opens stores at one location and gives a raw connection on it (the tests'
own SQL, in SQLite's spelling, translated like the store's), so a test can build an old
schema or break a table the same way on both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from kiosk.storage.dialect import POSTGRESQL, SQLITE, Conn, Dialect
from kiosk.storage.pg import PgConn
from kiosk.storage.store import PgStore, Store

BACKENDS = ["sqlite", "postgresql"]
TARGETS = [("duck", "Duck", "duck.png"), ("swan", "Swan", "swan.png")]


@dataclass
class Backend:
    """Where a test's stores live: an SQLite file, or a PostgreSQL database."""

    name: str
    where: Path | str
    opened: list[Store | PgStore] = field(default_factory=list)
    raws: list[sqlite3.Connection | psycopg.Connection[object]] = field(default_factory=list)

    @property
    def dialect(self) -> Dialect:
        return POSTGRESQL if self.name == "postgresql" else SQLITE

    def open(self, *, readonly: bool = False, booth: str = "") -> Store | PgStore:
        """A store on this location (migrated at open) serving `booth`, closed after the
        test."""
        if isinstance(self.where, Path):
            store: Store | PgStore = Store(self.where, readonly=readonly, booth=booth)
        else:
            store = PgStore(self.where, readonly=readonly, booth=booth)
        self.opened.append(store)
        return store

    def raw(self) -> Conn:
        """A connection of the test's own, in autocommit, outside any store."""
        if isinstance(self.where, Path):
            conn = sqlite3.connect(self.where, isolation_level=None)
            self.raws.append(conn)
            return conn
        pg = psycopg.connect(self.where, autocommit=True)
        self.raws.append(pg)
        return PgConn(pg)

    def build_schema(self, conn: Conn, upto: int) -> None:
        """The schema as the first `upto` migrations left it (an older kiosk's store)."""
        from kiosk.storage import schema

        for script in schema.MIGRATIONS[:upto]:
            for statement in schema._statements(script):
                conn.execute(self.dialect.ddl(statement))
        self.dialect.set_version(conn, upto)

    def fail_deletes_from(self, table: str) -> type[Exception]:
        """Make every DELETE on a table fail with 'boom'; the error the store then raises."""
        conn = self.raw()
        if self.name == "sqlite":
            conn.execute(
                f"CREATE TRIGGER boom BEFORE DELETE ON {table}"
                " BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )
            return sqlite3.IntegrityError
        conn.execute(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'boom'; END $$"
        )
        conn.execute(f"CREATE TRIGGER boom BEFORE DELETE ON {table} EXECUTE FUNCTION boom()")
        return psycopg.errors.RaiseException

    def close(self) -> None:
        for store in self.opened:
            store.close()
            if isinstance(store, PgStore):
                store.shutdown()
        for raw in self.raws:
            raw.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each store test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        found = Backend("sqlite", tmp_path / "kiosk.db")
    else:
        found = Backend("postgresql", request.getfixturevalue("pg_url"))
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def store(backend: Backend) -> Store | PgStore:
    """A fresh store with the targets duck and swan."""
    opened = backend.open()
    opened.meta.sync_targets(TARGETS)
    return opened
