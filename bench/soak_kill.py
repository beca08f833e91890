"""Kill harness: SIGKILL the headless kiosk at random moments, restart, and prove nothing is lost.

Each trial runs `kiosk demo --json --profile tiny` on a fresh script of prompts
(some repeated, so dedup is exercised), kills it with SIGKILL at a random moment
(during model loading, or while jobs run), and records every event it printed.
A last run without a kill drains what is pending. Then it checks, in the database:
every `done` event's submission is there with a readable image file; every job
reported `queued` ended as a submission (or a failed job with a reason); no job is
pending; `PRAGMA integrity_check` is ok; no temp files are left. A prompt that joined a
job already waiting or drawing (the same prompt, in flight) ended as a submission too.
And no job produced two original submissions (one job drawn and committed twice, e.g.
by two engines resuming it), and no prompt was drawn twice.

    .venv/bin/python bench/soak_kill.py --kills 200
    .venv/bin/python bench/soak_kill.py --kills 50 --phones

`--phones`: each trial runs `kiosk serve --profile tiny` instead, on 127.0.0.1, and a
few phones join through the join URL it prints and send their prompts over the JSON API
(each phone its own nickname; some prompts repeat, so joins and dedup hits happen);
every prompt answered 202 (accepted) must end as a submission, or a failed job with a
reason. A prompt whose answer the kill cut off was never accepted, so it is not counted.
Last line: `trials: N  lost: K  duplicates: D  integrity: ok|bad`, N counting the runs a
SIGKILL actually interrupted (a run that finished first is not a kill). Exit 0 only when
nothing is lost and nothing is duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port

REPO = Path(__file__).resolve().parent.parent
WORDS = [
    "duck",
    "swan",
    "pond",
    "lake",
    "blue",
    "white",
    "brown",
    "reeds",
    "sunset",
    "watercolor",
    "oil",
    "sketch",
    "bird",
    "feather",
    "ripple",
    "morning",
    "misty",
    "golden",
    "tiny",
    "giant",
    "happy",
    "sleepy",
]
PLAYERS = ("ada", "bob", "cy", "dee", "지민", "eve")
NEW = itertools.count(1)
"""Numbers a phone's nickname (each phone is a new player: a claimed name needs its code)."""


@dataclass
class Seen:
    """What the runs reported, across all trials."""

    queued: set[int] = field(default_factory=set)
    done: dict[int, str] = field(default_factory=dict)  # submission id -> image path
    done_jobs: set[int] = field(default_factory=set)
    failed_jobs: set[int] = field(default_factory=set)
    joined: set[tuple[int, str, str]] = field(default_factory=set)  # (job, nickname, prompt)
    lines: int = 0


