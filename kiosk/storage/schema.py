"""Schema of the kiosk database, versioned (SQLite: PRAGMA user_version; PostgreSQL: the
kiosk_schema table, see kiosk.storage.dialect).

Migrations only go forward; each runs in its own write transaction, SQL first, then the
migration's Python step if it has one. The same migrations build a PostgreSQL store,
each statement in the dialect's spelling. A database written by a newer kiosk is
refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from kiosk.storage.dialect import SQLITE, Conn, Dialect
from kiosk.storage.players import rekey_players

MIGRATIONS: list[str] = [
    # 1: the first schema.
    """
    CREATE TABLE players (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        nickname TEXT NOT NULL,
        staff INTEGER NOT NULL DEFAULT 0,
        banned INTEGER NOT NULL DEFAULT 0,
        submissions INTEGER NOT NULL DEFAULT 0,
        dedup_hits INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE INDEX players_by_submissions ON players(submissions DESC, id);

    CREATE TABLE targets (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        image TEXT NOT NULL
    );

    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        player_id INTEGER NOT NULL REFERENCES players(id),
        nickname TEXT NOT NULL,
        target_id TEXT NOT NULL REFERENCES targets(id),
        raw_prompt TEXT NOT NULL,
        prompt TEXT NOT NULL,
        norm_prompt TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        image TEXT NOT NULL,
        cosine REAL NOT NULL,
        percent REAL NOT NULL,
        seed INTEGER NOT NULL,
        gen_ms REAL NOT NULL DEFAULT 0,
        judge_ms REAL NOT NULL DEFAULT 0,
        generator TEXT NOT NULL DEFAULT '',
        judge TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        dedup_of INTEGER REFERENCES submissions(id),
        hidden INTEGER NOT NULL DEFAULT 0,
        staff INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX submissions_by_key ON submissions(dedup_key, id) WHERE dedup_of IS NULL;
    CREATE INDEX submissions_by_player ON submissions(player_id, target_id, cosine DESC, id);

    CREATE TABLE best (
        target_id TEXT NOT NULL,
        player_id INTEGER NOT NULL,
        submission_id INTEGER NOT NULL,
        cosine REAL NOT NULL,
        reached_at REAL NOT NULL,
        PRIMARY KEY (target_id, player_id)
    ) WITHOUT ROWID;
    CREATE INDEX best_by_score ON best(target_id, cosine DESC, submission_id);

    CREATE TABLE jobs (
        -- AUTOINCREMENT: finished jobs are deleted, and an id must never be reused
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        player_id INTEGER NOT NULL REFERENCES players(id),
        target_id TEXT NOT NULL REFERENCES targets(id),
        raw_prompt TEXT NOT NULL,
        prompt TEXT NOT NULL,
        norm_prompt TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        seed INTEGER NOT NULL,
        created_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
        error TEXT
    );
    CREATE INDEX jobs_by_state ON jobs(state, id);

    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    """,
    # 2: event totals kept up to date in each transaction, so stats never scan players.
    """
    CREATE TABLE counters (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        players INTEGER NOT NULL,
        submissions INTEGER NOT NULL,
        dedup_hits INTEGER NOT NULL
    );
    INSERT INTO counters(id, players, submissions, dedup_hits)
        SELECT 1, COUNT(*), COALESCE(SUM(submissions), 0), COALESCE(SUM(dedup_hits), 0)
        FROM players;
    """,
    # 3: which job produced a submission, so crash harnesses can prove none was lost.
    """
    ALTER TABLE submissions ADD COLUMN job_id INTEGER;
    """,
    # 4: in-flight dedup. A prompt whose drawing is already waiting or being drawn joins
    # that job as a waiter (no second job, no model work) and gets its result.
    """
    CREATE TABLE waiters (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL,
        player_id INTEGER NOT NULL REFERENCES players(id),
        raw_prompt TEXT NOT NULL,
        prompt TEXT NOT NULL,
        created_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'failed')),
        error TEXT
    );
    CREATE INDEX waiters_by_job ON waiters(job_id) WHERE state = 'waiting';
    CREATE INDEX waiters_by_player ON waiters(player_id) WHERE state = 'waiting';
    CREATE INDEX jobs_pending_by_key ON jobs(dedup_key) WHERE state = 'pending';
    """,
    # 5: what the last run on this data dir was set up with (e.g. its decoder), so a
    # change between runs can be told to the operator.
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 6: staff mode. Audit rows name their subject and reason; a hidden player's later
    # drawings are hidden too; raffles keep their seed and eligible list, so they replay.
    """
    ALTER TABLE audit ADD COLUMN subject TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit ADD COLUMN reason TEXT NOT NULL DEFAULT '';
    ALTER TABLE players ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX submissions_by_original ON submissions(dedup_of) WHERE dedup_of IS NOT NULL;
    CREATE TABLE raffles (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        target_id TEXT NOT NULL,
        wanted INTEGER NOT NULL,
        rule TEXT NOT NULL,
        seed INTEGER NOT NULL,
        eligible TEXT NOT NULL,
        winners TEXT NOT NULL
    );
    CREATE TABLE raffle_redraws (
        id INTEGER PRIMARY KEY,
        raffle_id INTEGER NOT NULL REFERENCES raffles(id),
        at REAL NOT NULL,
        replaced TEXT NOT NULL,
        replacement TEXT,
        seed INTEGER NOT NULL
    );
    """,
    # 7: prompts refused (policy, ban, a hidden prompt, a full queue), for the event stats.
    """
    ALTER TABLE counters ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;
    """,
    # 8: fair play and safety. Per player: prompts drawn (not dedup hits), refusals, the
    # hash of their player code, a pause after failed human checks. Per submission: what
    # the safety probes found and its review state (0 none, 1 waiting for staff, 2
    # approved). Words staff added to or removed from the blocklist.
    """
    ALTER TABLE players ADD COLUMN drawn INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE players ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE players ADD COLUMN code_hash TEXT NOT NULL DEFAULT '';
    ALTER TABLE players ADD COLUMN paused_until REAL NOT NULL DEFAULT 0;
    UPDATE players SET drawn = submissions - dedup_hits;
    CREATE INDEX players_by_drawn ON players(drawn DESC, id);
    ALTER TABLE submissions ADD COLUMN flags TEXT NOT NULL DEFAULT '';
    ALTER TABLE submissions ADD COLUMN review INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX submissions_in_review ON submissions(id) WHERE review = 1;
    CREATE TABLE blocked_words (
        word TEXT PRIMARY KEY,
        blocked INTEGER NOT NULL,
        at REAL NOT NULL,
        actor TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 9: lookalike letters fold to one player (kiosk.core.identity): every players.key is
    # recomputed from the nickname as first typed, by the Python step below.
    "",
    # 10: moderation that holds. submissions.hidden becomes a set of reasons (bits, see
    # kiosk.core.api.Hidden: 1 hidden on its own, 2 with its player, 4 with its original),
    # so showing a drawing again never shows what was hidden for another reason. A copy
    # hidden (1) while its original is hidden (1) was hidden with it: it becomes 4 (and 2
    # as well when its player is hidden, a mark the old hide overwrote). A player row
    # staff made before the nickname played (a ban) has played = 0 and is not counted.
    # A redraw keeps the candidates it drew from, so a replay draws from the same ones.
    """
    UPDATE submissions SET hidden = 4 | CASE WHEN (
            SELECT p.hidden FROM players p WHERE p.id = submissions.player_id
        ) = 1 THEN 2 ELSE 0 END
        WHERE dedup_of IS NOT NULL AND hidden = 1
        AND (SELECT o.hidden FROM submissions o WHERE o.id = submissions.dedup_of) = 1;
    ALTER TABLE players ADD COLUMN played INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE raffle_redraws ADD COLUMN candidates TEXT;
    """,
    # 11: fair play by source. A job remembers where its prompt came from (the keyboard, or
    # one phone device), so a restart rebuilds the same fair queue (round-robin over
    # sources, then over players within a source).
    """
    ALTER TABLE jobs ADD COLUMN source TEXT NOT NULL DEFAULT 'keyboard';
    """,
    # 12: booths of one event. A job belongs to the booth that accepted it (drawn by its
    # GPU, resumed by it, handed to another by `kiosk staff adopt`); a submission and a
    # waiter name the booth that served it; an audit row the booth where staff acted.
    # '' is "no booth named" (rows from before): an SQLite file is one booth's, which
    # takes them at start (kiosk.storage.jobs.Jobs.resume). The Python step below adds
    # each column only where it is missing.
    "",
    # 13: drawings every booth can read. On the event's shared store a drawing's file is
    # kept here too, by its path relative to a data dir (kiosk.storage.pictures); an
    # SQLite booth leaves it empty (its data dir is where its drawings are read).
    """
    CREATE TABLE pictures (
        path TEXT PRIMARY KEY,
        data BLOB NOT NULL
    );
    """,
]

