"""`kiosk store copy` at scale: an SQLite event of N submissions (bench/store_scale.py's
fill) copied into an empty PostgreSQL store, timed, then the boards compared. Not a test.

    .venv/bin/python bench/store_copy.py [--submissions N] [--players P] [--url postgresql://...]

PostgreSQL: a throwaway cluster started here (127.0.0.1 only, stopped at the end), or
`--url` (an empty database).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg_cluster import throwaway
from store_scale import TARGETS, fill

from kiosk.storage.copy import copy_event
from kiosk.storage.store import PgStore, Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--submissions", type=int, default=200_000)
    ap.add_argument("--players", type=int, default=50_000)
    ap.add_argument("--url", default="", help="an empty PostgreSQL database to fill")
    args = ap.parse_args()
    with ExitStack() as stack:
        url = args.url or stack.enter_context(throwaway())
        db = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "kiosk.db"
        source = Store(db)
        source.meta.sync_targets([(t, t, f"{t}.png") for t in TARGETS])
        fill(source, args.submissions, min(args.players, args.submissions), TARGETS)
        source.close()
        t0 = time.perf_counter()
        done = copy_event(db, url)
        took = time.perf_counter() - t0
        target = PgStore(url, readonly=True)
        stack.callback(target.shutdown)
        reader = Store(db, readonly=True)
        same = all(
            target.board.leaderboard(t, 50) == reader.board.leaderboard(t, 50) for t in TARGETS
        )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows = sum(done.rows.values())
        print(f"copied {rows:,} rows ({done.rows['submissions']:,} submissions) in {took:.1f} s")
        print(
            f"SUMMARY store_copy: {args.submissions:,} submissions copied in {took:.1f} s"
            f" ({rows / took:,.0f} rows/s), boards {'equal' if same else 'DIFFER'},"
            f" peak RSS {rss:.0f} MiB"
        )
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