def write_script(path: Path, rng: random.Random, trial: int, history: list[str]) -> None:
    rows = []
    for _ in range(rng.randint(3, 8)):
        if history and rng.random() < 0.25:
            prompt = rng.choice(history)  # a repeat: dedup path
        else:
            prompt = f"{' '.join(rng.sample(WORDS, 4))} {trial}-{rng.randint(0, 10**6)}"
            history.append(prompt)
        rows.append(f"{rng.choice(PLAYERS)}\t{prompt}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def launch(*args: str) -> subprocess.Popen[str]:
    """`kiosk ARGS` from the repository, offline, its standard output piped."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, "-m", "kiosk", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=env,
    )


def kill(proc: subprocess.Popen[str], ready: threading.Event, at: tuple[str, float]) -> None:
    """SIGKILL ('start', s) seconds after start or ('ready', s) after `ready`."""
    when, delay = at
    if when == "ready":
        ready.wait(120)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)


def run_once(data: Path, script: Path, seen: Seen, kill_at: tuple[str, float] | None) -> int:
    """Run the demo; kill it ('start', s) seconds after start or ('ready', s) after ready."""
    proc = launch(
        "demo", "--json", "--profile", "tiny", "--data-dir", str(data), "--script", str(script)
    )
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue  # a line cut short by the kill
            seen.lines += 1
            kind = e.get("event")
            if kind == "ready":
                ready.set()
            elif kind == "queued":
                seen.queued.add(e["job_id"])
                if e.get("joined"):
                    seen.joined.add((e["job_id"], e["nickname"], e["prompt"]))
            elif kind == "done":
                seen.done[e["submission_id"]] = e["image"]
                if e["job_id"] is not None:
                    seen.done_jobs.add(e["job_id"])
            elif kind == "failed":
                seen.failed_jobs.add(e["job_id"])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if kill_at is not None:
        kill(proc, ready, kill_at)
    code = proc.wait(300)
    reader.join(10)
    return code


async def phone(join_url: str, nickname: str, prompt: str, seen: Seen) -> None:
    """One phone: join, send one prompt; a 202 is an accepted prompt that must survive."""
    base = join_url.split("/j/")[0]
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(30)) as s:
        async with s.get(join_url, allow_redirects=False) as r:
            if r.status != 303:
                return
        body = {"nickname": nickname, "prompt": prompt}
        async with s.post(f"{base}/api/prompt", json=body, headers={"Origin": base}) as r:
            if r.status != 202:
                return
            answer = await r.json()
    job = int(answer["job"])
    seen.queued.add(job)
    if answer.get("note"):  # joined a drawing already on its way
        seen.joined.add((job, nickname, prompt))


def run_phones(data: Path, script: Path, seen: Seen, kill_at: tuple[str, float] | None) -> int:
    """`kiosk serve` with phones playing the script's prompts (one phone each, as soon as
    the join URL shows); killed ('start', s) after start or ('ready', s) after the models
    are ready."""
    port = free_port()
    proc = launch(
        "--profile", "tiny", "--data-dir", str(data), "serve", "--host", "127.0.0.1",
        "--port", str(port),
    )  # fmt: skip
    url: list[str] = []
    joinable, ready = threading.Event(), threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            found = re.search(r"http://\S+/j/\S+", line)
            if found and not url:
                url.append(found.group(0))
                joinable.set()
            if "models ready" in line:
                ready.set()

    rows = [line.split("\t", 1) for line in script.read_text(encoding="utf-8").splitlines()]
    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def play() -> None:
        if not joinable.wait(120):
            return

        async def all_phones() -> None:
            phones = [phone(url[0], f"{nick}{next(NEW)}", text, seen) for nick, text in rows]
            await asyncio.wait_for(asyncio.gather(*phones, return_exceptions=True), 60)

        asyncio.run(all_phones())

    players = threading.Thread(target=play, daemon=True)
    players.start()
    if kill_at is not None:
        kill(proc, ready, kill_at)
    else:
        players.join(90)
        proc.send_signal(signal.SIGTERM)
    code = proc.wait(300)
    players.join(60)
    reader.join(10)
    return code


def duplicates(db: sqlite3.Connection, problems: list[str]) -> int:
    """Jobs with more than one original submission, plus prompts (dedup keys) drawn twice."""
    twice = db.execute(
        "SELECT job_id, COUNT(*) FROM submissions WHERE dedup_of IS NULL AND job_id IS NOT NULL"
        " GROUP BY job_id HAVING COUNT(*) > 1"
    ).fetchall()
    keys = db.execute(
        "SELECT dedup_key, COUNT(*) FROM submissions WHERE dedup_of IS NULL"
        " GROUP BY dedup_key HAVING COUNT(*) > 1"
    ).fetchall()
    problems += [f"job {job} has {n} original submissions" for job, n in twice]
    problems += [f"prompt {key[:12]} was drawn {n} times" for key, n in keys]
    return len(twice) + len(keys)


def check(data: Path, seen: Seen) -> tuple[int, int, bool, list[str]]:
    """(lost, duplicates, integrity ok, problems) from the database and the files."""
    problems: list[str] = []
    db = sqlite3.connect(data / "kiosk.db")
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    subs = {
        sid: (image, job)
        for sid, image, job in db.execute("SELECT id, image, job_id FROM submissions")
    }
    jobs_done = {job for _, job in subs.values() if job is not None}
    failed = {j for (j,) in db.execute("SELECT id FROM jobs WHERE state = 'failed'")}
    pending = db.execute("SELECT COUNT(*) FROM jobs WHERE state = 'pending'").fetchone()[0]
    lost = 0
    for sid in seen.done:
        if sid not in subs:
            lost += 1
            problems.append(f"submission {sid} reported done is missing")
    for job in seen.queued:
        if job not in jobs_done and job not in failed:
            lost += 1
            problems.append(f"job {job} reported queued never finished")
    joined_subs = set(
        db.execute(
            "SELECT job_id, nickname, prompt FROM submissions WHERE dedup_of IS NOT NULL"
            " AND job_id IS NOT NULL"
        ).fetchall()
    )
    for job, nick, prompt in seen.joined:
        if (job, nick, prompt) not in joined_subs and job not in failed:
            lost += 1
            problems.append(f"{nick}'s prompt joined job {job} and never finished")
    for sid, (image, _) in subs.items():
        try:
            with Image.open(data / image) as im:
                im.verify()
        except Exception as exc:
            lost += 1
            problems.append(f"submission {sid}: image {image} unreadable: {exc}")
    if pending:
        problems.append(f"{pending} jobs still pending")
        lost += pending
    temps = [*data.glob("images/*/.tmp-*"), *data.glob(".tiny-*")]
    if temps:
        problems.append(f"temp files left: {temps[:3]}")
        lost += len(temps)  # counted so the run fails loudly
    if failed:
        problems.append(f"note: {len(failed)} jobs failed with a recorded reason")
    return lost, duplicates(db, problems), integrity, problems


def stored(data: Path) -> int:
    with sqlite3.connect(data / "kiosk.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", type=Path, default=None, help="keep the data here")
    ap.add_argument("--phones", action="store_true", help="phones play `kiosk serve`")
    args = ap.parse_args()
    trial_run = run_phones if args.phones else run_once
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as td:
        data = args.data_dir or Path(td) / "data"
        script = Path(td) / "script.tsv"
        seen, history = Seen(), []
        start = time.monotonic()
        trial = kills = 0
        while kills < args.kills:  # count only runs the SIGKILL actually interrupted
            trial += 1
            write_script(script, rng, trial, history)
            kill_at = (
                ("start", rng.uniform(0.5, 6.0))
                if rng.random() < 0.15
                else ("ready", rng.uniform(0.0, 2.0))
            )
            code = trial_run(data, script, seen, kill_at)
            kills += code == -signal.SIGKILL
            print(
                f"trial {trial:4d} (kill {kills:4d}): {kill_at[0]}+{kill_at[1]:.2f}s exit {code}  "
                f"queued {len(seen.queued)} done {len(seen.done)}",
                flush=True,
            )
        script.write_text("")
        final = run_once(data, script, seen, None)
        lost, dups, integrity, problems = check(data, seen)
        for p in problems:
            print(p)
        print(
            f"final drain exit {final}; {trial} runs, {kills} killed; {len(seen.queued)} jobs"
            f" queued ({len(seen.joined)} joined one in flight), {len(seen.done)} submissions"
            f" reported, {stored(data)} in the database, {time.monotonic() - start:.0f} s"
        )
        print(
            f"trials: {kills}  lost: {lost}  duplicates: {dups}"
            f"  integrity: {'ok' if integrity else 'bad'}"
        )
        return 0 if lost == 0 and dups == 0 and integrity and final == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
