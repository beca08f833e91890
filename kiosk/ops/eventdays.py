"""Event days: archive the current event into a dated folder and start a fresh one.

`archive_event` moves (never copies, never deletes) the database and its images into
`<data_dir>/events/<YYYY-MM-DD>-<slug>/` with an `event.json` manifest, so the archive
is itself a data dir that `kiosk --data-dir ARCHIVE leaderboard|stats|wall|export`
opens; then it creates the fresh, empty database, with the staff settings that hold for
the whole event carried into it (kiosk.storage.carry: word changes, bans, staff tags,
hidden players). Continuing the same board on day two is doing nothing: the data dir
keeps its database until someone archives it.

On the event's shared store (`[store] url`) kiosk.ops.shared makes the same archive, with
the helpers here.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kiosk.core.api import StaffState, StoreError
from kiosk.core.commands import chosen_target
from kiosk.core.config import Settings
from kiosk.storage.archive import (
    DB_FILES,
    DB_NAME,
    EventCounts,
    checkpoint,
    count_event,
    schema_version,
)
from kiosk.storage.carry import read_staff_state
from kiosk.storage.lock import DataDirLock
from kiosk.storage.store import Store

EVENTS_DIR = "events"
MANIFEST = "event.json"
IMAGES_DIR = "images"


class EventError(Exception):
    """An event could not be archived; the message says why and what to do."""


@dataclass(frozen=True)
class Archived:
    """An event moved into its archive folder."""

    path: Path
    name: str
    counts: EventCounts
    readers_left: bool  # a reader still had the old database open (it keeps showing it)
    carried: StaffState  # staff settings carried into the fresh event


@dataclass(frozen=True)
class ArchiveInfo:
    """One archived event as `kiosk event list` shows it."""

    path: Path
    name: str
    archived_at: datetime | None
    counts: EventCounts | None  # None: its database could not be read (see problem)
    problem: str | None = None


@dataclass(frozen=True)
class EventList:
    """The current event's counts, then the archives, newest first."""

    data_dir: Path
    current: EventCounts
    archives: list[ArchiveInfo]
    store: str | None = None  # the shared store that holds the current event (None: SQLite)


def slug(text: str) -> str:
    """A folder-name form of an event name: ascii lowercase words joined by dashes."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return words[:60].rstrip("-") or "event"


def archive_event(
    settings: Settings, *, name: str | None = None, force: bool = False, now: datetime | None = None
) -> Archived | None:
    """Archive the current event and start a fresh one; None when there is nothing to
    archive (no database, or one without players or prompts: already a fresh event).

    Raises DataDirBusy while a kiosk or demo writes to the data dir, and EventError when
    prompts still wait to be drawn (unless `force`) or a file cannot be moved.
    """
    data = settings.data_path
    refuse_an_archive(data)
    if not (data / DB_NAME).exists():
        return None
    when = (now or datetime.now()).astimezone()
    with DataDirLock(data):
        counts = count_event(data / DB_NAME)
        if counts.empty:
            return None
        if counts.queued_prompts and not force:
            raise EventError(pending_message(str(data), counts))
        readers_done = checkpoint(data / DB_NAME)
        carried = read_staff_state(data / DB_NAME)
        given = (name or "").strip()
        label = given or f"{settings.event.name} {when:%Y-%m-%d}"
        dest = claim_folder(
            data / EVENTS_DIR, f"{when:%Y-%m-%d}-{slug(given or settings.event.name)}"
        )
        target = chosen_target(carried.target, settings)  # staff's switch, not the config's
        write_json(dest / MANIFEST, event_manifest(settings, label, when, counts, target, data))
        _move_event(data, dest)
        _fresh_database(settings, carried, label)
        fsync_dir(data)
    return Archived(
        path=dest, name=label, counts=counts, readers_left=not readers_done, carried=carried
    )


def refuse_an_archive(data: Path) -> None:
    """EventError when `data` is an archive itself: archives are kept as they were."""
    if (data / MANIFEST).exists():
        raise EventError(
            f"{data} is an archived event (it has {MANIFEST}); archives are kept as they"
            " were. Run `kiosk event new` on the booth's own data dir."
        )


def pending_message(where: str, counts: EventCounts) -> str:
    n = counts.queued_prompts
    them, they = ("them", "they") if n != 1 else ("it", "it")
    return (
        f"{n} visitor prompt{'s are' if n != 1 else ' is'} still waiting to be drawn in"
        f" {where}; a new event would leave {them} behind.\n"
        f"  Let the kiosk draw {them} first (`kiosk run`, or headless: `kiosk demo --script"
        " /dev/null`), then run `kiosk event new` again;\n"
        f"  or archive {them} with this event: `kiosk event new --force` ({they} will not be"
        " drawn)."
    )


def claim_folder(events: Path, base: str) -> Path:
    """Create a new, empty archive folder: `base`, else `base-2`, `base-3`, ..."""
    events.mkdir(exist_ok=True)
    for n in range(1, 1000):
        dest = events / (base if n == 1 else f"{base}-{n}")
        try:
            dest.mkdir()
        except FileExistsError:
            continue
        fsync_dir(events)
        return dest
    raise EventError(f"too many archives named {base} in {events}")


def event_manifest(
    settings: Settings, name: str, when: datetime, counts: EventCounts, target: str, data: Path
) -> dict[str, object]:
    return {
        "name": name,
        "event": settings.event.name,
        "archived_at": when.isoformat(timespec="seconds"),
        "players": counts.players,
        "drawings": counts.drawings,
        "submissions": counts.submissions,
        "pending_jobs": counts.pending_jobs,
        "waiting": counts.waiting,
        "active_target": target,
        "targets": [
            {"id": t.id, "title": t.title, "image": str(settings.target_image(t))}
            for t in settings.targets
        ],
        "schema_version": schema_version(data / DB_NAME),
    }


def _move_event(data: Path, dest: Path) -> None:
    """Rename the database (with its -wal/-shm) and the images into `dest`; the database
    goes first, so a reader never opens it without its WAL."""
    moved: list[str] = []
    for item in (*DB_FILES, IMAGES_DIR):
        src = data / item
        if not os.path.lexists(src):
            continue
        try:
            os.rename(src, dest / item)  # same filesystem: atomic, nothing copied
        except OSError as exc:
            raise EventError(
                f"could not move {src} into {dest}: {exc.strerror or exc}. Nothing was deleted;"
                f" moved so far: {', '.join(moved) or 'nothing'}. Move the rest into {dest}"
                " by hand (a folder on another disk cannot be renamed there)."
            ) from None
        moved.append(item)
    (dest / IMAGES_DIR).mkdir(exist_ok=True)  # an archive is a whole data dir
    fsync_dir(dest)


def _fresh_database(settings: Settings, carried: StaffState, source: str) -> None:
    """The new event's empty database, created now: the data dir is a valid event at once.
    Staff's settings for the whole event come with it (no player, no score)."""
    store = Store(settings.data_path / DB_NAME)
    try:
        store.meta.sync_targets(
            [(t.id, t.title, str(settings.target_image(t))) for t in settings.targets]
        )
        store.moderation.carry_in(carried, source=source)
    finally:
        store.close()


