"""The models could not be loaded: say why, how to fix it, and offer the tiny demo models."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Label, Static

from kiosk.ui.screens import dismiss_once

TINY_OFFER = (
    "You can continue now with tiny demo models: they draw noise and their scores mean"
    " nothing, but every screen works."
)
PULL_HELP = (
    "To use the real models, fetch them once with internet access:\n\n"
    "    kiosk models pull\n\n"
    "then start the kiosk again."
)


class MissingModelsScreen(Screen[bool]):
    """Dismissed with True to continue with the tiny demo models."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "tiny", "Use tiny demo models", show=False)
    ]

    def __init__(self, reason: str, *, offer_tiny: bool, title: str | None = None) -> None:
        super().__init__()
        self._reason = reason
        self._offer_tiny = offer_tiny
        self._title = title

    def compose(self) -> ComposeResult:
        missing = "kiosk models pull" in self._reason or "not on this machine" in self._reason
        title = self._title or (
            "The drawing models are not on this machine"
            if missing
            else "The drawing models could not be loaded"
        )
        with Center(), Vertical(id="missing-box"):
            yield Label(Text(title), id="missing-title")
            yield Static(Text(self._reason), id="missing-reason")
            if self._title is None and "kiosk models pull" not in self._reason:
                yield Static(Text(PULL_HELP), id="missing-help")
            if self._offer_tiny:
                yield Static(Text(TINY_OFFER), id="missing-offer")
                with Horizontal(id="missing-buttons"):
                    yield Button("Continue with tiny demo models", id="use-tiny", variant="warning")

    def on_mount(self) -> None:
        if self._offer_tiny:
            self.query_one("#use-tiny", Button).focus()

    @on(Button.Pressed, "#use-tiny")
    def action_tiny(self) -> None:
        """Carry on with the tiny demo models."""
        if self._offer_tiny:
            dismiss_once(self, True)
