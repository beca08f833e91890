"""Staff keys that cannot misfire: y/n before quitting and redrawing, every key on F1,
labelled fields, no editing key that acts, a PIN set while the booth runs, a raffle
reveal for the crowd. The real app on the real tiny engine and SQLite (the snapshots
are in test_app_snapshots.TestStaff)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import SIZE, showing, wait_for
from builders import REPO, relaxed, tiny_settings_in
from engine_fixtures import drawn
from kiosk_cmd import kiosk
from test_staff_mode import PIN, enter_pin, in_staff_mode, screen_text, with_pin
from textual.binding import Binding, BindingType
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, Static

from kiosk.core.config import Settings, load_settings
from kiosk.core.events import Queued
from kiosk.engine.engine import Engine
from kiosk.ml.tiny import with_tiny_models
from kiosk.ui.app import KioskApp, make_app
from kiosk.ui.screens.booth import BoothScreen
from kiosk.ui.staff.dialogs import ConfirmDialog, KeysHelp, binding_rows
from kiosk.ui.staff.pin import PinScreen
from kiosk.ui.staff.raffle import RaffleDialog, RaffleReveal
from kiosk.ui.staff.screen import StaffScreen
from kiosk.ui.staff.stats import BarChart, StatsScreen
from kiosk.ui.widgets.bigtext import big_lines

pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")
Snap = Callable[..., bool]
PLAYERS = ["ann", "bob", "cy", "dee", "eve"]


@pytest.fixture
def settings(tmp_path: Path, tiny_models: Path) -> Settings:
    return with_pin(tiny_settings_in(tmp_path / "data", tiny_models))


@pytest.fixture
def reveal_by_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next winner comes only with Space (its timer would race a slow test)."""
    import kiosk.ui.widgets.raffle as raffle

    monkeypatch.setattr(raffle, "REVEAL_STEP_S", 3600.0)


@pytest.fixture
def engine(settings: Settings) -> Engine:
    engine = Engine(settings)
    for i, nick in enumerate(PLAYERS):
        drawn(engine, nick, f"a duck by {nick}", 0.9 - i / 10)
    return engine


def audited(engine: Engine) -> list[str]:
    """The staff actions in the audit, oldest first (PIN tries left out)."""
    return [r.action for r in reversed(engine.store.moderation.audit_log()) if r.action != "pin"]


async def open_staff(pilot: Pilot[Any], app: KioskApp) -> StaffScreen:
    await wait_for(pilot, lambda: app.models_ready, 60, "models")
    await pilot.press("f12")
    await wait_for(pilot, lambda: showing(app, PinScreen), what="the PIN prompt")
    await enter_pin(pilot, PIN)
    await wait_for(pilot, lambda: showing(app, StaffScreen), what="staff mode")
    staff = app.screen
    assert isinstance(staff, StaffScreen)
    table = staff.query_one(DataTable)
    await wait_for(pilot, lambda: table.row_count == len(PLAYERS), what="the list")
    return staff


# -- 1. questions before what cannot be taken back ---------------------------------------


