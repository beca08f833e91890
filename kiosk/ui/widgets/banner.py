"""The tiny-models banner: with random weights, images and scores mean nothing."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from kiosk.core.config import TINY_NOTICE
from kiosk.ui.lang import tr


class TinyBanner(Static):
    """A one-line warning shown whenever the tiny demo models are in use."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        self.update(Text(tr(self, TINY_NOTICE), justify="center"))
