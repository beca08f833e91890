"""A booth without models for the wall's tests: drawings committed through the real Store
(job row, PNG file, submission) and staff actions through the real StaffDesk; and what
the tests read off the real wall app (its text, its pictures)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path

from app_fixtures import svg_text
from builders import commit
from PIL import Image
from textual.widget import Widget

from kiosk.core import policy
from kiosk.core.api import RaffleResult, WallView
from kiosk.core.commands import StaffAction, StaffCommand
from kiosk.core.config import Settings
from kiosk.engine.desk import StaffDesk
from kiosk.engine.feed import Feed
from kiosk.storage.images import image_relpath, write_image
from kiosk.storage.store import Store
from kiosk.ui.wall.app import WallApp

COLOURS = [(200, 40, 40), (40, 160, 60), (40, 80, 200), (220, 200, 40), (160, 60, 200)]


class Booth:
    """Writes to a data dir as the kiosk does, one drawing at a time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.data_path / "kiosk.db")
        self.store.meta.sync_targets(
            [(t.id, t.title, str(settings.target_image(t))) for t in settings.targets]
        )
        self.desk = StaffDesk(self.store, settings)
        self.n = 0

    def draw(self, nickname: str, prompt: str, cosine: float, *, picture: bool = True) -> int:
        """One prompt drawn and scored: its submission id."""
        self.n += 1
        norm = policy.normalise_prompt(prompt)
        key = hashlib.sha256(f"{norm}|{self.n}".encode()).hexdigest()
        rel = image_relpath(key)
        if picture:
            colour = COLOURS[self.n % len(COLOURS)]
            write_image(Image.new("RGB", (64, 64), colour), self.settings.data_path / rel)
        target = self.desk.active_target()
        return commit(self.store, nickname, prompt, cosine, target=target, key=key, seed=self.n)

    def staff(self, action: StaffAction, subject: str) -> None:
        outcome = self.desk.run(StaffCommand(action=action, subject=subject))
        assert outcome.ok, outcome.message

    def raffle(self, winners: int = 1, among: int = 3, seed: int = 7) -> RaffleResult:
        return self.desk.raffle(winners=winners, among=among, seed=seed)

    def close(self) -> None:
        self.store.close()


def images_of(path: Path) -> list[Path]:
    return sorted((path / "images").rglob("*.png"))


def screen_text(app: WallApp) -> str:
    """The screen's text, from Textual's own SVG screenshot."""
    return svg_text(app.export_screenshot())


def pictures_drawn(app: WallApp) -> bool:
    """The podium's three, the target's and the latest drawings' pictures are all shown
    with a size (a picture laid out while hidden would be 0 cells high)."""
    pictures = [
        *app.query(".podium-picture"),
        app.query_one("#target-picture"),
        *app.query(".latest-picture"),
    ]
    return len(pictures) > 4 and all(drawn(p.query_one(".picture--image")) for p in pictures)


def drawn(widget: Widget) -> bool:
    shown = all(w.display for w in widget.ancestors_with_self if isinstance(w, Widget))
    return shown and widget.size.width > 0 and widget.size.height > 0


class FixedClockFeed(Feed):
    """The real feed, its views stamped at one fixed time (the status line shows it)."""

    def poll(self) -> WallView | None:
        view = super().poll()
        at = time.mktime((2026, 11, 29, 12, 0, 0, 0, 0, -1))
        return replace(view, read_at=at) if view is not None else None
