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
    data = tmp_path / "data"
    tiny_settings_in(data, tiny_models)
    run = f"{shlex.quote(str(KIOSK))} run --profile tiny --data-dir {shlex.quote(str(data))}"
    tmux.start(
        f"env -u COLUMNS -u LINES HF_HUB_OFFLINE=1 {run} --unlocked;"
        " echo kiosk exited: $?; sleep 30"
    )
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
    tmux.keys("C-q")
    tmux.wait(r"kiosk exited: 0", 30)
