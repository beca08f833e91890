"""`kiosk store copy`: a single booth's SQLite event moved into an empty PostgreSQL store
reads the same there through the StoreAPI, and goes on from there with fresh ids."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from builders import accept, commit, complete, free_port
from kiosk_cmd import kiosk
from store_fixtures import TARGETS

from kiosk.core import policy
from kiosk.core.api import StoreError
from kiosk.core.ports import StoreAPI
from kiosk.storage import schema
from kiosk.storage.copy import TABLES, CopyError, copy_event
from kiosk.storage.lock import DataDirBusy, DataDirLock
from kiosk.storage.store import PgStore, Store

PLAYERS = ["ada", "bob", "cy", "dee", "eve", "fay", "gus", "mallory"]


def build_event(db: Path) -> dict[str, int]:
    """An SQLite event made through the real store: drawings on two targets, dedup hits,
    a hidden drawing, a hidden player, a ban, a code, words, a raffle with a redraw,
    refusals, a pending job with a waiter and a failed one. Returns a few ids."""
    store = Store(db)
    store.meta.sync_targets(TARGETS)
    store.meta.swap("decoder", "taesd")
    ids = {
        "ada": commit(store, "ada", "a duck", 0.61),
        "bob": commit(store, "bob", "a swan on a lake", 0.72),
        "cy": commit(store, "cy", "yellow bird", 0.44),
        "dee": commit(store, "dee", "white swan", 0.55, target="swan"),
    }
    commit(store, "ada", "a duck, better", 0.66)
    for nickname in ("eve", "fay"):  # the same prompt again: dedup hits of ada's drawing
        job = accept(store, nickname, "a duck")
        original = store.jobs.find_original(job.dedup_key)
        assert original is not None
        store.jobs.complete_as_dedup(job, original)
    store.moderation.hide_submission(ids["cy"], reason="rude")
    store.moderation.hide_player(policy.player_key("bob"), True, reason="spam")
    store.moderation.set_banned(policy.player_key("mallory"), True, nickname="mallory")
    store.moderation.count_refusal(policy.player_key("ada"))
    store.players.set_code_hash(
        policy.player_key("ada"), "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", actor="staff"
    )
    store.words.set("rubber", True, reason="test")
    store.words.set("duck", False)
    entrants = store.raffles.entrants("duck")
    rid = store.raffles.add(
        target_id="duck", wanted=1, rule="best", seed=3, eligible=entrants, winners=entrants[:1]
    )
    store.raffles.add_redraw(rid, "ada", "eve", 4, candidates=entrants[1:])
    pending = accept(store, "gus", "a lighthouse")
    store.jobs.add_waiter(
        player_key=policy.player_key("eve"),
        nickname="eve",
        dedup_key=pending.dedup_key,
        raw_prompt="a lighthouse",
        prompt="a lighthouse",
    )
    failed = accept(store, "dee", "a storm", target="swan")
    store.jobs.record_attempt(failed.id, "oom")
    store.jobs.fail(failed.id, "out of memory")
    # The last job is finished (its row deleted): the copy's next job id must pass it.
    last = accept(store, "cy", "a duck in the rain")
    ids["last"], ids["last_job"], ids["rid"] = complete(store, last, 0.5), last.id, rid
    store.close()
    return ids


def view(store: StoreAPI, rid: int) -> dict[str, Any]:
    """Everything a booth, wall, staff screen or export reads, through the StoreAPI."""
    pids = {n: store.players.get(policy.player_key(n)) for n in PLAYERS}
    return {
        "board": {t: store.board.leaderboard(t, 50) for t, _, _ in TARGETS},
        "ranks": {
            (n, t): store.board.rank(p[0], t) for n, p in pids.items() if p for t, _, _ in TARGETS
        },
        "ranked": {t: store.board.ranked_count(t) for t, _, _ in TARGETS},
        "players": pids,
        "flags": {n: store.players.flags(policy.player_key(n)) for n in PLAYERS},
        "codes": {n: store.players.code_hash(policy.player_key(n)) for n in PLAYERS},
        "stats": store.board.stats(),
        "event_stats": store.moderation.event_stats(),
        "recent": store.board.recent(100),
        "visible": store.board.visible_recent(50),
        "held": store.board.held(),
        "audit": store.moderation.audit_log(),
        "raffle": store.raffles.get(rid),
        "latest_raffle": store.board.latest_raffle(),
        "entrants": store.raffles.entrants("duck"),
        "words": store.words.changes(),
        "meta": store.meta.get("decoder"),
        "pending": store.jobs.pending(),
        "waiters": store.jobs.waiters(),
        "dedup": store.jobs.find_original(policy.dedup_key("a duck", "duck", "g", "j")),
    }


def fingerprint(folder: Path) -> dict[str, str]:
    """The data dir's data by content: every file but the lock file, SQLite's shared-memory
    index and an empty write-ahead log (a reader of a WAL database may leave both)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
        and p.name not in ("kiosk.storage.lock", "kiosk.db-shm")
        and not (p.name == "kiosk.db-wal" and p.stat().st_size == 0)
    }


