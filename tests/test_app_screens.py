"""Pilot tests on a scripted engine: the lock, queue states, new player, attract mode, redraws."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import SIZE, FakeEngine, engine_events, showing, wait_for
from builders import REPO
from textual import events
from textual.app import ComposeResult
from textual.command import CommandPalette
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from kiosk.core.config import Settings, load_settings
from kiosk.core.events import Done, Queued
from kiosk.ui.app import KioskApp, make_app
from kiosk.ui.screens.attract import AttractScreen
from kiosk.ui.screens.booth import BoothScreen
from kiosk.ui.screens.loading import LoadingScreen
from kiosk.ui.screens.too_small import TooSmallScreen
from kiosk.ui.widgets.board import LeaderboardPane
from kiosk.ui.widgets.entry import EntryForm
from kiosk.ui.widgets.picture import Picture
from kiosk.ui.widgets.status import StatusLine


class Dialog(ModalScreen[None]):
    """A modal over the booth, as staff dialogs will be."""

    def compose(self) -> ComposeResult:
        yield Label("a modal")


pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(REPO / "kiosk.toml", data_dir=tmp_path / "data")


def fake_app(settings: Settings, **kwargs: Any) -> tuple[KioskApp, FakeEngine]:
    engine = FakeEngine(settings)
    app = make_app(settings, engine=engine, **kwargs)
    return app, engine


@pytest.mark.parametrize("key", ["ctrl+q", "ctrl+c", "ctrl+z", "ctrl+p", "ctrl+backslash"])
async def test_visitors_cannot_quit_suspend_or_open_the_palette(
    settings: Settings, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTUAL_ALLOW_SIGNALS", "1")
    killed: list[Any] = []
    monkeypatch.setattr(os, "kill", lambda *a: killed.append(a))
    app, _ = fake_app(settings)
    assert "TEXTUAL_ALLOW_SIGNALS" not in os.environ  # ^C/^Z reach us as keys, not signals
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        await pilot.press(key)
        await pilot.press(*"ann")
        assert app.is_running and app.return_code is None and not killed
        assert not any(isinstance(s, CommandPalette) for s in app.screen_stack)
        assert app.query_one("#nickname", Input).value == "ann"  # still typing
        assert not app.check_action("quit", ())


async def test_unlocked_quits_with_ctrl_q(settings: Settings) -> None:
    app, _ = fake_app(settings, unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running or app.return_code is not None)


async def test_loading_screen_until_models_are_ready(settings: Settings) -> None:
    engine = FakeEngine(settings, ready=False)
    app = make_app(settings, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: showing(app, LoadingScreen))
        await pilot.press(*"abc")  # the loop stays live; typing waits for the booth
        from kiosk.core.events import ModelsReady

        engine.publish(
            ModelsReady(generator="fake", judge="fake", device="cpu", tiny=False, load_s=0.0)
        )
        await wait_for(pilot, lambda: showing(app, BoothScreen))
        assert app.focused is not None and app.focused.id == "nickname"


async def test_queue_positions_then_results(settings: Settings) -> None:
    app, engine = fake_app(settings)
    seen: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        engine.submit("bob", "a swan")
        engine.submit("cy", "a pond")
        await pilot.press(*"ann", "enter", *"a duck", "enter")
        status = app.query_one(StatusLine)
        # the queue pane's refresh (at most every 0.1 s) brings the measured ETA
        await wait_for(pilot, lambda: status.state == "queued" and "~9 s" in status.message)
        assert "position 3" in status.message
        assert [e.nickname for e in engine_events(seen, Queued)] == ["bob", "cy", "ann"]
        sent = next(m for m in seen if isinstance(m, EntryForm.Submitted))  # as it bubbles
        assert (sent.nickname, sent.prompt, sent.code) == ("ann", "a duck", None)
        engine.finish_all()
        await wait_for(pilot, lambda: status.state == "done")
        board = app.query_one(LeaderboardPane)
        await wait_for(pilot, lambda: len(board.rows) == 3)
        assert [e.nickname for e in engine_events(seen, Done)] == ["bob", "cy", "ann"]


def burst(app: KioskApp, *parts: str) -> None:
    """Type as a terminal delivers a burst (a paste, a fast typist while the screen is
    busy): every key in the app's queue before any field has handled one. A part is
    text to type, or "enter"."""
    for part in parts:
        keys = (
            [("enter", "\r")]
            if part == "enter"
            else [(c if c != " " else "space", c) for c in part]
        )
        for key, char in keys:
            app.post_message(events.Key(key, char))


async def test_keys_typed_ahead_after_enter_go_to_the_next_field(settings: Settings) -> None:
    app, engine = fake_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        burst(app, "ann", "enter", "a duck", "enter", "a swan")
        await wait_for(pilot, lambda: app.query_one("#prompt", Input).value == "a swan")
        assert app.query_one("#nickname", Input).value == "ann"
        assert [e.prompt for e in engine.waiting] == ["a duck"]
        assert app.focused is not None and app.focused.id == "prompt"


async def test_failed_job_and_new_player(settings: Settings) -> None:
    app, engine = fake_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        await pilot.press(*"ann", "enter", *"a duck", "enter")
        engine.fail_all("the GPU ran out of memory while drawing; please try again")
        status = app.query_one(StatusLine)
        await wait_for(pilot, lambda: status.state == "failed")
        assert "ran out of memory" in status.message
        await pilot.press("ctrl+n")
        assert app.query_one("#nickname", Input).value == ""
        assert app.focused is not None and app.focused.id == "nickname"
        assert status.state == "idle"


async def test_attract_mode_after_idle_then_any_key(settings: Settings) -> None:
    app, engine = fake_app(settings, idle_timeout=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        engine.submit("bob", "a swan")
        engine.finish_all()
        app.query_one("#nickname", Input).value = "ann"  # left half typed, no key since
        await wait_for(pilot, lambda: showing(app, AttractScreen), 20, "attract")
        picture = app.screen.query_one("#attract-picture", Picture)
        await wait_for(pilot, lambda: picture.path == engine.board[0].image, 20, "showcase")
        app.idle_timeout = 0  # stay on the booth once back
        await pilot.press("x")
        await wait_for(pilot, lambda: showing(app, BoothScreen))
        assert app.query_one("#nickname", Input).value == ""
        assert app.focused is not None and app.focused.id == "nickname"


async def test_result_image_survives_a_modal_and_a_resize(settings: Settings) -> None:
    app, engine = fake_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        await pilot.press(*"ann", "enter", *"a duck", "enter")
        engine.finish_all()
        picture = app.query_one("#result-picture", Picture)
        await wait_for(pilot, lambda: picture.path is not None)
        image = picture.query_one(".picture--image")
        before = image.region
        await app.push_screen(Dialog())
        await wait_for(pilot, lambda: showing(app, Dialog))
        app.pop_screen()
        await wait_for(pilot, lambda: showing(app, BoothScreen))
        assert picture.path is not None
        await pilot.resize_terminal(140, 45)
        await pilot.pause()
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert image.display and image.region == before and before.area > 0


def board_text(app: KioskApp) -> str:
    board = app.query_one(LeaderboardPane)
    return "\n".join(line.text for line in board.render_lines(board.region.reset_offset))


async def test_a_small_terminal_is_told_its_size_until_resized(settings: Settings) -> None:
    app, engine = fake_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: showing(app, TooSmallScreen), 20, "the too-small notice")
        help_text = str(app.screen.query_one("#too-small-help", Static).render())
        assert "80 x 24" in help_text and "110 x 28" in help_text
        await pilot.resize_terminal(100, 40)  # still too narrow: the size is updated
        await wait_for(
            pilot,
            lambda: "100 x 40" in str(app.screen.query_one("#too-small-help", Static).render()),
        )
        await pilot.resize_terminal(112, 30)
        await wait_for(pilot, lambda: showing(app, BoothScreen), 20, "the booth")
        await pilot.press(*"ann", "enter", *"a duck", "enter")
        assert [e.prompt for e in engine.waiting] == ["a duck"]


async def test_narrow_terminals_get_narrower_side_panes(settings: Settings) -> None:
    app, engine = fake_app(settings)
    engine.submit("bob", "a swan on a lake")
    engine.finish_all()
    async with app.run_test(size=(112, 30)) as pilot:
        await wait_for(
            pilot, lambda: app.models_ready and bool(app.query_one(LeaderboardPane).rows)
        )
        assert app.screen.has_class("-narrow")
        assert app.query_one("#center").region.width >= 44  # room for the inputs and score
        text = board_text(app)
        assert "bob" in text and "Prompt" not in text  # names, not prompts, when narrow
        await pilot.resize_terminal(*SIZE)
        await wait_for(pilot, lambda: not app.screen.has_class("-narrow"))
        await wait_for(pilot, lambda: "Prompt" in board_text(app) and "a swan" in board_text(app))


@pytest.mark.parametrize(("size", "prompts"), [((120, 40), True), ((110, 30), False)])
async def test_board_shows_nicknames_in_full(
    settings: Settings, size: tuple[int, int], prompts: bool
) -> None:
    """Two players whose names share their first nine letters can tell their rows apart:
    names come right after rank and score; the prompt column gives way."""
    app, engine = fake_app(settings)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        for nick in ("visitor_one", "visitor_two", "visitor_three"):
            engine.submit(nick, f"a duck drawn by {nick}")
        engine.finish_all()
        board = app.booth.query_one(LeaderboardPane)
        await wait_for(pilot, lambda: len(board.rows) == 3, what="three rows")
        await pilot.pause()
        text = board_text(app)
        for nick in ("visitor_one", "visitor_two", "visitor_three"):
            assert nick in text, text
        assert ("a duck" in text) is prompts, text
        for row in board.rows:
            assert f"{row.percent:.2f}%" in text


async def test_prompt_stops_at_its_limit_and_says_so(settings: Settings) -> None:
    app, _ = fake_app(settings)
    limit = settings.limits.prompt_max
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready)
        await pilot.press(*"ann", "enter")
        prompt = app.query_one("#prompt", Input)
        assert prompt.has_focus
        prompt.post_message(events.Paste("duck " * 1000))  # 5,000 characters pasted
        await pilot.pause()
        assert len(prompt.value) == limit and prompt.value.startswith("duck duck")
        hint = str(app.query_one("#hint", Static).render())
        assert f"at most {limit} characters" in hint
        await pilot.press("x")  # one more key: still the limit, still said
        assert len(prompt.value) == limit
        assert f"at most {limit} characters" in str(app.query_one("#hint", Static).render())


async def test_operator_warnings_reach_staff_mode_never_a_visitors_screen(
    settings: Settings,
) -> None:
    """An old SQLite or a changed decoder is for the operator: the log and staff mode."""
    from kiosk.core.events import Notice
    from kiosk.ui.staff.screen import StaffScreen

    engine = FakeEngine(settings)
    app = make_app(settings, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready, 10, "the booth")
        engine.publish(Notice(level="warning", message="SQLite 3.31 is older than 3.35"))
        await pilot.pause(0.2)
        assert not app._notifications  # no toast over the booth
        app._after_pin(True)
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, StaffScreen)
                and bool(app.screen.query("#staff-notes"))
                and "SQLite 3.31" in str(app.screen.query_one("#staff-notes", Static).content)
            ),
            10,
            "the note in staff mode",
        )