async def test_f10_asks_first_and_n_or_escape_keep_the_kiosk_running(engine: Engine) -> None:
    app = make_app(engine.settings, engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_staff(pilot, app)
            for answer in ("n", "escape"):
                await pilot.press("f10")
                await wait_for(pilot, lambda: showing(app, ConfirmDialog), what="the question")
                assert isinstance(app.screen, ConfirmDialog)
                assert app.screen.question == "Quit the kiosk? y/n"
                await pilot.press("x", "f10", "enter", "q")  # none of these answers it
                assert showing(app, ConfirmDialog)
                await pilot.press(answer)
                await wait_for(pilot, lambda: showing(app, StaffScreen), what="staff mode")
            assert "quit" not in audited(engine) and app.return_code is None
            await pilot.press("f10")
            await wait_for(pilot, lambda: showing(app, ConfirmDialog), what="the question")
            await pilot.press("y")
            await wait_for(pilot, lambda: app.return_code is not None, what="the exit")
        assert app.return_code == 0 and audited(engine)[-1] == "quit"
    finally:
        app.stop_engine(10)


@pytest.mark.usefixtures("reveal_by_key")
async def test_a_redraw_names_the_winner_and_n_or_escape_keep_them(engine: Engine) -> None:
    app = make_app(engine.settings, engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_staff(pilot, app)
            await pilot.press("f8")
            await wait_for(pilot, lambda: showing(app, RaffleDialog), what="the dialog")
            labels = [str(w.render()) for w in app.screen.query(".raffle-label").results(Label)]
            assert labels == [label for _, label, _, _ in RaffleDialog.FIELDS]
            assert labels[0] == "Winners (how many)"
            # A number beyond what can be stored is said, not a crash (issue 18 item 10).
            app.screen.query_one("#raffle-winners", Input).value = "2"
            app.screen.query_one("#raffle-among", Input).value = "9" * 20
            await pilot.press("enter")
            said = str(app.screen.query_one("#raffle-message", Static).render())
            assert "Cannot draw:" in said and "is not a whole number" in said
            app.screen.query_one("#raffle-among", Input).value = "5"
            await pilot.press("enter")
            await wait_for(pilot, lambda: showing(app, RaffleReveal), what="the reveal")
            reveal = app.screen
            assert isinstance(reveal, RaffleReveal)
            first = [w.nickname for w in reveal.result.winners]
            await pilot.press("2")  # winner 2 is not revealed yet: nothing to redraw
            assert showing(app, RaffleReveal)
            await pilot.press("space")
            for answer in ("n", "escape"):
                await pilot.press("2")
                await wait_for(pilot, lambda: showing(app, ConfirmDialog), what="the question")
                assert isinstance(app.screen, ConfirmDialog)
                assert app.screen.question == f"Redraw winner 2, {first[1]}? y/n"
                await pilot.press(answer)
                await wait_for(pilot, lambda: showing(app, RaffleReveal), what="the reveal")
            assert [w.nickname for w in reveal.result.winners] == first
            assert "redraw" not in audited(engine)
            await pilot.press("2", "y")
            await wait_for(pilot, lambda: reveal.result.winners[1].nickname != first[1])
            assert reveal.result.winners[0].nickname == first[0]
            assert audited(engine)[-1] == "redraw"
    finally:
        app.stop_engine(10)


# -- 2. every key shown, fields that say what they are for, no editing key acts ---------


async def test_f1_lists_every_staff_key_with_what_it_does(engine: Engine) -> None:
    app = make_app(engine.settings, engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_staff(pilot, app)
            await pilot.press("f1")
            await wait_for(pilot, lambda: showing(app, KeysHelp), what="the key list")
            text = screen_text(app)
            rows = binding_rows(StaffScreen.BINDINGS)
            assert len(rows) == len(StaffScreen.BINDINGS) >= 17
            for keys, meaning in rows:
                assert keys in text and meaning in text, keys
            assert "Redraw that winner if they are not here" in text  # the reveal's keys
            await pilot.press("f1")
            await wait_for(pilot, lambda: showing(app, StaffScreen), what="staff mode")
    finally:
        app.stop_engine(10)


async def test_tab_from_the_list_reaches_the_reason_and_never_the_filter(
    engine: Engine,
) -> None:
    app = make_app(engine.settings, engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            staff = await open_staff(pilot, app)
            labels = [str(w.render()) for w in staff.query(".staff-field Label").results(Label)]
            assert labels == ["Filter by nickname", "Reason for the next action"]
            assert isinstance(app.focused, DataTable)
            await pilot.press("tab", *"spam")
            reason = staff.query_one("#staff-reason", Input)
            assert reason.value == "spam"
            assert staff.query_one("#staff-filter", Input).value == ""
            assert reason.parent is not None and reason.parent.has_class("-active")  # lit
            await pilot.press("f3")  # the reason goes with the action on the selected row
            await wait_for(pilot, lambda: "hide" in audited(engine), what="the hide")
        row = engine.store.moderation.audit_log()[0]
        assert (row.action, row.subject, row.reason) == ("hide", "eve", "spam")
    finally:
        app.stop_engine(10)


def keys_of(bindings: list[BindingType]) -> set[str]:
    return {k.strip() for b in bindings if isinstance(b, Binding) for k in b.key.split(",")}


def test_no_staff_key_is_a_key_that_edits_a_text_field() -> None:
    editing = keys_of(Input.BINDINGS)
    staff = keys_of(StaffScreen.BINDINGS)
    assert {"ctrl+u", "ctrl+k", "ctrl+w", "ctrl+a"} <= editing
    assert not editing & staff


async def test_clearing_the_reason_with_readline_keys_acts_on_nobody(engine: Engine) -> None:
    app = make_app(engine.settings, engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            staff = await open_staff(pilot, app)
            reason = staff.query_one("#staff-reason", Input)
            await pilot.press("tab", *"spam spam", "ctrl+w")
            assert reason.value == "spam "
            await pilot.press("ctrl+u")
            assert reason.value == ""
            await pilot.press(*"abc", "ctrl+a", "ctrl+k", "ctrl+e")
            assert reason.value == ""
            await pilot.pause(0.2)
        assert audited(engine) == []
    finally:
        app.stop_engine(10)


async def test_f12_over_a_staff_dialog_goes_back_to_the_booth(engine: Engine) -> None:
    app = make_app(engine.settings, engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            dialogs: list[tuple[str, type[Screen[Any]]]] = [("f11", StatsScreen)]
            dialogs.append(("f10", ConfirmDialog))
            for opener, dialog in dialogs:
                await open_staff(pilot, app)
                await pilot.press(opener)
                await wait_for(pilot, partial(showing, app, dialog), what=opener)
                await pilot.press("f12")
                await wait_for(pilot, lambda: showing(app, BoothScreen), what="the booth")
                assert not in_staff_mode(app)
        assert audited(engine) == []
    finally:
        app.stop_engine(10)


# -- 3. the PIN: set while running, never a toast for visitors ---------------------------


async def test_a_pin_set_while_the_kiosk_runs_opens_staff_mode_at_the_next_f12(
    tmp_path: Path, tiny_models: Path, env: dict[str, str]
) -> None:
    config = tmp_path / "kiosk.toml"
    shutil.copy(REPO / "kiosk.toml", config)
    shutil.copytree(REPO / "assets", tmp_path / "assets")
    tiny_settings_in(tmp_path / "data", tiny_models)  # the tiny models, linked
    settings = relaxed(with_tiny_models(load_settings(config, data_dir=tmp_path / "data")))
    app = make_app(settings, engine=Engine(settings))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.models_ready, 60, "models")
            await pilot.press("f12")
            await wait_for(pilot, lambda: bool(app._notifications), what="the word")
            assert not showing(app, PinScreen)
            set_pin = ("staff", "set-pin", "--config", str(config))
            done = await asyncio.to_thread(kiosk, *set_pin, env=env, input=f"{PIN}\n")
            assert done.returncode == 0, done.stderr
            await pilot.press("f12")
            await wait_for(pilot, lambda: showing(app, PinScreen), what="the PIN prompt")
            await enter_pin(pilot, PIN)
            await wait_for(pilot, lambda: showing(app, StaffScreen), 10, "staff mode")
    finally:
        app.stop_engine(10)


async def test_no_pin_is_logged_for_the_operator_and_never_toasted_at_start(
    tmp_path: Path, tiny_models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = tiny_settings_in(tmp_path / "data", tiny_models)  # the repo's: no PIN
    assert settings.staff.pin_hash == ""
    app = make_app(settings, engine=Engine(settings))
    caplog.set_level(logging.WARNING, logger="kiosk.ui.app")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.models_ready, 60, "models")
            await pilot.pause(0.2)
            assert not [n for n in app._notifications if "PIN" in n.message]
        assert "no staff PIN is set" in caplog.text
    finally:
        app.stop_engine(10)


# -- 4. the reveal: big names, the target's title, the seed in the audit only ------------


@pytest.mark.usefixtures("reveal_by_key")
async def test_the_reveal_shows_the_target_title_and_keeps_the_seed_in_the_audit(
    engine: Engine,
) -> None:
    app = make_app(engine.settings, engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_staff(pilot, app)
            await pilot.press("f8")
            await wait_for(pilot, lambda: showing(app, RaffleDialog), what="the dialog")
            await pilot.press("enter")
            await wait_for(pilot, lambda: showing(app, RaffleReveal), what="the reveal")
            reveal = app.screen
            assert isinstance(reveal, RaffleReveal)
            seed = str(reveal.result.seed)
            headline = str(reveal.query_one("#reveal-title", Static).render())
            rule = str(reveal.query_one("#reveal-rule", Static).render())
            assert engine.settings.active_target.title in headline
            assert engine.settings.active_target.id not in headline
            assert seed not in headline + rule
            first = reveal.result.winners[0].nickname
            big = screen_text(app)
            assert big_lines(first, 100)[0].strip() in big  # in big letters, one at a time
            assert reveal.result.winners[1].nickname not in big
        raffle = next(r for r in engine.store.moderation.audit_log() if r.action == "raffle")
        assert f"seed {seed}" in raffle.reason
    finally:
        app.stop_engine(10)


def test_big_letters_shrink_to_fit_and_other_scripts_stay_as_they_are() -> None:
    assert len(big_lines("ana", 100)) == 5  # two columns and a row a pixel
    assert len(big_lines("margaret-the-great", 100)) == 3  # half blocks
    assert big_lines("지민", 100) == ["지 민"]
    assert big_lines("x" * 40, 30) == ["x" * 40]  # nothing fits: the name as it is


# -- 5. charts with labelled axes --------------------------------------------------------


def test_charts_label_the_top_of_the_y_axis_zero_and_the_x_axis() -> None:
    lines = BarChart([0, 2, 9, 4], ("0%", "50%", "100%"), height=4).lines(60)
    assert lines[0].startswith("9│") and lines[3].startswith("0│")
    assert lines[4].lstrip().startswith("└")
    assert lines[5].split() == ["0%", "50%", "100%"]
    assert BarChart([0, 0], ("a", "", "b")).lines(60) == ["(nothing yet)"]


async def test_the_selected_drawing_stays_selected_when_new_ones_come_in(engine: Engine) -> None:
    """A crowd keeps drawing while staff pick a row: new rows arrive above it, and the
    action must still hit the drawing staff chose (it used to keep the row's place)."""
    app = make_app(engine.settings, engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            staff = await open_staff(pilot, app)
            await pilot.press("down", "down")
            chosen = staff.selected()
            assert chosen is not None and chosen.nickname == "cy"
            for nick in ("zed", "yan"):  # drawn by the running worker; the list follows live
                assert isinstance(engine.submit(nick, f"a duck by {nick}"), Queued)
            table = staff.query_one(DataTable)
            await wait_for(pilot, lambda: table.row_count == len(PLAYERS) + 2, 60, "new rows")
            selected = staff.selected()
            assert selected is not None and selected.id == chosen.id
    finally:
        app.stop_engine(10)
