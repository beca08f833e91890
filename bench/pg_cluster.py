"""A throwaway PostgreSQL cluster: `initdb` in a temporary folder, started on 127.0.0.1
only (a free port, trust auth, its unix socket in its own folder), stopped (`pg_ctl stop
-m fast`) and removed at the end. As root, initdb and the server run as the `postgres`
user (they refuse root).

The one home of this code: the benchmarks use `throwaway()`, the tests'
fixtures (tests/pg_fixtures.py; pytest's `pythonpath` names this folder) `start`
and `remove`. A benchmark's cluster is durable (fsync and synchronous commit on: a commit's
latency is a durable commit's, as SQLite's synchronous=FULL is); the tests' is not, so
they do not wait on the disk.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"
PREFIX = "kiosk-bench-pg-"
"""The temporary folders of the benchmarks' clusters (the tests' have their own)."""
NOT_DURABLE = " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
DURABLE = " -c shared_buffers=512MB -c max_wal_size=4GB"


class NoServer(RuntimeError):
    """No PostgreSQL server is installed here, or it could not start (the reason)."""


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


def bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, else Debian's newest versioned folder."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    return Path(versions[-1]).parent if versions else None


def _run(argv: list[str]) -> None:
    """Run a PostgreSQL tool, as the postgres user when we are root; NoServer with the
    last lines it said when it fails."""
    as_owner = ["runuser", "-u", SUPERUSER, "--", *argv] if os.geteuid() == 0 else argv
    done = subprocess.run(as_owner, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise NoServer(f"{Path(argv[0]).name} failed: {' / '.join(tail)}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(folder: Path, found: Path, *, durable: bool) -> PgServer:
    """initdb and start a cluster in `folder` (empty) with the tools in `found`; NoServer
    saying why it could not."""
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, SUPERUSER)
        shutil.chown(sockets, SUPERUSER)
    initdb = [str(found / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust"]
    _run([*initdb, "--encoding=UTF8", "--locale=C", *([] if durable else ["--no-sync"])])
    for attempt in range(3):  # another process may take the free port first
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets}"
            + (DURABLE if durable else NOT_DURABLE)
        )
        server = PgServer("127.0.0.1", port, SUPERUSER, found, folder, options)
        try:
            server.start()
            return server
        except NoServer:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def remove(found: Path, folder: Path) -> None:
    """Stop the cluster in `folder` (if it runs) and remove the folder."""
    with contextlib.suppress(NoServer, OSError, subprocess.SubprocessError):
        _run([str(found / "pg_ctl"), "stop", "-m", "fast", "-D", str(folder / "data")])
    shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_orphans(found: Path, prefix: str) -> None:
    """Stop and remove the clusters of runs killed before their end (the folder, named
    `prefix` then the process id, names the process that made it)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        pid = folder.name.removeprefix(prefix).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            remove(found, folder)


def new_folder(prefix: str, tag: str = "") -> Path:
    """A temporary folder for a cluster, named after this process (see stop_orphans). Not
    under pytest's own temp folder: as root that is private to root, and the cluster
    belongs to the postgres user."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-{tag + '-' if tag else ''}"))


@contextlib.contextmanager
def throwaway() -> Iterator[str]:
    """The URL of a database on a fresh durable cluster, for the block's duration."""
    found = bin_dir()
    if found is None:
        raise NoServer("no PostgreSQL server installed (initdb not found)")
    stop_orphans(found, PREFIX)
    folder = new_folder(PREFIX)
    try:
        yield start(folder, found, durable=True).url(SUPERUSER)
    finally:
        remove(found, folder)
