"""`kiosk serve`: the engine and the phone server, headless (a phones-only booth)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import click

from kiosk.cli.common import KioskExit, WholeNumber, command_with_settings
from kiosk.core.api import EngineAPI
from kiosk.core.config import Settings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: [phones] host).")
@click.option(
    "--port", type=WholeNumber(0, 65535), default=None, help="Port (default: [phones] port)."
)
@command_with_settings
def serve(settings: Settings, host: str | None, port: int | None) -> None:
    """Headless: the engine and the phone server. Visitors join by the QR code the booth
    screens and the wall show; this prints the join URL at start and whenever it changes.
    Ctrl+C or SIGTERM stops it cleanly (the running batch is finished)."""
    from kiosk.core.api import StoreError
    from kiosk.engine.engine import Engine
    from kiosk.ml.models import apply_offline
    from kiosk.storage.lock import DataDirBusy

    apply_offline(settings)
    logging.basicConfig(
        stream=sys.stdout, level=logging.WARNING, format="%(asctime)s %(message)s", force=True
    )
    # Its own level: loading the models quiets the root logger (kiosk.ml.models).
    logging.getLogger("kiosk.serve").setLevel(logging.INFO)
    engine = Engine(settings)
    try:
        engine.claim()
    except (StoreError, DataDirBusy) as exc:
        raise KioskExit(str(exc)) from None
    try:
        code, stopped_by = asyncio.run(_run(engine, settings, host, port))
    except OSError as exc:  # the port is taken, the address is not this machine's
        engine.stop()
        where = f"{host or settings.phones.host}:{settings.phones.port if port is None else port}"
        raise KioskExit(f"cannot serve phones on {where}: {exc.strerror or exc}") from None
    if stopped_by is not None:
        click.echo(f"kiosk serve: stopped by {stopped_by.name}", err=True)
    sys.exit(code)


async def _run(
    engine: EngineAPI, settings: Settings, host: str | None, port: int | None
) -> tuple[int, signal.Signals | None]:
    """Serve until a stop signal (handled here, by the command, not by the server)."""
    from kiosk.web.headless import serve_phones

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig)
        stop.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)

    def say(line: str) -> None:
        click.echo(line)

    code = await serve_phones(engine, settings, stop=stop, say=say, host=host, port=port)
    return code, received[0] if received else None
