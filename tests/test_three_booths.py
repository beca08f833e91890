"""Three booths and a wall on one PostgreSQL store, as an event runs them: three real
`kiosk demo` processes with their own booth names, data dirs and model folders, and
`kiosk wall` in a real terminal, all on one database. Every player of every booth is on
one board; a prompt typed at two booths is drawn once; a ban at one booth refuses the
nickname at another; a booth killed (SIGKILL) in mid-batch and restarted loses nothing
and commits nothing twice; the database restarted mid-run (`pg_ctl restart -m fast`):
the booths and the wall recover without a person, nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from builders import REPO, shared_config
from kiosk_cmd import kiosk
from pg_fixtures import PgServer
from tmux_fixtures import KIOSK, STARTUP_S, Tmux

SHARED = "a duck and a swan on a pond"
BOOTHS = ("hall-a", "hall-b", "hall-c")


@dataclass
class Booth:
    """One booth: its config and data dir (with its own copy of the tiny models), and
    what its demo runs reported."""

    name: str
    config: Path
    data: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    def demo(self, lines: list[str], tag: str) -> subprocess.Popen[str]:
        script = self.data.parent / f"{self.name}-{tag}.tsv"
        script.write_text("".join(f"{line}\n" for line in lines) or "# nothing new\n")
        with (self.data.parent / f"{self.name}-{tag}.err").open("w") as err:
            return subprocess.Popen(
                [sys.executable, "-m", "kiosk", "demo", "--json", "--profile", "tiny",
                 "--config", str(self.config), "--data-dir", str(self.data),
                 "--script", str(script)],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                cwd=REPO,
                env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"},
            )  # fmt: skip

    def read(
        self, proc: subprocess.Popen[str], tag: str, on: Callable[[dict[str, Any]], None]
    ) -> None:
        """Record the demo's events as they come, each with its run's `tag` (`on` sees
        each), on a thread."""

        def run() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("{"):
                    event = {**json.loads(line), "run": tag}
                    self.events.append(event)
                    on(event)

        reader = threading.Thread(target=run, daemon=True)
        reader.start()
        self.readers.append(reader)

    def wait(self, tag: str) -> int:
        """Wait for the last demo and every event it printed; its exit status (its
        standard error in the message of a failure)."""
        status = self.procs[-1].wait(240)
        self.readers[-1].join(30)
        if status not in (0, -signal.SIGKILL):
            raise AssertionError((self.data.parent / f"{self.name}-{tag}.err").read_text()[-2000:])
        return status


def the(events: list[dict[str, Any]], kind: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind and all(e[k] == v for k, v in match.items())]


def run_while(
    booths: list[Booth],
    lines: dict[str, list[str]],
    tag: str,
    act: Callable[[], object] = lambda: None,
    kill: str = "",
) -> dict[str, int]:
    """The booths' demos at once. `act` runs as soon as every one of them is drawing;
    booth `kill` is killed (SIGKILL) as its first batch starts. Returns the booths whose
    demo did not end with 0, with its status."""
    drawing = []
    for booth in booths:
        started = threading.Event()
        proc = booth.demo(lines[booth.name], tag)

        def on(
            event: dict[str, Any], proc: Any = proc, started: Any = started, name: str = booth.name
        ) -> None:
            if event["event"] == "started":
                if name == kill and not started.is_set():
                    proc.send_signal(signal.SIGKILL)
                started.set()

        booth.read(proc, tag, on)
        booth.procs.append(proc)
        drawing.append(started)
    assert all(s.wait(STARTUP_S) for s in drawing)
    act()
    ended = {booth.name: booth.wait(tag) for booth in booths}
    return {name: status for name, status in ended.items() if status != 0}


def answered(event: dict[str, Any]) -> bool:
    """An event that answers one prompt line of a demo: queued (not a resumed job), a
    dedup hit, refused (in the visitor's words), or rejected (the store was offline)."""
    kind = event["event"]
    if kind == "queued":
        return not event["resumed"]
    if kind == "done":
        return event["job_id"] is None
    return kind in ("refused", "rejected")


def wall_shows(tmux: Tmux, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        screen = tmux.screen()
        if text in screen or time.monotonic() > deadline:
            return screen
        time.sleep(0.5)


@pytest.mark.xdist_group("e2e")
def test_three_booths_and_a_wall_play_one_event(
    tmp_path: Path, pg_server: PgServer, pg_url: str, tiny_models: Path, env: dict[str, str]
) -> None:
    booths = []
    for name in BOOTHS:
        data = tmp_path / name / "data"
        shutil.copytree(tiny_models, data / "tiny-models")  # models at a path of its own
        booths.append(Booth(name, shared_config(tmp_path / name, pg_url, name), data))
    a = booths[0]
    wall_config = shared_config(tmp_path / "wall", pg_url, "wall")
    tmux = Tmux(f"kiosk-three-{os.getpid()}")
    wall = f"{KIOSK} wall --config {wall_config} --data-dir {tmp_path / 'wall' / 'data'}"
    tmux.start(f"env -u COLUMNS -u LINES HF_HUB_OFFLINE=1 {wall}; sleep 600")
    try:
        # 1. The three booths at once: the same prompt typed at hall-a and hall-b; staff
        # at hall-c ban a nickname nobody used yet; hall-b killed in its first batch.
        first = {  # a crowd: two prompts a visitor, so fair play asks no human check
            "hall-a": [f"ada\t{SHARED}", "ana\ta yellow duckling", "ana\ta duckling asleep"],
            "hall-b": [
                f"ben\t{SHARED}",
                *(f"{n}\ta black swan {n}{i}" for n in ("bo", "bob") for i in (1, 2)),
            ],
            "hall-c": ["!ban mallory", "cy\ta swan on a lake", "cat\ta duck in the rain"],
        }
        killed = run_while(booths, first, "first", kill="hall-b")
        assert killed == {"hall-b": -signal.SIGKILL}
        # 2. hall-b restarts (it draws what it had accepted first) and plays on with the
        # others; the database is restarted while all three draw; mallory, banned at
        # hall-c, is refused at hall-a.
        second = {
            "hall-a": [
                "mallory\ta duck",
                *(f"{n}\ta goose {n}{i}" for n in ("al", "amy") for i in (1, 2)),
            ],
            "hall-b": [f"{n}\ta heron {n}{i}" for n in ("bea", "bri") for i in (1, 2)],
            "hall-c": [f"{n}\ta pelican {n}{i}" for n in ("cid", "col") for i in (1, 2)],
        }
        assert run_while(booths, second, "second", pg_server.restart) == {}
        for booth in booths:  # every line answered: accepted, refused, or rejected (offline)
            answers = [e for e in booth.events if e["run"] == "second" and answered(e)]
            assert len(answers) == len(second[booth.name]), booth.events
        (refused,) = the(a.events, "refused", nickname="mallory")
        assert refused["reason"] == "Sorry, this nickname cannot play right now.", refused
        # Any machine with the config reads the event's board (no data dir of its own).
        no_data = str(tmp_path / "no-data-dir")
        board = kiosk(
            "leaderboard", "--json", "--config", str(a.config), "--data-dir", no_data, env=env
        )
        assert board.returncode == 0, board.stderr
        rows = json.loads(board.stdout)
        played = {
            e["nickname"] for x in booths for e in x.events if e["event"] in ("queued", "done")
        }
        assert sorted(r["nickname"] for r in rows) == sorted(played)
        assert {"ada", "ana", "ben", "cy", "cat"} <= played and len(played) >= 9
        # Refused only in words: the ban, and prompts typed while the server was down.
        kinds = {e["kind"] for x in booths for e in the(x.events, "refused")}
        assert kinds <= {"banned", "offline"}, kinds
        # The wall rode out the restart by itself and shows the whole event.
        screen = wall_shows(tmux, f"{len(rows)} players on the board")
        assert all(re.search(rf"\b{r['nickname']}\b", screen) for r in rows[:8]), screen
        print(screen)
    finally:
        tmux.run("kill-server")

    with psycopg.connect(pg_url) as db:
        check_nothing_lost_or_twice(db, booths)
        # The prompt typed at two booths: drawn once, the other booth's copy reuses it.
        shared = db.execute(
            "SELECT booth, dedup_of IS NULL FROM submissions WHERE prompt = %s", (SHARED,)
        ).fetchall()
        assert sorted(booth for booth, _ in shared) == ["hall-a", "hall-b"]
        assert sorted(drawn for _, drawn in shared) == [False, True]
    audit = kiosk("audit", "--json", "--config", str(a.config), "--data-dir", str(a.data), env=env)
    bans = [(r["action"], r["subject"], r["booth"]) for r in json.loads(audit.stdout)]
    assert ("ban", "mallory", "hall-c") in bans, audit.stdout  # seen from hall-a
    print(json.dumps(rows, indent=1))
    for booth in booths:
        accepted = [e for e in booth.events if e["event"] == "queued" and not e["resumed"]]
        resumed = [e for e in booth.events if e["event"] == "queued" and e["resumed"]]
        done = [e for e in booth.events if e["event"] == "done"]
        said_no = sorted(f"{e['nickname']}: {e['kind']}" for e in the(booth.events, "refused"))
        said_no += [e["message"] for e in the(booth.events, "rejected")]
        print(
            f"{booth.name}: {len(accepted)} prompts queued ({sum(e['joined'] for e in accepted)}"
            f" joined another's job), {len(resumed)} resumed at restart"
            f" {[e['nickname'] for e in resumed]}, {len(done)} done,"
            f" refused {said_no}"
        )


def check_nothing_lost_or_twice(db: psycopg.Connection[Any], booths: list[Booth]) -> None:
    """Every prompt a booth reported accepted is one submission; nothing is drawn twice;
    no job is left; every drawing's picture is in the store for every booth."""
    pending = db.execute("SELECT COUNT(*) FROM jobs WHERE state <> 'failed'").fetchone()
    assert pending == (0,)
    twice = db.execute(
        "SELECT dedup_key, COUNT(*) FROM submissions WHERE dedup_of IS NULL"
        " GROUP BY dedup_key HAVING COUNT(*) > 1"
    ).fetchall()
    assert twice == []
    subs = db.execute("SELECT id, job_id, nickname, dedup_of FROM submissions").fetchall()
    originals = {job for _, job, _, of in subs if of is None and job is not None}
    joined = {(job, nick) for _, job, nick, of in subs if of is not None}
    ids = {sid for sid, *_ in subs}
    failed = {j for (j,) in db.execute("SELECT id FROM jobs WHERE state = 'failed'")}
    for booth in booths:
        for e in the(booth.events, "queued"):
            if e["joined"]:
                assert (e["job_id"], e["nickname"]) in joined or e["job_id"] in failed, e
            else:
                assert e["job_id"] in originals or e["job_id"] in failed, e
        for e in the(booth.events, "done"):
            assert e["submission_id"] in ids, e
    print(f"submissions {len(subs)}, pending 0, drawn twice 0, every queued prompt committed")
    missing = db.execute(
        "SELECT s.id FROM submissions s LEFT JOIN pictures p ON p.path = s.image"
        " WHERE s.dedup_of IS NULL AND p.path IS NULL"
    ).fetchall()
    assert missing == []
