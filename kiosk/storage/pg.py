"""The database as a PostgreSQL server: the shared store of several booths (`[store] url`).

A psycopg connection pool; each thread holds one connection from it while it uses the
store (as with SQLite: a transaction's own reads see its writes), given back by `close`
or when the thread ends. Connections are in autocommit mode, so a read outside a
transaction sees the latest commits; `transaction` runs BEGIN ... COMMIT with the
dialect's write lock. The SQL is the repositories' own, translated by
`kiosk.storage.dialect`.

Live: every write transaction sends a notification on CHANNEL as it commits; a reader
hears other processes' commits through a `Listener` (kiosk.storage.listen).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from kiosk.core.api import StoreError, StoreOffline
from kiosk.storage import schema
from kiosk.storage.db import write_audit
from kiosk.storage.dialect import BOOTH_LOCK, POSTGRESQL, Conn, Cursor, pg_params, pg_sql
from kiosk.storage.listen import CHANNEL, CONNECT_TIMEOUT_S, Listener, first_line

log = logging.getLogger(__name__)

__all__ = ["CHANNEL", "Listener", "OfflineError", "PgConn", "PgDb", "ServerError", "probe", "shown"]


POOL_SIZE = 16
"""Most connections one kiosk process holds (threads beyond wait for one)."""
NOT_WRITTEN = (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction)
"""Errors an operator can act on (the server, the network, a read-only store): said
plainly as StoreError, like SQLite's disk full or busy."""


def shown(url: str) -> str:
    """A URL as messages show it: the password hidden."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class ServerError(StoreError):
    """The server refused a statement (e.g. a read-only store), or could not be reached:
    said in one line, never a traceback."""


class OfflineError(ServerError, StoreOffline):
    """The server or the network is away: the connection is replaced at its next use."""


@contextmanager
def _said_plainly(where: str) -> Iterator[None]:
    try:
        yield
    except psycopg.errors.ReadOnlySqlTransaction as exc:  # not offline: read-only
        raise ServerError(f"the store at {where}: {first_line(exc)}") from exc
    except NOT_WRITTEN as exc:
        raise OfflineError(f"the store at {where}: {first_line(exc)}") from exc


class PgCursor:
    """A psycopg cursor read the way the repositories read sqlite3's."""

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    @property
    def description(self) -> Any:
        return self._cur.description

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cur)


class PgConn:
    """A pooled psycopg connection that takes SQLite's spelling of the SQL."""

    def __init__(self, raw: psycopg.Connection[Any], where: str = "") -> None:
        self.raw, self.where = raw, where or "the server"

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        text, numbered = pg_sql(sql)
        with _said_plainly(self.where):
            return PgCursor(self.raw.execute(text, pg_params(parameters, numbered)))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        text, numbered = pg_sql(sql)
        cur = self.raw.cursor()
        with _said_plainly(self.where):
            cur.executemany(text, [pg_params(p, numbered) for p in parameters])
        return PgCursor(cur)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE


class _Box:
    """The connection a thread holds (a list: the finalizer keeps it, not the box)."""

    def __init__(self) -> None:
        self.held: list[psycopg.Connection[Any]] = []


def _give_back(pool: ConnectionPool[Any], held: list[psycopg.Connection[Any]]) -> None:
    if held and not pool.closed:
        pool.putconn(held.pop())


