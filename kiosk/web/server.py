"""The phone server: aiohttp on the event loop it is started on (Textual's, in `kiosk run
--phones`; asyncio's, in `kiosk serve`), in the booth's process.

An AppRunner and a TCPSite on the running loop: no signal handling of its own (the
command that runs it stops it), no access log. Blocking engine calls (SQLite, the
policy's checks) run in a small thread pool, never on the loop. The server reaches the
engine only through `EngineAPI`; no staff action, raffle or export is reachable.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web

from kiosk.core.api import EngineAPI
from kiosk.core.config import Settings
from kiosk.core.i18n import LANGUAGES
from kiosk.core.join import (
    Cookies,
    JoinCode,
    JoinTokens,
    Seat,
    Signer,
    base_url,
    load_secret,
)
from kiosk.web import texts
from kiosk.web.answers import (
    COOKIE_MAX_AGE,
    DEVICE_COOKIE,
    LANG_COOKIE,
    SEAT_COOKIE,
    headed,
    refusal,
)
from kiosk.web.api import Api
from kiosk.web.hub import Hub

log = logging.getLogger(__name__)
T = TypeVar("T")
HERE = Path(__file__).parent


@dataclass(frozen=True)
class Caps:
    """What the phones may hold of this process: bodies, time, requests, streams."""

    body_bytes: int = 4096
    """Largest request body (a prompt is at most a few hundred characters)."""
    body_timeout_s: float = 10.0
    """A client that has not sent its whole body by then is cut off."""
    keepalive_s: float = 15.0
    """A connection without a whole request for this long is closed (an idle one, and one
    that dribbles its headers)."""
    joins_per_address: int = 6
    """New devices one network address may make in a join window: the device is the unit
    of fair play, so a macro must not mint itself fresh ones (a phone that joins again
    keeps its device)."""
    connections_total: int = 1024
    """Connections open in all; a request on one more is answered 503 and closed."""
    requests_per_device: int = 8
    """Requests one device (or one address without a device) may have in flight."""
    requests_total: int = 512
    """Requests in flight in all."""
    streams_per_device: int = 2
    """Event streams one device may hold open (a page and its reload)."""
    streams_total: int = 400
    """Event streams in all."""
    heartbeat_s: float = 15.0
    """A quiet event stream gets a comment this often (proxies and phones keep it)."""
    write_timeout_s: float = 10.0
    """An event stream whose phone does not read for this long is ended."""


class PhoneServer:
    """The phones' web server for one engine."""

    def __init__(
        self,
        engine: EngineAPI,
        settings: Settings,
        *,
        caps: Caps = Caps(),
        threads: int = 8,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.caps = caps
        phones = settings.phones
        signer = Signer(load_secret(settings.data_path))
        self.cookies = Cookies(signer)
        self.join = JoinCode(phones.public_url, JoinTokens(signer, phones.join_window_s))
        """What the QR codes say; its address is settled by `start` (where it listens)."""
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="kiosk-phones")
        self.hub: Hub | None = None
        self.api = Api(self)
        self._runner: web.AppRunner | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._inflight: Counter[str] = Counter()
        self._joins: Counter[tuple[str, int]] = Counter()
        """New devices per (address, join window)."""
        self.port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        """Listen on the running loop (raises OSError when the address cannot be had).
        Port 0 takes a free one; `port` says which, and the join URL follows it when
        `public_url` is not set."""
        phones = self.settings.phones
        host = phones.host if host is None else host
        port = phones.port if port is None else port
        loop = asyncio.get_running_loop()
        self.hub = Hub(
            loop, self.engine.queue_snapshot, lambda: self.engine.paused, self.api.board_frame
        )
        self._unsubscribe = self.engine.subscribe(self.hub.on_event)
        runner = web.AppRunner(
            self.app(),
            handle_signals=False,
            access_log=None,
            keepalive_timeout=self.caps.keepalive_s,
            shutdown_timeout=2.0,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port, backlog=256)
            await site.start()
        except BaseException:
            await self._cleanup(runner)
            raise
        self._runner = runner
        self.port = _bound_port(runner, port)
        self.join = JoinCode(base_url(phones.public_url, host, self.port), self.join.tokens)
        self.join.announce(self.settings.data_path)

    async def stop(self) -> None:
        """End every event stream and stop listening."""
        runner, self._runner = self._runner, None
        if runner is not None:
            JoinCode.withdraw(self.settings.data_path)
            await self._cleanup(runner)

    async def _cleanup(self, runner: web.AppRunner) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.hub is not None:
            self.hub.end_all()
        await runner.cleanup()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._guard], client_max_size=self.caps.body_bytes, handler_args={}
        )
        aiohttp_jinja2.setup(
            app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True
        )
        app.router.add_get("/", self.index)
        app.router.add_get("/j/{token}", self.joined)
        app.router.add_get("/J/{token}", self.joined)  # the QR code's capitals
        app.router.add_get("/play", self.play)
        app.router.add_static("/static", HERE / "static")
        self.api.add_routes(app.router)
        return app

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in the server's thread pool (SQLite and the engine's checks)."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    # -- who is asking --------------------------------------------------------------------

    def device(self, request: web.Request) -> str | None:
        return self.cookies.device_of(request.cookies.get(DEVICE_COOKIE))

    def seat(self, request: web.Request, device: str) -> Seat | None:
        return self.cookies.seat_of(device, request.cookies.get(SEAT_COOKIE))

    def lang(self, request: web.Request) -> str:
        """The visitor's language: chosen on the page, else the browser's, else the event's."""
        allowed = self.settings.event.languages
        chosen = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
        if chosen in allowed:
            return str(chosen)
        for part in request.headers.get("Accept-Language", "").split(","):
            code = part.split(";")[0].strip().lower()[:2]
            if code in allowed:
                return code
        return allowed[0]

    def set_cookie(self, response: web.StreamResponse, name: str, value: str) -> None:
        response.set_cookie(
            name, value, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Strict", path="/"
        )

    def same_origin(self, request: web.Request) -> bool:
        """A request with a body must come from this server's own page."""
        origin = request.headers.get("Origin")
        if not origin:
            return False
        allowed = {f"{request.scheme}://{request.host}", _origin(self.join.base)}
        return origin in allowed

    # -- caps, origins, headers -----------------------------------------------------------

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        key = self.device(request) or f"addr:{request.remote}"
        caps = self.caps
        if self._connections() > caps.connections_total:
            response = refusal(503, "busy", "Too many phones at once: try again soon.")
            response.force_close()
            return response
        if (
            sum(self._inflight.values()) >= caps.requests_total
            or self._inflight[key] >= caps.requests_per_device
        ):
            return refusal(429, "busy", "Too many requests at once.")
        if request.method not in ("GET", "HEAD") and not self.same_origin(request):
            return refusal(403, "origin", "This request did not come from the kiosk's page.")
        self._inflight[key] += 1
        try:
            return headed(await handler(request))
        except web.HTTPException as exc:
            headed(exc)
            raise
        finally:
            self._inflight[key] -= 1
            if not self._inflight[key]:
                del self._inflight[key]

    def _connections(self) -> int:
        runner = self._runner
        server = runner.server if runner is not None else None
        return len(server.connections) if server is not None else 0

    # -- pages ------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        if self.device(request):
            raise web.HTTPSeeOther("/play")
        return self.message(request, texts.JOIN_FIRST, 200)

    async def joined(self, request: web.Request) -> web.StreamResponse:
        """A phone scanned the booth's QR code: its seat, then the game."""
        if not self.join.tokens.valid(request.match_info["token"]):
            return self.message(request, texts.JOIN_STALE, 403)
        device = self.device(request)
        if device is None:
            if not self._may_join(request.remote or ""):
                return self.message(request, texts.JOIN_BUSY, 429)
            device = self.cookies.new_device()
        response = web.HTTPSeeOther("/play")
        self.set_cookie(response, DEVICE_COOKIE, self.cookies.device(device))
        raise response

    async def play(self, request: web.Request) -> web.StreamResponse:
        device = self.device(request)
        if device is None:
            return self.message(request, texts.JOIN_FIRST, 403)
        lang = self.lang(request)
        seat = self.seat(request, device)
        context = {
            "lang": lang,
            "languages": [(code, LANGUAGES[code]) for code in self.settings.event.languages],
            "title": self.settings.event.name,
            "t": texts.page(lang),
            "nickname": seat.nickname if seat else "",
            "tiny": self.settings.tiny,
        }
        response = aiohttp_jinja2.render_template("play.html", request, context)
        if "lang" in request.query:
            self.set_cookie(response, LANG_COOKIE, lang)
        return response

    def _may_join(self, address: str) -> bool:
        """Count a new device from `address`; False past the cap for this window."""
        window = self.join.tokens.window()
        for key in [k for k in self._joins if k[1] < window - 1]:
            del self._joins[key]
        if self._joins[(address, window)] >= self.caps.joins_per_address:
            return False
        self._joins[(address, window)] += 1
        return True

    def message(self, request: web.Request, msgid: str, status: int) -> web.Response:
        from kiosk.core.i18n import translate

        lang = self.lang(request)
        context = {"lang": lang, "title": self.settings.event.name, "text": translate(lang, msgid)}
        return aiohttp_jinja2.render_template("message.html", request, context, status=status)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
