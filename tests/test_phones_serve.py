"""End to end: `kiosk serve --profile tiny` prints a join URL; a phone that opens it plays
a prompt to a score through the API its page uses; SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from builders import REPO, free_port, tiny_data_dir

from kiosk.storage.lock import DataDirLock

pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]
START_S = 120.0
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def start_serve(data: Path, port: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "kiosk", "--profile", "tiny", "--data-dir", str(data)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )


def read_until(proc: subprocess.Popen[str], needle: str, timeout: float) -> list[str]:
    """Lines of standard output up to the first holding `needle`."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    err = proc.stderr.read() if proc.stderr and proc.poll() is not None else ""
    raise AssertionError(f"no {needle!r} in {lines}; stderr: {err}")


async def play(join_url: str) -> dict[str, object]:
    """Join as a phone, send one prompt, wait for its score on the event stream."""
    base = "{0.scheme}://{0.netloc}".format(urlsplit(join_url))
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(90)) as s:
        async with s.get(join_url) as page:  # joins, then follows the redirect to /play
            assert page.status == 200 and str(page.url).endswith("/play")
            assert "/static/play.js" in await page.text()
        async with s.get(f"{base}/api/events") as stream:
            body = {"nickname": "mina", "prompt": "a duck and a swan"}
            async with s.post(f"{base}/api/prompt", json=body, headers={"Origin": base}) as r:
                assert r.status == 202, await r.text()
                job = (await r.json())["job"]
            async for raw in stream.content:
                line = raw.decode()
                if line.startswith("data: ") and '"event": "done"' in line:
                    done: dict[str, object] = json.loads(line[6:])
                    if done["job"] == job:
                        return done
    raise AssertionError("the stream ended before the score")


def test_kiosk_serve_prints_a_join_url_and_a_phone_plays_from_it_to_a_score(
    tmp_path: Path, tiny_models: Path
) -> None:
    data = tiny_data_dir(tmp_path / "data", tiny_models)
    port = free_port()
    proc = start_serve(data, port)
    try:
        first = read_until(proc, "phones join at", START_S)[-1]
        url = next(w for w in first.split() if w.startswith("http://"))
        assert url.startswith(f"http://127.0.0.1:{port}/j/")
        read_until(proc, "models ready", START_S)
        done = asyncio.run(play(url))
        assert str(done["score"]).endswith("%") and done["rank"] == "Rank #1"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "done #" in out and "for mina" in out  # its log, on standard output
    assert "stopped by SIGTERM" in err
    with DataDirLock(data):  # released: the next kiosk can take the data dir
        pass


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_a_phone_page_loaded_from_kiosk_serves_join_url_plays_to_a_score(
    tmp_path: Path, tiny_models: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    data = tiny_data_dir(tmp_path / "data", tiny_models)
    proc = start_serve(data, free_port())
    try:
        first = read_until(proc, "phones join at", START_S)[-1]
        url = next(w for w in first.split() if w.startswith("http://"))
        read_until(proc, "models ready", START_S)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            page.goto(url)
            page.fill("#nickname", "mina")
            page.fill("#prompt", "a duck and a swan on a pond")
            page.click("#draw")
            expect(page.locator("#score")).to_have_text(re.compile(r"^\d+\.\d\d%$"), timeout=90_000)
            expect(page.locator("#board tbody")).to_contain_text("mina", timeout=30_000)
            browser.close()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
