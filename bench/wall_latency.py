"""The wall's freshness: from a commit in another process to the wall's feed having it.

A writer process commits drawings through the real Store (job row, then submission, each
synchronous=FULL) at a booth's pace; this process polls a `kiosk.engine.feed.Feed` as the
wall app does (every POLL_S) and notes when each new submission first shows in a view.
Also times one poll when nothing changed (PRAGMA data_version) and one full view read on a
large board. Prints figures and a SUMMARY line. Not a test.

    .venv/bin/python bench/wall_latency.py [--drawings N] [--every S] [--board-rows N]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import time
from pathlib import Path

from common import pct, tiny_settings
from store_scale import fill

from kiosk.core import policy
from kiosk.core.api import Result
from kiosk.core.config import Settings
from kiosk.engine.feed import Feed
from kiosk.storage.store import Store
from kiosk.ui.wall.app import POLL_S


def sync(store: Store, settings: Settings) -> None:
    store.meta.sync_targets(
        [(t.id, t.title, str(settings.target_image(t))) for t in settings.targets]
    )


def writer(data_dir: str, n: int, every: float, out: mp.Queue[tuple[int, float]]) -> None:
    """Commit `n` drawings, one every `every` seconds; report (submission id, commit time)."""
    settings = tiny_settings(Path(data_dir))
    store = Store(settings.data_path / "kiosk.db")
    target = settings.active_target.id
    for i in range(n):
        key = f"{i:064x}"
        job = store.jobs.add(
            player_key=f"writer {i % 7}",
            nickname=f"writer {i % 7}",
            target_id=target,
            raw_prompt=f"prompt {i}",
            prompt=f"prompt {i}",
            norm_prompt=f"prompt {i}",
            dedup_key=key,
            seed=i,
        )
        cosine = 0.2 + (i % 50) / 200
        result = Result(
            image=f"images/{key}.png",
            cosine=cosine,
            percent=policy.percent(cosine),
            gen_ms=0.0,
            judge_ms=0.0,
            generator="bench",
            judge="bench",
        )
        sub, *_ = store.jobs.complete(job, result)
        out.put((sub.id, time.time()))
        time.sleep(every)
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--drawings", type=int, default=40)
    ap.add_argument("--every", type=float, default=0.25, help="seconds between commits")
    ap.add_argument("--board-rows", type=int, default=100_000, help="for the full-read time")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = tiny_settings(Path(tmp))
        store = Store(settings.data_path / "kiosk.db")
        sync(store, settings)
        store.close()
        feed = Feed(settings)
        feed.poll()
        ctx = mp.get_context("spawn")
        out: mp.Queue[tuple[int, float]] = ctx.Queue()
        proc = ctx.Process(target=writer, args=(tmp, args.drawings, args.every, out))
        proc.start()
        seen: dict[int, float] = {}
        committed: dict[int, float] = {}
        deadline = time.monotonic() + 60 + args.drawings * args.every
        while len(seen) < args.drawings and time.monotonic() < deadline:
            view = feed.poll()
            if view is not None:
                now = time.time()
                for item in view.latest:
                    seen.setdefault(item.id, now)
            time.sleep(POLL_S)
        proc.join()
        while not out.empty():
            sid, at = out.get()
            committed[sid] = at
        lags = [1000 * (seen[s] - committed[s]) for s in committed if s in seen]
        missed = len(committed) - len(lags)
        # A poll with nothing new: PRAGMA data_version and a stat of the file.
        n = 5000
        t0 = time.perf_counter()
        for _ in range(n):
            feed.poll()
        poll_us = 1e6 * (time.perf_counter() - t0) / n
        feed.close()

    with tempfile.TemporaryDirectory() as tmp:
        settings = tiny_settings(Path(tmp))
        store = Store(settings.data_path / "kiosk.db")
        sync(store, settings)
        fill(store, args.board_rows, max(args.board_rows // 20, 1), [settings.active_target.id])
        store.close()
        feed = Feed(settings)
        reads = []
        for _ in range(20):
            feed._version = None  # force a full read, as after a commit
            t0 = time.perf_counter()
            feed.poll()
            reads.append(1000 * (time.perf_counter() - t0))
        feed.close()

    print(
        f"{'commit -> wall feed':>24}: p50 {statistics.median(lags):7.1f} ms  "
        f"p95 {pct(lags, 95):7.1f} ms  max {max(lags):7.1f} ms  "
        f"(n={len(lags)}, missed {missed}, poll every {POLL_S * 1000:.0f} ms)"
    )
    print(f"{'poll, nothing new':>24}: {poll_us:7.1f} us")
    print(
        f"{'full view read':>24}: p50 {statistics.median(reads):7.2f} ms  "
        f"max {max(reads):7.2f} ms  ({args.board_rows:,} submissions)"
    )
    print(
        f"SUMMARY wall_latency: commit->feed p95 {pct(lags, 95):.0f} ms (target <= 1000 ms), "
        f"idle poll {poll_us:.0f} us, view read {statistics.median(reads):.1f} ms"
        f" at {args.board_rows:,} submissions"
    )


if __name__ == "__main__":
    main()
