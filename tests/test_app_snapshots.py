"""SVG snapshots of the screens people see, by feature, at 120x40 and the narrow 110x28,
with half-cell images.

A scripted engine keeps them deterministic. Update after a deliberate change with
`pytest tests/test_app_snapshots.py --snapshot-update`, and look at the SVGs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
from app_fixtures import SIZE, FakeEngine
from builders import REPO
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from kiosk.core.api import Entrant, RaffleResult
from kiosk.core.checks import draw_check, pool_of
from kiosk.core.config import Settings, load_settings
from kiosk.ml.generate import missing_message
from kiosk.ml.tiny import with_tiny_models
from kiosk.ui.app import KioskApp, make_app
from kiosk.ui.screens.attract import AttractScreen
from kiosk.ui.screens.booth import BoothScreen
from kiosk.ui.screens.check import CheckScreen, CodeNotice
from kiosk.ui.screens.missing import MissingModelsScreen
from kiosk.ui.staff.dialogs import KeysHelp
from kiosk.ui.staff.raffle import RaffleReveal
from kiosk.ui.staff.screen import StaffScreen
from kiosk.ui.widgets.board import LeaderboardPane
from kiosk.ui.widgets.result import ResultPane

pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")
Snap = Callable[..., bool]
SIZES = pytest.mark.parametrize("size", [SIZE, (110, 28)], ids=["120x40", "110x28"])
Size = tuple[int, int]


# A booth with a staff PIN set, as at an event (without one it shows the operator a warning).
PIN_HASH = "$argon2id$v=19$m=8,t=1,p=1$c25hcHNob3RzYWx0$ZZtn2RxVqM1aA1M6e3tBsUjuJ/P1c1aF7i0ZoDBa9ME"


def settings_for(tmp_path: Path, profile: Literal["real", "tiny"] = "real") -> Settings:
    settings = load_settings(REPO / "kiosk.toml", data_dir=tmp_path / "data")
    if profile == "tiny":
        settings = with_tiny_models(settings)
    staff = settings.staff.model_copy(update={"pin_hash": PIN_HASH})
    return settings.model_copy(update={"staff": staff})


async def settle(pilot: Pilot[Any], done: Callable[[], bool]) -> None:
    """Wait for a state, then stop cursors blinking so the picture is stable."""
    for _ in range(200):
        if done():
            break
        await pilot.pause(0.02)
    assert done()
    for widget in pilot.app.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


class TestStartup:
    """What the booth shows before anyone can play."""

    @SIZES
    def test_loading_screen(self, snap_compare: Snap, tmp_path: Path, size: Size) -> None:
        """The tiny models loading: the stage, and the banner that says they are tiny."""
        settings = settings_for(tmp_path, "tiny")
        app = make_app(settings, engine=FakeEngine(settings, ready=False))

        async def run_before(pilot: Pilot[Any]) -> None:
            await settle(pilot, lambda: app.loading is not None and app.screen is app.loading)

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    @SIZES
    def test_missing_models_screen(self, snap_compare: Snap, tmp_path: Path, size: Size) -> None:
        """A model not in the cache: what to run, and the offer of the tiny models."""
        settings = settings_for(tmp_path)
        cache = "not in the Hugging Face cache"
        reason = missing_message("generator", "stabilityai/sd-turbo", cache)
        engine = FakeEngine(settings, fail=reason)
        app = make_app(
            settings, engine=engine, engine_factory=FakeEngine, tiny_settings=with_tiny_models
        )

        async def run_before(pilot: Pilot[Any]) -> None:
            await settle(pilot, lambda: isinstance(app.screen, MissingModelsScreen))

        assert snap_compare(app, terminal_size=size, run_before=run_before)


async def three_visitors(pilot: Pilot[Any], engine: FakeEngine) -> None:
    """Three players on the board, ann playing now with one prompt drawn and one waiting."""
    app = pilot.app
    assert isinstance(app, KioskApp)
    await settle(pilot, lambda: app.models_ready)
    engine.submit("김철수", "오리와 백조 🦆🦢")
    engine.submit("bob", "a white swan and a small duck")
    engine.finish_all()
    await pilot.press(*"ann", "enter", *"a duck and a swan", "enter")
    engine.finish_all()
    engine.submit("dora", "two birds on a lake")
    await pilot.press(*"a swan", "enter")
    await settle(
        pilot,
        lambda: len(engine.waiting) == 2 and len(app.booth.query_one(LeaderboardPane).rows) == 3,
    )


class TestBooth:
    """The booth as a visitor sees it, in each size it is laid out for and each language."""

    @SIZES
    @pytest.mark.parametrize("lang", ["en", "ko"])
    def test_booth_after_three_visitors(
        self, snap_compare: Snap, tmp_path: Path, size: Size, lang: str
    ) -> None:
        """At 110x28 nothing is cut: drawing, score, rank, best and the code all show."""
        settings = settings_for(tmp_path)
        engine = FakeEngine(settings)
        app = make_app(settings, engine=engine)

        async def run_before(pilot: Pilot[Any]) -> None:
            await settle(pilot, lambda: app.models_ready)
            if lang != app.lang:
                await pilot.press("f2")  # the visitor's language key
            await three_visitors(pilot, engine)
            app.booth.query_one(ResultPane).show_code("4821")

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    @SIZES
    def test_paused_queue(self, snap_compare: Snap, tmp_path: Path, size: Size) -> None:
        """Staff paused drawing: the title, the queue and the visitor's own job say so, and
        no ETA is shown."""
        settings = settings_for(tmp_path)
        engine = FakeEngine(settings)
        engine.paused = True
        app = make_app(settings, engine=engine)

        async def run_before(pilot: Pilot[Any]) -> None:
            await settle(pilot, lambda: app.models_ready)
            engine.submit("bob", "a white swan and a small duck")
            await pilot.press(*"ann", "enter", *"a duck and a swan", "enter")
            await settle(pilot, lambda: len(engine.waiting) == 2)

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    @SIZES
    def test_player_code_box(self, snap_compare: Snap, tmp_path: Path, size: Size) -> None:
        """A new player's code, five rows high, with Enter to go on at once."""
        settings = settings_for(tmp_path)
        app = make_app(settings, engine=FakeEngine(settings))

        async def run_before(pilot: Pilot[Any]) -> None:
            await settle(pilot, lambda: app.models_ready)
            await app.push_screen(CodeNotice("ann", "4821"))
            await settle(pilot, lambda: isinstance(app.screen, CodeNotice))

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    @SIZES
    def test_human_check(self, snap_compare: Snap, tmp_path: Path, size: Size) -> None:
        """The human check: six pictures, targets and distractors, numbered; nothing cut
        at 110x28."""
        settings = settings_for(tmp_path)
        app = make_app(settings, engine=FakeEngine(settings))
        pictures = [(t.title, settings.target_image(t)) for t in settings.targets]
        challenge, _ = draw_check(pool_of(pictures), random.Random(4))

        async def run_before(pilot: Pilot[Any]) -> None:
            await settle(pilot, lambda: app.models_ready)
            await app.push_screen(CheckScreen(challenge, app.image_class))
            await settle(pilot, lambda: isinstance(app.screen, CheckScreen))

        assert snap_compare(app, terminal_size=size, run_before=run_before)


