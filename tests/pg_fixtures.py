"""A throwaway PostgreSQL server for the test run, and a fresh empty database per test.

One cluster per pytest process (with `-n 2`, one per xdist worker: at most two), made by
`initdb` in a temporary folder on the first test that asks for it and stopped
(`pg_ctl stop -m fast`) and removed at the end of the session. Each worker owning its
cluster needs no cross-process locking or "last one out stops it" bookkeeping, and an
initdb costs about a second. The server listens on 127.0.0.1 only, on a free port, with
trust auth and its unix socket in its own folder, without fsync (a test does not wait on
the disk). The cluster code is bench/pg_cluster.py's, shared with the benchmarks (pytest's
`pythonpath` and mypy's `mypy_path` name bench/). When no server can be found or
started, the tests that need one skip, saying why.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from itertools import count

import pytest
from pg_cluster import PgServer, bin_dir, new_folder, remove, start, stop_orphans

__all__ = ["PgServer", "pg_server", "pg_url"]
PREFIX = "kiosk-pg-"
_names = count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """This worker's throwaway PostgreSQL cluster; skips (with the reason) when none."""
    found = bin_dir()
    if found is None:
        pytest.skip("no PostgreSQL server installed (initdb not found; `make test` installs it)")
    stop_orphans(found, PREFIX)
    folder = new_folder(PREFIX, os.environ.get("PYTEST_XDIST_WORKER", "main"))
    try:
        server = start(folder, found, durable=False)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        remove(found, folder)
        pytest.skip(f"could not start a PostgreSQL server: {exc}")
    try:
        yield server
    finally:
        remove(found, folder)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """The URL of a fresh, empty database on this worker's cluster, dropped after the test."""
    from pytest_postgresql.janitor import DatabaseJanitor

    name = f"kiosk_test_{os.getpid()}_{next(_names)}"
    janitor = DatabaseJanitor(
        user=pg_server.user,
        host=pg_server.host,
        port=pg_server.port,
        dbname=name,
        template_dbname="template0",
    )
    janitor.init()
    try:
        yield pg_server.url(name)
    finally:
        janitor.drop()
