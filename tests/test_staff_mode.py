"""Staff mode on the booth keyboard: only the PIN opens it; lockout; live moderation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from app_fixtures import SIZE, FakeEngine, showing, svg_text, wait_for
from argon2 import PasswordHasher
from builders import REPO, tiny_settings_in
from engine_fixtures import drawn
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from kiosk.core.commands import parse_command
from kiosk.core.config import Settings, load_settings
from kiosk.engine.engine import Engine
from kiosk.ui.app import KioskApp, make_app
from kiosk.ui.screens.booth import BoothScreen
from kiosk.ui.staff.pin import PinScreen
from kiosk.ui.staff.screen import StaffScreen
from kiosk.ui.staff.stats import StatsScreen
from kiosk.ui.widgets.board import LeaderboardPane

PIN = "482193"
# The same argon2id as the kiosk's, at a low cost so the tests stay quick (verify reads
# the cost from the hash itself).
CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PIN)
pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")


def with_pin(settings: Settings, pin_hash: str = CHEAP_HASH) -> Settings:
    staff = settings.staff.model_copy(update={"pin_hash": pin_hash})
    return settings.model_copy(update={"staff": staff})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return with_pin(load_settings(REPO / "kiosk.toml", data_dir=tmp_path / "data"))


def screen_text(app: KioskApp) -> str:
    """What the screen shows, from Textual's own SVG screenshot."""
    return svg_text(app.export_screenshot())


def in_staff_mode(app: KioskApp) -> bool:
    return any(isinstance(s, StaffScreen) for s in app.screen_stack)


async def enter_pin(pilot: Pilot[Any], pin: str) -> None:
    await pilot.press(*pin, "enter")
    await pilot.pause(0.2)


async def test_no_key_but_the_pin_opens_staff_mode(settings: Settings) -> None:
    engine = FakeEngine(settings)
    app = make_app(settings, engine=engine)
    keys = [f"f{n}" for n in range(1, 25) if n != 12]
    keys += [f"ctrl+{c}" for c in "abcdefghijklmnoprstuvwxyz"] + ["escape", "ctrl+backslash"]
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        for key in keys:
            await pilot.press(key)
            assert not in_staff_mode(app) and not showing(app, PinScreen), key
        await pilot.press("f12")  # the prompt, and nothing more without the PIN
        await wait_for(pilot, lambda: showing(app, PinScreen), what="the PIN prompt")
        for key in keys:
            await pilot.press(key)
            assert not in_staff_mode(app), key
        await pilot.press("escape")
        await wait_for(pilot, lambda: showing(app, BoothScreen))
        assert not in_staff_mode(app)


async def test_five_wrong_pins_lock_the_prompt_and_every_try_is_audited(
    settings: Settings,
) -> None:
    engine = FakeEngine(settings)
    app = make_app(settings, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        await pilot.press("f12")
        await wait_for(pilot, lambda: showing(app, PinScreen))
        for _ in range(5):
            await enter_pin(pilot, "0000")
        message = app.screen.query_one("#pin-message", Static)
        await enter_pin(pilot, PIN)  # the right PIN, but locked now
        await wait_for(pilot, lambda: "try again in" in str(message.render()), what="lock")
        assert not in_staff_mode(app)
        outcomes = [subject for action, subject in engine.notes if action == "pin"]
        assert outcomes == ["wrong"] * 5 + ["locked"]
        assert PIN not in str(engine.notes)


async def test_without_a_pin_staff_mode_stays_closed_with_a_neutral_word(
    tmp_path: Path,
) -> None:
    settings = load_settings(REPO / "kiosk.toml", data_dir=tmp_path / "data")
    app = make_app(settings, engine=FakeEngine(settings))
    said: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=said.append) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        await pilot.press("f12")
        await wait_for(pilot, lambda: any(isinstance(m, Notify) for m in said), what="the word")
        assert not showing(app, PinScreen) and not in_staff_mode(app)
        notes = [m.notification.message for m in said if isinstance(m, Notify)]
        assert notes == ["Staff mode is not set up on this booth."]


