"""`kiosk stats` and `kiosk leaderboard`: read-only, alongside a running kiosk."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from kiosk.cli.common import KioskExit, command_with_settings
from kiosk.core.api import Stats, StoreError
from kiosk.core.config import Settings

if TYPE_CHECKING:
    from kiosk.storage.store import Store


def open_store(settings: Settings) -> Store | None:
    """The data dir's database, read-only; None when there is none yet."""
    from kiosk.storage.store import Store

    db = settings.data_path / "kiosk.db"
    if not db.exists():
        return None
    try:
        return Store(db, readonly=True)
    except StoreError as exc:
        raise KioskExit(str(exc)) from None


EMPTY = Stats(
    players=0,
    submissions=0,
    dedup_hits=0,
    pending_jobs=0,
    top_submitter=None,
    top_submitter_count=0,
)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@command_with_settings
def stats(settings: Settings, as_json: bool) -> None:
    """Players, submissions, dedup hits, pending jobs, top submitter."""
    store = open_store(settings)
    s = store.stats() if store else EMPTY
    data = {
        "players": s.players,
        "submissions": s.submissions,
        "dedup_hits": s.dedup_hits,
        "pending_jobs": s.pending_jobs,
        "top_submitter": s.top_submitter,
        "top_submitter_count": s.top_submitter_count,
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for key, value in data.items():
        click.echo(f"{key.replace('_', ' '):>20}: {'-' if value is None else value}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--target", default=None, help="Target id (default: the active target).")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@command_with_settings
def leaderboard(settings: Settings, as_json: bool, target: str | None, limit: int) -> None:
    """Each player's best score, best first; ties go to who reached it first."""
    from rich.console import Console

    from kiosk.ops.report import board_rows, board_table

    ids = [t.id for t in settings.targets]
    if target is not None and target not in ids:
        raise KioskExit(f"unknown target {target!r}; configured targets: {', '.join(ids)}")
    target = target or settings.active_target.id
    store = open_store(settings)
    rows = store.leaderboard(target, limit) if store else []
    if as_json:
        click.echo(json.dumps(board_rows(rows), ensure_ascii=False))
        return
    Console().print(board_table(rows, f"Leaderboard - {target}"))
