"""Textual messages that carry engine events onto the event loop.

Engine subscribers run in the engine's worker thread (or in the caller of
`submit`); `post_message` is thread-safe, so the app wraps each event in one of
these and lets Textual deliver it on the loop. Textual sets attributes on a
message while routing it, so messages are plain (not frozen) dataclasses; the
events they carry are frozen.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from kiosk.core.events import Event, LeaderboardChanged, Progress


@dataclass
class EngineEvent(Message):
    """An engine event, delivered on the event loop."""

    event: Event

    def can_replace(self, message: Message) -> bool:
        """A newer progress tick or board change supersedes one still queued."""
        if not isinstance(message, EngineEvent):
            return False
        new, old = self.event, message.event
        if isinstance(new, Progress) and isinstance(old, Progress):
            return new.job_ids == old.job_ids
        if isinstance(new, LeaderboardChanged) and isinstance(old, LeaderboardChanged):
            return new.target == old.target
        return False
