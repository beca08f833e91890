"""End to end: the real `kiosk run --profile tiny` in tmux at 120x40, driven with send-keys."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from builders import REPO, tiny_settings_in
from tmux_fixtures import STARTUP_S, Tmux, kiosk_run

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def type_slowly(tmux: Tmux, text: str) -> None:
    """Key by key at a person's pace (about 12 a second), under the typing check."""
    for ch in text:
        tmux.type(ch)
        time.sleep(0.08)


@pytest.mark.xdist_group("e2e")  # the end-to-end tests never race each other
def test_kiosk_run_in_tmux(tmp_path: Path, tiny_models: Path, tmux: Tmux) -> None:
    """Two visitors play (the score shown is the board's): a prompt typed at machine speed
    meets the human check; each new player sees their player code, and a returning
    nickname is asked for it. Staff open staff mode with the PIN, hide one player and
    close it: the board drops them; quitting is a staff action.
    One kiosk start for all of it (a start imports torch and diffusers: the slow part)."""
    from kiosk.core.pin import hash_pin, write_pin_hash

    shutil.copy(REPO / "kiosk.toml", tmp_path / "kiosk.toml")
    shutil.copytree(REPO / "assets", tmp_path / "assets")
    write_pin_hash(tmp_path / "kiosk.toml", hash_pin("482193"))
    data = tmp_path / "data"
    tiny_settings_in(data, tiny_models)
    tmux.start(kiosk_run(tmp_path / "kiosk.toml", data, "echo kiosk exited: $?; sleep 30"))
    tmux.wait(r"Leaderboard", STARTUP_S)  # the loading screen covers the booth until ready
    time.sleep(0.5)
    assert "TINY DEMO MODELS" in tmux.wait(r"Leaderboard", 5).string
    assert tmux.size() == "120x40"
    tmux.type("ann")
    tmux.keys("Enter")
    tmux.wait(r"Describe the picture in words", 10)  # focus moved to the prompt
    type_slowly(tmux, "a duck on a pond")
    tmux.keys("Enter")
    # A new player gets their player code, once, in large digits.
    tmux.wait(r"Your player code", 30)
    time.sleep(3.2)  # it stays up at least 3 s
    tmux.keys("Enter")
    score = tmux.wait(r"scored (\d{1,3}\.\d\d)%", 30).group(1)
    row = tmux.wait(r"1\s+ann\s+(\d{1,3}\.\d\d)%\s+a duck", 10)
    assert row.group(1) == score
    for nickname, prompt in (("bob", "a swan at dusk"),):
        tmux.keys("C-n")
        tmux.type(nickname)
        tmux.keys("Enter")
        tmux.wait(r"Describe the picture in words", 10)
        type_slowly(tmux, prompt)
        tmux.keys("Enter")
        tmux.wait(r"Your player code", 30)
        time.sleep(3.2)
        tmux.keys("Enter")
        tmux.wait(rf"\d\s+{nickname}\s+\d{{1,3}}\.\d\d%", 30)
    # A prompt typed at machine speed (one send-keys): the booth asks a human check.
    tmux.keys("C-n")
    tmux.type("bot")
    tmux.keys("Enter")
    tmux.wait(r"Describe the picture in words", 10)
    tmux.type("a swan on a lake, as a macro types it")
    tmux.keys("Enter")
    tmux.wait(r"Quick check: are you a person\?", 10)
    tmux.keys("Escape")
    tmux.wait(r"No problem: press Enter on your prompt", 10)
    time.sleep(0.5)  # a person reads the screen before starting over
    # A returning nickname is claimed: the booth asks for its code.
    tmux.keys("C-n")
    tmux.wait(r"Type your nickname, then press Enter", 10)
    tmux.type("ann")
    tmux.keys("Enter")
    tmux.wait(r"ann is taken: type its player code", 10)
    tmux.keys("F12")
    tmux.wait(r"Staff PIN", 10)
    tmux.type("482193")
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
    tmux.type("482193")
    tmux.keys("Enter")
    tmux.wait(r"STAFF MODE", 10)
    tmux.keys("F10")
    tmux.wait(r"Quit the kiosk\? y/n", 10)
    tmux.keys("y")
    tmux.wait(r"kiosk exited: 0", 30)
