"""A throwaway PostgreSQL server for the test run, and a fresh empty database per test.

One cluster per pytest process (with `-n 2`, one per xdist worker: at most two), made by
`initdb` in a temporary folder on the first test that asks for it and stopped
(`pg_ctl stop -m fast`) and removed at the end of the session. Each worker owning its
cluster needs no cross-process locking or "last one out stops it" bookkeeping, and an
initdb costs about a second. The server listens on 127.0.0.1 only, on a free port, with
trust auth and its unix socket in its own folder. `initdb` refuses root, so as root it
runs as the `postgres` user. When no server can be found or started, the tests that need
one skip, saying why.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest
from builders import free_port

SUPERUSER = "postgres"
PREFIX = "kiosk-pg-"
_names = count()


@dataclass(frozen=True)
class PgServer:
    """A running throwaway cluster: where to reach it, and how to stop and start it (a
    test of a database that goes away and comes back)."""

    host: str
    port: int
    user: str
    bin_dir: Path
    folder: Path
    options: str

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def stop(self) -> None:
        """Stop the server the way an operator's restart does (`-m fast`)."""
        _run([str(self.bin_dir / "pg_ctl"), "stop", "-m", "fast", "-w", "-D", self._data])

    def start(self) -> None:
        log = str(self.folder / "server.log")
        pg_ctl = str(self.bin_dir / "pg_ctl")
        _run([pg_ctl, "start", "-w", "-t", "60", "-D", self._data, "-l", log, "-o", self.options])

    def restart(self) -> None:
        """`pg_ctl restart -m fast`, as an operator restarts the server mid-event."""
        log = str(self.folder / "server.log")
        pg_ctl = str(self.bin_dir / "pg_ctl")
        _run([pg_ctl, "restart", "-m", "fast", "-w", "-t", "60", "-D", self._data, "-l", log,
              "-o", self.options])  # fmt: skip

    @property
    def _data(self) -> str:
        return str(self.folder / "data")


def _bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, else Debian's newest versioned folder."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    return Path(versions[-1]).parent if versions else None


def _as_owner(argv: list[str]) -> list[str]:
    """Run as the postgres user when we are root (initdb and postgres refuse root)."""
    return ["runuser", "-u", SUPERUSER, "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str]) -> None:
    done = subprocess.run(_as_owner(argv), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{Path(argv[0]).name} failed: {' / '.join(tail)}")


def _start(bin_dir: Path, folder: Path) -> PgServer:
    """initdb and start a cluster in `folder`; RuntimeError saying why it could not."""
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, SUPERUSER)
        shutil.chown(sockets, SUPERUSER)
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
    )
    for _attempt in range(3):  # another process may take the free port first
        port = free_port()
        # A throwaway cluster: no fsync, so tests do not wait on the disk.
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        try:
            _run(
                [
                    str(bin_dir / "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(data),
                    "-l",
                    str(folder / "server.log"),
                    "-o",
                    options,
                ]
            )
            return PgServer(
                host="127.0.0.1",
                port=port,
                user=SUPERUSER,
                bin_dir=bin_dir,
                folder=folder,
                options=options,
            )
        except RuntimeError:
            if _attempt == 2:
                raise
    raise AssertionError("unreachable")


def _stop(bin_dir: Path, folder: Path) -> None:
    with contextlib.suppress(Exception):
        _run([str(bin_dir / "pg_ctl"), "stop", "-m", "fast", "-D", str(folder / "data")])
    shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_orphans(bin_dir: Path) -> None:
    """Stop and remove the clusters of test runs that were killed before their end (the
    folder names the pytest process that made it)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        pid = folder.name.removeprefix(PREFIX).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            _stop(bin_dir, folder)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """This worker's throwaway PostgreSQL cluster; skips (with the reason) when none."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server installed (initdb not found; `make test` installs it)")
    _stop_orphans(bin_dir)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    # Not under pytest's own temp folder: as root that is private to root, and the
    # cluster belongs to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-{worker}-"))
    try:
        server = _start(bin_dir, folder)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        _stop(bin_dir, folder)
        pytest.skip(f"could not start a PostgreSQL server: {exc}")
    try:
        yield server
    finally:
        _stop(bin_dir, folder)


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
