"""The engine's event bus: subscribers, sequence numbers, and the one condition.

The condition (re-entrant) guards the engine's queue and orders publication: an event
is delivered to every subscriber before the next one, and no later than the state
change it reports (a job's `queued` always comes before its `done`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from kiosk.core.api import Subscriber
from kiosk.core.events import Event

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)


class Bus:
    """Numbers events and hands them to every subscriber, in order."""

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.RLock())
        self._seq = 0
        self._subscribers: list[Subscriber] = []

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Receive every event; returns a function that unsubscribes."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def publish(self, event: E) -> E:
        """Number the event and hand it to every subscriber; returns the numbered event."""
        with self.cond:
            self._seq += 1
            event = replace(event, seq=self._seq)
            for fn in list(self._subscribers):
                try:
                    fn(event)
                except Exception:  # a broken subscriber must not stop the engine
                    log.exception("event subscriber failed on %s", event.name)
        return event
