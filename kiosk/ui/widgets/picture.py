"""An image in the terminal (Kitty, Sixel or half cells), or a placeholder line."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Static

from kiosk.core.i18n import N_
from kiosk.ui.lang import tr


class Picture(Container):
    """Shows one picture file with the graphics chosen before the app started."""

    DEFAULT_CSS = """
    Picture { height: auto; width: auto; }
    Picture > .picture--image { width: 100%; height: auto; }
    Picture > .picture--placeholder { width: 100%; height: auto; }
    """

    def __init__(
        self,
        image_class: type[Widget],
        path: str | Path | None = None,
        *,
        placeholder: str = "",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._image_class = image_class
        self._path = str(path) if path else None
        self._placeholder = placeholder

    @property
    def placeholder(self) -> str:
        return self._placeholder

    @placeholder.setter
    def placeholder(self, text: str) -> None:
        """Another placeholder (a language switch); shown at once if it is showing."""
        self._placeholder = text
        if self.is_mounted and self._path is None:
            self.show(None)

    @property
    def path(self) -> str | None:
        """The file shown, or None when the placeholder is."""
        return self._path

    def compose(self) -> ComposeResult:
        yield self._image_class(classes="picture--image")
        yield Static(Text(self._placeholder), classes="picture--placeholder")

    def on_mount(self) -> None:
        self.show(self._path)

    def show(self, path: str | Path | None) -> None:
        """Show another file (None: the placeholder); an unreadable file shows a note."""
        self._path = str(path) if path else None
        try:
            image = self.query_one(".picture--image")
            note = self.query_one(".picture--placeholder", Static)
        except NoMatches:  # not composed yet: on_mount shows it
            return
        try:
            image.image = self._path  # type: ignore[attr-defined]
        except (OSError, ValueError):  # missing or corrupt file: say so, never crash
            image.image = None  # type: ignore[attr-defined]
            self._path = None
            note.update(Text(tr(self, N_("(picture unavailable)"))))
        else:
            note.update(Text(self._placeholder))
        image.display = self._path is not None
        note.display = self._path is None

    def redraw(self) -> None:
        """Draw again (after a modal closed or the terminal resized)."""
        for image in self.query(".picture--image"):
            image.refresh(layout=True)
