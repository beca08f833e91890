"""End to end: `kiosk run --profile tiny` in tmux, stopped by SIGTERM, SIGHUP or a closed
terminal. Each time the engine finishes its batch, the data dir's lock is released (a
`kiosk demo` takes it next) and, where the terminal is still there, it is left as a shell
(no alternate screen) with a last line saying why the booth stopped."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from builders import REPO, tiny_settings_in
from kiosk_cmd import kiosk
from tmux_fixtures import STARTUP_S, Tmux, kiosk_run

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}


def start_booth(tmux: Tmux, data: Path, tiny_models: Path, after: str) -> int:
    """The real booth in a 120x40 pane, then `after` in the same shell; the kiosk's pid
    once the booth is ready (as the kiosk wrote it in its data-dir lock)."""
    tiny_settings_in(data, tiny_models)
    tmux.start(kiosk_run(REPO / "kiosk.toml", data, after))
    tmux.wait(r"Leaderboard", STARTUP_S)  # the loading screen covers the booth until ready
    return int(json.loads((data / "kiosk.storage.lock").read_text())["pid"])


def type_slowly(tmux: Tmux, text: str) -> None:
    """Key by key at a person's pace, under the typing check."""
    for ch in text:
        tmux.type(ch)
        time.sleep(0.08)


def pane(tmux: Tmux, fmt: str) -> str:
    return tmux.run("display-message", "-p", "-t", tmux.target, fmt).strip()


def running(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting for its parent has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def demo_takes_the_data_dir(tmp_path: Path, data: Path) -> None:
    script = tmp_path / "after.tsv"
    script.write_text("eve\ta duck after the stop\n", encoding="utf-8")
    where = ("--profile", "tiny", "--config", str(REPO / "kiosk.toml"), "--data-dir", str(data))
    demo = kiosk("demo", "--script", str(script), *where, env=ENV)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "another kiosk is already using" not in demo.stderr


@pytest.mark.xdist_group("e2e")  # the end-to-end tests never race each other
@pytest.mark.parametrize("sig", ["TERM", "HUP"])
def test_a_stop_signal_ends_the_booth_cleanly_and_loses_nothing(
    tmp_path: Path, tiny_models: Path, tmux: Tmux, sig: str
) -> None:
    """A visitor's prompt goes in; `kiosk doctor` beside the booth passes its lock; then
    `kill -SIG`: exit 0 with a line saying so, the terminal back to a plain shell, the
    prompt drawn or still queued (never lost), and the data dir free for the next kiosk."""
    data = tmp_path / "data"
    pid = start_booth(tmux, data, tiny_models, "echo kiosk exited: $?; sleep 60")
    assert pane(tmux, "#{alternate_on}") == "1"
    tmux.type("ann")
    tmux.keys("Enter")
    tmux.wait(r"Describe the picture in words", 10)
    type_slowly(tmux, "a duck on a pond")
    tmux.keys("Enter")
    tmux.wait(r"Your player code", 30)  # the prompt was taken: a job row or a drawing

    where = ("--profile", "tiny", "--config", str(REPO / "kiosk.toml"), "--data-dir", str(data))
    doctor = kiosk("doctor", "--json", *where, env=ENV)
    lock = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}["data dir lock"]
    assert lock["status"] == "pass", lock
    assert lock["detail"] == f"held by the running kiosk (pid {pid})" and lock["note"]

    os.kill(pid, getattr(signal, f"SIG{sig}"))
    screen = tmux.wait(r"kiosk exited: (\d+)", 60)
    assert screen.group(1) == "0", screen.string
    assert f"kiosk: stopped by SIG{sig}: the booth closed cleanly" in screen.string
    assert "Traceback" not in screen.string
    assert pane(tmux, "#{alternate_on}") == "0"  # no frozen booth left on the screen
    assert "Leaderboard" not in tmux.screen()
    counts = json.loads(kiosk("stats", "--json", *where, env=ENV).stdout)
    assert counts["prompts_played"] + counts["jobs_waiting"] == 1, counts
    demo_takes_the_data_dir(tmp_path, data)


@pytest.mark.xdist_group("e2e")
def test_a_closed_terminal_stops_the_booth_and_frees_the_data_dir(
    tmp_path: Path, tiny_models: Path, tmux: Tmux
) -> None:
    """The terminal goes away under the booth (its tmux server is killed: a hang-up on a
    dead terminal): the kiosk still stops and lets go of the data dir, never hangs."""
    data = tmp_path / "data"
    pid = start_booth(tmux, data, tiny_models, "sleep 60")
    tmux.kill()
    deadline = time.monotonic() + 60
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not running(pid), "the kiosk outlived its terminal"
    demo_takes_the_data_dir(tmp_path, data)
