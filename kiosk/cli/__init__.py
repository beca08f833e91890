"""The `kiosk` command: a click group with one module per command family.

booth.py: run, demo.  board.py: stats, leaderboard.  models.py: models pull|check|tiny.
staff.py: staff ..., raffle, audit.  wall.py: wall [--serve].
serve.py: serve (the engine and the phone server, headless).
event.py: event new|list (event days: archive this event, start a fresh one).
export.py: export (CSVs, drawings, contact sheets and a zip; read-only on the data dir).
doctor.py: doctor (the checklist before doors open; `kiosk run` runs its quick checks first).
store.py: store copy (a single booth's SQLite event into a shared PostgreSQL store).
The options every command takes travel in click's context object (`common.Common`).
"""

from __future__ import annotations

import click

from kiosk.cli import board, booth, models, staff
from kiosk.cli import doctor as doctor_cmd
from kiosk.cli import event as event_cmd
from kiosk.cli import export as export_cmd
from kiosk.cli import serve as serve_cmd
from kiosk.cli import store as store_cmd
from kiosk.cli import wall as wall_cmd
from kiosk.cli.common import EXIT_USAGE, Common, KioskExit, common_options


@click.group(invoke_without_command=True)
@common_options
@click.version_option(package_name="ai-drawing-judge-kiosk")
@click.pass_context
def main(ctx: click.Context) -> None:
    """AI Drawing Judge: a booth prompt game. Without a command, runs the booth (`kiosk run`)."""
    ctx.ensure_object(Common)
    if ctx.invoked_subcommand is None:
        ctx.invoke(booth.run)


main.add_command(booth.run)
main.add_command(booth.demo)
main.add_command(board.stats)
main.add_command(board.leaderboard)
main.add_command(models.models)
main.add_command(staff.staff)
main.add_command(staff.raffle)
main.add_command(staff.audit)
main.add_command(wall_cmd.wall)
main.add_command(serve_cmd.serve)
main.add_command(event_cmd.event)
main.add_command(export_cmd.export)
main.add_command(doctor_cmd.doctor)
main.add_command(store_cmd.store)

__all__ = ["EXIT_USAGE", "KioskExit", "main"]
