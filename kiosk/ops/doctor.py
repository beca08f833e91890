"""`kiosk doctor`: the checklist before doors open, each line pass / warn / fail with its fix.

One small function per check, each given what it reads (settings, paths, a disk-usage
function, the time, the terminal's size, the graphics mode), so tests drive every path
without patching. Nothing here downloads or loads a model. `quick_checks` (no torch, no
weights) takes well under a second: `kiosk run` runs it before the booth starts.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from kiosk.core.config import ConfigError, Settings, picture_problems, read_settings
from kiosk.ml.tiny import with_tiny_models
from kiosk.ops.checks import CheckResult, failed, human_bytes, passed, warned
from kiosk.storage.lock import DataDirBusy, DataDirLock, DataDirUnusable, Holder, os_error_advice
from kiosk.storage.schema import sqlite_warning

DiskUsage = Callable[[Path], tuple[int, int, int]]
"""(total, used, free) bytes of the file system holding a path: `shutil.disk_usage`."""

MIN_PYTHON = (3, 11)
SQLITE_WAL = (3, 7, 0)
"""WAL mode, which the store needs, came with SQLite 3.7.0 (and the WAL-reset bug with it)."""
DRAWING_BYTES = 400_000
"""One stored drawing: a 512 px PNG and its share of the database, rounded up."""
EVENT_DRAWINGS = 12_000
"""Drawings in a big event: a two-day booth took 11,639 prompts (DESIGN.md)."""
EVENT_BYTES = DRAWING_BYTES * EVENT_DRAWINGS
DISK_FAIL_DRAWINGS = 1_000
"""Room for fewer drawings than this is a fail: under two hours of a busy booth."""
CLOCK_FLOOR = datetime(2026, 1, 1, tzinfo=UTC)
"""No sane clock reads earlier than this code's release."""
CLOCK_SLACK_S = 60.0
"""How far behind the newest stored row the clock may be (an NTP step, not a dead battery)."""


# -- the machine -------------------------------------------------------------------------


def check_python(version: Sequence[int] = tuple(sys.version_info[:3])) -> CheckResult:
    shown = ".".join(map(str, version))
    if tuple(version[:2]) < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        return failed(
            "python",
            f"Python {shown}; the kiosk needs {need} or newer",
            f"make clean install PYTHON=python{need} (a venv on a newer Python)",
        )
    return passed("python", f"Python {shown}")


def check_sqlite(version: str = sqlite3.sqlite_version) -> CheckResult:
    """The WAL-reset bug: SQLite 3.7.0 to 3.51.2 can corrupt a WAL database when a checkpoint
    races a write from another connection; fixed in 3.51.3, backported to 3.44.6 and 3.50.7
    (sqlite.org/wal.html#walresetbug). `schema.sqlite_warning` holds the versions."""
    try:
        found = tuple(int(x) for x in version.split(".")[:3])
    except ValueError:
        return warned(
            "sqlite",
            f"unrecognised SQLite version {version!r}: the WAL-reset bug cannot be ruled out",
            "use a Python whose sqlite3 has SQLite 3.51.3 or newer",
        )
    if found < SQLITE_WAL:
        return failed(
            "sqlite", f"SQLite {version} has no WAL mode", "use a Python built with SQLite 3.51.3+"
        )
    if sqlite_warning(version) is None:
        return passed("sqlite", f"SQLite {version} (no WAL-reset bug)")
    return warned(
        "sqlite",
        f"SQLite {version} has the WAL-reset bug (3.7.0 to 3.51.2): rarely, a checkpoint"
        " racing a write corrupts the database, and the kiosk's threads write on two connections",
        "use a Python whose sqlite3 has SQLite 3.51.3+ (or the 3.44.6 / 3.50.7 backports),"
        " e.g. a newer Python build; until then the data-dir lock keeps other writers out:"
        " back up the data dir daily",
    )


# -- the config and what it names ---------------------------------------------------------


def check_config(
    path: str | os.PathLike[str] | None,
    data_dir: str | os.PathLike[str] | None,
    profile: Literal["real", "tiny"],
) -> tuple[list[CheckResult], Settings | None]:
    """The config line and the target pictures line (the config's own checks), and the
    settings the other checks read (None: they cannot run)."""
    try:
        settings = read_settings(path, data_dir=data_dir)
    except ConfigError as exc:
        lines = [line.strip() for line in str(exc).splitlines()]
        fix = "edit the file as the message says (`--config` picks another one)"
        return [failed("config", "; ".join(lines), fix)], None
    if profile == "tiny":
        settings = with_tiny_models(settings)
    count, ids = len(settings.targets), ", ".join(t.id for t in settings.targets)
    config = passed("config", f"{settings.source} ({count} targets, {settings.profile})")
    problems = [line.strip() for line in picture_problems(settings)]
    if problems:
        fix = "put the picture there, or point that [[targets]] image at one"
        return [config, failed("target pictures", "; ".join(problems), fix)], settings
    return [config, passed("target pictures", f"{count} readable ({ids})")], settings


