"""The crowd's screen: the feed (read-only, PRAGMA data_version), the app (Pilot and
snapshots), and the wall beside a real `kiosk demo` in tmux. The wall in a browser is in
test_wall_serve.py."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from app_fixtures import wait_for
from builders import REPO, tiny_settings_in
from textual.pilot import Pilot
from textual.widgets import Static
from tmux_fixtures import STARTUP_S, Tmux
from wall_fixtures import Booth, FixedClockFeed, pictures_drawn, screen_text

from kiosk.core.api import Redraw
from kiosk.core.config import Settings, load_settings
from kiosk.engine.feed import Feed
from kiosk.ml.tiny import with_tiny_models
from kiosk.storage.lock import DataDirLock
from kiosk.ui.wall.app import WallApp
from kiosk.ui.wall.cards import LatestCard, PodiumCard, WallReveal
from kiosk.ui.widgets.board import LeaderboardPane

pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")
KIOSK = Path(sys.executable).parent / "kiosk"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return with_tiny_models(load_settings(REPO / "kiosk.toml", data_dir=tmp_path / "data"))


@pytest.fixture
def booth(settings: Settings) -> Iterator[Booth]:
    b = Booth(settings)
    yield b
    b.close()


def names(view_rows: object) -> list[str]:
    return [r.nickname for r in view_rows]  # type: ignore[attr-defined]


# -- the feed ----------------------------------------------------------------------------------


def test_feed_waits_for_the_kiosk_then_follows_each_commit(settings: Settings) -> None:
    feed = Feed(settings)
    first = feed.poll()
    assert first is not None and "waiting for the kiosk" in first.note
    assert first.board == [] and first.players == 0
    assert feed.poll() is None  # the same note is not sent again
    booth = Booth(settings)
    try:
        booth.draw("ana", "a duck", 0.31)
        view = feed.poll()
        assert view is not None and view.note == ""
        assert names(view.board) == ["ana"] and names(view.latest) == ["ana"]
        assert (view.players, view.drawings) == (1, 1)
        assert view.target_title == settings.active_target.title
        assert view.image(view.board[0]).exists()
        assert feed.poll() is None  # nothing committed: nothing read
        booth.draw("bo", "a swan", 0.35)
        view = feed.poll()
        assert view is not None and names(view.board) == ["bo", "ana"]
        assert names(view.latest) == ["bo", "ana"]
        # The wall takes no lock: the kiosk (or anyone) can still take the data dir.
        lock = DataDirLock(settings.data_path)
        lock.acquire()
        lock.release()
    finally:
        booth.close()
        feed.close()


def test_feed_shows_only_what_a_public_screen_may_and_counts_both_ways(
    settings: Settings, booth: Booth
) -> None:
    booth.draw("ana", "a duck", 0.30)
    rude = booth.draw("bo", "something rude", 0.40)
    booth.draw("cy", "a swan", 0.33)
    booth.draw("staffer", "a test", 0.50)
    booth.staff("hide-submission", str(rude))
    booth.staff("tag-staff", "staffer")
    booth.staff("hide", "cy")
    view = Feed(settings).poll()
    assert view is not None
    assert names(view.board) == ["ana"]
    assert names(view.latest) == ["ana"]
    assert view.drawings == 4  # the counts are the event's
    assert (view.on_board, view.players) == (1, 4)


def test_feed_follows_raffles_redraws_and_target_switches(settings: Settings, booth: Booth) -> None:
    for i, name in enumerate(("ana", "bo", "cy")):
        booth.draw(name, f"prompt {i}", 0.3 + i / 100)
    feed = Feed(settings)
    view = feed.poll()
    assert view is not None and view.raffle is None
    drawn = booth.raffle(winners=1, among=3)
    view = feed.poll()
    assert view is not None and view.raffle is not None
    assert view.raffle.raffle_id == drawn.raffle_id
    assert view.raffle.winners == drawn.winners
    assert view.raffle is not None and view.raffle.redraws == ()
    absent = drawn.winners[0].nickname
    redrawn = booth.desk.redraw(drawn.raffle_id, absent)
    view = feed.poll()
    assert view is not None and view.raffle is not None
    assert absent not in names(view.raffle.winners)
    assert view.raffle.winners == redrawn.winners
    new = redrawn.winners[0].nickname
    assert view.raffle.redraws == (Redraw(absent=absent, winner=new),)
    booth.staff("target", "swan")
    view = feed.poll()
    assert view is not None and view.target_id == "swan" and view.board == []
    feed.close()


def test_feed_keeps_going_through_a_broken_and_a_new_database(
    settings: Settings, booth: Booth
) -> None:
    booth.draw("ana", "a duck", 0.3)
    feed = Feed(settings)
    assert feed.poll() is not None
    booth.close()
    db = settings.data_path / "kiosk.db"
    old = settings.data_path / "old"
    old.mkdir()
    for part in settings.data_path.glob("kiosk.db*"):
        part.rename(old / part.name)  # a new event day takes the database away
    db.write_bytes(b"this is not a database" * 100)
    view = feed.poll()
    assert view is not None and "database busy" in view.note
    assert names(view.board) == ["ana"]  # the last board stays up meanwhile
    db.unlink()
    fresh = Booth(settings)
    try:
        fresh.draw("day-two", "a swan", 0.2)
        view = feed.poll()
        assert view is not None and view.note == "" and names(view.board) == ["day-two"]
    finally:
        fresh.close()
        feed.close()


# -- the app -------------------------------------------------------------------------------------


async def test_wall_app_shows_the_board_latest_and_reveals_a_new_raffle(
    settings: Settings, booth: Booth
) -> None:
    booth.draw("ana", "a duck on a pond", 0.31)
    booth.draw("지민", "호수 위의 오리와 백조", 0.36)
    booth.draw("bo", "a swan at dusk", 0.33)
    hidden = booth.draw("troll", "something rude", 0.45)
    booth.draw("cy", "a duck", 0.29, picture=False)  # its picture file is missing
    booth.staff("hide-submission", str(hidden))
    app = WallApp(Feed(settings), graphics="halfcell")
    async with app.run_test(size=(140, 45)) as pilot:
        board = app.query_one(LeaderboardPane)
        await wait_for(pilot, lambda: len(board.rows) == 4, what="the board")
        assert names(board.rows) == ["지민", "bo", "ana", "cy"]
        podium = sorted(app.query(PodiumCard), key=lambda c: c.place)
        first = str(podium[0].query_one(".podium-name", Static).render())
        assert first.startswith("지민"), first
        await wait_for(pilot, lambda: len(app.query(LatestCard)) > 0, what="latest cards")
        await pilot.pause(0.2)
        text = screen_text(app)
        for name in ("ana", "bo", "cy", "4 players on the board (5 in all) · 5 prompts scored"):
            assert name in text, name
        assert "troll" not in text and "something rude" not in text
        assert app.screen.has_class("-compact") is False
        # A raffle drawn while the wall runs is revealed full screen; Esc closes it.
        drawn = booth.raffle(winners=2, among=4)
        await wait_for(pilot, lambda: isinstance(app.screen, WallReveal), what="the reveal")
        reveal = app.screen
        assert isinstance(reveal, WallReveal)
        assert reveal.result.winners == drawn.winners
        await pilot.press("1")  # the crowd's screen redraws nobody
        assert reveal.result.winners == drawn.winners
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, WallReveal), what="closed")


async def test_wall_app_small_terminal_shows_words_only(settings: Settings, booth: Booth) -> None:
    booth.draw("ana", "a duck on a pond", 0.31)
    app = WallApp(Feed(settings), graphics="halfcell")
    async with app.run_test(size=(80, 24)) as pilot:
        board = app.query_one(LeaderboardPane)
        await wait_for(pilot, lambda: len(board.rows) == 1, what="the board")
        await pilot.pause(0.2)
        assert app.screen.has_class("-compact")
        assert not app.query_one("#podium").display
        assert len(app.query(LatestCard)) == 0
        assert "ana" in screen_text(app)


async def test_wall_pictures_come_back_when_a_small_terminal_grows_again(
    settings: Settings, booth: Booth
) -> None:
    for i, name in enumerate(("ana", "bo", "cy")):
        booth.draw(name, f"a duck, take {i}", 0.3 + i / 100)
    app = WallApp(Feed(settings), graphics="halfcell")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: pictures_drawn(app), what="the pictures")
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: app.screen.has_class("-compact"), what="words only")
        await pilot.pause(0.2)
        assert not app.query_one("#podium").display
        assert len(app.query(LatestCard)) == 0
        await pilot.resize_terminal(120, 40)
        await wait_for(pilot, lambda: pictures_drawn(app), what="the pictures back")
        assert not app.screen.has_class("-compact")
        assert len(app.query(LatestCard)) == 3


async def test_wall_says_who_was_redrawn_and_reopens_a_closed_reveal_to_say_it(
    settings: Settings, booth: Booth
) -> None:
    for i, name in enumerate(("ana", "bo", "cy", "dee")):
        booth.draw(name, f"a swan, take {i}", 0.3 + i / 100)
    app = WallApp(Feed(settings), graphics="halfcell")
    async with app.run_test(size=(120, 40)) as pilot:
        board = app.query_one(LeaderboardPane)
        await wait_for(pilot, lambda: len(board.rows) == 4, what="the board")
        drawn = booth.raffle(winners=1, among=4)
        await wait_for(pilot, lambda: isinstance(app.screen, WallReveal), what="the reveal")
        first = drawn.winners[0].nickname
        assert "Redrawn" not in screen_text(app)
        second = booth.desk.redraw(drawn.raffle_id, first).winners[0].nickname
        said = f"Redrawn: {first} was not here; the prize goes to {second}."
        await wait_for(pilot, lambda: said in screen_text(app), what="the redraw, said")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, WallReveal), what="closed")
        # Staff redraw again after the crowd's reveal closed: it opens to say so.
        third = booth.desk.redraw(drawn.raffle_id, second).winners[0].nickname
        await wait_for(pilot, lambda: isinstance(app.screen, WallReveal), what="reopened")
        again = f"Redrawn: {second} was not here; the prize goes to {third}."
        await wait_for(pilot, lambda: again in screen_text(app), what="the second redraw")
        assert said in screen_text(app)


# -- the wall beside a running `kiosk demo`, in a real terminal ---------------------------------


@pytest.mark.xdist_group("e2e")  # the end-to-end tests never race each other
def test_wall_shows_each_new_drawing_of_a_demo_within_2_s(
    tmp_path: Path, tiny_models: Path, tmux: Tmux
) -> None:
    """Two processes: `kiosk demo` writes, `kiosk wall` (started first, on no database)
    shows each new nickname within 2 seconds of the demo reporting it committed."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    data = tmp_path / "data"
    tiny_settings_in(data, tiny_models)
    script = tmp_path / "script.tsv"
    players = ["wallie_one", "wallie_two", "wallie_three"]
    script.write_text(
        "".join(f"{n}\ta duck and a swan, take {i}\n" for i, n in enumerate(players)),
        encoding="utf-8",
    )
    common = f"--profile tiny --data-dir {shlex.quote(str(data))}"
    tmux.start(f"env -u COLUMNS -u LINES {shlex.quote(str(KIOSK))} {common} wall; sleep 30")
    tmux.wait(r"waiting for the kiosk", 30)
    command = [str(KIOSK), "--profile", "tiny", "--data-dir", str(data), "demo", "--json"]
    demo = subprocess.Popen(
        [*command, "--script", str(script)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"},
    )
    lags: dict[str, float] = {}
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            event = json.loads(line)
            if event.get("event") != "done" or event.get("nickname") not in players:
                continue
            committed = time.monotonic()
            nickname = event["nickname"]
            while nickname not in tmux.screen():
                assert time.monotonic() - committed < 2.0, f"{nickname} not on the wall in 2 s"
                time.sleep(0.05)
            lags[nickname] = time.monotonic() - committed
    finally:
        demo.wait(timeout=STARTUP_S)
    assert set(lags) == set(players), lags
    screen = tmux.screen()
    assert "3 players on the board (3 in all)" in screen, screen
    assert "3 prompts scored" in screen, screen


# -- snapshots -----------------------------------------------------------------------------------


PLAYERS = [
    ("margaret", "two birds on a lake at sunset"),
    ("linus", "a rubber duck in a bathtub"),
    ("지민", "호수 위의 오리와 백조"),
    ("grace", "a swan and a duck, oil painting"),
    ("ada", "a duck and a swan swimming on a blue pond"),
]


async def settled(pilot: Pilot[None]) -> None:
    """Until the wall shows the five players, its latest cards filled and its pictures."""
    app = pilot.app
    assert isinstance(app, WallApp)
    board = app.query_one(LeaderboardPane)
    await wait_for(pilot, lambda: len(board.rows) == len(PLAYERS), what="the board")

    def filled() -> bool:
        texts = [str(t.render()) for t in app.query(".latest-text").results(Static)]
        return bool(texts) and all(texts)

    if not app.screen.has_class("-compact"):  # words only: no cards, no pictures
        await wait_for(pilot, filled, what="latest cards filled")
        await wait_for(pilot, lambda: pictures_drawn(app), what="the pictures")
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.5)