async def test_staff_hide_a_player_and_the_board_drops_them(
    tmp_path: Path, tiny_models: Path
) -> None:
    settings = with_pin(tiny_settings_in(tmp_path / "data", tiny_models))
    engine = Engine(settings)
    drawn(engine, "ann", "a duck by ann", 0.9)
    drawn(engine, "bob", "a duck by bob", 0.8)
    app = make_app(settings, engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.models_ready, 60, "models")
            board = app.booth.query_one(LeaderboardPane)
            await wait_for(pilot, lambda: len(board.rows) == 2, what="two rows")
            app.query_one("#nickname", Input).value = "half typed"
            await pilot.press("f12")
            await wait_for(pilot, lambda: showing(app, PinScreen))
            await enter_pin(pilot, PIN)
            await wait_for(pilot, lambda: showing(app, StaffScreen), what="staff mode")
            staff = app.screen
            table = staff.query_one(DataTable)
            await wait_for(pilot, lambda: table.row_count == 2, what="the list")
            table.move_cursor(row=0)  # newest first: bob's
            await pilot.press(*"spam")  # the reason field is not focused: keys go nowhere
            staff.query_one("#staff-reason", Input).value = "spam"
            await pilot.press("f3")
            await wait_for(pilot, lambda: [r.nickname for r in board.rows] == ["ann"], what="drop")
            assert "HIDDEN" in str(table.get_row_at(0))
            await pilot.press("f11")  # the event at a glance
            await wait_for(pilot, lambda: showing(app, StatsScreen), what="stats")
            stats = app.screen
            assert isinstance(stats, StatsScreen)
            await wait_for(pilot, lambda: stats.shown is not None, what="the figures")
            assert stats.shown is not None and (stats.shown.hidden, stats.shown.players) == (1, 2)
            text = screen_text(app)  # the charts' axes say what they show
            for label in ("y: prompts", "y: drawings", "0%", "50%", "100%", "latest"):
                assert label in text, label
            await pilot.press("escape")
            await wait_for(pilot, lambda: showing(app, StaffScreen))
            await pilot.press("f12")  # back to the booth as the visitor left it
            await wait_for(pilot, lambda: showing(app, BoothScreen))
            assert app.query_one("#nickname", Input).value == "half typed"
        row = engine.store.moderation.audit_log()[0]
        assert (row.action, row.subject, row.reason) == ("hide", "bob", "spam")
        assert [a.subject for a in engine.store.moderation.audit_log() if a.action == "pin"] == [
            "ok"
        ]
    finally:
        app.stop_engine(10)


async def test_staff_raffle_is_revealed_and_a_winner_redrawn(
    tmp_path: Path, tiny_models: Path
) -> None:
    from kiosk.ui.staff.raffle import RaffleDialog, RaffleReveal

    settings = with_pin(tiny_settings_in(tmp_path / "data", tiny_models))
    engine = Engine(settings)
    for i, nick in enumerate(["ann", "bob", "cy", "dee", "eve"]):
        drawn(engine, nick, f"a duck by {nick}", 0.9 - i / 10)
    engine.staff(parse_command("tag-staff ann"))  # staff never win
    app = make_app(settings, engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.models_ready, 60, "models")
            await pilot.press("f12")
            await wait_for(pilot, lambda: showing(app, PinScreen))
            await enter_pin(pilot, PIN)
            await wait_for(pilot, lambda: showing(app, StaffScreen), what="staff mode")
            await pilot.press("f8")
            await wait_for(pilot, lambda: showing(app, RaffleDialog), what="the dialog")
            app.screen.query_one("#raffle-winners", Input).value = "2"
            app.screen.query_one("#raffle-among", Input).value = "3"
            app.screen.query_one("#raffle-among", Input).focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: showing(app, RaffleReveal), what="the reveal")
            reveal = app.screen
            assert isinstance(reveal, RaffleReveal)
            first = [w.nickname for w in reveal.result.winners]
            assert len(first) == 2 and set(first) <= {"bob", "cy", "dee"}
            await pilot.press("space")  # the second winner, at once
            await pilot.press("1", "y")  # the first winner is not here: y to redraw them
            await wait_for(
                pilot, lambda: first[0] not in [w.nickname for w in reveal.result.winners]
            )
            text = str(reveal.query_one("#reveal-winners", Static).render())
            assert first[1] in text and first[0] not in text
            await pilot.press("escape")
            await wait_for(pilot, lambda: showing(app, StaffScreen))
        replayed, same = engine.desk.replay(reveal.result.raffle_id)
        assert same and replayed.winners == reveal.result.winners
    finally:
        app.stop_engine(10)


async def test_staff_mode_closes_itself_when_left_alone(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kiosk.ui.staff.screen as staff_screen

    monkeypatch.setattr(staff_screen, "IDLE_CLOSE_S", 0.5)  # 2 minutes at the booth
    app = make_app(settings, engine=FakeEngine(settings))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        await pilot.press("f12")
        await wait_for(pilot, lambda: showing(app, PinScreen))
        await enter_pin(pilot, PIN)
        await wait_for(pilot, lambda: showing(app, StaffScreen), what="staff mode")
        await wait_for(pilot, lambda: showing(app, BoothScreen), 15, "staff mode to close")


@pytest.mark.parametrize(
    ("scope", "said"),
    [("booth", "DRAWING PAUSED (this booth)"), ("event", "DRAWING PAUSED (whole event)")],
)
async def test_staff_mode_says_whether_this_booth_or_the_whole_event_is_paused(
    settings: Settings, scope: str, said: str
) -> None:
    engine = FakeEngine(settings)
    engine.paused, engine.pause_scope = True, scope
    app = make_app(settings, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        await pilot.press("f12")
        await wait_for(pilot, lambda: showing(app, PinScreen), what="the PIN prompt")
        await enter_pin(pilot, PIN)
        await wait_for(pilot, lambda: showing(app, StaffScreen), what="staff mode")
        assert said in screen_text(app)
