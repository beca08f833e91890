"""A phone in a real browser: Debian's chromium at a phone's viewport, driven by
Playwright, against the phone server on 127.0.0.1 with a real engine on the tiny models.
It joins through the URL the booth shows, plays, sees its status go to the drawing and
the score, sees the top 10 change when the keyboard scores, sees why a prompt is
refused, and a stale join code is turned away."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from engine_fixtures import CountingGenerator, Recorder
from phone_fixtures import ServerThread
from playwright.sync_api import ViewportSize

from kiosk.core.api import KEYBOARD
from kiosk.core.config import Settings
from kiosk.engine.engine import Engine
from kiosk.web.server import PhoneServer

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE: ViewportSize = {"width": 390, "height": 844}
WAIT_MS = 60_000


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_a_phone_plays_in_a_browser_from_the_booths_join_url(
    engine_factory: Callable[..., tuple[Engine, Recorder]], tiny_settings: Settings
) -> None:
    from playwright.sync_api import expect, sync_playwright

    generator = CountingGenerator(tiny_settings.generator)
    engine, _ = engine_factory(generator=generator)
    requested: list[str] = []
    with ServerThread(PhoneServer(engine, tiny_settings)) as server, sync_playwright() as p:
        join_url = server.join.url()  # what the booth's QR code says
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US"
        )
        context.on("request", lambda request: requested.append(request.url))
        page = context.new_page()
        page.goto(join_url)
        assert urlsplit(page.url).path == "/play"

        # A prompt: its status goes to the drawing (held there by the generator's gate),
        # then to the score with two decimals, the rank and a picture to save.
        generator.gate = threading.Event()
        page.fill("#nickname", "mina")
        page.fill("#prompt", "a duck and a swan on a pond")
        page.click("#draw")
        expect(page.locator("#status")).to_contain_text("Drawing your picture", timeout=WAIT_MS)
        generator.gate.set()
        expect(page.locator("#score")).to_have_text(re.compile(r"^\d+\.\d\d%$"), timeout=WAIT_MS)
        assert page.inner_text("#status").startswith("Done! mina scored")
        assert page.inner_text("#rank") == "Rank #1"
        assert page.is_visible("#save") and page.is_visible("#drawing")
        assert page.inner_text("#playing-as") == "Playing as mina"
        expect(page.locator("#board tbody")).to_contain_text("mina", timeout=WAIT_MS)

        # The keyboard scores: the phone's top 10 follows, live.
        engine.submit("booth-kim", "a swan on a lake", source=KEYBOARD)
        expect(page.locator("#board tbody")).to_contain_text("booth-kim", timeout=WAIT_MS)

        # A refused prompt says why, in the booth's words.
        page.fill("#prompt", "fuck")
        page.click("#draw")
        expect(page.locator("#refused")).to_contain_text("keep it friendly", timeout=WAIT_MS)
        page.screenshot(path=str(engine.data_dir / "phone.png"), full_page=True)

        # A join code two windows old is turned away, politely.
        tokens = server.join.tokens
        stale = f"{server.join.base}/j/{tokens.token(time.time() - 2 * tokens.window_s)}"
        fresh = browser.new_context(viewport=PHONE, is_mobile=True)
        other = fresh.new_page()
        response = other.goto(stale)
        assert response is not None and response.status == 403
        assert "Scan the QR code on the booth's screen again" in other.inner_text("#message")
        browser.close()
    origin = urlsplit(join_url).netloc
    assert {urlsplit(u).netloc for u in requested} == {origin}, requested  # nothing from elsewhere
