"""`kiosk wall --serve` in a real browser: headless chromium at a projector's 1920x1080
against the real command on 127.0.0.1. Nothing the page loads comes from elsewhere, the
wall's text shows in large type, and a tab past --max-viewers is turned away politely."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from builders import REPO, free_port
from wall_fixtures import Booth

from kiosk.core.config import Settings, load_settings
from kiosk.ml.tiny import with_tiny_models

pytestmark = [
    pytest.mark.xdist_group("e2e"),  # the end-to-end tests never race each other
    pytest.mark.timeout(180),
]
KIOSK = Path(sys.executable).parent / "kiosk"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
START_S = 30.0


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """A data dir with two players on the board."""
    settings = with_tiny_models(load_settings(REPO / "kiosk.toml", data_dir=tmp_path / "data"))
    booth = Booth(settings)
    booth.draw("ana", "a duck on a pond", 0.31)
    booth.draw("지민", "호수 위의 오리와 백조", 0.36)
    booth.close()
    yield settings


@pytest.fixture
def wall_url(settings: Settings) -> Iterator[str]:
    """`kiosk wall --serve --max-viewers 1` on a free port of 127.0.0.1, until the test ends."""
    port = free_port()
    command = [str(KIOSK), "--profile", "tiny", "--data-dir", str(settings.data_path), "wall"]
    server = subprocess.Popen(
        [*command, "--serve", "--port", str(port), "--max-viewers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # textual-serve starts one wall process per browser tab
    )
    try:
        deadline = time.monotonic() + START_S
        while not port_open(port):
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, f"the wall server did not start in {START_S} s"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def index_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_wall_in_a_browser_loads_only_from_the_booth_and_turns_away_one_tab_too_many(
    wall_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import Route, WebSocket, sync_playwright

    requested: list[str] = []
    sockets: list[str] = []

    def screen_reader(route: Route) -> None:
        """xterm.js draws on a canvas; its screen-reader mode mirrors the screen's text in
        the page, which is how this test reads what the browser shows."""
        response = route.fetch()
        body = response.text().replace("scrollback:0,", "scrollback:0,screenReaderMode:!0,", 1)
        route.fulfill(response=response, body=body)

    def opened(ws: WebSocket) -> None:
        sockets.append(ws.url)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        context.on("request", lambda request: requested.append(request.url))
        context.route("**/textual.js", screen_reader)
        first = context.new_page()
        first.on("websocket", opened)
        first.goto(wall_url)
        first.wait_for_function(
            "(() => { const t = document.querySelector('.xterm-accessibility-tree');"
            " return t && t.innerText.includes('Top 10') && t.innerText.includes('ana'); })()",
            timeout=60_000,
        )
        text = first.inner_text(".xterm-accessibility-tree")
        shot = tmp_path / "wall-browser.png"
        first.screenshot(path=str(shot))

        second = context.new_page()  # one tab more than --max-viewers 1
        second.on("websocket", opened)
        refused = second.goto(wall_url)
        assert refused is not None and refused.status == 503
        polite = second.inner_text("body")
        first.close()  # its wall process ends, and its place is free again
        deadline = time.monotonic() + START_S
        while index_status(wall_url) != 200:
            assert time.monotonic() < deadline, "the first tab's place was not given back"
            time.sleep(0.2)
        browser.close()

    assert "지민" in text and "2 players on the board (2 in all)" in text, text
    assert "The wall is full: 1 screen is showing it already" in polite, polite
    # Everything came from the booth: pages, script, styles, the font, the wall's socket.
    origin = urlsplit(wall_url).netloc
    assert requested and {urlsplit(u).netloc for u in requested} == {origin}, requested
    assert len(sockets) == 1 and urlsplit(sockets[0]).netloc == origin, sockets
    assert any(u.endswith(".ttf") for u in requested), "the page's font is served locally"
    # Large type for a projector, yet room for the pictures (100 x 30 cells or more).
    size = parse_qs(urlsplit(sockets[0]).query)
    columns, rows = int(size["width"][0]), int(size["height"][0])
    assert 100 <= columns <= 140 and 30 <= rows <= 40, (columns, rows)
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1920, 1080)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50  # drawn, not a blank page
