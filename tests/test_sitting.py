"""One sitting per visitor: the code asked at most once, a clean form for the next person,
the visitor's language, and keys typed while the models load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from app_fixtures import SIZE, FakeEngine, booth, wait_for
from builders import tiny_settings_in
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static

from kiosk.core.config import Settings
from kiosk.core.events import ModelsReady
from kiosk.core.sitting import Sitting
from kiosk.engine.engine import Engine
from kiosk.ui.app import KioskApp, make_app
from kiosk.ui.screens.booth import BoothScreen
from kiosk.ui.screens.check import CodeNotice
from kiosk.ui.widgets.result import ResultPane
from kiosk.ui.widgets.status import StatusLine

pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")


def test_a_sitting_keeps_the_code_of_its_player_only() -> None:
    s = Sitting()
    assert s.begin("ana", now=0.0)
    s.keep_code("ana", "4821")
    assert s.code_for("ＡＮＡ") == "4821"  # lookalike letters fold to the same player
    assert s.code_for("bo") is None
    assert not s.begin("ana", now=1.0)  # the same player again: the code stays
    assert s.begin("bo", now=2.0) and s.code is None  # another player: forgotten


def test_a_sitting_ends_on_idle_but_not_while_a_drawing_is_on_its_way() -> None:
    s = Sitting()
    assert not s.idle(100.0, 45)  # nobody sat down
    assert s.idle(100.0, 45, typed=True)  # a half-typed form left behind
    s.begin("ana", now=0.0)
    s.queued(7)
    assert not s.idle(100.0, 45)
    s.finished(7)
    assert s.idle(100.0, 45) and not s.idle(100.0, 0)  # 0: only Ctrl+N or done


@pytest.fixture
def settings(tmp_path: Path, tiny_models: Path) -> Settings:
    """The tiny booth with player codes on, as at an event (no flood limits in the way)."""
    settings = tiny_settings_in(tmp_path / "data", tiny_models)
    players = settings.players.model_copy(update={"codes": True})
    event = settings.event.model_copy(update={"idle_timeout_s": 0.0})
    return settings.model_copy(update={"players": players, "event": event})


def idle_after(settings: Settings, seconds: float) -> Settings:
    event = settings.event.model_copy(update={"sitting_idle_s": seconds})
    return settings.model_copy(update={"event": event})


def said(app: KioskApp) -> str:
    return str(app.query_one("#hint", Static).content)


async def drawn(pilot: Pilot[Any], prompt: str) -> None:
    app = pilot.app
    await pilot.press(*prompt, "enter")
    await wait_for(
        pilot,
        lambda: (
            app.query_one(StatusLine).state == "done"
            and prompt in str(app.query_one("#result-prompt", Static).content)
        ),
        30,
        f"the drawing of {prompt!r}",
    )


async def test_three_prompts_in_a_sitting_ask_the_code_never_and_show_it_once(
    settings: Settings,
) -> None:
    app = make_app(settings, engine_factory=Engine)
    async with booth(app) as pilot:
        await pilot.press(*"mina", "enter")
        await pilot.press(*"a duck on a pond", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CodeNotice), 10, "the code box")
        code = app.screen.code if isinstance(app.screen, CodeNotice) else ""
        await pilot.press("enter")  # at once
        for prompt in ("a swan at dusk", "two birds on a lake"):
            await drawn(pilot, prompt)
            assert "is taken" not in said(app) and not isinstance(app.screen, CodeNotice)
        assert app.query_one(ResultPane).border_subtitle == f"Your player code: {code}"
        # Ctrl+N: the next person finds an empty form, and mina's code is asked again.
        await pilot.press("ctrl+n")
        assert app.query_one("#nickname", Input).value == ""
        assert not app.query_one(ResultPane).border_subtitle
        await pilot.press(*"mina", "enter")
        assert app.focused is not None and app.focused.id == "code"
        assert "mina is taken" in said(app)
        await pilot.press(*code, "enter")
        await drawn(pilot, "ducks on a pond")
        await drawn(pilot, "a duck and a swan at noon")  # the typed code is kept too
        assert "is taken" not in said(app)


async def test_two_enters_queued_at_the_code_box_close_it_once(settings: Settings) -> None:
    """Keys that pile up while the loop is busy (seen with the shared store down) reach
    the code box after the first Enter closed it: the second must not close the booth
    itself (it crashed the kiosk: "Can't pop screen")."""
    app = make_app(settings, engine_factory=Engine)
    async with booth(app) as pilot:
        await pilot.press(*"lia", "enter")
        await pilot.press(*"a duck", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CodeNotice), 10, "the code box")
        notice = app.screen
        for _ in range(2):
            notice.post_message(events.Key("enter", "\r"))
        await pilot.pause(0.5)
        assert isinstance(app.screen, BoothScreen) and app.is_running
        await drawn(pilot, "a swan")


async def test_a_visitor_who_walks_away_leaves_an_empty_form(settings: Settings) -> None:
    app = make_app(idle_after(settings, 2.0), engine_factory=Engine)
    async with booth(app) as pilot:
        await pilot.press(*"ola", "enter")
        await pilot.press(*"a duck", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CodeNotice), 10, "the code box")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.query_one(StatusLine).state == "done", 30)
        await wait_for(pilot, lambda: app.query_one("#nickname", Input).value == "", 10)
        assert app.query_one(StatusLine).state == "idle"
        assert not app.query_one(ResultPane).border_subtitle


async def test_f3_thanks_the_visitor_and_f2_switches_their_language(
    settings: Settings,
) -> None:
    app = make_app(settings, engine_factory=Engine)
    async with booth(app) as pilot:
        await pilot.press("f2")
        assert app.lang == "ko" and "닉네임을 입력하고" in said(app)
        assert "English" in str(app.query_one("#keys", Static).content)
        await pilot.press(*"jun", "enter", *"?!", "enter")
        assert said(app) == "그림을 말로 설명해 주세요."  # the engine's refusal, in Korean
        await pilot.press("f3")
        assert app.lang == "en" and said(app).startswith("Thanks for playing!")
        assert app.query_one("#nickname", Input).value == ""


async def test_keys_typed_while_the_models_load_reach_the_booth(tmp_path: Path) -> None:
    settings = tiny_settings_in(tmp_path / "data", tmp_path / "none")
    engine = FakeEngine(settings, ready=False)
    app = make_app(settings, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen is app.loading, 10, "the loading screen")
        await pilot.press(*"ann", "enter", *"a duck")
        engine.publish(
            ModelsReady(generator="fake", judge="fake", device="cpu", tiny=True, load_s=0.0)
        )
        await wait_for(pilot, lambda: app.models_ready, 10)
        await wait_for(pilot, lambda: app.query_one("#prompt", Input).value == "a duck", 10)
        assert app.query_one("#nickname", Input).value == "ann"
