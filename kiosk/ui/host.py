"""What the booth's screens need from the app that shows them, without importing it."""

from __future__ import annotations

from typing import Protocol

from textual.widget import Widget

from kiosk.core.api import EngineAPI
from kiosk.core.config import Settings


class Booth(Protocol):
    """The booth app as its screens see it (kiosk.ui.app.KioskApp is one). The engine and
    settings are read each time: a target switch or the tiny models replace them."""

    settings: Settings
    engine: EngineAPI
    lang: str
    """The visitor's language: the booth's sitting sets it; `kiosk.ui.lang.tr` reads it."""
    image_class: type[Widget]
    operator_notes: list[str]
    """Warnings for the operator, shown in staff mode, never over a visitor."""

    def note_activity(self) -> None:
        """Someone is at the booth."""