def write_json(path: Path, data: dict[str, object]) -> None:
    """Write a JSON file whole or not at all (temp file, fsync, rename)."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; anyone who may read the data dir may read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fsync_dir(path: Path) -> None:
    """Make renames inside a folder durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- listing ----------------------------------------------------------------------------


def list_events(
    settings: Settings, current: EventCounts | None = None, store: str | None = None
) -> EventList:
    """The current event (its counts: the data dir's database's unless given, as the
    shared `store`'s are) and every archive under `<data_dir>/events/`, newest first.
    Read-only: works alongside a running kiosk."""
    data = settings.data_path
    events = data / EVENTS_DIR
    folders = sorted(p for p in events.iterdir() if _is_archive(p)) if events.is_dir() else []
    archives = [_archive_info(p) for p in folders]
    archives.sort(key=_newest_first)
    if current is None:
        current = count_event(data / DB_NAME)
    return EventList(data_dir=data, current=current, archives=archives, store=store)


def _is_archive(path: Path) -> bool:
    return (
        path.is_dir()
        and not path.name.startswith(".")
        and ((path / MANIFEST).exists() or (path / DB_NAME).exists())
    )


def _newest_first(info: ArchiveInfo) -> tuple[float, str]:
    stamp = info.archived_at.timestamp() if info.archived_at else 0.0
    return (-stamp, info.path.name)


def _archive_info(path: Path) -> ArchiveInfo:
    manifest = read_manifest(path)
    name = str(manifest.get("name") or path.name)
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(str(manifest["archived_at"])).astimezone()
    except (KeyError, ValueError):
        when = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    counts: EventCounts | None
    problem: str | None = None
    if not (path / DB_NAME).exists():
        counts, problem = _manifest_counts(manifest), f"no {DB_NAME} in this folder"
    else:
        try:
            counts = count_event(path / DB_NAME)
        except StoreError as exc:
            counts, problem = _manifest_counts(manifest), str(exc)
    return ArchiveInfo(path=path, name=name, archived_at=when, counts=counts, problem=problem)


def read_manifest(path: Path) -> dict[str, object]:
    """An archive's event.json, or {} when it is missing or unreadable."""
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _manifest_counts(manifest: dict[str, object]) -> EventCounts | None:
    """The counts the manifest recorded when the event was archived."""
    try:
        return EventCounts(
            players=int(str(manifest["players"])),
            drawings=int(str(manifest["drawings"])),
            submissions=int(str(manifest.get("submissions", 0))),
            pending_jobs=int(str(manifest.get("pending_jobs", 0))),
            waiting=int(str(manifest.get("waiting", 0))),
        )
    except (KeyError, ValueError):
        return None
