"""One writer per data dir: an advisory lock that a crashed process cannot leave stuck.

`fcntl.flock` is released by the kernel when the process dies, however it dies;
the lock file only says who holds it, for the message a second writer prints.
Read-only commands (stats, leaderboard) never take it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kiosk.core.api import StoreError

LOCK_NAME = "kiosk.storage.lock"


@dataclass(frozen=True)
class Holder:
    """Who holds a data dir's lock, as it wrote in the lock file."""

    pid: int
    command: str
    since: str


class DataDirBusy(Exception):
    """Another kiosk process is writing to this data dir."""

    def __init__(self, message: str, holder: Holder | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class DataDirUnusable(StoreError):
    """The data dir cannot be created or written (permissions, a read-only or full disk):
    the message names the path, the reason and the fix on its second line."""


class DataDirLock:
    """Hold with `acquire()` / `release()` or as a context manager."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock; DataDirBusy when another process holds it, DataDirUnusable when
        the data dir cannot be created or written."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        except OSError as exc:
            raise DataDirUnusable(unusable_message(self.path.parent, exc)) from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = parse_holder(fh.read().strip())
            fh.close()
            raise DataDirBusy(busy_message(self.path.parent, holder), holder) from None
        fh.seek(0)
        fh.truncate()
        fh.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "command": " ".join(sys.argv[:3]),
                    "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
        )
        fh.flush()
        self._fh = fh

    @property
    def held(self) -> bool:
        return self._fh is not None

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the flock
            self._fh = None

    def probe(self) -> None:
        """Take the lock and let it go: DataDirUnusable or DataDirBusy now, with their
        fixes, before a database is opened in a folder that cannot hold one."""
        self.acquire()
        self.release()

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def parse_holder(text: str) -> Holder | None:
    """The holder a lock file names, or None when it names none (empty, or not ours)."""
    try:
        info = json.loads(text)
        return Holder(pid=int(info["pid"]), command=str(info["command"]), since=info["since"])
    except (ValueError, KeyError, TypeError):
        return None


def busy_message(data_dir: Path, holder: Holder | None) -> str:
    who = "another process"
    if holder is not None:
        who = f"process {holder.pid} ({holder.command}, since {holder.since})"
    return (
        f"another kiosk is already using the data dir {data_dir}: {who}.\n"
        "  Stop it first, or use another --data-dir. (kiosk stats and kiosk leaderboard"
        " work alongside it.)"
    )


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def os_error_advice(data_dir: Path, exc: OSError, uid: int | None = None) -> tuple[str, str]:
    """(what went wrong, the fix) for an OSError met using `data_dir`, by its errno: a
    permission problem gets a permission fix, only a full disk gets `df -h`. `uid`: whose
    permissions (default: this process's user)."""
    where = _nearest_existing(data_dir)
    reason = exc.strerror or str(exc) or type(exc).__name__
    elsewhere = "or pick another folder with --data-dir"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return _permission_advice(data_dir, where, reason, os.geteuid() if uid is None else uid)
    if exc.errno == errno.EROFS:
        return f"{where} is on a read-only file system ({reason})", f"remount it, {elsewhere}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left at {where} ({reason})", f"df -h {where}: free space, {elsewhere}"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return f"{where} is a file, not a folder ({reason})", f"move that file, {elsewhere}"
    return f"cannot use {data_dir}: {reason}", f"check that path, {elsewhere}"


def _permission_advice(data_dir: Path, where: Path, reason: str, uid: int) -> tuple[str, str]:
    """A permission problem: who cannot write where, and the chown / chmod that fixes it."""
    elsewhere = "or pick another folder with --data-dir"
    create = "" if where == data_dir else f"cannot create {data_dir}: "
    if uid == 0:  # modes do not stop root: a protected or special file system does
        seen = f"{create}{where} refuses even root ({reason}): a protected or special file system"
        return seen, "pick a folder on an ordinary disk with --data-dir"
    user = _user(uid)
    seen = f"{create}{where} is not writable by {user} ({reason})"
    if create:
        return seen, f"sudo mkdir -p {data_dir} && sudo chown {user} {data_dir}, {elsewhere}"
    return seen, f"sudo chown -R {user} {data_dir} (or chmod u+w {data_dir}), {elsewhere}"


def unusable_message(data_dir: Path, exc: OSError) -> str:
    """One message for DataDirUnusable: what was seen, then the fix."""
    seen, fix = os_error_advice(data_dir, exc)
    return f"cannot use the data dir: {seen}\n  fix: {fix}"


def _user(uid: int) -> str:
    """A user's name (their uid when they have none), as a chown needs it."""
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
