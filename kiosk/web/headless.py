"""`kiosk serve`: the engine and the phone server without a booth screen (a phones-only
booth, the wall on a projector). It logs to standard output: the join URL at start and
at each rotation, the models' readiness, each prompt's fate. The command that calls it
owns the signals: it sets `stop` and this returns once everything has closed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from kiosk.core.api import EngineAPI
from kiosk.core.config import Settings
from kiosk.core.events import Done, Event, Failed, ModelsFailed, ModelsReady, Queued, Refused
from kiosk.web.server import PhoneServer

log = logging.getLogger("kiosk.serve")


def describe(event: Event) -> str | None:
    """An engine event as one log line (None: not worth a line)."""
    if isinstance(event, ModelsReady):
        return f"models ready on {event.device} in {event.load_s:.1f} s: {event.generator}"
    if isinstance(event, ModelsFailed):
        return f"the models could not be loaded: {event.reason}"
    if isinstance(event, Queued):
        return f"queued #{event.job_id} for {event.nickname} at position {event.position}"
    if isinstance(event, Done):
        return f"done #{event.job_id} for {event.nickname}: {event.score:.2f}%"
    if isinstance(event, Failed):
        return f"failed #{event.job_id} for {event.nickname}: {event.reason}"
    if isinstance(event, Refused):
        return f"refused ({event.kind}) for {event.nickname}: {event.reason}"
    return None


async def serve_phones(
    engine: EngineAPI,
    settings: Settings,
    *,
    stop: asyncio.Event,
    say: Callable[[str], None],
    host: str | None = None,
    port: int | None = None,
) -> int:
    """Start the engine and the phone server, say each join URL until `stop` is set,
    then close both. Returns the exit code: 0, or 2 when the models failed to load."""
    failed: list[str] = []

    def on_event(event: Event) -> None:
        line = describe(event)
        if line is not None:
            log.info("%s", line)
        if isinstance(event, ModelsFailed):
            failed.append(event.reason)
            loop.call_soon_threadsafe(stop.set)

    loop = asyncio.get_running_loop()
    unsubscribe = engine.subscribe(on_event)
    server = PhoneServer(engine, settings)
    try:
        await server.start(host, port)
        await asyncio.to_thread(engine.start)
        await _announce(server, stop, say)
    finally:
        unsubscribe()
        await server.stop()
        await asyncio.to_thread(engine.stop)
    return 2 if failed else 0


async def _announce(server: PhoneServer, stop: asyncio.Event, say: Callable[[str], None]) -> None:
    """The join URL now and each time it changes, until stopped."""
    tokens = server.join.tokens
    say(
        f"kiosk serve: phones join at {server.join.url()} (the code changes every"
        f" {tokens.window_s:g} s; the booth screens and the wall show it as a QR code)"
    )
    while not stop.is_set():
        wait = max(0.05, tokens.next_change() - time.time())
        try:
            await asyncio.wait_for(stop.wait(), wait)
        except TimeoutError:
            say(f"kiosk serve: join at {server.join.url()}")
