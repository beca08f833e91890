"""The phones' JSON API, the one the page itself uses (and the tests and benchmarks):

POST /api/prompt {"nickname", "prompt", "code"?}  202 queued (200: already drawn),
                                                  4xx {"kind", "reason"}
POST /api/check {"challenge", "answer"}           {"passed": bool}
POST /api/leave                                   play as someone else
GET  /api/events                                  server-sent events for this device
GET  /api/board                                   the top 10
GET  /api/check/{n}                               picture n of this device's check
GET  /img/{id}                                    a drawing a phone may see
GET  /target                                      the target picture
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kiosk.core import i18n, policy
from kiosk.core.api import StoreError, StoreOffline
from kiosk.core.events import Done, Event, Queued
from kiosk.core.floods import CheckRequired, RateLimited
from kiosk.core.join import Seat
from kiosk.web import texts
from kiosk.web.answers import SEAT_COOKIE, refusal
from kiosk.web.hub import Frame, Item, Moved, Notice

if TYPE_CHECKING:
    from kiosk.web.server import PhoneServer

log = logging.getLogger(__name__)
BOARD_SIZE = 10
STATUS = {  # a refusal's kind -> the HTTP status that says it
    "rate": 429,
    "paused": 429,
    "queue": 429,
    "check": 428,
    "code": 403,
    "banned": 403,
    "words": 422,
    "hidden": 422,
    "policy": 422,
}


class Api:
    """The JSON API's handlers, on one PhoneServer."""

    def __init__(self, server: PhoneServer) -> None:
        self.server = server
        self._board: tuple[int, list[dict[str, Any]]] | None = None

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/prompt", self.prompt)
        router.add_post("/api/check", self.check)
        router.add_post("/api/leave", self.leave)
        router.add_get("/api/events", self.events)
        router.add_get("/api/board", self.board)
        router.add_get(r"/api/check/{n:\d}", self.check_picture)
        router.add_get(r"/img/{id:\d{1,18}}", self.image)
        router.add_get("/target", self.target)

    # -- helpers ----------------------------------------------------------------------------

    def _device(self, request: web.Request) -> str:
        device = self.server.device(request)
        if device is None:
            raise web.HTTPForbidden(
                text=json.dumps({"kind": "join", "reason": self._say(request, texts.JOIN_FIRST)}),
                content_type="application/json",
            )
        return device

    def _say(self, request: web.Request, msgid: str, **params: object) -> str:
        return i18n.translate(self.server.lang(request), msgid, **params)

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        """The JSON object of a request, read within the time a phone has for it (or the
        refusal to send instead)."""
        if request.content_type != "application/json":
            return refusal(415, "body", "Send JSON.")
        try:
            raw = await asyncio.wait_for(request.read(), self.server.caps.body_timeout_s)
        except TimeoutError:
            return refusal(408, "body", "The request took too long.")
        except web.HTTPRequestEntityTooLarge:
            return refusal(413, "body", "The request is too large.")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return refusal(400, "body", "Send a JSON object.")
        return body

    # -- playing ----------------------------------------------------------------------------

    async def prompt(self, request: web.Request) -> web.StreamResponse:
        """Submit a prompt as the device's player (or as the nickname given)."""
        server = self.server
        device = self._device(request)
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        seat = server.seat(request, device)
        nickname, prompt, code = body.get("nickname"), body.get("prompt"), body.get("code")
        if not nickname and seat is not None:
            nickname = seat.nickname
        if (code is None or code == "") and seat is not None and _same(seat.nickname, nickname):
            code = seat.code
        if not isinstance(nickname, str) or not nickname.strip():
            return refusal(422, "policy", self._say(request, texts.NO_NICKNAME))
        if not isinstance(prompt, str):
            return refusal(422, "policy", self._say(request, texts.NO_PROMPT))
        if code is not None and not isinstance(code, str):
            code = None
        lang = server.lang(request)
        try:
            result = await server.run(self._submit, device, nickname, prompt, code)
        except _Refused as refused:
            return self._refused(request, device, refused.exc, refused.kind, lang)
        except StoreOffline as exc:  # the shared store's server: back by itself
            log.warning("a phone's prompt could not be saved: %s", exc)
            return refusal(503, "offline", self._say(request, texts.OFFLINE))
        except StoreError as exc:  # e.g. the disk is full: nothing was written
            log.error("a phone's prompt could not be saved: %s", exc)
            return refusal(503, "store", self._say(request, texts.NOT_SAVED))
        except Exception:  # a visitor never sees a crash
            log.exception("a phone's prompt failed")
            return refusal(500, "error", self._say(request, texts.TRY_AGAIN))
        nick = result.nickname
        kept = result.player_code or code
        payload: dict[str, Any] = {"nickname": nick}
        if result.player_code is not None:
            payload["player_code"] = result.player_code
            payload["code_note"] = self._say(
                request, texts.PAGE["code_keep"], code=result.player_code, nick=nick
            )
        if isinstance(result, Queued):
            payload |= texts.said(result, lang)
            payload["eta_s"] = result.eta_s
            if result.joined:
                payload["note"] = self._say(request, texts.JOINED)
            status = 202
        else:
            payload |= texts.done(result, lang)
            status = 200
        response = web.json_response(payload, status=status, dumps=_dumps)
        server.set_cookie(response, SEAT_COOKIE, server.cookies.seat(device, Seat(nick, kept)))
        return response

    def _submit(self, device: str, nickname: str, prompt: str, code: str | None) -> Done | Queued:
        """In a pool thread: the engine's submit, its events marked as this device's."""
        hub = self.server.hub
        assert hub is not None
        with hub.submitting(device) as refused_kind:
            try:
                engine = self.server.engine
                return engine.submit(nickname, prompt, code=code, source=f"phone:{device}")
            except policy.PolicyError as exc:
                raise _Refused(exc, refused_kind() or "policy") from None

    def _refused(
        self, request: web.Request, device: str, exc: policy.PolicyError, kind: str, lang: str
    ) -> web.Response:
        hub = self.server.hub
        assert hub is not None
        extra: dict[str, object] = {}
        if isinstance(exc, CheckRequired):
            c = exc.challenge
            hub.challenges[device] = c
            extra["challenge"] = {
                "id": c.id,
                "question": i18n.translate(lang, texts.PAGE["check_tap"], title=c.subject),
                "choices": [f"/api/check/{ch.number}?c={c.id}" for ch in c.choices],
            }
        retry = getattr(exc, "retry_in_s", None)
        if isinstance(retry, int | float):
            extra["retry_in_s"] = retry
        reason = exc.said(lang)
        hub.push(device, Notice({"event": "refused", "kind": kind, "reason": reason, **extra}))
        response = refusal(STATUS.get(kind, 422), kind, reason, **extra)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_in_s)))
        return response

    async def check(self, request: web.Request) -> web.StreamResponse:
        """The answer to a human check: the number of the picture asked for."""
        server = self.server
        device = self._device(request)
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        seat = server.seat(request, device)
        nickname = body.get("nickname") or (seat.nickname if seat else "")
        challenge, answer = body.get("challenge"), body.get("answer")
        if not all(isinstance(v, str) and v for v in (nickname, challenge, answer)):
            return web.json_response({"passed": False})
        passed = await server.run(
            partial(server.engine.answer_check, source=f"phone:{device}"),
            nickname,
            challenge,
            str(answer),
        )
        hub = server.hub
        if passed and hub is not None:
            hub.challenges.pop(device, None)
        return web.json_response({"passed": bool(passed)})

    async def leave(self, request: web.Request) -> web.StreamResponse:
        """Play as someone else: the device forgets its player."""
        self._device(request)
        response = web.json_response({"left": True})
        response.del_cookie(SEAT_COOKIE, path="/")
        return response

    # -- live -------------------------------------------------------------------------------

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events for this device: its jobs, its refusals, board changes."""
        server, caps, hub = self.server, self.server.caps, self.server.hub
        assert hub is not None
        device = self._device(request)
        if hub.count(device) >= caps.streams_per_device or hub.count() >= caps.streams_total:
            return refusal(429, "busy", "Too many open pages.")
        lang = server.lang(request)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue = hub.open(device)
        try:
            await response.write(b'retry: 3000\nevent: hello\ndata: {"event": "hello"}\n\n')
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), caps.heartbeat_s)
                except TimeoutError:
                    item = _PING
                if item is None:
                    break
                if item is _PING:
                    frame = b": ping\n\n"
                elif isinstance(item, Frame):
                    frame = item.data
                else:
                    frame = _frame(_payload(item, lang))
                await asyncio.wait_for(response.write(frame), caps.write_timeout_s)
        except (ConnectionError, TimeoutError):
            pass
        finally:
            hub.close(device, queue)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write_eof()
        return response

    async def board(self, request: web.Request) -> web.StreamResponse:
        """The top 10 of the active target (nothing hidden, held or by staff ranks)."""
        self._device(request)
        return web.json_response({"board": await self.top()}, dumps=_dumps)

    async def top(self) -> list[dict[str, Any]]:
        """The top 10 as the page shows it, read once per board version."""
        hub = self.server.hub
        version = hub.board_version if hub is not None else 0
        if self._board is None or self._board[0] != version:
            rows = await self.server.run(self.server.engine.leaderboard, BOARD_SIZE)
            top = [
                {"rank": r.rank, "nickname": r.nickname, "score": texts.percent(r.percent),
                 "prompt": r.prompt, "image": f"/img/{r.submission_id}"}
                for r in rows
            ]  # fmt: skip
            self._board = (version, top)
        return self._board[1]

    async def board_frame(self) -> Frame:
        """The top 10 as one event for every phone's stream (the hub sends it)."""
        return Frame(_frame({"event": "board", "board": await self.top()}))

    # -- pictures ---------------------------------------------------------------------------

    async def image(self, request: web.Request) -> web.StreamResponse:
        """A drawing a phone may see: on the top 10, or the device's player's own (a held
        one as its blurred copy); a hidden one is not found."""
        server = self.server
        device = self._device(request)
        seat = server.seat(request, device)
        wanted = int(request.match_info["id"])
        path = await server.run(self._visible, wanted, seat.nickname if seat else None)
        if path is None or not path.is_file():
            raise web.HTTPNotFound()
        response = picture(path)
        if "download" in request.query:
            name = f"drawing-{wanted}{path.suffix}"
            response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def _visible(self, wanted: int, nickname: str | None) -> Path | None:
        engine = self.server.engine
        for row in engine.leaderboard(BOARD_SIZE):
            if row.submission_id == wanted:
                return engine.image_path(row)
        if not nickname:
            return None
        for item in engine.recent(200, nickname=policy.sanitise(nickname)):
            if item.id == wanted and not item.hidden and _same(item.nickname, nickname):
                return engine.image_path(item)  # held: the blurred copy
        return None

    async def check_picture(self, request: web.Request) -> web.StreamResponse:
        device = self._device(request)
        hub = self.server.hub
        challenge = hub.challenges.get(device) if hub is not None else None
        n = int(request.match_info["n"])
        if challenge is None or not 1 <= n <= len(challenge.choices):
            raise web.HTTPNotFound()
        return picture(challenge.choices[n - 1].picture)

    async def target(self, request: web.Request) -> web.StreamResponse:
        settings = self.server.settings
        wanted = self.server.engine.target_id
        target = next((t for t in settings.targets if t.id == wanted), settings.active_target)
        return picture(settings.target_image(target))


