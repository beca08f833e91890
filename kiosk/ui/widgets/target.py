"""The target picture visitors try to describe."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from kiosk.core.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.widgets.picture import Picture


class TargetPane(Vertical):
    """The active target: its picture and its title."""

    DEFAULT_CSS = """
    TargetPane {
        height: auto; padding: 0 1;
        border: round $primary; border-title-color: $accent; border-title-style: bold;
    }
    TargetPane #target-title { color: $text-muted; text-style: italic; }
    """

    def __init__(
        self, image_class: type[Widget], title: str, path: Path, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._image_class = image_class
        self._title = title
        self._path = path

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        self.border_title = tr(self, N_("Describe this picture"))
        self.query_one("#target-picture", Picture).placeholder = tr(self, N_("(no target picture)"))

    def compose(self) -> ComposeResult:
        yield Picture(self._image_class, self._path, id="target-picture")
        yield Static(Text(self._title, justify="center"), id="target-title")

    def show(self, title: str, path: Path) -> None:
        """Switch to another target."""
        self._title, self._path = title, path
        self.query_one("#target-picture", Picture).show(path)
        self.query_one("#target-title", Static).update(Text(title, justify="center"))
