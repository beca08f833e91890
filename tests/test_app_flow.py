"""Pilot tests of the booth on the real engine with tiny models: play, dedup, refusals, failure."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import SIZE, booth, engine_events, showing, wait_for
from builders import REPO, tiny_settings_in
from engine_fixtures import CountingGenerator, engine_db
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Digits, Input, Static

from kiosk.core.config import Settings, load_settings
from kiosk.core.events import Done
from kiosk.core.policy import format_percent
from kiosk.engine.engine import Engine
from kiosk.ml.tiny import tiny_demo_settings
from kiosk.ui.app import KioskApp, make_app
from kiosk.ui.screens.booth import BoothScreen
from kiosk.ui.screens.missing import MissingModelsScreen
from kiosk.ui.widgets.board import LeaderboardPane
from kiosk.ui.widgets.entry import EntryForm
from kiosk.ui.widgets.result import DEDUP_THEIRS
from kiosk.ui.widgets.status import StatusLine

pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")
TWO_DECIMALS = re.compile(r"\d{1,3}\.\d\d%")


@pytest.fixture
def settings(tmp_path: Path, tiny_models: Path) -> Settings:
    return tiny_settings_in(tmp_path / "data", tiny_models)


async def play(pilot: Pilot[Any], nickname: str | None, prompt: str) -> None:
    """Type like a visitor: nickname (unless kept) and Enter, prompt and Enter."""
    if nickname is not None:
        pilot.app.query_one("#nickname", Input).focus()
        await pilot.press(*nickname, "enter")
    await pilot.press(*prompt, "enter")


def status(app: KioskApp) -> StatusLine:
    return app.query_one(StatusLine)


async def board_has(pilot: Pilot[Any], count: int) -> Sequence[Any]:
    board = pilot.app.query_one(LeaderboardPane)
    await wait_for(pilot, lambda: len(board.rows) >= count, 10, f"{count} board rows")
    return board.rows


async def test_nickname_prompt_result_and_board_row(settings: Settings) -> None:
    app = make_app(settings, engine_factory=Engine)
    seen: list[Message] = []
    async with booth(app, seen.append) as pilot:
        assert app.focused is not None and app.focused.id == "nickname"
        await pilot.press(*"ann", "enter")
        assert app.focused is not None and app.focused.id == "prompt"
        await pilot.press(*"a duck on a pond", "enter")
        await wait_for(pilot, lambda: status(app).state == "done", 20, "the drawing")
        # Each is seen by every node it bubbles through: the first is the form's.
        accepted = next(m for m in seen if isinstance(m, EntryForm.NicknameAccepted))
        sent = next(m for m in seen if isinstance(m, EntryForm.Submitted))
        assert accepted.nickname == "ann" and sent.typing_cps is not None
        assert (sent.nickname, sent.prompt, sent.code) == ("ann", "a duck on a pond", None)
        [done] = engine_events(seen, Done)
        assert (done.nickname, done.prompt, done.dedup) == ("ann", "a duck on a pond", False)
        score = app.query_one("#score", Digits).value
        assert TWO_DECIMALS.fullmatch(score), score
        assert score in status(app).message
        [row] = await board_has(pilot, 1)
        assert (row.rank, row.nickname, format_percent(row.percent)) == (1, "ann", score)
        # The nickname stays for the next prompt; the prompt is ready for it.
        assert app.query_one("#nickname", Input).value == "ann"
        assert app.query_one("#prompt", Input).value == ""
        assert app.focused is not None and app.focused.id == "prompt"
        assert "Rank #1" in str(app.query_one("#rank", Static).content)


async def test_repeated_prompt_shows_the_original_drawing(settings: Settings) -> None:
    app = make_app(settings, engine_factory=Engine)
    async with booth(app) as pilot:
        await play(pilot, "ann", "a swan")
        await wait_for(pilot, lambda: status(app).state == "done", 20, "the first drawing")
        first = app.query_one("#score", Digits).value
        await pilot.press("ctrl+n")
        await play(pilot, "bob", "A Swan!")
        await wait_for(pilot, lambda: status(app).state == "dedup", 10, "the dedup answer")
        assert DEDUP_THEIRS in status(app).message  # bob gets ann's drawing, after her
        assert app.query_one("#score", Digits).value == first
        rows = await board_has(pilot, 2)
        assert {r.nickname for r in rows} == {"ann", "bob"}


async def test_same_prompt_in_flight_each_player_sees_their_own_result(
    settings: Settings,
) -> None:
    gen = CountingGenerator(settings.generator)
    engine = Engine(settings, generator=gen)
    app = make_app(settings, engine=engine)
    async with booth(app) as pilot:
        gen.gate = threading.Event()  # ann's drawing is on its way when bob asks for it too
        await play(pilot, "ann", "a swan")
        await pilot.press("ctrl+n")
        await play(pilot, "bob", "A Swan!")
        hint = app.query_one(EntryForm).query_one("#hint", Static)
        assert "already on its way" in str(hint.render())
        gen.gate.set()
        await wait_for(pilot, lambda: status(app).state == "dedup", 20, "bob's result")
        await pilot.pause(0.3)  # ann's own done event has come and gone by now
        assert status(app).state == "dedup"  # bob's, not ann's
        assert "Rank #2" in str(app.query_one("#rank", Static).content)
        assert gen.prompts == ["a swan"]


async def test_bad_input_shows_the_policy_message(settings: Settings) -> None:
    app = make_app(settings, engine_factory=Engine)
    async with booth(app) as pilot:
        entry = app.query_one(EntryForm)
        hint = entry.query_one("#hint", Static)
        await pilot.press(*("x" * 30))  # the field stops at the limit and says so
        assert app.query_one("#nickname", Input).value == "x" * settings.limits.nickname_max
        assert "at most 24 characters" in str(hint.content) and hint.has_class("-error")
        assert app.focused is not None and app.focused.id == "nickname"
        app.query_one("#nickname", Input).value = "eve"
        await pilot.press("enter", *"!!!", "enter")
        assert str(hint.content) == "Please describe a picture in words."
        assert app.query_one("#prompt", Input).value == "!!!"  # kept, to fix it
        app.query_one("#prompt", Input).clear()
        await pilot.press("enter")
        assert str(hint.content) == "Please type a prompt."
        assert app.is_running and status(app).state == "idle"


async def test_escapes_and_markup_stay_plain_text(settings: Settings) -> None:
    app = make_app(settings, engine_factory=Engine)
    async with booth(app) as pilot:
        app.query_one("#nickname", Input).value = "[b]mal[/b]\x1b[2J\x1b]0;pwned\x07"
        await pilot.press("enter")
        app.query_one("#prompt", Input).value = "a duck\x1b[31m [red]red[/red]"
        await pilot.press("enter")
        await wait_for(pilot, lambda: status(app).state == "done", 20, "the drawing")
        [row] = await board_has(pilot, 1)
        assert row.nickname == "[b]mal[/b]" and "\x1b" not in row.prompt
        assert "[red]red[/red]" in row.prompt  # shown literally, never as markup


async def test_korean_cjk_and_emoji(settings: Settings) -> None:
    app = make_app(settings, engine_factory=Engine)
    async with booth(app) as pilot:
        await play(pilot, "김철수", "오리와 백조 연못")
        await wait_for(pilot, lambda: status(app).state == "done", 20, "the drawing")
        app.query_one("#prompt", Input).value = "鴨と白鳥 🦆🦢"
        await pilot.press("enter")
        shown = app.query_one("#result-prompt", Static)
        await wait_for(pilot, lambda: "鴨と白鳥 🦆🦢" in str(shown.content), 20, "the 2nd drawing")
        rows = await board_has(pilot, 1)
        assert rows[0].nickname == "김철수"
        assert rows[0].prompt in ("오리와 백조 연못", "鴨と白鳥 🦆🦢")


class BrokenGenerator:
    """Loads fine, then every drawing runs out of GPU memory."""

    name = "broken"
    device = "cpu"

    def load(self) -> None:
        pass

    def generate(self, prompts: Sequence[str], seeds: Sequence[int], progress: Any = None) -> Any:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")


class NullJudge:
    name = "null"

    def load(self) -> None:
        pass

    def add_target(self, target_id: str, path: Any) -> None:
        pass

    def score(self, images: Any, target_ids: Any) -> Any:
        raise AssertionError("never reached")


async def test_failed_drawing_says_why(settings: Settings) -> None:
    engine = Engine(settings, generator=BrokenGenerator(), judge=NullJudge())
    app = make_app(settings, engine=engine)
    async with booth(app) as pilot:
        await play(pilot, "ann", "a duck")
        await wait_for(pilot, lambda: status(app).state == "failed", 20, "the failure")
        assert "ran out of memory" in status(app).message
        assert app.is_running
        await play(pilot, None, "a swan")  # the booth carries on
        await wait_for(pilot, lambda: status(app).state == "failed", 20, "the 2nd failure")


def missing_models_config(tmp_path: Path) -> Path:
    """A config whose models are not on this machine (and we are offline)."""
    assets = REPO / "assets"
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[event]\ndata_dir = "{tmp_path / "data"}"\n\n'
        f'[[targets]]\nid = "duck-and-swan"\ntitle = "A duck and a swan"\n'
        f'image = "{assets / "duck-and-swan.png"}"\n\n'
        '[generator]\nmodel = "no-such-org/no-such-model"\n\n'
        '[judge]\nmodel = "ViT-B-32"\npretrained = "no-such-tag"\n',
        encoding="utf-8",
    )
    return path


async def test_missing_models_screen_offers_tiny_models(tmp_path: Path, tiny_models: Path) -> None:
    settings = load_settings(missing_models_config(tmp_path))
    # Where "continue with tiny models" looks: link the session's models there.
    tiny_settings_in(settings.data_path / "tiny-demo", tiny_models)
    app = make_app(settings, engine_factory=Engine, tiny_settings=tiny_demo_settings)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(
                pilot, lambda: showing(app, MissingModelsScreen), 30, "the missing-models screen"
            )
            text = " ".join(str(w.content) for w in app.screen.query(Static))
            assert "kiosk models pull" in text and "tiny demo models" in text
            await pilot.press("enter")  # the focused button: continue with tiny models
            await wait_for(pilot, lambda: app.models_ready, 30, "the tiny models")
            assert app.settings.tiny and isinstance(app.screen, BoothScreen)
            assert app.screen.query_one("#tiny-banner").display
            await play(pilot, "ann", "a duck")
            await wait_for(pilot, lambda: status(app).state == "done", 20, "the drawing")
    finally:
        app.stop_engine(10)


async def test_database_that_cannot_be_written_says_so(settings: Settings) -> None:
    engine = Engine(settings)
    app = make_app(settings, engine=engine)
    async with booth(app) as pilot:
        # The event loop's connection turns read-only, as on a read-only or failing disk.
        engine_db(engine).conn().execute("PRAGMA query_only = ON")
        await play(pilot, "ann", "a duck on a broken disk")
        await pilot.pause()
        hint = app.query_one(EntryForm).query_one("#hint", Static)
        assert "could not save that" in str(hint.render())
        assert app.query_one("#prompt", Input).value == "a duck on a broken disk"
        assert app.engine.stats().pending_jobs == 0 and app.engine.stats().submissions == 0
