"""A phone, as the API tests drive one: its own cookie jar, the page's Origin on every
request with a body, against a PhoneServer on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from kiosk.web.server import PhoneServer

TIMEOUT = aiohttp.ClientTimeout(total=30)


class Phone:
    """One device: joins through the join URL, then plays through the JSON API."""

    def __init__(self, server: PhoneServer) -> None:
        self.server = server
        self.base = f"http://127.0.0.1:{server.port}"
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=TIMEOUT
        )

    async def join(self, token: str | None = None) -> int:
        token = token or self.server.join.tokens.token()
        async with self.session.get(f"{self.base}/j/{token}", allow_redirects=False) as r:
            return r.status

    async def post(
        self, path: str, body: Any = None, *, origin: str | None = "same"
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Origin": self.base} if origin == "same" else {}
        if origin not in ("same", None):
            headers["Origin"] = origin
        async with self.session.post(f"{self.base}{path}", json=body or {}, headers=headers) as r:
            return r.status, await _json(r)

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        async with self.session.get(f"{self.base}{path}") as r:
            return r.status, await _json(r)

    async def prompt(self, prompt: str, nickname: str | None = None, **extra: Any) -> Any:
        body = {"prompt": prompt, **extra}
        if nickname is not None:
            body["nickname"] = nickname
        return await self.post("/api/prompt", body)

    async def events(self, until: str, *, timeout: float = 60.0) -> list[dict[str, Any]]:
        """The device's server-sent events, up to the first named `until`."""
        seen: list[dict[str, Any]] = []
        async with self.session.get(f"{self.base}/api/events") as r:
            assert r.status == 200, r.status
            async with asyncio.timeout(timeout):
                name = ""
                async for raw in r.content:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        seen.append(json.loads(line[6:]))
                        if name == until:
                            return seen
        return seen

    async def close(self) -> None:
        await self.session.close()


async def _json(r: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        data = await r.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return data if isinstance(data, dict) else {}


class ServerThread:
    """A PhoneServer on an event loop of its own, in a thread: for tests whose own thread
    drives something that blocks (a browser through Playwright's sync API)."""

    def __init__(self, server: PhoneServer) -> None:
        import threading

        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="phones", daemon=True)

    def __enter__(self) -> PhoneServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start("127.0.0.1", 0), self.loop).result(30)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()
