"""`kiosk run` (the booth screen) and `kiosk demo` (the same engine, headless)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from kiosk.cli.common import KioskExit, command_with_settings
from kiosk.core.config import Settings

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp


@click.command()
@click.option(
    "--graphics",
    type=click.Choice(["auto", "kitty", "sixel", "halfcell"]),
    default="auto",
    help="How images are drawn in the terminal.",
)
@click.option("--unlocked", is_flag=True, help="Development: allow quitting with Ctrl+Q.")
@click.option(
    "--phones",
    is_flag=True,
    help="Serve phones in this process too ([phones] enabled does the same): visitors"
    " join by the QR code on the booth's screen.",
)
@command_with_settings
def run(
    settings: Settings, graphics: str = "auto", unlocked: bool = False, phones: bool = False
) -> None:
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
    from kiosk.engine.engine import Engine
    from kiosk.ml.tiny import tiny_demo_settings
    from kiosk.ui.app import make_app

    phone_server = None
    if phones or settings.phones.enabled:
        from kiosk.web.server import PhoneServer

        phone_server = PhoneServer
    try:
        app = make_app(
            settings,
            engine_factory=Engine,
            tiny_settings=tiny_demo_settings,
            graphics=mode,
            unlocked=unlocked,
            phones=phone_server,
        )
        # Say so here, not in a full-screen app a visitor cannot leave.
        app.engine.claim()
    except (StoreError, DataDirBusy) as exc:
        raise KioskExit(str(exc)) from None
    stopped_by = run_until_signalled(app)
    if stopped_by is not None:
        _say(
            f"kiosk: stopped by {stopped_by.name}: the booth closed cleanly (drawings under"
            " way were finished; prompts still waiting stay queued for the next start)"
        )


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
"""What ends the booth cleanly: a service manager's stop, a closed terminal, `kill -INT`."""
HANGUP_STOP_S = 35.0
"""After a hang-up, how long the engine may take to finish its batch before the process
leaves anyway (its waiting jobs are rows: the next start resumes them)."""


def run_until_signalled(app: KioskApp) -> signal.Signals | None:
    """Run the app until it exits or a stop signal comes; then finish the engine's batch.

    A signal asks the app to exit through its loop (Textual restores the terminal on the
    way out); the engine then finishes the batch it is drawing and releases the data dir.
    The handlers stay while it does, so a second signal does not cut the batch short.
    Returns the signal that stopped the booth, or None when the app exited by itself.
    """
    received: list[signal.Signals] = []
    terminal = [fd for fd in (0, 1, 2) if os.isatty(fd)]
    with asyncio.Runner() as runner:
        loop = runner.get_loop()

        def on_signal(signum: int, _frame: object) -> None:
            received.append(signal.Signals(signum))
            if any(not os.isatty(fd) for fd in terminal):
                leave_after_hangup(app)
            loop.call_soon_threadsafe(app.exit)

        previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
        try:
            app.run(loop=loop)
        finally:
            app.stop_engine()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return received[0] if received else None


def leave_after_hangup(app: KioskApp) -> NoReturn:
    """The terminal is gone: nothing can restore it, and Textual would block writing to
    it (its writer thread dies on the first failed write). Finish the engine's batch in a
    thread (this handler may have interrupted the loop inside the engine) and leave."""
    stopper = threading.Thread(target=app.stop_engine, name="kiosk-hangup-stop", daemon=True)
    stopper.start()
    stopper.join(HANGUP_STOP_S)
    os._exit(0)


def _say(line: str) -> None:
    """A last line on standard error; nothing when the terminal is gone (a hang-up)."""
    with contextlib.suppress(OSError):
        click.echo(line, err=True)


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
    from kiosk.engine.engine import Engine
    from kiosk.ml.models import apply_offline
    from kiosk.ops.demo import ScriptError, run_demo
    from kiosk.storage.lock import DataDirBusy, DataDirLock

    apply_offline(settings)
    path = Path(script) if script else settings.resolve(settings.event.demo_script)
    try:
        DataDirLock(settings.data_path).probe()  # a permission problem, said with its fix
        code = run_demo(settings, path, lambda s: Engine(s, codes=False), as_json=as_json)
    except (ScriptError, StoreError, DataDirBusy) as exc:
        raise KioskExit(str(exc)) from None
    sys.exit(code)
