"""`kiosk wall --serve`: the wall in web browsers, through textual-serve, all from here.

textual-serve runs one wall process per browser tab. Its own page fetches a font from a
font CDN; ours (templates/wall.html) loads the Roboto Mono files textual-serve ships, with
root-relative addresses that work under whatever name a screen reaches the booth by, and
picks a type size a projector's audience can read. Past `max_viewers` tabs a browser gets
a polite page (templates/full.html), and no process is started for it.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
from aiohttp import web
from textual_serve.server import Server

TEMPLATES = Path(__file__).parent / "templates"
GRID = (120, 32)
"""The terminal a browser window is sized to (columns, rows): type as large as fits it."""
RETRY_S = 30
"""How often a browser turned away tries again (the page reloads itself)."""


class WallServer(Server):
    """textual-serve with this package's page, and a cap on wall processes."""

    def __init__(self, command: str, *, host: str, port: int, title: str, max_viewers: int) -> None:
        super().__init__(command, host=host, port=port, title=title, templates_path=TEMPLATES)
        self.max_viewers = max_viewers
        self.viewers = 0

    @property
    def full(self) -> bool:
        return self.viewers >= self.max_viewers

    async def handle_index(self, request: web.Request) -> web.Response:
        """The wall's page, or, when every viewer's place is taken, the polite refusal."""
        if self.full:
            context = {
                "title": self.title,
                "viewers": self.viewers,
                "limit": self.max_viewers,
                "retry_s": RETRY_S,
            }
            response = aiohttp_jinja2.render_template("full.html", request, context, status=503)
            response.headers["Retry-After"] = str(RETRY_S)
            return response
        context = {"title": self.title, "columns": GRID[0], "rows": GRID[1]}
        return aiohttp_jinja2.render_template("wall.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One wall process for this tab, unless the wall is full: a tab opened before the
        others took the places gets its socket closed (its page says the wall stopped)."""
        if self.full:
            websocket = web.WebSocketResponse()
            await websocket.prepare(request)
            await websocket.close(message=b"the wall is full")
            return websocket
        self.viewers += 1  # no await since the check: no other tab got in between
        try:
            return await super().handle_websocket(request)
        finally:
            self.viewers -= 1

    async def on_startup(self, app: web.Application) -> None:
        """Quiet: the command line has said where to point a browser."""
