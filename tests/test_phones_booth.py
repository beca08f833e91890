"""`kiosk run --phones`: the phone server runs on the booth app's own event loop, the
booth shows its join QR code (beside the target, and in attract mode), a phone that
follows it plays on the same engine, and the server stops with the app. Without phones
(the default) there is no QR code at all."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from app_fixtures import booth, showing, wait_for
from builders import free_port, tiny_settings_in
from phone_fixtures import Phone
from textual.widgets import Static

from kiosk.core.config import Settings
from kiosk.core.join import ANNOUNCE_FILE
from kiosk.engine.engine import Engine
from kiosk.ui.app import make_app
from kiosk.ui.screens.attract import AttractScreen
from kiosk.ui.widgets.board import LeaderboardPane
from kiosk.ui.widgets.joinqr import JoinQR, half_blocks
from kiosk.web.server import PhoneServer

pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")


@pytest.fixture
def settings(tmp_path: Path, tiny_models: Path) -> Settings:
    settings = tiny_settings_in(tmp_path / "data", tiny_models)
    phones = settings.phones.model_copy(update={"host": "127.0.0.1", "port": free_port()})
    return settings.model_copy(update={"phones": phones})


async def test_the_booth_serves_phones_on_its_loop_and_shows_the_join_qr_code(
    settings: Settings,
) -> None:
    pytest.importorskip("segno")
    app = make_app(settings, engine_factory=Engine, phones=PhoneServer)
    async with booth(app) as pilot:
        await wait_for(pilot, lambda: app.join_code is not None, 20, "the phone server")
        join = app.join_code
        assert join is not None and join.base == f"http://127.0.0.1:{settings.phones.port}"
        qr = app.booth.query_one(JoinQR)
        await wait_for(pilot, lambda: qr.display, 5, "the QR code")
        drawn = str(qr.query_one("#qr-code", Static).content)
        assert drawn == "\n".join(half_blocks(join.qr_text()))
        assert (settings.data_path / ANNOUNCE_FILE).is_file()  # the wall finds it

        # A phone follows the code and plays on the booth's own engine.
        server = app._phone_server
        assert isinstance(server, PhoneServer)
        phone = Phone(server)
        try:
            async with phone.session.get(join.url(), allow_redirects=False) as r:
                assert r.status == 303
            status, queued = await phone.prompt("a duck on a pond", nickname="phone-ana")
            assert status == 202, queued
            board = app.booth.query_one(LeaderboardPane)
            await wait_for(
                pilot,
                lambda: any(r.nickname == "phone-ana" for r in board.rows),
                30,
                "the phone's score on the booth's board",
            )
        finally:
            await phone.close()

        app.show_attract()  # attract mode shows the code too
        await wait_for(pilot, lambda: showing(app, AttractScreen), 5, "attract mode")
        assert app.screen.query_one(JoinQR).display
    # The server stopped with the app: nothing listens, the announcement is gone.
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{settings.phones.port}/")
    assert not (settings.data_path / ANNOUNCE_FILE).exists()


async def test_without_phones_the_booth_shows_no_qr_code(settings: Settings) -> None:
    app = make_app(settings, engine_factory=Engine)
    async with booth(app) as pilot:
        assert not app.booth.query(JoinQR)
        app.show_attract()
        await wait_for(pilot, lambda: showing(app, AttractScreen), 5, "attract mode")
        assert not app.screen.query(JoinQR)
        assert app.join_code is None


async def test_the_wall_shows_the_join_code_while_a_phone_server_announces_it(
    settings: Settings,
) -> None:
    pytest.importorskip("segno")
    from kiosk.core.join import JoinCode
    from kiosk.engine.feed import Feed
    from kiosk.ui.wall.app import WallApp

    data = settings.data_path
    app = WallApp(Feed(settings), join=lambda: JoinCode.announced(data))
    async with app.run_test(size=(140, 45)) as pilot:
        qr = app.query_one(JoinQR)
        await pilot.pause(0.3)
        assert not qr.display  # no phone server: no code
        join = JoinCode.of(data, "http://127.0.0.1:8080", 60)
        join.announce(data)
        await wait_for(pilot, lambda: qr.display, 5, "the wall's QR code")
        assert str(qr.query_one("#qr-code", Static).content) == "\n".join(
            half_blocks(join.qr_text())
        )
        JoinCode.withdraw(data)
        await wait_for(pilot, lambda: not qr.display, 5, "the code to go")