class TestAttract:
    """What an idle booth shows to draw people in."""

    @SIZES
    def test_attract_screen(self, snap_compare: Snap, tmp_path: Path, size: Size) -> None:
        """The best drawing so far beside the target, and how to play."""
        settings = settings_for(tmp_path)
        engine = FakeEngine(settings)
        app = make_app(settings, engine=engine)

        async def run_before(pilot: Pilot[Any]) -> None:
            await settle(pilot, lambda: isinstance(app.screen, BoothScreen) and app.models_ready)
            engine.submit("ann", "a duck and a swan")
            engine.finish_all()
            app.show_attract()
            await settle(
                pilot, lambda: isinstance(app.screen, AttractScreen) and bool(app.screen._items)
            )

        assert snap_compare(app, terminal_size=size, run_before=run_before)


async def staff_over_three(pilot: Pilot[Any], engine: FakeEngine) -> StaffScreen:
    """Staff mode (entered as the PIN would open it) over a booth with three visitors."""
    app = pilot.app
    assert isinstance(app, KioskApp)
    await settle(pilot, lambda: isinstance(app.screen, BoothScreen) and app.models_ready)
    for nick in ("ann", "bob", "cy"):
        engine.submit(nick, f"a duck and a swan, by {nick}")
    engine.finish_all()
    app._after_pin(True)
    await settle(
        pilot,
        lambda: (
            isinstance(app.screen, StaffScreen)
            and app.screen.is_mounted
            and any(t.row_count == 3 for t in app.screen.query(DataTable))
        ),
    )
    assert isinstance(app.screen, StaffScreen)
    return app.screen


class TestStaff:
    """What staff see, and the raffle they reveal to the crowd."""

    @SIZES
    def test_staff_screen(self, snap_compare: Snap, tmp_path: Path, size: Size) -> None:
        """The latest drawings, the selected one's picture, and the keys in the footer."""
        settings = settings_for(tmp_path)
        engine = FakeEngine(settings)
        app = make_app(settings, engine=engine)

        async def run_before(pilot: Pilot[Any]) -> None:
            await staff_over_three(pilot, engine)

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    def test_staff_keys_help_lists_every_key(self, snap_compare: Snap, tmp_path: Path) -> None:
        """F1 in staff mode lists every key (it scrolls at 110x28: one size)."""
        settings = settings_for(tmp_path)
        engine = FakeEngine(settings)
        app = make_app(settings, engine=engine)

        async def run_before(pilot: Pilot[Any]) -> None:
            await staff_over_three(pilot, engine)
            await pilot.press("f1")
            await settle(pilot, lambda: isinstance(app.screen, KeysHelp))

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    @SIZES
    def test_raffle_reveal(self, snap_compare: Snap, tmp_path: Path, size: Size) -> None:
        """Both winners revealed (Space for the second): the second one big, Hangul as it
        is; no seed anywhere."""
        settings = settings_for(tmp_path)
        app = make_app(settings, engine=FakeEngine(settings))
        entrants = [
            Entrant(player_id=i, nickname=n, percent=p)
            for i, (n, p) in enumerate(
                [("ann", 91.25), ("지민", 88.5), ("bob", 84.0), ("Margaret", 80.75)]
            )
        ]
        result = RaffleResult(
            raffle_id=3,
            target="duck-and-swan",
            rule="among the top 4",
            seed=7,
            eligible=entrants,
            winners=[entrants[1], entrants[3]],
        )

        async def run_before(pilot: Pilot[Any]) -> None:
            await settle(pilot, lambda: isinstance(app.screen, BoothScreen) and app.models_ready)
            reveal = RaffleReveal(result, "A duck and a swan on a pond", app.engine)
            await app.push_screen(reveal)
            await settle(pilot, lambda: reveal.is_mounted and reveal.board.shown >= 1)
            await pilot.press("space")  # the next winner now, not after the timer
            await settle(pilot, lambda: reveal.board.shown == 2)

        assert snap_compare(app, terminal_size=size, run_before=run_before)
