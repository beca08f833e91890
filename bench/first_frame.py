"""From the `kiosk run` command to its first frame, in a real terminal (tmux).

Each run starts the real `kiosk run --profile tiny` in a fresh 120x40 tmux pane on a
fresh data dir (the tiny models built once, shared through a link) and polls the pane
every 10 ms. The clock starts in the pane's own shell, just before it execs the command
(`date +%s.%N`), and stops when the loading screen's words (or the booth, when loading
was quicker than the poll) are on screen; "ready" is when the booth's leaderboard shows.

    .venv/bin/python bench/first_frame.py [--runs 5] [--tiny-models DIR] [--repo DIR ...]

The command is `python -m kiosk run` started in the repo (the same code as the `kiosk`
script). `--repo` takes other checkouts too (e.g. `git archive HEAD` unpacked in /tmp),
timed in turns with this one, so a before/after is measured under the same load.

Prints each run, the medians and one SUMMARY line (target: the first frame within 2 s;
the models load behind it). Not a test: tests never assert times.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIRST = re.compile(r"Getting the drawing models ready|TINY DEMO MODELS|Leaderboard")
READY = re.compile(r"Leaderboard")
TIMEOUT_S = 120.0
POLL_S = 0.01


def tmux(sock: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
    out = subprocess.run(
        ["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=10, env=env
    )
    return out.stdout


def start_pane(sock: str, command: str) -> None:
    """A 120x40 window holding a shell that waits, then `command` respawned into it."""
    tmux(sock, "-f", "/dev/null", "new-session", "-d", "-s", "b", "-x", "120", "-y", "40")
    tmux(sock, "set-option", "-g", "window-size", "manual")
    tmux(sock, "resize-window", "-t", "b", "-x", "120", "-y", "40")
    tmux(sock, "respawn-pane", "-k", "-t", "b", command)


def one_run(work: Path, models: Path, repo: Path, index: int) -> tuple[float, float]:
    """Seconds from the command to the first frame, and to the booth being ready."""
    data = work / f"data-{index}"
    data.mkdir()
    (data / "tiny-models").symlink_to(models, target_is_directory=True)
    stamp = work / f"start-{index}"
    run = (
        f"{shlex.quote(sys.executable)} -m kiosk run --profile tiny --config"
        f" {shlex.quote(str(repo / 'kiosk.toml'))} --data-dir {shlex.quote(str(data))}"
    )
    sock = f"kiosk-first-frame-{os.getpid()}-{index}"
    script = (
        f"cd {shlex.quote(str(repo))} && date +%s.%N > {shlex.quote(str(stamp))}"
        f" && exec env HF_HUB_OFFLINE=1 {run}"
    )
    start_pane(sock, f"sh -c {shlex.quote(script)}")
    try:
        first = ready = None
        deadline = time.time() + TIMEOUT_S
        while ready is None and time.time() < deadline:
            screen = tmux(sock, "capture-pane", "-p", "-t", "b")
            now = time.time()
            if first is None and FIRST.search(screen):
                first = now
            if READY.search(screen):
                ready = now
            time.sleep(POLL_S)
        if first is None or ready is None:
            raise SystemExit(f"run {index}: no frame after {TIMEOUT_S} s:\n{screen}")
        began = float(stamp.read_text().strip())
        return first - began, ready - began
    finally:
        tmux(sock, "kill-server")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tiny-models", type=Path, default=None, help="Built ones to reuse.")
    parser.add_argument("--repo", type=Path, action="append", help="Checkouts to time.")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("first_frame: tmux is not installed (apt-get install tmux)")
    repos = [r.resolve() for r in args.repo or [REPO]]
    with tempfile.TemporaryDirectory(prefix="kiosk-first-frame-") as tmp:
        work = Path(tmp)
        models = args.tiny_models
        if models is None:
            from kiosk.ml.tiny import build_tiny_models

            models = build_tiny_models(work / "tiny-models")
        times: dict[Path, list[tuple[float, float]]] = {repo: [] for repo in repos}
        for i in range(args.runs):
            for j, repo in enumerate(repos):  # in turns: the same load for each
                first, ready = one_run(work, models.resolve(), repo, i * len(repos) + j)
                times[repo].append((first, ready))
                print(f"{repo} run {i + 1}: first frame {first:.2f} s, booth ready {ready:.2f} s")
    for repo, runs in times.items():
        first_med = statistics.median(f for f, _ in runs)
        ready_med = statistics.median(r for _, r in runs)
        print(
            f"SUMMARY first_frame ({repo}): command to first frame p50 {first_med:.2f} s"
            f" (target < 2 s), to the booth ready p50 {ready_med:.2f} s, {args.runs} runs"
        )


if __name__ == "__main__":
    main()