@pytest.fixture
def event(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    db = tmp_path / "data" / "kiosk.db"
    return db, build_event(db)


def test_a_copied_event_reads_the_same_and_goes_on_with_fresh_ids(
    event: tuple[Path, dict[str, int]], pg_url: str
) -> None:
    db, ids = event
    before = fingerprint(db.parent)
    done = copy_event(db, pg_url)
    assert fingerprint(db.parent) == before  # the SQLite source was only read
    assert done.rows["players"] == len(PLAYERS) and done.rows["jobs"] == 2
    sqlite, pg = Store(db, readonly=True), PgStore(pg_url)
    try:
        assert view(pg, ids["rid"]) == view(sqlite, ids["rid"])
        assert view(pg, ids["rid"])["pending"][0].prompt == "a lighthouse"
        # The shared store goes on: a new drawing gets a fresh id and ranks.
        hal = accept(pg, "hal", "a duck at dawn")
        assert hal.id > ids["last_job"]
        sid = commit(pg, "hal", "a golden duck", 0.95)
        assert sid > ids["last"]
        hal_id = pg.players.get(policy.player_key("hal"))
        assert hal_id is not None and pg.board.rank(hal_id[0], "duck") == 1
        assert pg.board.leaderboard("duck", 1)[0].nickname == "hal"
        assert pg.board.stats().submissions == sqlite.board.stats().submissions + 1
        entrants = pg.raffles.entrants("duck")
        rid = pg.raffles.add(
            target_id="duck", wanted=1, rule="best", seed=5, eligible=entrants, winners=[]
        )
        assert rid > ids["rid"] and pg.board.latest_raffle() == rid
        assert pg.moderation.audit_log(1)[0].id > sqlite.moderation.audit_log(1)[0].id
    finally:
        sqlite.close()
        pg.close()
        pg.shutdown()


def test_a_store_that_holds_an_event_is_refused_and_left_alone(
    event: tuple[Path, dict[str, int]], pg_url: str
) -> None:
    db, _ = event
    copy_event(db, pg_url)
    with pytest.raises(CopyError, match="already holds an event"):
        copy_event(db, pg_url)
    with psycopg.connect(pg_url) as raw:
        assert raw.execute("SELECT COUNT(*) FROM players").fetchone() == (len(PLAYERS),)


def test_a_store_a_booth_only_opened_counts_as_empty(
    event: tuple[Path, dict[str, int]], pg_url: str
) -> None:
    """A booth that opened the shared store first recorded its targets and settings, no
    event: the copy goes ahead and the source's set-up replaces them."""
    db, _ = event
    opened = PgStore(pg_url)
    opened.meta.sync_targets([("duck", "A duck", "other.png"), ("owl", "Owl", "owl.png")])
    opened.meta.swap("decoder", "full")
    opened.shutdown()
    copy_event(db, pg_url)
    with psycopg.connect(pg_url) as raw:
        assert raw.execute("SELECT id, image FROM targets ORDER BY id").fetchall() == [
            (t, image) for t, _, image in TARGETS
        ]
        assert raw.execute("SELECT value FROM meta WHERE key = 'decoder'").fetchone() == ("taesd",)


def test_a_data_dir_a_kiosk_runs_on_is_refused(
    event: tuple[Path, dict[str, int]], pg_url: str
) -> None:
    """Its pending jobs would be drawn twice: there, and from the shared store."""
    db, _ = event
    with DataDirLock(db.parent), pytest.raises(DataDirBusy):
        copy_event(db, pg_url)
    with psycopg.connect(pg_url) as raw:
        assert raw.execute("SELECT to_regclass('players')").fetchone() == (None,)


def test_a_file_that_is_no_kiosk_database_is_refused_plainly(tmp_path: Path, pg_url: str) -> None:
    db = tmp_path / "kiosk.db"
    db.write_bytes(b"not a database" * 100)
    with pytest.raises(CopyError, match="cannot read"):
        copy_event(db, pg_url)


def test_a_database_of_another_schema_version_is_refused(
    event: tuple[Path, dict[str, int]], pg_url: str
) -> None:
    db, _ = event
    with closing(sqlite3.connect(db)) as raw:
        raw.execute(f"PRAGMA user_version = {schema.VERSION - 1}")
    with pytest.raises(CopyError, match="open it once with this kiosk"):
        copy_event(db, pg_url)


def test_an_unreachable_store_is_refused_plainly(event: tuple[Path, dict[str, int]]) -> None:
    db, _ = event
    with pytest.raises(StoreError, match="cannot reach the store"):
        copy_event(db, f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")


def test_a_copy_that_fails_midway_leaves_the_store_empty(
    event: tuple[Path, dict[str, int]], pg_url: str
) -> None:
    db, _ = event
    PgStore(pg_url).shutdown()  # the schema, so a table can be made to fail
    with psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'boom'; END $$"
        )
        raw.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON raffles FOR EACH ROW EXECUTE FUNCTION boom()"
        )
    with pytest.raises(CopyError, match="boom; nothing was copied"):
        copy_event(db, pg_url)
    with psycopg.connect(pg_url) as raw:
        for table in TABLES:
            if table != "counters":
                assert raw.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table


def test_the_command_copies_the_rows_and_the_drawings_files(
    event: tuple[Path, dict[str, int]], pg_url: str
) -> None:
    db, _ = event
    with sqlite3.connect(db) as raw:
        images = [r[0] for r in raw.execute("SELECT DISTINCT image FROM submissions")]
    for i, rel in enumerate(images[:2]):  # two drawings' files here; the others are gone
        (db.parent / rel).parent.mkdir(parents=True, exist_ok=True)
        (db.parent / rel).write_bytes(f"picture {i}".encode())
    done = kiosk("--data-dir", str(db.parent), "store", "copy", "--to", pg_url)
    assert done.returncode == 0, done.stderr
    assert f"{len(PLAYERS)} players" in done.stdout
    assert "2 drawing files" in done.stdout and "in the store too" in done.stdout
    with psycopg.connect(pg_url) as raw:
        kept: dict[str, bytes] = dict(raw.execute("SELECT path, data FROM pictures").fetchall())
    assert kept == {rel: f"picture {i}".encode() for i, rel in enumerate(images[:2])}
    again = kiosk("--data-dir", str(db.parent), "store", "copy", "--to", pg_url)
    assert again.returncode == 2
    assert "already holds an event" in again.stderr and "Traceback" not in again.stderr
