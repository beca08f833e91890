"""`kiosk event new|list`: archive the current event into a dated folder, list past ones.

Day two of a two-day event either continues the same board (do nothing: the data dir
keeps its database) or starts fresh with `kiosk event new`. An archive is itself a data
dir: `kiosk --data-dir ARCHIVE leaderboard` (or stats, wall, export) opens it.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kiosk.cli.common import Common, KioskExit, command_with_settings
from kiosk.core.config import Settings

if TYPE_CHECKING:
    from kiosk.core.api import StaffState
    from kiosk.ops.eventdays import EventList
    from kiosk.storage.archive import EventCounts


@click.group()
def event() -> None:
    """Event days: archive this event and start a fresh one, or list past events.

    To continue the same board on day two, do nothing: the data dir keeps its event.
    """


def open_command(settings: Settings, data_dir: Path, command: str = "leaderboard") -> str:
    """The shell command that opens a data dir (with the --config in use, if one was given)."""
    common = click.get_current_context().ensure_object(Common)
    words = ["kiosk"]
    if common.config:
        words += ["--config", str(settings.source)]
    words += ["--data-dir", str(data_dir), command]
    return shlex.join(words)


def _live_place(settings: Settings) -> str:
    """Where the current event lives: the data dir, or the shared store (password hidden)."""
    if not settings.store.url:
        return str(settings.data_path)
    from kiosk.storage.pg import shown

    return f"the shared store at {shown(settings.store.url)}"


def _counts_text(counts: EventCounts | None, *, archived: bool = True) -> str:
    if counts is None:
        return "counts unknown"
    text = (
        f"{counts.players} player{'s' * (counts.players != 1)},"
        f" {counts.drawings} drawing{'s' * (counts.drawings != 1)}"
        f" ({counts.submissions} submission{'s' * (counts.submissions != 1)})"
    )
    if counts.queued_prompts:
        text += f", {counts.queued_prompts} prompt(s) " + (
            "archived undrawn" if archived else "waiting to be drawn"
        )
    return text


def carried_lines(state: StaffState) -> list[str]:
    """What `event new` carried into the fresh event, one line per kind."""
    kinds = [
        ("blocked words", state.words_blocked(True)),
        ("unblocked words", state.words_blocked(False)),
        ("bans", state.with_flag("banned")),
        ("staff tags", state.with_flag("staff")),
        ("hidden players", state.with_flag("hidden")),
    ]
    lines = [f"  {what} ({len(names)}): {', '.join(names)}" for what, names in kinds if names]
    if not lines:
        return ["Nothing to carry over: no staff word changes, bans, staff tags or hidden players."]
    return ["Carried into the fresh event (they hold for the whole event):", *lines]


@event.command("new")
@click.option(
    "--name", default=None, help="The archived event's name (default: event name + date)."
)
@click.option(
    "--force",
    is_flag=True,
    help="Archive prompts still waiting to be drawn with the event (they will not be drawn).",
)
@command_with_settings
def new(settings: Settings, name: str | None, force: bool) -> None:
    """Archive this event and start a fresh one.

    Moves the database and images into <data dir>/events/DATE-NAME/ (renamed, never
    copied or deleted) and creates the new, empty database, with staff's word changes,
    bans, staff tags and hidden players carried into it (listed). Refused while a kiosk
    runs on the data dir, or while prompts wait to be drawn (see --force).

    On a shared store ([store] url): the store's event is archived the same way into
    this data dir's events/ folder and the store starts the fresh event, in one
    transaction; refused while any booth runs on the store."""
    from kiosk.core.api import StoreError
    from kiosk.ops.eventdays import EventError, archive_event
    from kiosk.storage.lock import DataDirBusy

    try:
        if settings.store.url:
            from kiosk.ops.shared import archive_shared

            done = archive_shared(settings, name=name, force=force)
        else:
            done = archive_event(settings, name=name, force=force)
    except (DataDirBusy, EventError, StoreError) as exc:
        raise KioskExit(str(exc)) from None
    except OSError as exc:
        raise KioskExit(f"cannot archive the event in {settings.data_path}: {exc}") from None
    where = _live_place(settings)
    if done is None:
        click.echo(
            f"Nothing to archive: {where} has no players or prompts yet; it is already a"
            " fresh event."
        )
        return
    click.echo(f"Archived {done.name!r}: {_counts_text(done.counts)}")
    click.echo(f"  into {done.path}")
    click.echo(f"A fresh event starts now in {where} (an empty board).")
    for line in carried_lines(done.carried):
        click.echo(line)
    if done.readers_left:
        click.echo(
            "A reader still had the old database open: a `kiosk wall` moves to the new event"
            " by itself within a second; restart any other reader."
        )
    click.echo("View the archive:")
    click.echo(f"  {open_command(settings, done.path)}")
    click.echo("  (or stats, wall, export in place of leaderboard)")


@event.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@command_with_settings
def list_(settings: Settings, as_json: bool) -> None:
    """List the current event and the archived ones.

    The current event's players and drawings (on a shared store: the store's), then each
    archive in the data dir, newest first, with the command that opens it."""
    from kiosk.core.api import StoreError
    from kiosk.ops.eventdays import list_events

    try:
        if settings.store.url:
            from kiosk.ops.shared import list_shared

            found = list_shared(settings)
        else:
            found = list_events(settings)
    except (StoreError, OSError) as exc:
        raise KioskExit(str(exc)) from None
    if as_json:
        click.echo(json.dumps(_as_json(settings, found), ensure_ascii=False))
        return
    current = _counts_text(found.current, archived=False)
    click.echo(f"Current event in {_live_place(settings)}: {current}")
    if not found.archives:
        click.echo("No archived events yet (`kiosk event new` archives this one).")
        return
    click.echo("Archived events, newest first:")
    for a in found.archives:
        when = f"{a.archived_at:%Y-%m-%d %H:%M}" if a.archived_at else "?"
        click.echo(f"  {a.path.name}  {a.name!r}  archived {when}  {_counts_text(a.counts)}")
        if a.problem:
            click.echo(f"    note: {a.problem}")
        click.echo(f"    {open_command(settings, a.path)}")


def _counts_json(counts: EventCounts | None) -> dict[str, int] | None:
    if counts is None:
        return None
    return {
        "players": counts.players,
        "drawings": counts.drawings,
        "submissions": counts.submissions,
        "pending_jobs": counts.pending_jobs,
        "waiting": counts.waiting,
    }


def _as_json(settings: Settings, found: EventList) -> dict[str, object]:
    return {
        "data_dir": str(found.data_dir),
        "store": found.store,
        "current": _counts_json(found.current),
        "archives": [
            {
                "folder": a.path.name,
                "data_dir": str(a.path),
                "name": a.name,
                "archived_at": a.archived_at.isoformat(timespec="seconds")
                if a.archived_at
                else None,
                **(_counts_json(a.counts) or {}),
                "problem": a.problem,
                "open": open_command(settings, a.path),
            }
            for a in found.archives
        ],
    }
