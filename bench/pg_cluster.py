"""A throwaway PostgreSQL cluster for a benchmark: `initdb` in a temporary folder, started
on 127.0.0.1 only (a free port, trust auth, its unix socket in its own folder), stopped
(`pg_ctl stop -m fast`) and removed at the end. As root, initdb and the server run as the
`postgres` user (they refuse root), as in tests/pg_fixtures.py.

Unlike the tests' cluster it keeps fsync and synchronous commit on: a commit's latency
here is a durable commit's, as SQLite's synchronous=FULL is.
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
from pathlib import Path

SUPERUSER = "postgres"
PREFIX = "kiosk-bench-pg-"


class NoServer(Exception):
    """No PostgreSQL server is installed here, or it could not start (the reason)."""


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
    if os.geteuid() == 0:
        argv = ["runuser", "-u", SUPERUSER, "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise NoServer(
            f"{Path(argv[-1] if argv[0] == 'runuser' else argv[0]).name}: {' / '.join(tail)}"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_orphans(found: Path) -> None:
    """Stop and remove the clusters of benches killed before their end (the folder names
    the bench's process)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        pid = folder.name.removeprefix(PREFIX).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(NoServer, OSError, subprocess.SubprocessError):
                _run([str(found / "pg_ctl"), "stop", "-m", "fast", "-D", str(folder / "data")])
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def throwaway() -> Iterator[str]:
    """The URL of a database on a fresh cluster, for the block's duration."""
    found = bin_dir()
    if found is None:
        raise NoServer("no PostgreSQL server installed (initdb not found)")
    _stop_orphans(found)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, SUPERUSER)
        shutil.chown(sockets, SUPERUSER)
    try:
        _run([str(found / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
              "--encoding=UTF8", "--locale=C"])  # fmt: skip
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets}"
            " -c shared_buffers=512MB -c max_wal_size=4GB"
        )
        _run([str(found / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data),
              "-l", str(folder / "server.log"), "-o", options])  # fmt: skip
        try:
            yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        finally:
            with contextlib.suppress(NoServer, OSError, subprocess.SubprocessError):
                _run([str(found / "pg_ctl"), "stop", "-m", "fast", "-D", str(data)])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
