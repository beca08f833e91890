"""The store's contract, on SQLite and on PostgreSQL (the `store` and `backend` fixtures,
tests/store_fixtures.py): migrations, leaderboard ties, rank, stats, dedup, one
transaction per job. SQLite's own: durability settings and query plans."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from builders import commit, complete, free_port
from store_fixtures import Backend

from kiosk.core import policy
from kiosk.core.api import KEYBOARD, Job, StoreError
from kiosk.storage import schema
from kiosk.storage.dialect import Conn, Cursor
from kiosk.storage.store import PgStore, Store

AnyStore = Store | PgStore
TABLES = {"players", "targets", "submissions", "jobs", "audit", "best", "waiters", "raffles"}


def make_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "kiosk.db")
    store.meta.sync_targets([("duck", "Duck", "duck.png"), ("swan", "Swan", "swan.png")])
    return store


def test_migrates_empty_database(backend: Backend, store: AnyStore) -> None:
    raw = backend.raw()
    assert backend.dialect.version(raw) == schema.VERSION
    if backend.name == "sqlite":
        names = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        names = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    assert {r[0] for r in raw.execute(names).fetchall()} >= TABLES
    # Opening again migrates nothing and keeps the data.
    commit(store, "ada", "a duck", 0.5)
    store.close()
    assert backend.open().board.stats().submissions == 1
    assert backend.dialect.version(raw) == schema.VERSION


def test_sqlite_is_durable_and_lets_readers_in(tmp_path: Path) -> None:
    """WAL (readers never wait for the writer) and synchronous=FULL (a committed score
    survives power loss)."""
    store = make_store(tmp_path)
    conn = sqlite3.connect(tmp_path / "kiosk.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.conn().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_refuses_newer_schema(backend: Backend) -> None:
    backend.dialect.set_version(backend.raw(), schema.VERSION + 1)
    with pytest.raises(StoreError, match="newer kiosk"):
        backend.open()


def test_leaderboard_best_per_player_ties_to_first(store: AnyStore) -> None:
    commit(store, "ada", "a duck", 0.50)
    commit(store, "bob", "duck on a pond", 0.70)
    commit(store, "ada", "a better duck", 0.80)
    commit(store, "cy", "duck again", 0.70)  # ties bob, but later: ranks after bob
    commit(store, "ada", "a worse duck", 0.10)  # does not lower ada's best
    commit(store, "dee", "swan", 0.99, target="swan")  # other target
    board = store.board.leaderboard("duck", 10)
    assert [(r.rank, r.nickname) for r in board] == [(1, "ada"), (2, "bob"), (3, "cy")]
    assert board[0].percent == pytest.approx(80.0)
    assert board[0].prompt == "a better duck"
    ids = {nick: store.players.get(policy.player_key(nick)) for nick in ("ada", "bob", "cy")}
    assert store.board.rank(ids["bob"][0], "duck") == 2  # type: ignore[index]
    assert store.board.rank(ids["cy"][0], "duck") == 3  # type: ignore[index]
    assert store.board.rank(ids["ada"][0], "swan") is None  # type: ignore[index]
    assert [r.nickname for r in store.board.leaderboard("swan")] == ["dee"]


def test_full_precision_ranks_scores_equal_at_two_decimals(store: AnyStore) -> None:
    commit(store, "ada", "a", 0.874201)
    commit(store, "bob", "b", 0.874209)
    assert [r.nickname for r in store.board.leaderboard("duck")] == ["bob", "ada"]
    assert {policy.format_percent(r.percent) for r in store.board.leaderboard("duck")} == {"87.42%"}


def test_hidden_and_staff_rows_leave_the_board(store: AnyStore) -> None:
    best = commit(store, "ada", "a duck", 0.9)
    commit(store, "ada", "a duck 2", 0.6)
    commit(store, "staffer", "staff duck", 0.95)
    store.moderation.set_staff(policy.player_key("staffer"), True)
    store.moderation.hide_submission(best, reason="rude")
    board = store.board.leaderboard("duck")
    assert [(r.nickname, round(r.cosine, 2)) for r in board] == [("ada", 0.6)]
    audit = store.moderation.audit_log()
    assert [(a.action, a.subject, a.reason) for a in audit] == [
        ("hide-submission", str(best), "rude"),
        ("tag-staff", "staffer", ""),
    ]
    # Soft: the hidden submission is still there.
    assert store.jobs.submission(best) is not None
    # New staff submissions never reach the board.
    commit(store, "staffer", "another", 0.99)
    assert [r.nickname for r in store.board.leaderboard("duck")] == ["ada"]


def test_a_reader_sees_one_snapshot_and_learns_of_commits(
    backend: Backend, store: AnyStore
) -> None:
    """What the wall relies on: data_version changes when another connection commits (at
    once on SQLite; as its notification arrives on PostgreSQL), and reading() keeps
    several reads on one snapshot."""
    reader = backend.open(readonly=True)
    before = reader.data_version()
    commit(store, "ada", "a duck", 0.5)
    deadline = time.monotonic() + 10
    while reader.data_version() == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reader.data_version() != before
    with reader.reading():
        seen = reader.board.stats().submissions
        commit(store, "bob", "a swan", 0.6)
        assert reader.board.stats().submissions == seen == 1
        assert [r.nickname for r in reader.board.leaderboard("duck")] == ["ada"]
    assert reader.board.stats().submissions == 2


def test_a_read_only_store_writes_nothing(backend: Backend, store: AnyStore) -> None:
    reader = backend.open(readonly=True)
    with pytest.raises(StoreError, match=r"nothing was written"):
        reader.players.ensure("ada", "ada")
    assert store.board.stats().players == 0


def test_stats_and_pending_jobs(store: AnyStore) -> None:
    commit(store, "ada", "a", 0.5)
    commit(store, "ada", "b", 0.5)
    commit(store, "bob", "c", 0.5)
    original = store.jobs.find_original(policy.dedup_key("c", "duck", "g", "j"))
    assert original is not None
    like = Job(
        id=0,
        player_id=0,
        nickname="cy",
        target_id="duck",
        raw_prompt="C!",
        prompt="C!",
        norm_prompt="c",
        dedup_key=original.dedup_key,
        seed=original.seed,
        created_at=0.0,
    )
    store.jobs.add_dedup(player_key="cy", nickname="cy", job_like=like, original=original)
    store.jobs.add(
        player_key="dee",
        nickname="dee",
        target_id="duck",
        raw_prompt="d",
        prompt="d",
        norm_prompt="d",
        dedup_key="kd",
        seed=1,
    )
    s = store.board.stats()
    assert (s.players, s.submissions, s.dedup_hits, s.pending_jobs) == (4, 4, 1, 1)
    assert (s.top_submitter, s.top_submitter_count) == ("ada", 2)
    assert [j.nickname for j in store.jobs.pending()] == ["dee"]
    # The dedup row points at the original and shares its image.
    assert store.jobs.find_original(original.dedup_key).id == original.id  # type: ignore[union-attr]
    # A batch's re-check asks for several keys at once: only those drawn, each its original.
    a = policy.dedup_key("a", "duck", "g", "j")
    found = store.jobs.find_originals([a, original.dedup_key, "kd", a])
    assert set(found) == {a, original.dedup_key}
    assert found[original.dedup_key].id == original.id and found[a].nickname == "ada"
    assert store.jobs.find_originals([]) == {}


def test_complete_job_is_one_transaction(backend: Backend, store: AnyStore) -> None:
    job = store.jobs.add(
        player_key="ada",
        nickname="ada",
        target_id="duck",
        raw_prompt="a",
        prompt="a",
        norm_prompt="a",
        dedup_key="k",
        seed=1,
    )
    # Make the last statement of the transaction (removing the job) fail.
    boom = backend.fail_deletes_from("jobs")
    with pytest.raises(boom, match="boom"):
        complete(store, job, 0.5)
    # No half-written row: no submission, no best, no counter bump; the job still pending.
    assert store.board.stats().submissions == 0
    assert store.board.leaderboard("duck") == []
    assert [j.id for j in store.jobs.pending()] == [job.id]


SINGLE_ROW_TABLES = {"counters", "CONSTANT"}  # one row (CONSTANT ROW: no table at all)


def _full_scans(store: Store, sql: str) -> list[str]:
    """Lines of a query's plan that read a whole table or sort in a temp b-tree."""
    plan = [r[3] for r in store.db.conn().execute(f"EXPLAIN QUERY PLAN {sql}")]

    def scans_a_table(line: str) -> bool:
        words = line.split()
        return words[0] == "SCAN" and "USING" not in line and words[1] not in SINGLE_ROW_TABLES

    return [line for line in plan if "TEMP B-TREE" in line or scans_a_table(line)]


