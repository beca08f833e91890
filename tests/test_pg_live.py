"""Live across booths on the shared store: every commit is notified (LISTEN/NOTIFY), a
booth's engine and the wall hear of other processes' commits without a query on a
timer, and the listening connection comes back by itself after a loss."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from app_fixtures import booth, wait_for
from builders import commit, tiny_settings_in
from engine_fixtures import CountingGenerator, Recorder
from pg_fixtures import PgServer
from textual.widgets import Static

from kiosk.core.api import EngineAPI, StoreError, StoreOffline, WallView
from kiosk.core.config import Settings, StoreSettings
from kiosk.core.events import Done, Event, Failed, LeaderboardChanged, Notice, Queued, Started
from kiosk.engine.batch import BACK, OFFLINE
from kiosk.engine.engine import Engine
from kiosk.engine.feed import Feed
from kiosk.storage.pg import CHANNEL
from kiosk.storage.store import PgStore
from kiosk.ui.app import KioskApp, make_app
from kiosk.ui.screens.booth import BoothScreen
from kiosk.ui.screens.check import CodeNotice
from kiosk.ui.widgets.status import StatusLine

TARGETS = [("duck", "Duck", "duck.png")]


@pytest.fixture
def booths(pg_url: str) -> Iterator[Callable[[], PgStore]]:
    """Stores on one shared database, as separate booths open it (each its own token)."""
    opened: list[PgStore] = []

    def open_booth() -> PgStore:
        store = PgStore(pg_url)
        store.meta.sync_targets(TARGETS)
        opened.append(store)
        return store

    yield open_booth
    for store in opened:
        store.shutdown()


def heard(store: PgStore) -> threading.Event:
    """Set when `store` hears of another process's commit (or of a reconnect)."""
    event = threading.Event()
    assert store.watch(event.set)
    return event


def wait_until(ready: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_commit_at_one_booth_is_heard_at_another_and_not_at_itself(
    booths: Callable[[], PgStore],
) -> None:
    a, b = booths(), booths()
    at_a, at_b = heard(a), heard(b)
    before_a, before_b = a.data_version(), b.data_version()
    commit(a, "ada", "a duck", 0.5)
    assert at_b.wait(10)  # b re-reads now, not on a timer
    assert wait_until(lambda: a.data_version() != before_a)  # a's own reader counts it too
    assert b.data_version() != before_b
    assert not at_a.wait(0.5)  # a's engine published its own commit itself
    assert [r.nickname for r in b.board.leaderboard("duck")] == ["ada"]


def test_the_listener_comes_back_by_itself_after_its_connection_is_cut(
    booths: Callable[[], PgStore], pg_url: str
) -> None:
    a, b = booths(), booths()
    at_b = heard(b)
    with psycopg.connect(pg_url, autocommit=True) as admin:
        cut = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE query = %s AND pid <> pg_backend_pid()",
            (f"LISTEN {CHANNEL}",),
        ).fetchall()
        assert cut  # the listening connection was there, and is gone
    assert at_b.wait(15)  # back: whatever happened meanwhile, read it again
    at_b.clear()
    commit(a, "bo", "a swan", 0.4)
    assert at_b.wait(10)  # and it hears again


def test_the_wall_on_the_shared_store_reads_only_after_a_commit(
    tmp_path: Path, tiny_models: Path, pg_url: str, booths: Callable[[], PgStore]
) -> None:
    settings = tiny_settings_in(tmp_path / "wall", tiny_models)
    settings = settings.model_copy(update={"store": StoreSettings(url=pg_url)})
    booth = booths()
    booth.meta.sync_targets([(t.id, t.title, str(t.image)) for t in settings.targets])
    feed = Feed(settings)
    try:
        first = feed.poll()
        assert first is not None and first.board == [] and first.note == ""
        assert feed.poll() is None  # nothing committed: nothing read
        commit(booth, "ada", "a duck and a swan", 0.7, target=settings.active_target.id)
        views: list[WallView] = []

        def read() -> bool:
            view = feed.poll()
            views.extend([view] if view is not None else [])
            return bool(views)

        assert wait_until(read)
        assert [r.nickname for r in views[-1].board] == ["ada"]
    finally:
        feed.close()


def test_a_booth_hears_another_booths_drawing_and_its_board_follows(
    tiny_settings: Settings, pg_url: str, booths: Callable[[], PgStore]
) -> None:
    settings = tiny_settings.model_copy(update={"store": StoreSettings(url=pg_url)})
    engine = Engine(settings)
    seen: list[Event] = []
    engine.subscribe(seen.append)
    engine.start()
    try:
        other = booths()
        commit(other, "cy", "a duck on a pond", 0.6, target=engine.target_id)
        assert wait_until(lambda: any(isinstance(e, LeaderboardChanged) for e in seen))
        assert [r.nickname for r in engine.leaderboard()] == ["cy"]
    finally:
        engine.stop()
        store = engine.store
        assert isinstance(store, PgStore)
        store.shutdown()