BOOTH_TABLES = ("jobs", "submissions", "waiters", "audit")


def add_booths(conn: Conn) -> None:
    """Migration 12: a `booth` column on each of BOOTH_TABLES that lacks one (a database
    rebuilt from an older one by hand may have it already), and the index a booth's
    resume reads. The same SQL on both databases."""
    for table in BOOTH_TABLES:
        columns = {d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description}
        if "booth" not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN booth TEXT NOT NULL DEFAULT ''")
    conn.execute(
        "CREATE INDEX IF NOT EXISTS jobs_pending_by_booth ON jobs(booth, id)"
        " WHERE state = 'pending'"
    )


PYTHON_STEPS: dict[int, Callable[[Conn], None]] = {
    9: rekey_players,
    12: add_booths,
}
"""Migrations that SQL alone cannot write, by number: each runs after that number's SQL,
in the same transaction, with the open connection."""

VERSION = len(MIGRATIONS)


class SchemaError(Exception):
    """The database's schema cannot be used by this version of the kiosk."""


# SQLite releases before 3.51.3 can corrupt a WAL database when a checkpoint races a
# write ("WAL-reset" bug); 3.44.6 and 3.50.7 carry the fix as backports.
WAL_RESET_FIXED = (3, 51, 3)
WAL_RESET_BACKPORTS = {(3, 44, 6), (3, 50, 7)}