class TestWall:
    """The wall with half-cell pictures: podium, top 10, target, latest; words only when
    small (110x28 is under 30 rows)."""

    @pytest.fixture(autouse=True)
    def five_players(self, booth: Booth) -> None:
        for i, (name, prompt) in enumerate(PLAYERS):
            booth.draw(name, prompt, 0.40 - i / 50)

    @pytest.mark.parametrize("size", [(120, 40), (110, 28)], ids=["120x40", "110x28"])
    def test_wall(
        self, snap_compare: Callable[..., bool], settings: Settings, size: tuple[int, int]
    ) -> None:
        """As it starts: the counts say what they count."""
        app = WallApp(FixedClockFeed(settings), graphics="halfcell")
        assert snap_compare(app, terminal_size=size, run_before=settled)

    def test_wall_after_a_resize(
        self, snap_compare: Callable[..., bool], settings: Settings
    ) -> None:
        """Shrunk to 80x24 (words only) and grown back: the pictures are back."""

        async def run_before(pilot: Pilot[None]) -> None:
            await settled(pilot)
            await pilot.resize_terminal(80, 24)
            await wait_for(pilot, lambda: pilot.app.screen.has_class("-compact"), what="small")
            await pilot.resize_terminal(120, 40)
            await settled(pilot)

        app = WallApp(FixedClockFeed(settings), graphics="halfcell")
        assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_feed_moves_to_the_new_event_after_event_new(settings: Settings, booth: Booth) -> None:
    """`kiosk event new` with a wall open: the wall shows the fresh, empty board, and the
    archive opens on a wall of its own."""
    from kiosk.ops.eventdays import archive_event

    booth.draw("day-one", "a duck", 0.3)
    booth.close()
    feed = Feed(settings)
    view = feed.poll()
    assert view is not None and names(view.board) == ["day-one"]
    done = archive_event(settings, name="Day one")
    assert done is not None
    view = feed.poll()
    assert view is not None and view.board == [] and view.players == 0
    feed.close()
    archived = Feed(
        settings.model_copy(
            update={"event": settings.event.model_copy(update={"data_dir": str(done.path)})}
        )
    )
    view = archived.poll()
    assert view is not None and names(view.board) == ["day-one"]
    assert view.image(view.board[0]).exists()
    archived.close()
