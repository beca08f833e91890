"""`kiosk wall`: the crowd's screen, in this terminal or (`--serve`) in web browsers."""

from __future__ import annotations

import os
import shlex
import sys

import click

from kiosk.cli.common import KioskExit, WholeNumber, command_with_settings
from kiosk.core.config import Settings


@click.command()
@click.option(
    "--graphics",
    type=click.Choice(["auto", "kitty", "sixel", "halfcell"]),
    default="auto",
    help="How images are drawn in the terminal (a browser always gets half cells).",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Serve the wall to web browsers (textual-serve): each browser tab runs a wall"
    " process of its own on this machine.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve: address.")
@click.option(
    "--port", type=WholeNumber(1, 65535), default=8000, show_default=True, help="With --serve."
)
@click.option(
    "--max-viewers",
    type=WholeNumber(1, 64),
    default=4,
    show_default=True,
    help="With --serve: at most this many browser tabs (each one a wall process); one"
    " more gets a page saying the wall is full.",
)
@command_with_settings
def wall(
    settings: Settings, graphics: str, serve: bool, host: str, port: int, max_viewers: int
) -> None:
    """The crowd's screen: the target, the top 10 with the top 3's drawings, the latest
    drawings and the raffle, live, read-only beside a running kiosk (no lock taken)."""
    if serve:
        _serve(settings, host, port, max_viewers)
        return
    from kiosk.engine.feed import Feed
    from kiosk.ui.graphics import detect
    from kiosk.ui.wall.app import WallApp

    # Under textual-serve, COLUMNS and LINES are the browser's size; in a terminal, a
    # stale export would pin Textual to the wrong size.
    web = "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")
    if not web:
        for name in ("COLUMNS", "LINES"):
            os.environ.pop(name, None)
    mode = "halfcell" if web else detect(graphics)  # probe before Textual owns stdin
    from kiosk.core.join import JoinCode

    title, lang = f"{settings.event.name}: wall", settings.event.languages[0]
    data_dir = settings.data_path

    def join() -> JoinCode | None:
        """The join code of a phone server on this data dir, while one runs."""
        return JoinCode.announced(data_dir)

    WallApp(Feed(settings), graphics=mode, title=title, lang=lang, join=join).run()


def _serve(settings: Settings, host: str, port: int, max_viewers: int) -> None:
    """One wall app per browser tab, each its own process, through textual-serve; every
    file the page loads comes from this server."""
    from kiosk.ui.wall.serve import WallServer

    command = [
        sys.executable,
        "-m",
        "kiosk",
        "--config",
        str(settings.source.resolve()),
        "--data-dir",
        str(settings.data_path),
        "--profile",
        settings.profile,
        "wall",
        "--graphics",
        "halfcell",
    ]
    click.echo(
        f"kiosk wall: open http://{host}:{port} in a browser, on up to {max_viewers}"
        " screens (Ctrl+C stops)",
        err=True,
    )
    server = WallServer(
        shlex.join(command),
        host=host,
        port=port,
        title=settings.event.name,
        max_viewers=max_viewers,
    )
    try:
        server.serve()
    except OSError as exc:  # the port is taken, the address is not this machine's
        raise KioskExit(f"cannot serve the wall on {host}:{port}: {exc.strerror or exc}") from None