def sqlite_warning(version_text: str = sqlite3.sqlite_version) -> str | None:
    """A warning when this SQLite has the WAL-reset corruption bug, else None."""
    try:
        found = tuple(int(x) for x in version_text.split(".")[:3])
    except ValueError:
        return f"unrecognised SQLite version {version_text!r}"
    if found >= WAL_RESET_FIXED or found in WAL_RESET_BACKPORTS:
        return None
    return (
        f"SQLite {version_text} has the WAL-reset corruption bug (fixed in 3.51.3, backported"
        " to 3.44.6 and 3.50.7). Scores are still committed with synchronous=FULL, but"
        " upgrade Python's SQLite (e.g. a newer Python build) before the event."
    )


def version(conn: Conn, dialect: Dialect = SQLITE) -> int:
    return dialect.version(conn)


def migrate(conn: Conn, *, readonly: bool = False, dialect: Dialect = SQLITE) -> int:
    """Bring the schema up to VERSION; return the version found before. Each step reads
    the version again inside its write transaction (PostgreSQL: under the schema lock
    too), so two kiosks opening one new store at once migrate it once."""
    found = dialect.version(conn)
    if found > VERSION:
        raise SchemaError(
            f"this database was written by a newer kiosk (schema version {found}, this kiosk"
            f" knows up to {VERSION}); upgrade the kiosk or use another --data-dir"
        )
    if found < VERSION and readonly:
        raise SchemaError(
            f"the database is at schema version {found}, needs {VERSION}; open it once"
            " with `kiosk demo` or `kiosk run` to migrate"
        )
    lock, unlock = dialect.schema_lock
    if found < VERSION:
        for statement in lock:
            conn.execute(statement)
    try:
        _forward(conn, dialect, found)
    finally:
        if found < VERSION:
            for statement in unlock:
                conn.execute(statement)
    return found


def _forward(conn: Conn, dialect: Dialect, found: int) -> None:
    """Run the migrations after `found`, one write transaction each."""
    while found < VERSION:
        for statement in dialect.begin:
            conn.execute(statement)
        try:
            number = dialect.version(conn) + 1
            if number <= VERSION:
                # executescript would COMMIT the open transaction; run statements one by one.
                for statement in _statements(MIGRATIONS[number - 1]):
                    conn.execute(dialect.ddl(statement))
                if (step := PYTHON_STEPS.get(number)) is not None:
                    step(conn)
                dialect.set_version(conn, number)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        found = number


def _statements(script: str) -> list[str]:
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return [s for s in out if s]
