"""Store at scale: 1,000,000 submissions from 50,000 players.

Fills a database in bulk (same schema, same best-table rule), then times the
hot queries through the real Store methods and the real commit path.
Prints one line per figure and a summary line. Not a test.

    .venv/bin/python bench/store_scale.py [--submissions N] [--players P]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kiosk.core import policy
from kiosk.core.api import Result
from kiosk.storage.store import Store


def fill(store: Store, n_subs: int, n_players: int, targets: list[str]) -> None:
    rng = random.Random(7)
    now = time.time()
    with store.db.transaction() as c:
        c.executemany(
            "INSERT INTO players(id, key, nickname, created_at) VALUES (?, ?, ?, ?)",
            ((i, f"p{i}", f"player {i}", now) for i in range(1, n_players + 1)),
        )
    batch = 100_000
    for start in range(0, n_subs, batch):
        rows = []
        for sid in range(start + 1, min(start + batch, n_subs) + 1):
            pid = rng.randint(1, n_players)
            cos = rng.random()
            key = f"{sid:064x}"
            rows.append(
                (
                    sid,
                    pid,
                    f"player {pid}",
                    rng.choice(targets),
                    "p",
                    "p",
                    "p",
                    key,
                    f"images/{key}.png",
                    cos,
                    100 * cos,
                    sid,
                    now + sid,
                )
            )
        with store.db.transaction() as c:
            c.executemany(
                "INSERT INTO submissions(id, player_id, nickname, target_id, raw_prompt,"
                " prompt, norm_prompt, dedup_key, image, cosine, percent, seed, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            c.executemany(
                "INSERT INTO best(target_id, player_id, submission_id, cosine, reached_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(target_id, player_id) DO UPDATE SET"
                " submission_id = excluded.submission_id, cosine = excluded.cosine,"
                " reached_at = excluded.reached_at WHERE excluded.cosine > best.cosine",
                ((r[3], r[1], r[0], r[9], r[12]) for r in rows),
            )
            c.executemany(
                "UPDATE players SET submissions = submissions + 1 WHERE id = ?",
                ((r[1],) for r in rows),
            )
        c.execute(
            "UPDATE counters SET players = (SELECT COUNT(*) FROM players),"
            " submissions = (SELECT COUNT(*) FROM submissions)"
        )
    store.db.conn().execute("ANALYZE")


def timeit(fn: Callable[[], object], n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--submissions", type=int, default=1_000_000)
    ap.add_argument("--players", type=int, default=50_000)
    ap.add_argument("--inserts", type=int, default=500)
    args = ap.parse_args()
    targets = ["duck-and-swan", "duck", "swan"]
    with tempfile.TemporaryDirectory() as td:
        store = Store(Path(td) / "kiosk.db")
        store.meta.sync_targets([(t, t, f"{t}.png") for t in targets])
        t0 = time.perf_counter()
        fill(store, args.submissions, args.players, targets)
        print(
            f"fill: {args.submissions:,} submissions, {args.players:,} players in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        rng = random.Random(1)
        figures = {
            "leaderboard top 20": lambda: store.board.leaderboard("duck-and-swan", 20),
            "player rank": lambda: store.board.rank(rng.randint(1, args.players), "duck-and-swan"),
            "stats": store.board.stats,
            "dedup lookup": lambda: store.jobs.find_original(
                f"{rng.randint(1, args.submissions):064x}"
            ),
        }
        worst = 0.0
        for name, fn in figures.items():
            p50, p99 = timeit(fn, 200)
            worst = max(worst, p99)
            print(f"{name:>20}: p50 {p50:7.3f} ms  p99 {p99:7.3f} ms")
        # The real commit path: job row, then submission + best + job removal in one
        # transaction, each with synchronous=FULL (two fsyncs per commit).
        t0 = time.perf_counter()
        for i in range(args.inserts):
            key = policy.dedup_key(f"bench {i}", "duck", "g", "j")
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
            store.jobs.complete(
                job,
                Result(
                    image=f"images/{key}.png",
                    cosine=rng.random(),
                    percent=50.0,
                    gen_ms=1.0,
                    judge_ms=1.0,
                    generator="g",
                    judge="j",
                ),
            )
        rate = args.inserts / (time.perf_counter() - t0)
        print(f"{'accept+commit':>20}: {rate:,.0f} jobs/s (synchronous=FULL, 2 commits/job)")
        print(
            f"SUMMARY store_scale: worst query p99 {worst:.2f} ms at "
            f"{args.submissions:,} submissions; {rate:,.0f} jobs/s committed"
        )


if __name__ == "__main__":
    main()
