"""`kiosk stats` and `kiosk leaderboard`: read-only, alongside a running kiosk."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from kiosk.cli.common import KioskExit, WholeNumber, command_with_settings
from kiosk.core.api import Stats, StoreError
from kiosk.core.config import Settings

if TYPE_CHECKING:
    from kiosk.core.ports import StoreAPI
    from kiosk.storage.store import PgStore, Store


def open_store(settings: Settings) -> Store | PgStore | None:
    """The event's store, read-only: `[store] url`, else the data dir's database (None when
    the data dir holds none yet). A data dir that does not exist is a KioskExit (a
    mistyped path), and is not created."""
    from kiosk.storage.store import PgStore, Store

    if settings.store.url:  # the event's shared store: no data dir needed to read it
        try:
            return PgStore(settings.store.url, readonly=True)
        except StoreError as exc:
            raise KioskExit(str(exc)) from None
    data = settings.data_path
    if not data.is_dir():
        raise KioskExit(
            f"no data dir at {data}: nothing has been played there. Check --data-dir"
            f" (or [event] data_dir in {settings.source})."
        )
    db = data / "kiosk.db"
    if not db.exists():
        click.echo(f"kiosk: no database in {data} yet: nothing played so far", err=True)
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


def pick_target(settings: Settings, target: str | None, store: StoreAPI | None) -> str:
    """The target asked for (it must be configured), else the active one: the one staff
    switched to (kept in the database), else the config's."""
    from kiosk.engine.desk import active_target

    ids = [t.id for t in settings.targets]
    if target is not None and target not in ids:
        raise KioskExit(f"unknown target {target!r}; configured targets: {', '.join(ids)}")
    if target is not None:
        return target
    return active_target(store, settings) if store else settings.active_target.id


def stats_data(s: Stats, target: str, on_board: int) -> dict[str, object]:
    """The counters under their old keys, and new keys that say what each counts."""
    return {
        "players": s.players,
        "submissions": s.submissions,
        "dedup_hits": s.dedup_hits,
        "pending_jobs": s.pending_jobs,
        "top_submitter": s.top_submitter,
        "top_submitter_count": s.top_submitter_count,
        "board_target": target,
        "players_on_board": on_board,
        "players_in_all": s.players,
        "players_not_on_board": s.players - on_board,
        "prompts_played": s.submissions,
        "prompts_drawn": s.submissions - s.dedup_hits,
        "prompts_from_dedup": s.dedup_hits,
        "jobs_waiting": s.pending_jobs,
    }


def stats_lines(d: dict[str, object]) -> list[tuple[str, str]]:
    """The counts in words, each saying what it counts."""
    top = d["top_submitter"]
    return [
        (
            "players on the board",
            f"{d['players_on_board']} ({d['board_target']}; {d['players_in_all']} in all,"
            f" {d['players_not_on_board']} not on it: hidden, staff, held for review"
            " or no drawing for this target)",
        ),
        (
            "prompts played",
            f"{d['prompts_played']} ({d['prompts_drawn']} drawn, {d['prompts_from_dedup']}"
            " answered from an identical earlier prompt)",
        ),
        ("waiting to be drawn", f"{d['jobs_waiting']}"),
        ("most prompts drawn", "-" if top is None else f"{top} ({d['top_submitter_count']})"),
    ]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.option("--target", default=None, help="Whose board to count (default: the active one).")
@command_with_settings
def stats(settings: Settings, as_json: bool, target: str | None) -> None:
    """Players on the board and in all, prompts played and drawn, jobs waiting, top submitter."""
    store = open_store(settings)
    target = pick_target(settings, target, store)
    s = store.board.stats() if store else EMPTY
    on_board = store.board.ranked_count(target) if store else 0
    data = stats_data(s, target, on_board)
    booths = store.board.booths() if store else {}
    data["booths"] = {b: {"drawings": d, "jobs_waiting": w} for b, (d, w) in booths.items()}
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for label, value in stats_lines(data):
        click.echo(f"{label:>20}: {value}")
    for booth, (drawn, waiting) in booths.items():
        label = f"booth {booth or '(unnamed)'}"
        click.echo(f"{label:>20}: {drawn} drawn here, {waiting} waiting")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--target", default=None, help="Target id (default: the active target).")
@click.option("--limit", type=WholeNumber(1, 10000), default=20, show_default=True)
@command_with_settings
def leaderboard(settings: Settings, as_json: bool, target: str | None, limit: int) -> None:
    """Each player's best score, best first; ties go to who reached it first."""
    from rich.console import Console

    from kiosk.ops.report import board_rows, board_table

    store = open_store(settings)
    target = pick_target(settings, target, store)
    rows = store.board.leaderboard(target, limit) if store else []
    if as_json:
        click.echo(json.dumps(board_rows(rows), ensure_ascii=False))
        return
    Console().print(board_table(rows, f"Leaderboard - {target}"))
