"""One writer per data dir: an advisory lock that a crashed process cannot leave stuck.

`fcntl.flock` is released by the kernel when the process dies, however it dies;
the lock file only says who holds it, for the message a second writer prints.
Read-only commands (stats, leaderboard) never take it.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import IO


class DataDirBusy(Exception):
    """Another kiosk process is writing to this data dir."""


class DataDirLock:
    """Hold with `acquire()` / `release()` or as a context manager."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "kiosk.storage.lock"
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip()
            fh.close()
            raise DataDirBusy(busy_message(self.path.parent, holder)) from None
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

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def busy_message(data_dir: Path, holder: str) -> str:
    try:
        info = json.loads(holder)
        who = f"process {info['pid']} ({info['command']}, since {info['since']})"
    except (ValueError, KeyError, TypeError):
        who = "another process"
    return (
        f"another kiosk is already using the data dir {data_dir}: {who}.\n"
        "  Stop it first, or use another --data-dir. (kiosk stats and kiosk leaderboard"
        " work alongside it.)"
    )
