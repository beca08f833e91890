"""Store at scale, on SQLite and on PostgreSQL side by side: commit latency per drawing,
board and rank p99 at a large number of submissions.

Fills each store in bulk (same schema, the rows the store writes, the same best-table
rule), then times the hot queries through the real StoreAPI and the real commit path
(accept a job, commit its drawing: two durable transactions per drawing). PostgreSQL runs
on a throwaway cluster started here (127.0.0.1 only, fsync on, stopped at the end), or on
`--url` (an empty database, which the bench fills). Prints one line per figure and a
summary line. Not a test.

    .venv/bin/python bench/store_scale.py [--submissions N] [--players P] [--inserts K]
        [--backends sqlite,postgresql] [--url postgresql://...]

The issue's size is `--submissions 1000000`; the default runs in a few minutes.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg_cluster import NoServer, throwaway

from kiosk.core import policy
from kiosk.core.api import Result
from kiosk.storage.store import PgStore, Store

TARGETS = ["duck-and-swan", "duck", "swan"]
BATCH = 50_000
SUBMISSION_COLUMNS = (
    "id, player_id, nickname, target_id, raw_prompt, prompt, norm_prompt, dedup_key, image,"
    " cosine, percent, seed, created_at, generator, judge"
)


def submissions(n_subs: int, n_players: int, targets: list[str]) -> Iterator[list[tuple[Any, ...]]]:
    """The submissions, in batches: the same rows (seeded) for every backend."""
    rng = random.Random(7)
    now = time.time()
    for start in range(0, n_subs, BATCH):
        rows = []
        for sid in range(start + 1, min(start + BATCH, n_subs) + 1):
            pid = rng.randint(1, n_players)
            cos = rng.random()
            key = f"{sid:064x}"
            target = rng.choice(targets)
            image = f"images/{key[:2]}/{key}.webp"
            rows.append(
                (sid, pid, f"player {pid}", target, "p", "p", "p", key, image, cos,
                 100 * cos, sid, now + sid, "g", "j")
            )  # fmt: skip
        yield rows


def fill(store: Store | PgStore, n_subs: int, n_players: int, targets: list[str] = TARGETS) -> None:
    """Players, submissions, then each player's best per target and the totals, derived
    in SQL as the store's own rule (best score, the first to reach it)."""
    now = time.time()
    players = ((i, f"p{i}", f"player {i}", now) for i in range(1, n_players + 1))
    _bulk(store, "players", "id, key, nickname, created_at", players)
    for rows in submissions(n_subs, n_players, targets):
        _bulk(store, "submissions", SUBMISSION_COLUMNS, rows)
    with store.db.transaction() as c:
        c.execute(
            "INSERT INTO best(target_id, player_id, submission_id, cosine, reached_at)"
            " SELECT target_id, player_id, id, cosine, created_at FROM (SELECT target_id,"
            " player_id, id, cosine, created_at, ROW_NUMBER() OVER (PARTITION BY target_id,"
            " player_id ORDER BY cosine DESC, id) AS n FROM submissions) AS ranked WHERE n = 1"
        )
        c.execute(
            "UPDATE players SET submissions = t.n, drawn = t.n FROM (SELECT player_id,"
            " COUNT(*) AS n FROM submissions GROUP BY player_id) AS t"
            " WHERE players.id = t.player_id"
        )
        c.execute(
            "UPDATE counters SET players = (SELECT COUNT(*) FROM players),"
            " submissions = (SELECT COUNT(*) FROM submissions)"
        )
    if isinstance(store, PgStore):
        store.db.conn().execute(
            "SELECT setval(pg_get_serial_sequence('submissions', 'id'), ?)", (n_subs,)
        )
        store.db.conn().execute(
            "SELECT setval(pg_get_serial_sequence('players', 'id'), ?)", (n_players,)
        )
        store.db.conn().execute("VACUUM ANALYZE")  # statistics and the visibility map
    else:
        store.db.conn().execute("ANALYZE")