def _product_queries(store: AnyStore, trace: Callable[[bool], None]) -> None:
    """The board, rank, stats and dedup lookups the product runs, on three players;
    `trace(True)` before them and `trace(False)` after."""
    for i, nick in enumerate(["ada", "bob", "cy"]):
        commit(store, nick, f"a duck {i}", 0.1 * (i + 1))
    key = policy.dedup_key("a duck 0", "duck", "g", "j")
    pid = store.players.get("ada")
    assert pid is not None
    trace(True)
    store.board.leaderboard("duck", 20)
    store.board.rank(pid[0], "duck")
    store.board.best(pid[0], "duck")
    store.board.stats()
    store.jobs.find_original(key)
    store.players.get("bob")
    store.jobs.waiting_count(pid[0])
    store.jobs.pending()
    store.jobs.add_waiter(
        player_key="dan", nickname="dan", dedup_key=key, raw_prompt="x", prompt="x"
    )
    trace(False)


def test_the_queries_the_product_runs_use_indexes(tmp_path: Path) -> None:
    """Trace the SQL the store really runs for the board, rank, stats and dedup lookups,
    and check each SELECT's plan: no full table scan, no sort."""
    store = make_store(tmp_path)
    seen: list[str] = []
    conn = store.db.conn()
    # statements with their values bound
    _product_queries(store, lambda on: conn.set_trace_callback(seen.append if on else None))
    selects = [q for q in seen if q.lstrip().upper().startswith("SELECT")]
    assert len(selects) >= 10
    for sql in selects:
        assert not _full_scans(store, sql), (sql, _full_scans(store, sql))


