"""`kiosk store copy --to postgresql://...`: a single booth's event into the shared store."""

from __future__ import annotations

import click

from kiosk.cli.common import KioskExit, command_with_settings
from kiosk.core.config import Settings


@click.group()
def store() -> None:
    """The event's store: move a single booth's event into a shared PostgreSQL store."""


@store.command("copy")
@click.option(
    "--to",
    "url",
    required=True,
    metavar="postgresql://...",
    help="The shared store to fill: an empty PostgreSQL database.",
)
@command_with_settings
def copy(settings: Settings, url: str) -> None:
    """Copy this data dir's SQLite event into an empty PostgreSQL store.

    Every player, code, drawing's score, dedup key, staff action, raffle, word change and
    pending prompt goes across with its id, in one transaction: a copy that fails leaves
    the store as it was. The SQLite file is only read, and refused while a kiosk runs on
    the data dir. The drawings' image files stay in the data dir.
    """
    from kiosk.core.api import StoreError
    from kiosk.storage.copy import copy_event
    from kiosk.storage.store import URL_SCHEMES

    if url.split("://", 1)[0] not in URL_SCHEMES:
        raise KioskExit(f"--to {url!r} is not a postgresql:// URL")
    data = settings.data_path
    try:
        done = copy_event(data / "kiosk.db", url)
    except StoreError as exc:
        raise KioskExit(str(exc)) from None
    rows = done.rows
    click.echo(f"Copied the event in {done.source} into {done.target}:")
    click.echo(
        f"  {rows['players']} players, {rows['submissions']} submissions,"
        f" {rows['jobs']} pending or failed jobs, {rows['waiters']} waiters,"
        f" {rows['audit']} audit rows, {rows['raffles']} raffles,"
        f" {rows['blocked_words']} word changes"
    )
    click.echo(f"The SQLite file was only read: {done.source} is unchanged.")
    click.echo(
        f"{rows['pictures']} drawing files from {data / 'images'} are in the store too:"
        " every booth and wall that shares it shows them."
    )
    click.echo(
        "Next: set [store] url to this URL in every booth's kiosk.toml (password in the"
        " URL or in ~/.pgpass)."
    )
