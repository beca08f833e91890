"""End to end: the real `kiosk run --profile tiny` in tmux at 120x40, driven with send-keys."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_fixtures import tiny_settings_in

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
KIOSK = Path(sys.executable).parent / "kiosk"
STARTUP_S = 90.0  # a fresh process imports torch and diffusers before loading the models


class Tmux:
    """One detached session on a private tmux server (its own socket)."""

    def __init__(self, name: str) -> None:
        self.base = ["tmux", "-L", name]
        self.target = "booth"

    def run(self, *args: str) -> str:
        # A stale COLUMNS/LINES (pytest's run has 80x24) would override the pane's real size.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        out = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, timeout=10, env=env
        )
        return out.stdout

    def start(self, command: str) -> None:
        """Open a 120x40 window first, then run `command` in it: a program started with
        the session can see the default 80x24 before tmux applies the size."""
        self.run(
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            self.target,
            "-x",
            "120",
            "-y",
            "40",
            "sleep 600",
        )
        # With no client attached, tmux may shrink the window back to its default size.
        self.run("set-option", "-g", "default-size", "120x40")
        self.run("set-option", "-g", "window-size", "manual")
        self.run("resize-window", "-t", self.target, "-x", "120", "-y", "40")
        size = self.run(
            "display-message", "-p", "-t", self.target, "#{window_width}x#{window_height}"
        ).strip()
        assert size == "120x40", size
        self.run("respawn-pane", "-k", "-t", self.target, command)

    def size(self) -> str:
        return self.run(
            "display-message", "-p", "-t", self.target, "#{window_width}x#{window_height}"
        ).strip()

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", self.target, "-l", text)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.target)

    def wait(self, pattern: str, timeout: float) -> re.Match[str]:
        """Poll the screen until `pattern` shows; fail with the screen as it was."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            found = re.search(pattern, screen)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not on screen after {timeout} s:\n{screen}")
            time.sleep(0.25)

    def kill(self) -> None:
        self.run("kill-server")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux(f"kiosk-test-{os.getpid()}-{time.monotonic_ns()}")
    try:
        yield session
    finally:
        session.kill()


def test_kiosk_run_in_tmux(tmp_path: Path, tiny_models: Path, tmux: Tmux) -> None:
    """Two visitors play (the score shown is the board's); staff open staff mode with the
    PIN, hide one of them and close it: the board drops them; quitting is a staff action.
    One kiosk start for all of it (a start imports torch and diffusers: the slow part)."""
    from kiosk.core.pin import hash_pin, write_pin_hash

    repo = Path(__file__).resolve().parent.parent
    shutil.copy(repo / "kiosk.toml", tmp_path / "kiosk.toml")
    shutil.copytree(repo / "assets", tmp_path / "assets")
    write_pin_hash(tmp_path / "kiosk.toml", hash_pin("4821"))
    data = tmp_path / "data"
    tiny_settings_in(data, tiny_models)
    run = (
        f"{shlex.quote(str(KIOSK))} run --profile tiny --config"
        f" {shlex.quote(str(tmp_path / 'kiosk.toml'))} --data-dir {shlex.quote(str(data))}"
    )
    tmux.start(f"env -u COLUMNS -u LINES HF_HUB_OFFLINE=1 {run}; echo kiosk exited: $?; sleep 30")
    tmux.wait(r"Leaderboard", STARTUP_S)  # the loading screen covers the booth until ready
    time.sleep(0.5)
    assert "TINY DEMO MODELS" in tmux.wait(r"Leaderboard", 5).string
    assert tmux.size() == "120x40"
    tmux.type("ann")
    tmux.keys("Enter")
    tmux.wait(r"Describe the picture in words", 10)  # focus moved to the prompt
    tmux.type("a duck on a pond")
    tmux.keys("Enter")
    score = tmux.wait(r"scored (\d{1,3}\.\d\d)%", 30).group(1)
    row = tmux.wait(r"1\s+ann\s+(\d{1,3}\.\d\d)%\s+a duck", 10)
    assert row.group(1) == score
    for nickname, prompt in (("bob", "a swan at dusk"),):
        tmux.keys("C-n")
        tmux.type(nickname)
        tmux.keys("Enter")
        tmux.wait(r"Describe the picture in words", 10)
        tmux.type(prompt)
        tmux.keys("Enter")
        tmux.wait(rf"\d\s+{nickname}\s+\d{{1,3}}\.\d\d%", 30)
    tmux.keys("F12")
    tmux.wait(r"Staff PIN", 10)
    tmux.type("4821")
    tmux.keys("Enter")
    tmux.wait(r"STAFF MODE", 10)
    tmux.wait(r"\d+\s+bob\s+\d{1,3}\.\d\d%", 10)  # the newest first: bob's row selected
    tmux.keys("F3")
    tmux.wait(r"hide bob: done", 10)
    tmux.keys("F12")
    board = tmux.wait(r"Leaderboard", 10).string
    deadline = time.monotonic() + 10
    while re.search(r"\d\s+bob\s+\d{1,3}\.\d\d%", board) and time.monotonic() < deadline:
        time.sleep(0.25)
        board = tmux.screen()
    assert not re.search(r"\d\s+bob\s+\d{1,3}\.\d\d%", board), board
    assert re.search(r"1\s+ann\s+\d{1,3}\.\d\d%", board), board
    tmux.keys("F12")  # staff mode again, to quit: quitting is a staff action
    tmux.wait(r"Staff PIN", 10)
    tmux.type("4821")
    tmux.keys("Enter")
    tmux.wait(r"STAFF MODE", 10)
    tmux.keys("F10")
    tmux.wait(r"kiosk exited: 0", 30)