class _Refused(Exception):
    """A policy refusal, with the kind of the `refused` event the engine published."""

    def __init__(self, exc: policy.PolicyError, kind: str) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.kind = kind


_PING = Notice({"event": "ping"})


IMAGE_TYPES = {".webp": "image/webp", ".png": "image/png", ".jpg": "image/jpeg"}


def picture(path: Path) -> web.FileResponse:
    """A picture file with its type said (not every system's mimetypes knows WebP)."""
    kind = IMAGE_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return web.FileResponse(path, headers={"Content-Type": kind})


def _same(a: object, b: object) -> bool:
    """Whether two nicknames are one player (folded as the engine folds them)."""
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    return policy.player_key(policy.sanitise(a)) == policy.player_key(policy.sanitise(b))


def _payload(item: Item, lang: str) -> dict[str, Any]:
    if isinstance(item, Notice):
        return dict(item.payload)
    if isinstance(item, Moved):
        return {"event": "queued", "job": item.job_id, "position": item.position,
                "text": texts.waiting(lang, item.position, item.eta_s, item.paused)}  # fmt: skip
    assert isinstance(item, Event)
    if item.name == "leaderboard_changed":
        return {"event": "board"}
    if item.name == "target":  # staff switched the target: a new picture, a new board
        return {"event": "target"}
    return texts.said(item, lang)


def _frame(payload: dict[str, Any]) -> bytes:
    return f"event: {payload['event']}\ndata: {_dumps(payload)}\n\n".encode()


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
