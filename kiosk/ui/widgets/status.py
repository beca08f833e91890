"""One line saying where the visitor's drawing is: queued, drawing, done, failed."""

from __future__ import annotations

from typing import Literal

from rich.spinner import Spinner
from rich.text import Text
from textual.widgets import Static

State = Literal["idle", "queued", "generating", "done", "dedup", "held", "failed"]
STATES: tuple[State, ...] = ("idle", "queued", "generating", "done", "dedup", "held", "failed")


class StatusLine(Static):
    """The state of the current player's latest drawing; a spinner while it is drawn."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: State = "idle"
        self.message = ""

    def show(self, state: State, message: str | Text) -> None:
        """Switch to `state` with a message (plain text, never markup)."""
        text = message if isinstance(message, Text) else Text(message)
        self.state = state
        self.message = text.plain
        for name in STATES:
            self.set_class(name == state, f"-{name}")
        if state == "generating":
            self.update(Spinner("dots", text))
            self.auto_refresh = 0.1
        else:
            self.auto_refresh = None
            self.update(text)
