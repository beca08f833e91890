"""The shared store's event as SQLite: a snapshot of it is the SQLite event it was copied
from (`kiosk store copy` the other way); `kiosk export` exports it as it exports a data
dir; `kiosk event new` archives it as a single booth archives its own and empties the
store for the fresh event, refused while a booth runs on it; `kiosk event list` counts
it. On a real PostgreSQL server, through the real `kiosk` command."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from builders import REPO, accept, commit, free_port, shared_config
from kiosk_cmd import kiosk
from store_fixtures import TARGETS
from test_event_days import image_hashes, table_rows
from test_store_copy import build_event, view

from kiosk.core import policy
from kiosk.storage.archive import count_event
from kiosk.storage.copy import TABLES, copy_event
from kiosk.storage.images import blurred_relpath
from kiosk.storage.snapshot import snapshot_store
from kiosk.storage.store import PgStore, Store

REPO_CONFIG = REPO / "kiosk.toml"


@pytest.fixture
def event(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """The rich SQLite event of test_store_copy, with its drawings' files (a held one's
    blurred stand-in too)."""
    db = tmp_path / "data" / "kiosk.db"
    ids = build_event(db)
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE submissions SET review = 1 WHERE id = ?", (ids["dee"],))
        images = [str(r[0]) for r in raw.execute("SELECT DISTINCT image FROM submissions")]
        held = [str(r[0]) for r in raw.execute("SELECT image FROM submissions WHERE review = 1")]
    for rel in [*images, *map(blurred_relpath, held)]:
        (db.parent / rel).parent.mkdir(parents=True, exist_ok=True)
        (db.parent / rel).write_bytes(f"picture {rel}".encode())
    return db, ids


@pytest.fixture
def shared(event: tuple[Path, dict[str, int]], pg_url: str) -> str:
    """The event copied into the shared store."""
    copy_event(event[0], pg_url)
    return pg_url


def cmd(config: Path, data_dir: Path, *args: str) -> tuple[int, str, str]:
    done = kiosk("--config", str(config), "--data-dir", str(data_dir), *args, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def store_rows(url: str) -> dict[str, int]:
    with psycopg.connect(url) as raw:
        return {t: raw.execute(f"SELECT COUNT(*) FROM {t}").fetchall()[0][0] for t in TABLES}


def test_a_snapshot_of_the_shared_store_is_the_sqlite_event_it_came_from(
    event: tuple[Path, dict[str, int]], shared: str, tmp_path: Path
) -> None:
    db, ids = event
    dest = tmp_path / "snap"
    dest.mkdir()
    done = snapshot_store(shared, dest)
    assert done.rows["players"] == 8 and done.files == len(image_hashes(db.parent))
    # Every row of every table (ids, the jobs' AUTOINCREMENT counter) and every file.
    assert table_rows(dest / "kiosk.db") == table_rows(db)
    assert image_hashes(dest) == image_hashes(db.parent)
    again, original = Store(dest / "kiosk.db", readonly=True), Store(db, readonly=True)
    try:
        assert view(again, ids["rid"]) == view(original, ids["rid"])
    finally:
        again.close()
        original.close()


def test_export_on_the_shared_store_writes_the_same_csvs_as_on_sqlite(
    event: tuple[Path, dict[str, int]], shared: str, tmp_path: Path
) -> None:
    db, _ = event
    config = shared_config(tmp_path, shared)
    code, _, err = cmd(REPO_CONFIG, db.parent, "export", "--out", str(tmp_path / "a"), "--json")
    assert code == 0, err
    code, out, err = cmd(config, tmp_path / "booth", "export", "--out", str(tmp_path / "b"))
    assert code == 0, err
    assert "exported to" in out
    files = sorted(p.name for p in (tmp_path / "a").glob("*.csv"))
    assert "submissions.csv" in files and "audit.csv" in files
    assert sorted(p.name for p in (tmp_path / "b").glob("*.csv")) == files
    for name in files:
        assert read_csv(tmp_path / "b" / name) == read_csv(tmp_path / "a" / name), name
    assert "booth" in read_csv(tmp_path / "b" / "submissions.csv")[0]
    assert image_hashes(tmp_path / "b") == image_hashes(tmp_path / "a")
    assert not list(tmp_path.glob(".kiosk-snapshot-*"))  # the snapshot is gone


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_event_new_archives_the_shared_event_and_starts_a_fresh_one(
    event: tuple[Path, dict[str, int]], shared: str, tmp_path: Path
) -> None:
    db, _ = event
    config, here = shared_config(tmp_path, shared), tmp_path / "office"
    before = store_rows(shared)
    code, _, err = cmd(config, here, "event", "new")  # a prompt still waits to be drawn
    assert code == 2 and "still waiting to be drawn" in err and "--force" in err
    assert store_rows(shared) == before and not list((here / "events").iterdir())

    code, out, err = cmd(config, here, "event", "new", "--force", "--name", "Day one")
    assert code == 0, err
    (archive,) = (here / "events").iterdir()
    assert archive.name.endswith("-day-one") and "A fresh event starts now" in out
    # The archive is the whole event, as SQLite had it, and opens as any data dir.
    assert table_rows(archive / "kiosk.db") == table_rows(db)
    assert image_hashes(archive) == image_hashes(db.parent)
    assert json.loads((archive / "event.json").read_text())["name"] == "Day one"
    code, out, err = cmd(REPO_CONFIG, archive, "leaderboard", "--target", "duck", "--json")
    assert code == 0, err
    board = Store(db, readonly=True)
    try:
        rows = board.board.leaderboard("duck", 50)
    finally:
        board.close()
    assert [(r["nickname"], r["cosine"]) for r in json.loads(out)] == [
        (r.nickname, r.cosine) for r in rows
    ]
    assert len(rows) > 1

    # The store starts the fresh event as a fresh SQLite database does: staff's settings
    # carried (a ban, a hidden player, word changes), nothing else.
    fresh = PgStore(shared)
    try:
        assert fresh.event_counts().empty and fresh.board.stats().players == 0
        mallory, bob = (fresh.players.flags(policy.player_key(n)) for n in ("mallory", "bob"))
        assert mallory is not None and mallory.banned and bob is not None and bob.hidden
        assert fresh.words.changes() == [
            ("rubber", True),
            ("duck", False),
        ]
        assert {a.action for a in fresh.moderation.audit_log()} == {
            "ban",
            "hide",
            "block-word",
            "unblock-word",
        }
    finally:
        fresh.shutdown()
    left = store_rows(shared)
    assert left["submissions"] == left["jobs"] == left["pictures"] == left["raffles"] == 0

    code, out, err = cmd(config, here, "event", "list", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed["current"]["players"] == 0 and listed["store"].startswith("postgresql://")
    assert [(a["name"], a["players"]) for a in listed["archives"]] == [
        ("Day one", count_event(db).players)
    ]


def test_event_new_is_refused_while_a_booth_runs_on_the_store(
    event: tuple[Path, dict[str, int]], shared: str, tmp_path: Path
) -> None:
    running = PgStore(shared, booth="hall-a")
    running.moderation.record("pause", reason="the store has seen hall-a")
    running.hold_booth()  # what a running kiosk holds (engine start)
    unknown = PgStore(shared, booth="hall-z")
    unknown.hold_booth()  # a booth that has written nothing yet
    before = store_rows(shared)
    config = shared_config(tmp_path, shared)
    try:
        code, _, err = cmd(config, tmp_path / "office", "event", "new", "--force")
    finally:
        running.shutdown()
        unknown.shutdown()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "2 booths are running on the store" in err, err
    assert "hall-a, one not seen in this event yet (server process" in err
    assert store_rows(shared) == before
    assert not [p for p in (tmp_path / "office" / "events").iterdir()]


def test_event_new_that_fails_midway_leaves_the_store_and_no_archive(
    event: tuple[Path, dict[str, int]], shared: str, tmp_path: Path
) -> None:
    with psycopg.connect(shared, autocommit=True) as raw:
        raw.execute(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'boom'; END $$"
        )
        raw.execute(
            "CREATE TRIGGER boom BEFORE DELETE ON best FOR EACH ROW EXECUTE FUNCTION boom()"
        )
    before = store_rows(shared)
    code, _, err = cmd(
        shared_config(tmp_path, shared), tmp_path / "office", "event", "new", "--force"
    )
    assert code == 2 and "boom" in err, err
    assert store_rows(shared) == before
    assert not list((tmp_path / "office" / "events").iterdir())  # no archive, no temp folder


def test_event_commands_on_an_unreachable_store_say_so_plainly(tmp_path: Path) -> None:
    config = shared_config(tmp_path, f"postgresql://kiosk@127.0.0.1:{free_port()}/event")
    for command in (["export", "--out", str(tmp_path / "x")], ["event", "new"], ["event", "list"]):
        code, _, err = cmd(config, tmp_path / "data", *command)
        assert code == 2 and "cannot reach the store" in err, err


def test_event_counts_come_through_either_store_by_one_rule(store: Store | PgStore) -> None:
    """`kiosk event list` counts the live event through the store, SQLite or shared, with
    the rule that counts an archived file; no booth runs on a fresh store."""
    commit(store, "ada", "a duck", 0.5)
    pending = accept(store, "bob", "a swan", target="swan")
    store.jobs.add_waiter(
        player_key=policy.player_key("cy"),
        nickname="cy",
        dedup_key=pending.dedup_key,
        raw_prompt="a swan",
        prompt="a swan",
    )
    counts = store.event_counts()
    assert (counts.players, counts.drawings, counts.submissions) == (3, 1, 1)
    assert (counts.pending_jobs, counts.waiting, counts.queued_prompts) == (1, 1, 2)
    assert store.booths.running() == []


def test_a_snapshot_is_consistent_while_a_booth_goes_on_drawing(
    pg_url: str, tmp_path: Path
) -> None:
    """Every table is read in one snapshot: the totals match the rows, and every best
    score points at a drawing, however the booth's commits fall between the tables."""
    booth = PgStore(pg_url)
    booth.meta.sync_targets(TARGETS)
    stop = threading.Event()

    drawn = [0]

    def draw() -> None:
        while not stop.is_set():
            n = drawn[0]
            commit(booth, f"p{n % 40}", f"a duck number {n}", 0.3 + (n % 50) / 100)
            drawn[0] += 1

    writer = threading.Thread(target=draw)
    writer.start()
    try:
        for i in range(3):
            dest = tmp_path / f"snap{i}"
            dest.mkdir()
            snapshot_store(pg_url, dest)
            with closing(sqlite3.connect(dest / "kiosk.db")) as raw:
                assert one(raw, "SELECT submissions FROM counters") == one(
                    raw, "SELECT COUNT(*) FROM submissions"
                )
                assert one(raw, "SELECT players FROM counters") == one(
                    raw, "SELECT COUNT(*) FROM players WHERE played = 1"
                )
                orphans = "SELECT COUNT(*) FROM best WHERE submission_id NOT IN"
                assert one(raw, f"{orphans} (SELECT id FROM submissions)") == 0
        assert drawn[0] > 0  # the booth drew meanwhile
    finally:
        stop.set()
        writer.join()
        booth.shutdown()


def one(raw: sqlite3.Connection, sql: str) -> object:
    return raw.execute(sql).fetchone()[0]
