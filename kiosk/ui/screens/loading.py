"""Shown while the engine loads its models; the event loop stays live throughout."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Label, ProgressBar, Static

from kiosk.core.events import ModelsLoading
from kiosk.ui.widgets.banner import TinyBanner


class LoadingScreen(Screen[None]):
    """Model loading progress: the stage in words and a bar."""

    def __init__(self, title: str, *, tiny: bool) -> None:
        super().__init__()
        self._title = title
        self._tiny = tiny

    def compose(self) -> ComposeResult:
        if self._tiny:
            yield TinyBanner(id="tiny-banner")
        with Center(), Vertical(id="loading-box"):
            yield Label(Text(self._title), id="loading-title")
            yield Static(Text("Getting the drawing models ready..."), id="loading-stage")
            yield ProgressBar(total=None, show_eta=False, id="loading-bar")

    def show_stage(self, event: ModelsLoading) -> None:
        """Move the bar and name the stage."""
        self.query_one("#loading-stage", Static).update(Text(f"{event.stage}..."))
        self.query_one("#loading-bar", ProgressBar).update(total=event.total, progress=event.step)