# -- the data dir, the staff, the clock -------------------------------------------------


def _existing(path: Path) -> Path:
    """`path` or its nearest ancestor that exists."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(
    data_dir: Path, disk_usage: DiskUsage = shutil.disk_usage, need: int = EVENT_BYTES
) -> CheckResult:
    fail_below = need * DISK_FAIL_DRAWINGS // EVENT_DRAWINGS
    where = _existing(data_dir)
    try:
        _, _, free = disk_usage(where)
    except OSError as exc:
        seen, fix = os_error_advice(data_dir, exc)
        return failed("disk", f"cannot read free space at {where}: {seen}", fix)
    seen = (
        f"{human_bytes(free)} free at {where}; an event needs about {human_bytes(need)}"
        f" ({EVENT_DRAWINGS:,} drawings x {human_bytes(DRAWING_BYTES)})"
    )
    fix = "free space on that disk, or move --data-dir to a bigger one"
    if free < fail_below:
        return failed("disk", f"{seen}: nearly full", fix)
    if free < need:
        return warned("disk", f"{seen}: not enough for a long event", fix)
    return passed("disk", seen)


def check_store(url: str) -> CheckResult | None:
    """The shared PostgreSQL store (`[store] url`): reachable, its server's version, its
    schema. None for SQLite in the data dir (the sqlite and data dir lines cover it)."""
    if not url:
        return None
    from kiosk.core.api import StoreError
    from kiosk.storage.pg import probe, shown
    from kiosk.storage.schema import VERSION

    try:
        server, found = probe(url)
    except StoreError as exc:
        return failed("store", str(exc), "start the server, or fix [store] url in the config")
    where = f"PostgreSQL {server} at {shown(url)}"
    if found > VERSION:
        return failed(
            "store",
            f"{where}: schema {found} is newer than this kiosk's {VERSION}",
            "upgrade this kiosk to the version the other booths run",
        )
    if found < VERSION:
        return warned(
            "store",
            f"{where}: schema {found}, this kiosk's is {VERSION}",
            "the first kiosk to start on it brings it up to date (every booth then needs"
            " this version)",
        )
    return passed("store", f"{where}: schema {found}")


def check_data_dir(data_dir: Path) -> CheckResult:
    """Writable: a temporary file is created in it and deleted (in its nearest existing
    ancestor when it is not there yet; nothing else is created)."""
    where = _existing(data_dir)
    if not where.is_dir():
        return failed(
            "data dir", f"{where} is a file, not a folder", "move it, or use another --data-dir"
        )
    try:
        fd, name = tempfile.mkstemp(dir=where, prefix=".kiosk-doctor-")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return failed("data dir", *os_error_advice(data_dir, exc))
    if where != data_dir:
        return passed("data dir", f"{data_dir} will be created (in writable {where})")
    return passed("data dir", f"{data_dir} is writable")


def check_lock(
    data_dir: Path,
    lock: Callable[[Path], DataDirLock] = DataDirLock,
    *,
    beside: bool = False,
) -> CheckResult:
    """Not held by another kiosk: the same lock the engine takes, taken and let go.

    `beside`: the checks run beside the booth (`kiosk doctor`, which only reads): a lock held
    by a live kiosk is then expected, a pass with a note. Before a start it is a failure.
    """
    if not data_dir.is_dir():
        return passed("data dir lock", "no data dir yet: nobody holds it")
    held = lock(data_dir)
    try:
        held.acquire()
    except DataDirBusy as exc:
        if beside:
            return _held_beside(exc.holder)
        said, _, fix = str(exc).partition("\n")
        return failed("data dir lock", said.strip(), fix.strip())
    except DataDirUnusable as exc:
        said, _, fix = str(exc).partition("\n")
        return failed("data dir lock", said.strip(), fix.strip().removeprefix("fix: "))
    held.release()
    return passed("data dir lock", "free: no other kiosk uses this data dir")


def _held_beside(holder: Holder | None) -> CheckResult:
    """The lock as `kiosk doctor` sees it beside a running kiosk."""
    if holder is None or not _alive(holder.pid):
        return warned(
            "data dir lock",
            "held by a process that did not say who it is",
            "find it with `fuser -v` on the data dir's kiosk.storage.lock, and stop it"
            " before the booth starts",
        )
    return passed(
        "data dir lock",
        f"held by the running kiosk (pid {holder.pid})",
        note=f"`{holder.command}` since {holder.since}: expected while the booth runs;"
        " stop it before starting another kiosk on this data dir",
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def newest_row_time(data_dir: Path) -> float | None:
    """When the newest submission or audit row was written, read-only; None when there is
    no database or it cannot be read (the clock check then compares with the floor only)."""
    from kiosk.core.api import StoreError
    from kiosk.storage.store import Store

    db = data_dir / "kiosk.db"
    if not db.is_file():
        return None
    try:
        store = Store(db, readonly=True)
        try:
            times = [r.created_at for r in store.board.recent(1)] + [
                a.at for a in store.moderation.audit_log(1)
            ]
        finally:
            store.close()
    except (StoreError, sqlite3.Error):
        return None
    return max(times, default=None)


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_clock(now: float, newest: float | None = None) -> CheckResult:
    """Not before the release floor, not behind the newest stored row: leaderboard ties go to
    whoever reached the score first, by this clock."""
    fix = "set the clock (timedatectl set-ntp true, or date -s) and check the RTC battery"
    if now < CLOCK_FLOOR.timestamp():
        return failed("clock", f"{_when(now)}: before {CLOCK_FLOOR:%Y-%m-%d}", fix)
    if newest is not None and now < newest - CLOCK_SLACK_S:
        return failed(
            "clock", f"{_when(now)}: behind the newest row in the database ({_when(newest)})", fix
        )
    return passed("clock", _when(now))


def check_staff_pin(pin_hash: str, config: Path | None = None) -> CheckResult:
    """The hash is set and argon2; `config`, the file holding it, is its owner's alone."""
    from argon2 import extract_parameters
    from argon2.exceptions import InvalidHashError

    fix = "kiosk staff set-pin"
    if not pin_hash.strip():
        return warned(
            "staff pin",
            "no [staff] pin_hash: staff mode stays closed (no hiding, raffle or quitting"
            " at the booth keyboard)",
            fix,
        )
    try:
        params = extract_parameters(pin_hash)
    except (InvalidHashError, ValueError):
        return warned("staff pin", "[staff] pin_hash is not an argon2 hash: no PIN opens it", fix)
    kind = f"argon2{params.type.name.lower()}"
    if config is not None and _others_read(config):
        told = f"{config} holds the PIN hash and other users can read it"
        return warned("staff pin", told, f"chmod 600 {config}")
    return passed("staff pin", f"set ({kind}, t={params.time_cost}, m={params.memory_cost} KiB)")


