"""tmux for end-to-end tests: the real app in a real terminal, driven with send-keys."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

STARTUP_S = 90.0  # a fresh process imports torch and diffusers before loading the models
KIOSK = Path(sys.executable).parent / "kiosk"


def kiosk_run(config: Path, data: Path, after: str) -> str:
    """The shell line of the real booth on the tiny models (offline, the pane's own size),
    then `after` in the same shell."""
    run = (
        f"{shlex.quote(str(KIOSK))} run --profile tiny --config {shlex.quote(str(config))}"
        f" --data-dir {shlex.quote(str(data))}"
    )
    return f"env -u COLUMNS -u LINES HF_HUB_OFFLINE=1 {run}; {after}"


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