def _pg_full_scans(conn: Conn, sql: str, args: Sequence[object]) -> list[str]:
    """Nodes of a query's PostgreSQL plan that read a whole table or sort. Sequential
    scans and sorts are priced out first: on a few rows the planner rightly prefers
    them, so what is left is what no index can serve."""
    (plan,) = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", args).fetchone()[0]
    found, nodes = [], [plan["Plan"]]
    while nodes:
        node = nodes.pop()
        nodes += node.get("Plans", [])
        kind, table = node["Node Type"], node.get("Relation Name", "")
        if kind == "Sort" or (kind == "Seq Scan" and table not in SINGLE_ROW_TABLES):
            found.append(f"{kind} {table}".strip())
    return found


@pytest.fixture
def pg_backend(pg_url: str) -> Iterator[Backend]:
    found = Backend("postgresql", pg_url)
    yield found
    found.close()


def test_the_queries_the_product_runs_use_indexes_on_postgresql(pg_backend: Backend) -> None:
    """The same queries, traced on PostgreSQL and checked with EXPLAIN."""
    backend = pg_backend
    store = backend.open()
    store.meta.sync_targets([("duck", "Duck", "duck.png")])
    conn = store.db.conn()
    seen: list[tuple[str, Sequence[object]]] = []
    run = conn.execute

    def traced(sql: str, args: Sequence[object] = (), /) -> Cursor:
        seen.append((sql, args))
        return run(sql, args)

    _product_queries(store, lambda on: setattr(conn, "execute", traced if on else run))
    selects = [(q, a) for q, a in seen if q.lstrip().upper().startswith("SELECT") and "FROM" in q]
    assert len(selects) >= 10
    raw = backend.raw()
    raw.execute("SET enable_seqscan = off")
    raw.execute("SET enable_sort = off")
    for sql, args in selects:
        assert not _pg_full_scans(raw, sql, args), (sql, _pg_full_scans(raw, sql, args))
    assert _pg_full_scans(raw, "SELECT * FROM submissions WHERE prompt = 'x'", ())
    assert _pg_full_scans(raw, "SELECT * FROM best ORDER BY reached_at", ())


