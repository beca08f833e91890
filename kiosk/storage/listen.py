"""The live side of the shared store: a `Listener` hears every booth's commits.

Every write transaction of kiosk.storage.pg sends a notification on CHANNEL as it commits
(PostgreSQL delivers it only if the transaction commits), carrying the writing process's
token. A reader that wants to know of other processes' commits (a booth's board, the
wall) gets a Listener: one dedicated connection that LISTENs and counts them; after a
lost connection it reconnects by itself and counts once more, so the reader re-reads
everything. No query runs on a timer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from kiosk.core.api import StoreError

log = logging.getLogger(__name__)

CHANNEL = "kiosk_changes"
"""The notification channel every commit is announced on (payload: the writer's token)."""
CONNECT_TIMEOUT_S = 10
"""How long a connection to the store may take to open."""


def first_line(exc: Exception) -> str:
    """An error's first line (the server's or the network's words)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Listener:
    """One dedicated connection that LISTENs on CHANNEL in a daemon thread: `version`
    counts commits (a burst of notifications at a time) and reconnects; `callbacks` hear
    of other processes' commits and of reconnects. It reconnects by itself, backing off
    up to RETRY_MAX_S, while the server is away."""

    RETRY_MAX_S = 5.0
    WAKE_S = 0.25
    """How long one wait for notifications blocks before it looks whether to stop."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.version = 0
        self.connects = 0
        """How many times it connected (a new one: the server may have restarted)."""
        self.callbacks: list[Callable[[], object]] = []
        self.reconnected: list[Callable[[], object]] = []
        """Called first after a reconnect (the server may have restarted: what a session
        held, it lost)."""
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kiosk-listen", daemon=True)

    def start(self) -> None:
        """Start listening; returns once listening (or after the connect timeout)."""
        self._thread.start()
        self._listening.wait(CONNECT_TIMEOUT_S)

    @property
    def listening(self) -> bool:
        """Connected and listening now (False while the server cannot be reached)."""
        return self._listening.is_set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.WAKE_S + CONNECT_TIMEOUT_S)

    def _run(self) -> None:
        delay, listened = 0.2, False
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.connects += 1
                    self._listening.set()
                    if listened:  # back after a loss: whatever happened, read again
                        for hook in list(self.reconnected):
                            hook()
                        self._changed(others=True)
                    listened = True
                    delay = 0.2
                    self._listen(conn)
            except psycopg.Error as exc:
                self._listening.clear()
                log.info("store listener: %s; again in %.1f s", first_line(exc), delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self.RETRY_MAX_S)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            burst = [n.payload for n in conn.notifies(timeout=self.WAKE_S, stop_after=1)]
            if not burst:
                continue
            burst += [n.payload for n in conn.notifies(timeout=0.05)]  # the rest of it
            self._changed(others=any(token != self.token for token in burst))

    def _changed(self, *, others: bool) -> None:
        self.version += 1
        if not others:
            return
        for callback in list(self.callbacks):
            try:
                callback()
            except StoreError as exc:  # the server went away meanwhile: read again when back
                log.info("store listener callback: %s", exc)
            except Exception:  # a broken callback must not stop the listener
                log.exception("store listener callback failed")