def test_a_drawing_made_at_one_booth_shows_on_a_wall_elsewhere(
    tiny_settings: Settings, tmp_path: Path, tiny_models: Path, pg_url: str
) -> None:
    """Booth A draws (its file in its data dir, and in the shared store); a wall on
    another machine, with a data dir of its own, shows it: the same bytes."""
    settings = tiny_settings.model_copy(update={"store": StoreSettings(url=pg_url)})
    engine = Engine(settings)
    engine.start()
    try:
        engine.submit("ada", "a duck and a swan on a pond")
        assert engine.wait_idle(120)
        (drawn,) = engine.recent(5)
    finally:
        engine.stop()
        store = engine.store
        assert isinstance(store, PgStore)
        store.shutdown()
    elsewhere = tiny_settings_in(tmp_path / "wall", tiny_models)
    elsewhere = elsewhere.model_copy(update={"store": StoreSettings(url=pg_url)})
    assert not (elsewhere.data_path / drawn.image).exists()
    feed = Feed(elsewhere)
    try:
        view = feed.poll()
        assert view is not None and [r.image for r in view.latest] == [drawn.image]
        shown = view.image(view.latest[0])
        assert shown.read_bytes() == (settings.data_path / drawn.image).read_bytes()
    finally:
        feed.close()


def test_an_sqlite_booth_keeps_its_drawings_in_its_data_dir_only(tmp_path: Path) -> None:
    from kiosk.storage.store import Store

    store = Store(tmp_path / "kiosk.db")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.webp").write_bytes(b"x")
    store.pictures.put(tmp_path, "images/a.webp")  # nothing more to keep
    assert store.db.one("SELECT COUNT(*) FROM pictures")[0] == 0
    assert store.pictures.fetch(tmp_path, "images/b.webp") == tmp_path / "images" / "b.webp"


def test_a_booth_rides_out_a_database_restart_losing_nothing(
    tiny_settings: Settings, pg_server: PgServer, pg_url: str
) -> None:
    """The server stops while drawings are being made: they are kept until it is back,
    new prompts are refused in words meanwhile, and once it is back (no one touches the
    booth) every accepted prompt is committed exactly once."""
    settings = tiny_settings.model_copy(update={"store": StoreSettings(url=pg_url)})
    generator = CountingGenerator(settings.generator)
    engine = Engine(settings, generator=generator)
    rec = Recorder()
    engine.subscribe(rec)
    engine.start()
    try:
        assert engine.wait_ready(120), engine.load_error
        generator.gate = threading.Event()  # the next drawings wait until the server is gone
        prompts = {"ada": "a duck on a pond", "bo": "a swan at dusk", "cy": "two ducks"}
        for nick, prompt in prompts.items():
            assert isinstance(engine.submit(nick, prompt), Queued)
        assert wait_until(lambda: len(rec.of(Started)) >= 1)
        pg_server.stop()
        try:
            generator.gate.set()
            assert wait_until(lambda: any(OFFLINE in n.message for n in rec.of(Notice)), 30)
            with pytest.raises(StoreOffline):
                engine.submit("dee", "a pond at night")
        finally:
            pg_server.start()
        assert wait_until(lambda: any(BACK in n.message for n in rec.of(Notice)), 30)
        assert engine.wait_idle(120)
        assert not rec.of(Failed)
        done = sorted(e.nickname for e in rec.of(Done))
        assert done == sorted(prompts)
        assert isinstance(engine.submit("dee", "a pond at night"), Queued)  # back to normal
        assert engine.wait_idle(120)
        with psycopg.connect(pg_url) as check:
            counts = check.execute(
                "SELECT count(*), count(DISTINCT dedup_key) FROM submissions"
            ).fetchone()
            pending = check.execute("SELECT count(*) FROM jobs").fetchone()
        assert counts == (4, 4) and pending == (0,)  # nothing lost, nothing twice
    finally:
        engine.stop()
        store = engine.store
        assert isinstance(store, PgStore)
        store.shutdown()


async def test_a_visitor_at_a_booth_whose_store_is_down_is_told_so_and_plays_on(
    tiny_settings: Settings, pg_server: PgServer, pg_url: str
) -> None:
    """The real booth on the shared store; the server goes away while a visitor types:
    their nickname goes through, their prompt is refused in words (no crash: the
    nickname's code lookup and the prompt both need the store), and once the server is
    back the same visitor plays on without anyone touching the booth."""
    players = tiny_settings.players.model_copy(update={"codes": True})
    update = {"store": StoreSettings(url=pg_url), "players": players}
    app = make_app(tiny_settings.model_copy(update=update), engine_factory=Engine)
    async with booth(app) as pilot:
        pg_server.stop()
        try:
            await pilot.press(*"mina", "enter")
            await pilot.press(*"a duck on a pond", "enter")
            await wait_for(pilot, lambda: "scoreboard is offline" in hint(app), 30, "offline")
            assert app.is_running and isinstance(app.screen, BoothScreen)
        finally:
            pg_server.start()
        await wait_for(pilot, lambda: online(app.engine), 30, "the store back")
        await pilot.press(*"a duck on a pond", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CodeNotice), 30, "mina's code")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.query_one(StatusLine).state == "done", 60, "drawn")
        assert "a duck on a pond" in str(app.query_one("#result-prompt", Static).content)


def hint(app: KioskApp) -> str:
    return str(app.query_one("#hint", Static).content)


def online(engine: EngineAPI) -> bool:
    try:
        engine.leaderboard()
    except StoreError:
        return False
    return True