def _others_read(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & 0o044)
    except OSError:
        return False


def check_terminal(
    size: tuple[int, int] | None, mode: str | None, minimum: tuple[int, int]
) -> CheckResult:
    """`size` (columns, rows) is None off a terminal; `mode` is the graphics the booth would
    use (kitty, sixel, halfcell), found by the screen side."""
    if size is None:
        return warned(
            "terminal",
            "not a terminal (output redirected): its size and graphics are unknown",
            "run `kiosk doctor` in the booth's own terminal",
        )
    (cols, rows), (min_cols, min_rows) = size, minimum
    seen = f"{cols}x{rows}, pictures drawn with {mode}"
    if cols < min_cols or rows < min_rows:
        return warned(
            "terminal",
            f"{seen}: smaller than {min_cols}x{min_rows}, the booth asks to be resized",
            "enlarge the window or make the font smaller",
        )
    if mode == "halfcell":
        return warned(
            "terminal",
            f"{seen} (coloured half blocks: coarse pictures)",
            "a terminal with Kitty graphics (kitty 0.28+, WezTerm, Ghostty) or Sixel (foot,"
            " mlterm), outside tmux and screen",
        )
    return passed("terminal", seen)


def check_words(settings: Settings) -> CheckResult:
    """The blocklist loads (the booth's list and better-profanity's)."""
    from kiosk.core.blocklist import Blocklist, BlocklistError

    path = settings.blocklist_path
    try:
        words = Blocklist.load(path, profanity=settings.words.profanity)
    except BlocklistError as exc:
        return failed("words", str(exc), "fix [words] blocklist in the config, or leave it empty")
    return passed("words", f"{len(words)} blocked words and phrases ({path.name})")


def machine_checks() -> list[CheckResult]:
    """Python and SQLite: what holds whatever the config says."""
    return [check_python(), check_sqlite()]


def site_checks(
    settings: Settings,
    *,
    now: float,
    disk_usage: DiskUsage = shutil.disk_usage,
    beside: bool = False,
) -> list[CheckResult]:
    """The data dir (room, writable, free of other kiosks), the shared store when there is
    one, the staff PIN, the clock.
    `beside`: run beside the booth (`kiosk doctor`), where a running kiosk holds the lock."""
    data = settings.data_path
    store = check_store(settings.store.url)
    return [
        check_disk(data, disk_usage),
        check_data_dir(data),
        check_lock(data, beside=beside),
        *([store] if store else []),
        check_staff_pin(settings.staff.pin_hash, settings.source),
        check_clock(now, newest_row_time(data)),
        check_words(settings),
    ]


def quick_checks(
    settings: Settings, *, now: float, disk_usage: DiskUsage = shutil.disk_usage
) -> list[CheckResult]:
    """What `kiosk run` checks before the booth starts: no torch, no weights, well under a
    second (the terminal comes later, once the screen side has picked the graphics)."""
    return [*machine_checks(), *site_checks(settings, now=now, disk_usage=disk_usage)]
