"""`kiosk run` (the booth screen) and `kiosk demo` (the same engine, headless)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from kiosk.cli.common import KioskExit, command_with_settings
from kiosk.core.config import Settings


@click.command()
@click.option(
    "--graphics",
    type=click.Choice(["auto", "kitty", "sixel", "halfcell"]),
    default="auto",
    help="How images are drawn in the terminal.",
)
@click.option("--unlocked", is_flag=True, help="Development: allow quitting with Ctrl+Q.")
@command_with_settings
def run(settings: Settings, graphics: str = "auto", unlocked: bool = False) -> None:
    """Run the booth screen (the Textual app)."""
    from kiosk.cli.doctor import preflight, preflight_terminal
    from kiosk.core.api import StoreError
    from kiosk.ml.models import apply_offline
    from kiosk.storage.lock import DataDirBusy
    from kiosk.ui.graphics import detect

    preflight(settings)  # a failed check stops here, by name, before any model loads
    apply_offline(settings)
    for name in ("COLUMNS", "LINES"):  # a stale export would pin Textual to the wrong size
        os.environ.pop(name, None)
    mode = detect(graphics)  # probes the terminal: must happen before Textual owns stdin
    preflight_terminal(mode)
    from kiosk.ui.app import make_app

    try:
        app = make_app(settings, graphics=mode, unlocked=unlocked)
        # Say so here, not in a full-screen app a visitor cannot leave.
        app.engine.claim()
    except (StoreError, DataDirBusy) as exc:
        raise KioskExit(str(exc)) from None
    try:
        app.run()
    finally:
        app.stop_engine()


@click.command()
@click.option(
    "--script",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="nickname<TAB>prompt per line (default: event.demo_script).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event per line.")
@command_with_settings
def demo(settings: Settings, script: str | None, as_json: bool) -> None:
    """Headless: finish pending jobs, play a script, print the leaderboard."""
    from kiosk.core.api import StoreError
    from kiosk.ml.models import apply_offline
    from kiosk.ops.demo import ScriptError, run_demo
    from kiosk.storage.lock import DataDirBusy

    apply_offline(settings)
    path = Path(script) if script else settings.resolve(settings.event.demo_script)
    try:
        code = run_demo(settings, path, as_json=as_json)
    except (ScriptError, StoreError, DataDirBusy) as exc:
        raise KioskExit(str(exc)) from None
    sys.exit(code)
