"""Crash safety: one writer per data dir, a lock a crash cannot leave stuck, and a short
run of the SIGKILL harness (the long one is bench/soak_kill.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import REPO
from kiosk_cmd import kiosk

from kiosk.core.config import Settings
from kiosk.engine.engine import Engine
from kiosk.storage.lock import DataDirBusy, DataDirLock


def test_second_engine_on_same_data_dir_is_refused(tiny_settings: Settings) -> None:
    first = Engine(tiny_settings)
    first.start()
    try:
        with pytest.raises(DataDirBusy, match=f"process {os.getpid()}"):
            Engine(tiny_settings).start()
    finally:
        first.stop()
    second = Engine(tiny_settings)  # released on stop
    second.start()
    second.stop()


def test_second_writer_command_refused_readers_work(data_dir: Path, env: dict[str, str]) -> None:
    with DataDirLock(data_dir):
        proc = kiosk("demo", "--profile", "tiny", "--data-dir", str(data_dir), env=env, timeout=120)
        assert proc.returncode == 2
        assert "another kiosk is already using the data dir" in proc.stderr
        assert f"process {os.getpid()}" in proc.stderr and "Traceback" not in proc.stderr
        stats = kiosk("stats", "--json", "--data-dir", str(data_dir), env=env, timeout=120)
        assert stats.returncode == 0 and json.loads(stats.stdout)["players"] == 0


def test_a_killed_holder_does_not_leave_the_lock_stuck(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from kiosk.storage.lock import DataDirLock;"
        "lock = DataDirLock(Path(sys.argv[1])); lock.acquire(); print('held', flush=True);"
        "time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(DataDirBusy, match=f"process {holder.pid}"):
        DataDirLock(tmp_path).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    deadline = time.monotonic() + 5
    while True:
        try:
            with DataDirLock(tmp_path):
                break
        except DataDirBusy:
            assert time.monotonic() < deadline
            time.sleep(0.05)


@pytest.mark.xdist_group("e2e")  # the end-to-end tests never race each other
@pytest.mark.parametrize("phones", [False, True], ids=["demo", "phones"])
def test_kill_harness_short(tmp_path: Path, data_dir: Path, phones: bool) -> None:
    """A SIGKILL at a random moment, then a restart: nothing accepted is lost, from the
    demo's script or from phones playing `kiosk serve` (the harness itself,
    `bench/soak_kill.py --kills 200 [--phones]`, runs many; see bench/RESULTS.md)."""
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "soak_kill.py"),
            "--kills",
            "1",
            "--seed",
            "5",
            "--data-dir",
            str(data_dir),
            *(["--phones"] if phones else []),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    last = proc.stdout.strip().splitlines()[-1]
    assert last == "trials: 1  lost: 0  duplicates: 0  integrity: ok", proc.stdout + proc.stderr
    queued = re.search(r"(\d+) jobs queued", proc.stdout)
    assert queued and int(queued.group(1)) > 0, proc.stdout  # prompts were accepted
    assert proc.returncode == 0
