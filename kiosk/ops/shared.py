"""Event days and the export on the event's shared store (`[store] url`).

The live shared store holds one event. `kiosk event new` archives it as the same kind of
SQLite data dir a single booth archives (kiosk.ops.eventdays), in the same folder, and
empties the store for the fresh event, in one transaction under the store's write lock;
`kiosk event list` counts the live event through the store; `kiosk export` exports a
snapshot of it (kiosk.storage.snapshot) with the ordinary export, unchanged.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from kiosk.core.commands import chosen_target
from kiosk.core.config import Settings, StoreSettings
from kiosk.ops.eventdays import (
    EVENTS_DIR,
    MANIFEST,
    Archived,
    EventError,
    EventList,
    claim_folder,
    event_manifest,
    fsync_dir,
    list_events,
    pending_message,
    refuse_an_archive,
    slug,
    write_json,
)
from kiosk.ops.export import ExportResult, Progress, export_event
from kiosk.storage.archive import DB_NAME, EventCounts, read_counts
from kiosk.storage.carry import read_staff_state
from kiosk.storage.dialect import Conn
from kiosk.storage.pg import OfflineError, PgConn
from kiosk.storage.snapshot import (
    clear_event,
    refused_plainly,
    snapshot_store,
    write_data_dir,
)
from kiosk.storage.store import PgStore, put_targets


def on_data_dir(settings: Settings, data: Path) -> Settings:
    """The same settings on the SQLite event in `data` (a snapshot, an archive)."""
    event = settings.event.model_copy(update={"data_dir": str(data)})
    return settings.model_copy(update={"event": event, "store": StoreSettings(url="")})


def export_shared(
    settings: Settings,
    *,
    out: Path | None = None,
    target: str | None = None,
    top: int = 12,
    progress: Progress | None = None,
) -> ExportResult:
    """`kiosk export` of the shared store's event: a snapshot of it into a temporary data
    dir beside the export (where the space is), exported as any data dir is, then removed."""
    beside = out.expanduser().resolve().parent if out is not None else Path.cwd()
    beside.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".kiosk-snapshot-", dir=beside) as tmp:
        snapshot_store(settings.store.url, Path(tmp))
        snap = on_data_dir(settings, Path(tmp))
        return export_event(snap, out=out, target=target, top=top, progress=progress)


def list_shared(settings: Settings) -> EventList:
    """`kiosk event list`: the live event's counts from the shared store, then the archives
    in this data dir."""
    store = PgStore(settings.store.url, readonly=True)
    try:
        return list_events(settings, current=store.event_counts(), store=store.db.where)
    finally:
        store.shutdown()


def archive_shared(
    settings: Settings, *, name: str | None = None, force: bool = False, now: datetime | None = None
) -> Archived | None:
    """`kiosk event new`: the shared store's event into a new archive folder, and the store
    emptied for the fresh one, in one transaction under its write lock; None when the
    store holds no event. A failure leaves the store as it was and no archive: it is
    built in a hidden folder and renamed whole into place before the commit."""
    refuse_an_archive(settings.data_path)
    events = settings.data_path / EVENTS_DIR
    events.mkdir(parents=True, exist_ok=True)
    store = PgStore(settings.store.url, booth=settings.event.booth)
    try:
        with tempfile.TemporaryDirectory(
            prefix=".tmp-event-", dir=events, ignore_cleanup_errors=True
        ) as work:
            when = (now or datetime.now()).astimezone()
            return _archive(settings, store, Path(work), (name or "").strip(), force, when)
    finally:
        store.shutdown()


def _archive(
    settings: Settings, store: PgStore, work: Path, given: str, force: bool, when: datetime
) -> Archived | None:
    """archive_shared's transaction: the snapshot into `work`, the store emptied, `work`
    renamed into the archive folder, then the commit."""
    events, dest = work.parent, None
    nothing = "nothing was archived and the store is as it was"
    try:
        with refused_plainly(store.db.where, nothing), store.db.transaction() as c:
            assert isinstance(c, PgConn)
            counts = _live_counts(store, c, force)
            if counts.empty:
                return None
            write_data_dir(c, work)
            carried = read_staff_state(work / DB_NAME)
            label = given or f"{settings.event.name} {when:%Y-%m-%d}"
            target = chosen_target(carried.target, settings)
            write_json(work / MANIFEST, event_manifest(settings, label, when, counts, target, work))
            clear_event(c)  # the fresh event, as a fresh SQLite database starts one
            put_targets(
                c, [(t.id, t.title, str(settings.target_image(t))) for t in settings.targets]
            )
            store.moderation.carry_into(c, carried, source=label)
            dest = claim_folder(events, f"{when:%Y-%m-%d}-{slug(given or settings.event.name)}")
            os.replace(work, dest)  # onto the empty folder just claimed: whole or not at all
            fsync_dir(events)
    except OfflineError as exc:
        if dest is not None and not work.exists():  # lost at COMMIT: either event may be live
            raise EventError(
                f"{exc}. The store may or may not hold the fresh event now: the archive is kept"
                f" whole in {dest}; check `kiosk event list` before running this again."
            ) from None
        _remove(dest)
        raise
    except BaseException:
        _remove(dest)  # the store rolled back: no archive of an event it still holds
        raise
    return Archived(path=dest, name=label, counts=counts, readers_left=False, carried=carried)


def _live_counts(store: PgStore, c: Conn, force: bool) -> EventCounts:
    """The live event's counts, refused while a booth runs on the store (it would go on
    with the emptied event's players and jobs in memory) or, unless `force`, while
    prompts wait to be drawn (as on SQLite)."""
    running = store.booths.running()
    if running:
        raise EventError(
            f"{len(running)} booth{'s are' if len(running) != 1 else ' is'} running on the"
            f" store at {store.db.where}: {', '.join(running)}. Stop every booth first"
            " (`kiosk event new` would empty the event under them)."
        )
    counts = read_counts(c)
    if counts.queued_prompts and not force:
        raise EventError(pending_message(f"the store at {store.db.where}", counts))
    return counts


def _remove(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