class PgDb:
    """A PostgreSQL database, migrated at open; shared between threads (one pooled
    connection each)."""

    dialect = POSTGRESQL

    def __init__(
        self, url: str, *, readonly: bool = False, pool_size: int = POOL_SIZE, booth: str = ""
    ) -> None:
        self.url, self.readonly, self.booth = url, readonly, booth
        self.where = shown(url)
        self.token = uuid.uuid4().hex[:12]
        """This process's name in the notifications its commits send."""
        # The notification (sent only if the transaction commits) and the COMMIT in one
        # round trip: no parameters, so one simple query (the token is hex).
        self._commit = f"NOTIFY {CHANNEL}, '{self.token}'; COMMIT"
        self._local = threading.local()
        self._listener: Listener | None = None
        self._holding: psycopg.Connection[Any] | None = None
        why = self._why()  # fail at once, in the server's words, rather than retry
        if why:
            raise StoreError(f"cannot reach the store at {self.where}: {why}")
        options = "-c default_transaction_read_only=on" if readonly else ""
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "options": options, "connect_timeout": CONNECT_TIMEOUT_S},
            open=False,
            name="kiosk-store",
            check=ConnectionPool.check_connection,  # a thread never gets a dead one
        )
        try:
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except PoolTimeout:
            self.pool.close()
            raise StoreError(
                f"cannot reach the store at {self.where}: {self._why() or 'timed out'}"
            ) from None
        try:
            schema.migrate(self.conn(), readonly=readonly, dialect=POSTGRESQL)
        except schema.SchemaError as exc:
            self.shutdown()
            raise StoreError(str(exc)) from None
        except StoreError:
            self.shutdown()
            raise
        except psycopg.Error as exc:
            self.shutdown()
            raise StoreError(f"store {self.where}: cannot open: {exc}") from None

    def _why(self) -> str:
        """Why no connection can be made, in the server's or the network's words ("": one
        can)."""
        try:
            psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.Error as exc:
            return first_line(exc)
        return ""

    def conn(self) -> PgConn:
        """This thread's connection, taken from the pool on first use (a broken one is
        given back and replaced, and so is one taken before the listener last reconnected:
        the server may have restarted under it). While the listener cannot reach the
        server, StoreOffline at once (a booth says so rather than wait on the pool)."""
        listener = self._listener
        if listener is not None and not listener.listening:
            raise StoreOffline(f"the store at {self.where} cannot be reached; reconnecting")
        generation = listener.connects if listener is not None else 0
        conn: PgConn | None = getattr(self._local, "conn", None)
        stale = getattr(self._local, "generation", generation) != generation
        if conn is not None and (conn.raw.closed or conn.raw.broken or stale):
            self.close()
            conn = None
        if conn is None:
            try:
                raw = self.pool.getconn(timeout=CONNECT_TIMEOUT_S)
            except PoolTimeout:
                raise StoreOffline(
                    f"cannot reach the store at {self.where}: {self._why() or 'timed out'}"
                ) from None
            conn = PgConn(raw, self.where)
            self._local.conn = conn
            self._local.generation = generation
            box = getattr(self._local, "box", None)
            if box is None:
                # The thread's own object: when the thread ends it goes, and the
                # connection goes back to the pool even without close().
                box = self._local.box = _Box()
                weakref.finalize(box, _give_back, self.pool, box.held)
            box.held[:] = [raw]
        return conn

    def close(self) -> None:
        """Give this thread's connection back to the pool."""
        conn: PgConn | None = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            self._local.box.held.clear()
            if not self.pool.closed:
                self.pool.putconn(conn.raw)

    def shutdown(self) -> None:
        """Close every connection of the pool and stop listening (the process is done
        with the store)."""
        self.release_booth()
        self._local.conn = None
        if self._listener is not None:
            self._listener.stop()
        self.pool.close()

    def watch(self, on_change: Callable[[], object]) -> bool:
        """Call `on_change` (on the listener's thread) after other processes' commits, a
        burst at a time, and after a reconnect (anything may have changed meanwhile)."""
        self.listener().callbacks.append(on_change)
        return True

    def _try_booth(self, raw: psycopg.Connection[Any], booth: str) -> bool:
        sql = "SELECT pg_try_advisory_lock(%s, hashtext(%s))"
        row = raw.execute(sql, (BOOTH_LOCK, booth)).fetchone()
        return bool(row and row[0])

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            why = first_line(exc)
            raise StoreError(f"cannot reach the store at {self.where}: {why}") from None

    def hold_booth(self) -> None:
        """Hold this booth's name on the server while it runs: a session advisory lock on
        a connection of its own, gone when it is released, the process dies or the
        server loses it. Two kiosks cannot run one booth (they would draw its jobs
        twice), and `adopt` tells a running booth from a dead one. StoreError when
        another kiosk holds it."""
        if self._holding is not None:
            return
        raw = self._connect()
        if not self._try_booth(raw, self.booth):
            raw.close()
            raise StoreError(
                f"booth {self.booth!r} is already running on the store at {self.where}:"
                " give each booth its own [event] booth"
            )
        self._holding = raw
        self.listener().reconnected.append(self._hold_again)

    def _hold_again(self) -> None:
        """The listener is back after a loss: if the booth's own session went with the
        server (a restart), take the booth's name again, so staff cannot adopt the jobs
        of a booth that is running."""
        raw = self._holding
        if raw is None:
            return
        try:
            raw.execute("SELECT 1")
            return  # the session lived through it, and its lock with it
        except psycopg.Error:
            raw.close()
        try:
            fresh = self._connect()
        except StoreError as exc:
            log.warning("booth %r: cannot take its name again yet: %s", self.booth, exc)
            return  # the next reconnect tries again
        if self._try_booth(fresh, self.booth):
            self._holding = fresh
            log.info("booth %r holds its name again after the store came back", self.booth)
        else:
            fresh.close()
            log.error("booth %r: another kiosk took this booth's name meanwhile", self.booth)

    def release_booth(self) -> None:
        """Let this booth's name go (the engine stopped)."""
        raw, self._holding = self._holding, None
        if raw is None:
            return
        try:  # at once: a closed connection's backend lets its locks go only as it exits
            raw.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (BOOTH_LOCK, self.booth))
        except psycopg.Error:
            pass  # the connection is gone already, and the lock with it
        finally:
            raw.close()

    def booth_running(self, booth: str) -> bool:
        """Whether a kiosk holds this booth's name on the server now."""
        with self._connect() as raw:
            if not self._try_booth(raw, booth):
                return True
            raw.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (BOOTH_LOCK, booth))
            return False

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        """BEGIN ... COMMIT holding the write lock, rolled back whole on any error."""
        conn = self.conn()
        try:
            for statement in self.dialect.begin:
                conn.execute(statement)
            yield conn
            conn.execute(self._commit)
        except BaseException as exc:
            if not conn.raw.broken and conn.in_transaction:
                with contextlib.suppress(psycopg.Error):
                    conn.raw.execute("ROLLBACK")
            if isinstance(exc, ServerError):
                why = str(exc).removeprefix(f"the store at {self.where}: ")
                raise type(exc)(
                    f"could not save to the store at {self.where}: {why}; nothing was written"
                ) from exc
            raise

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Several reads as one consistent snapshot (a read-only repeatable-read
        transaction)."""
        conn = self.conn()
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        finally:
            if not conn.raw.broken:
                conn.execute("COMMIT")

    def data_version(self) -> int:
        """Changes whenever any process commits (counted from the notifications: no query),
        or the listening connection came back after a loss."""
        return self.listener().version

    def listener(self) -> Listener:
        """This store's listening connection, started on first use."""
        if self._listener is None:
            self._listener = Listener(self.url, self.token)
            self._listener.start()
        return self._listener

    def audit(self, c: Conn, actor: str, action: str, subject: str, reason: str) -> None:
        """The audit row of a staff action at this booth, in the action's transaction."""
        write_audit(c, actor, action, subject, reason, booth=self.booth)

    def one(self, sql: str, *args: object) -> Any:
        """The first row of a query on this thread's connection (None: no row)."""
        return self.conn().execute(sql, args).fetchone()


def probe(url: str) -> tuple[str, int]:
    """The server's version and the store's schema version (0: an empty database), read
    without migrating or keeping a connection; StoreError when it cannot be reached."""
    where = shown(url)
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as raw:
            conn = PgConn(raw, where)
            server = str(conn.execute("SHOW server_version").fetchone()[0])
            return server, POSTGRESQL.version(conn)
    except psycopg.Error as exc:
        raise StoreError(f"cannot reach the store at {where}: {first_line(exc)}") from None