def _bulk(store: Store | PgStore, table: str, columns: str, rows: Any) -> None:
    """Rows in one transaction: PostgreSQL by COPY, SQLite by executemany."""
    with store.db.transaction() as c:
        if isinstance(store, PgStore):
            raw = store.db.conn().raw
            with raw.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns.split(",")))
            c.executemany(f"INSERT INTO {table}({columns}) VALUES ({marks})", rows)


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def timeit(fn: Callable[[], object], n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return percentiles(times)


def queries(store: Store | PgStore, args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    """p50 and p99 (ms) of the hot reads, through the StoreAPI."""
    rng = random.Random(1)
    reads: dict[str, Callable[[], object]] = {
        "leaderboard top 20": lambda: store.board.leaderboard("duck-and-swan", 20),
        "player rank": lambda: store.board.rank(rng.randint(1, args.players), "duck-and-swan"),
        "stats": store.board.stats,
        "dedup lookup": lambda: store.jobs.find_original(
            f"{rng.randint(1, args.submissions):064x}"
        ),
    }
    return {name: timeit(fn, args.reads) for name, fn in reads.items()}


def commits(store: Store | PgStore, args: argparse.Namespace) -> dict[str, Any]:
    """The real commit path, timed per drawing: accept (the job row), then commit (the
    submission, best, counters and the job's removal in one transaction)."""
    rng = random.Random(2)
    accepted, committed = [], []
    t0 = time.perf_counter()
    for i in range(args.inserts):
        key = policy.dedup_key(f"bench {i}", "duck", "g", "j")
        t = time.perf_counter()
        job = store.jobs.add(
            player_key=f"p{rng.randint(1, args.players)}",
            nickname="x",
            target_id="duck",
            raw_prompt="b",
            prompt="b",
            norm_prompt="b",
            dedup_key=key,
            seed=1,
        )
        accepted.append((time.perf_counter() - t) * 1000)
        result = Result(
            image=f"images/{key[:2]}/{key}.webp",
            cosine=rng.random(),
            percent=50.0,
            gen_ms=1.0,
            judge_ms=1.0,
            generator="g",
            judge="j",
        )
        t = time.perf_counter()
        store.jobs.complete(job, result)
        committed.append((time.perf_counter() - t) * 1000)
    rate = args.inserts / (time.perf_counter() - t0)
    return {"accept": percentiles(accepted), "commit": percentiles(committed), "rate": rate}


def measure(name: str, store: Store | PgStore, args: argparse.Namespace) -> dict[str, Any]:
    store.meta.sync_targets([(t, t, f"{t}.png") for t in TARGETS])
    t0 = time.perf_counter()
    fill(store, args.submissions, args.players)
    figures: dict[str, Any] = {"fill": time.perf_counter() - t0}
    print(
        f"{name}: filled {args.submissions:,} submissions, {args.players:,} players"
        f" in {figures['fill']:.1f} s",
        flush=True,
    )
    figures.update(queries(store, args))
    figures.update(commits(store, args))
    return figures


def _empty(store: PgStore, where: str) -> None:
    if store.board.stats().players or store.board.stats().submissions:
        raise SystemExit(f"store_scale: {where} already holds an event; give it an empty database")


def run_backend(name: str, args: argparse.Namespace, stack: ExitStack) -> dict[str, Any] | str:
    """One backend's figures, or why it was skipped."""
    if name == "sqlite":
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        return measure(name, Store(Path(folder) / "kiosk.db"), args)
    try:
        url = args.url or stack.enter_context(throwaway())
    except NoServer as exc:
        return f"skipped: {exc}"
    store = PgStore(url)
    stack.callback(store.shutdown)
    _empty(store, url)
    return measure(name, store, args)


def show(results: dict[str, dict[str, Any] | str], args: argparse.Namespace) -> None:
    names = list(results)
    print(f"\n{'figure':>28} | " + " | ".join(f"{n:>22}" for n in names))

    def cell(n: str, key: str) -> str:
        r = results[n]
        if isinstance(r, str):
            return r[:22]
        v = r[key]
        if key == "fill":
            return f"{v:.1f} s"
        if key == "rate":
            return f"{v:,.0f} /s"
        return f"{v[0]:.3f} / {v[1]:.3f} ms"

    rows = [
        ("fill (bulk load)", "fill"),
        ("leaderboard top 20 p50/p99", "leaderboard top 20"),
        ("player rank p50/p99", "player rank"),
        ("stats p50/p99", "stats"),
        ("dedup lookup p50/p99", "dedup lookup"),
        ("accept a job p50/p99", "accept"),
        ("commit a drawing p50/p99", "commit"),
        ("drawings accepted+committed", "rate"),
    ]
    for label, key in rows:
        print(f"{label:>28} | " + " | ".join(f"{cell(n, key):>22}" for n in names))
    parts = []
    for n, r in results.items():
        if isinstance(r, str):
            parts.append(f"{n} {r}")
            continue
        worst = max(r[k][1] for k in ("leaderboard top 20", "player rank", "stats", "dedup lookup"))
        parts.append(
            f"{n}: board p99 {r['leaderboard top 20'][1]:.2f} ms, rank p99"
            f" {r['player rank'][1]:.2f} ms, worst read p99 {worst:.2f} ms, commit p50/p99"
            f" {r['commit'][0]:.2f}/{r['commit'][1]:.2f} ms, {r['rate']:,.0f} drawings/s"
        )
    print(
        f"SUMMARY store_scale: {args.submissions:,} submissions, {args.players:,} players; "
        + "; ".join(parts)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--submissions", type=int, default=200_000)
    ap.add_argument("--players", type=int, default=50_000)
    ap.add_argument("--inserts", type=int, default=500, help="drawings committed, timed")
    ap.add_argument("--reads", type=int, default=200, help="calls of each read, timed")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--url", default="", help="a PostgreSQL database to use (empty; filled)")
    args = ap.parse_args()
    args.players = min(args.players, max(args.submissions, 1))
    results: dict[str, dict[str, Any] | str] = {}
    for name in args.backends.split(","):
        with ExitStack() as stack:
            results[name] = run_backend(name, args, stack)
    show(results, args)


if __name__ == "__main__":
    main()
