"""What the phone server answers with, whoever answers: cookie names, the headers every
answer carries, and the API's refusals."""

from __future__ import annotations

import json

from aiohttp import web

DEVICE_COOKIE = "kiosk_device"
SEAT_COOKIE = "kiosk_seat"
LANG_COOKIE = "kiosk_lang"
COOKIE_MAX_AGE = 7 * 24 * 3600
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
    " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def headed(response: web.StreamResponse) -> web.StreamResponse:
    """What every answer says to the browser: load nothing from elsewhere, no sniffing."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def refusal(status: int, kind: str, reason: str, **extra: object) -> web.Response:
    """A 4xx answer of the API: what kind of refusal, and why in the visitor's words."""
    body = json.dumps({"kind": kind, "reason": reason, **extra}, ensure_ascii=False)
    return web.Response(status=status, text=body, content_type="application/json")