def test_the_plan_check_catches_a_full_scan(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert _full_scans(store, "SELECT * FROM submissions WHERE prompt = 'x'")
    assert _full_scans(store, "SELECT * FROM best ORDER BY reached_at")


def test_forward_migration_keeps_and_counts_existing_data(backend: Backend) -> None:
    conn = backend.raw()
    backend.build_schema(conn, 1)
    conn.execute(
        "INSERT INTO players(key, nickname, submissions, dedup_hits, created_at)"
        " VALUES ('ada', 'Ada', 5, 2, 0), ('bob', 'Bob', 1, 0, 0)"
    )
    store = backend.open()
    assert backend.dialect.version(conn) == schema.VERSION >= 2
    s = store.board.stats()
    assert (s.players, s.submissions, s.dedup_hits, s.top_submitter) == (2, 6, 2, "Ada")


def test_a_pending_job_from_before_sources_resumes_as_the_keyboards(backend: Backend) -> None:
    """Schema 11: jobs remember their source; one written before it came from the
    keyboard (the only source then), and a new one keeps the phone it came from."""
    conn = backend.raw()
    backend.build_schema(conn, 10)
    conn.execute("INSERT INTO players(key, nickname, created_at) VALUES ('ada', 'Ada', 0)")
    conn.execute("INSERT INTO targets(id, title, image) VALUES ('duck', 'A duck', 'duck.png')")
    conn.execute(
        "INSERT INTO jobs(player_id, target_id, raw_prompt, prompt, norm_prompt, dedup_key,"
        " seed, created_at) VALUES (1, 'duck', 'a duck', 'a duck', 'a duck', 'k1', 1, 0)"
    )
    store = backend.open()
    assert backend.dialect.version(conn) == schema.VERSION >= 11
    (old,) = store.jobs.pending()
    assert (old.nickname, old.source) == ("Ada", KEYBOARD)
    new = store.jobs.add(
        player_key="bob",
        nickname="bob",
        target_id="duck",
        raw_prompt="b",
        prompt="b",
        norm_prompt="b",
        dedup_key="kb",
        seed=1,
        source="phone:abc",
    )
    assert [j.source for j in store.jobs.pending()] == [KEYBOARD, "phone:abc"] and new.source


def test_job_ids_are_never_reused(store: AnyStore) -> None:
    first = commit(store, "ada", "a duck", 0.5)
    sub = store.jobs.submission(first)
    assert sub is not None and store.board.stats().pending_jobs == 0  # the job row is gone
    job = store.jobs.add(
        player_key="bob",
        nickname="bob",
        target_id="duck",
        raw_prompt="b",
        prompt="b",
        norm_prompt="b",
        dedup_key="kb",
        seed=1,
    )
    used = store.db.conn().execute("SELECT job_id FROM submissions").fetchall()
    assert job.id not in {u[0] for u in used}


def test_an_unreachable_shared_store_is_a_clear_error_without_the_password() -> None:
    url = f"postgresql://kiosk:s3cret@127.0.0.1:{free_port()}/event"
    with pytest.raises(
        StoreError, match=r"cannot reach the store at postgresql://kiosk:\*\*\*@"
    ) as e:
        PgStore(url)
    assert "s3cret" not in str(e.value) and "refused" in str(e.value)


def test_a_lost_connection_is_said_plainly_and_the_next_use_reconnects(
    pg_backend: Backend,
) -> None:
    """The server dropped every connection (a restart, a network cut): the statement that
    finds out fails with one line (a write: nothing written), the next one reconnects."""
    store = pg_backend.open()
    store.meta.sync_targets([("duck", "Duck", "duck.png")])
    commit(store, "ada", "a duck", 0.5)
    raw = pg_backend.raw()
    cut = (
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"  # waits for the end
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    raw.execute(cut)
    with pytest.raises(StoreError, match=r"^the store at postgresql://\S+: \w"):
        store.board.stats()
    assert store.board.stats().submissions == 1
    raw.execute(cut)
    with pytest.raises(StoreError, match=r"^could not save .* nothing was written$"):
        commit(store, "bob", "a swan", 0.6)
    commit(store, "bob", "a swan", 0.6)
    assert store.board.stats().submissions == 2 and store.jobs.pending() == []


def test_booths_opening_a_new_store_at_once_migrate_it_once(backend: Backend) -> None:
    """Several kiosks starting on one empty store: each migration step runs once, under
    the write lock, and every kiosk opens it."""
    with ThreadPoolExecutor(3) as pool:
        opened = list(pool.map(lambda _: backend.open(), range(3)))
    assert len(opened) == 3
    assert backend.dialect.version(backend.raw()) == schema.VERSION


def test_booths_writing_at_once_keep_exact_counts(backend: Backend, store: AnyStore) -> None:
    """Two stores on one database (two booths), four threads each, the same players:
    one player row per nickname, every submission counted once, the board exact."""
    other = backend.open()
    names = ["ada", "bob", "cy", "dee"]

    def play(args: tuple[int, AnyStore]) -> None:
        i, booth = args
        for n in range(5):
            commit(booth, names[(i + n) % 4], f"prompt {i} {n}", 0.01 * (10 * i + n))
        booth.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(play, [(i, store if i % 2 else other) for i in range(8)]))
    s = store.board.stats()
    assert (s.players, s.submissions, s.pending_jobs) == (4, 40, 0)
    board = store.board.leaderboard("duck")
    assert sorted(r.nickname for r in board) == names
    assert [r.cosine for r in board] == sorted((r.cosine for r in board), reverse=True)


def _sqlite_shape(path: Path) -> tuple[set[tuple[str, str, bool]], set[str]]:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    columns = {
        (t, str(c[1]), bool(c[3] or c[5]))  # NOT NULL, or part of the primary key
        for t in tables
        if not t.startswith("sqlite_")
        for c in conn.execute(f"PRAGMA table_info({t})")
    }
    indexes = {
        str(r[0])
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }
    return columns, indexes


def test_both_stores_have_the_same_tables_columns_and_indexes(
    tmp_path: Path, pg_backend: Backend
) -> None:
    """One schema, two spellings: every table, column (and whether it may be NULL) and
    named index of SQLite's store is in PostgreSQL's, and nothing else but the version."""
    make_store(tmp_path).close()
    columns, indexes = _sqlite_shape(tmp_path / "kiosk.db")
    pg_backend.open()
    raw = pg_backend.raw()
    pg_columns = {
        (str(t), str(c), n == "NO")
        for t, c, n in raw.execute(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name != 'kiosk_schema'"
        ).fetchall()
    }
    pg_indexes = {
        str(r[0])
        for r in raw.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"  # keys, UNIQUE
        ).fetchall()
    }
    assert pg_columns == columns
    assert pg_indexes == indexes
