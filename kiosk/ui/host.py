"""What the booth's screens need from the app that shows them, without importing it."""

from __future__ import annotations

from typing import Protocol

from textual.widget import Widget

from kiosk.core.api import EngineAPI
from kiosk.core.config import Settings
from kiosk.core.join import JoinCode


class Booth(Protocol):
    """The booth app as its screens see it (KioskApp is one). Read the engine and settings
    each time: a target switch or the tiny models replace them."""

    settings: Settings
    engine: EngineAPI
    lang: str  # the sitting's language, set by the booth; what kiosk.ui.lang.tr reads
    image_class: type[Widget]
    operator_notes: list[str]  # shown in staff mode, never over a visitor
    serves_phones: bool  # a phone server runs in this process: the booth shows its QR code
    join_code: JoinCode | None  # where phones join, once the phone server listens

    def note_activity(self) -> None: ...
