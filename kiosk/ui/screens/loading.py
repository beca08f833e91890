"""Shown while the engine loads its models; the event loop stays live throughout."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Label, ProgressBar, Static

from kiosk.core.events import ModelsLoading
from kiosk.core.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.widgets.banner import TinyBanner

KEPT_KEYS = 200
"""Most keys kept while loading (a visitor's nickname and prompt, not a stuck key)."""


class LoadingScreen(Screen[None]):
    """Model loading progress: the stage in words and a bar. Keys typed meanwhile are
    kept (`typed`) and handed to the booth when it opens: typing is never blocked."""

    def __init__(self, title: str, *, tiny: bool) -> None:
        super().__init__()
        self._title = title
        self._tiny = tiny
        self.typed: list[tuple[str, str | None]] = []

    def on_key(self, event: events.Key) -> None:
        if (event.is_printable or event.key in ("enter", "backspace")) and len(
            self.typed
        ) < KEPT_KEYS:
            event.stop()
            self.typed.append((event.key, event.character))

    def compose(self) -> ComposeResult:
        if self._tiny:
            yield TinyBanner(id="tiny-banner")
        with Center(), Vertical(id="loading-box"):
            yield Label(Text(self._title), id="loading-title")
            yield Static(
                Text(tr(self, N_("Getting the drawing models ready... You can start typing."))),
                id="loading-stage",
            )
            yield ProgressBar(total=None, show_eta=False, id="loading-bar")

    def show_stage(self, event: ModelsLoading) -> None:
        """Move the bar and name the stage."""
        said = tr(self, N_("Getting the drawing models ready: {stage}..."), stage=event.stage)
        self.query_one("#loading-stage", Static).update(Text(said))
        self.query_one("#loading-bar", ProgressBar).update(total=event.total, progress=event.step)
