"""Clear errors, not tracebacks (issue 18, items 10 and 11): the real `kiosk` command with a
missing word list, a data dir that is a file, numbers SQLite cannot store and digits that
are not ASCII ends in one clear line and exit 2; staff script lines refuse the same
numbers; and a second engine on a held data dir writes nothing before it is refused."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from builders import REPO
from engine_fixtures import engine_db
from kiosk_cmd import kiosk

from kiosk.core.commands import StaffError, parse_command
from kiosk.core.config import Settings
from kiosk.core.events import Event
from kiosk.engine.desk import StaffDesk
from kiosk.engine.engine import Engine
from kiosk.ops.demo import raffle_options
from kiosk.storage.lock import DataDirBusy
from kiosk.storage.store import Store

CONFIG = str(REPO / "kiosk.toml")
HUGE = "99999999999999999999"  # past SQLite's largest INTEGER, 2**63 - 1


def clear_error(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2, no traceback, and the last line on stderr says what went wrong (`words`)."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert all(w in proc.stderr for w in words), proc.stderr
    return last


def test_demo_with_a_missing_word_list_names_the_file(tmp_path: Path, env: dict[str, str]) -> None:
    config = tmp_path / "kiosk.toml"
    text = (REPO / "kiosk.toml").read_text(encoding="utf-8")
    config.write_text(
        text.replace('blocklist = ""', 'blocklist = "lists/gone.txt"', 1), encoding="utf-8"
    )
    for folder in ("assets", "examples"):
        (tmp_path / folder).symlink_to(REPO / folder, target_is_directory=True)
    data = tmp_path / "data"
    proc = kiosk("--config", str(config), "--data-dir", str(data), "demo", env=env)
    last = clear_error(proc, "words.blocklist", str(tmp_path / "lists" / "gone.txt"))
    assert last.startswith("kiosk: ") and "not found" in last
    assert not (data / "kiosk.db").exists()  # refused before the database was made


@pytest.mark.parametrize(
    "args", [["staff", "ban", "x"], ["raffle", "--winners", "1", "--among", "3"]], ids=str
)
def test_a_data_dir_that_is_a_file_is_said_with_its_fix(
    tmp_path: Path, env: dict[str, str], args: list[str]
) -> None:
    afile = tmp_path / "data-file"
    afile.write_text("not a folder")
    config = tmp_path / "kiosk.toml"
    text = (REPO / "kiosk.toml").read_text(encoding="utf-8")
    config.write_text(text.replace('data_dir = "data"', f'data_dir = "{afile}"', 1))
    for folder in ("assets", "examples"):
        (tmp_path / folder).symlink_to(REPO / folder, target_is_directory=True)
    clear_error(kiosk("--config", str(config), *args, env=env), "is a file", "--data-dir")
    clear_error(kiosk("--data-dir", str(afile / "sub"), *args, env=env), "is a file")
    assert afile.read_text() == "not a folder"


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["raffle", "--winners", "1", "--among", "3", "--seed", HUGE], "--seed"),
        (["raffle", "--replay", HUGE], "--replay"),
        (["raffle", "--redraw", HUGE, "--absent", "bo"], "--redraw"),
        (["raffle", "--winners", "1", "--among", HUGE], "--among"),
        (["raffle", "--winners", "1", "--above", "nan"], "--above"),
        (["staff", "hide-submission", HUGE], "SUBMISSION_ID"),
        (["staff", "approve", "²"], "SUBMISSION_ID"),
        (["staff", "unhide-submission", "١"], "SUBMISSION_ID"),
        (["audit", "--limit", "２"], "--limit"),
    ],
    ids=lambda v: v if isinstance(v, str) else " ".join(v),
)
def test_numbers_sqlite_cannot_store_or_not_in_ascii_digits_are_refused_clearly(
    tmp_path: Path, env: dict[str, str], args: list[str], name: str
) -> None:
    data = tmp_path / "untouched"
    proc = kiosk("--config", CONFIG, "--data-dir", str(data), *args, env=env)
    last = clear_error(proc, name)
    assert "whole number" in last or "number from" in last
    assert not data.exists()  # refused before anything was opened


@pytest.fixture
def desk(tiny_settings: Settings) -> Iterator[StaffDesk]:
    store = Store(tiny_settings.data_path / "kiosk.db")
    yield StaffDesk(store, tiny_settings)
    store.close()


@pytest.mark.parametrize("number", [HUGE, "²", "١٢", "-1", "0", "1_0", ""])
@pytest.mark.parametrize("action", ["hide-submission", "unhide-submission", "approve"])
def test_a_staff_line_with_a_bad_submission_id_is_refused_not_a_crash(
    desk: StaffDesk, action: str, number: str
) -> None:
    outcome = desk.run(parse_command(f"{action} '{number}'"))
    assert not outcome.ok and "submission id" in outcome.message


@pytest.mark.parametrize(
    "line",
    [
        f"raffle --winners 1 --among 3 --seed {HUGE}",
        f"raffle --winners 1 --among {HUGE}",
        "raffle --winners ２ --among 3",
        "raffle --winners 1 --above nan",
    ],
)
def test_a_demo_raffle_line_with_a_bad_number_is_a_staff_error(line: str) -> None:
    with pytest.raises(StaffError, match="cannot read"):
        raffle_options(line)


# -- 11. a second kiosk writes nothing before it is refused -------------------------------

HOLD = (
    "import sys; from pathlib import Path; from kiosk.storage.lock import DataDirLock;"
    "lock = DataDirLock(Path(sys.argv[1])); lock.acquire(); print('held', flush=True);"
    "sys.stdin.read()"
)


def db_state(db: Path) -> tuple[bytes, int, int, list[tuple[str, str]], bool]:
    """The database file's bytes and mtime, its schema version and targets, and whether a
    WAL file lies beside it (read through an immutable connection, which writes nothing)."""
    stat = db.stat()
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        targets = conn.execute("SELECT id, title FROM targets ORDER BY id").fetchall()
    finally:
        conn.close()
    wal = Path(f"{db}-wal").exists()
    return db.read_bytes(), stat.st_mtime_ns, version, targets, wal


def test_a_second_engine_on_a_held_data_dir_writes_nothing_and_names_the_holder(
    tiny_settings: Settings,
) -> None:
    data = tiny_settings.data_path
    early = Engine(tiny_settings)  # built before the other kiosk came
    early.store.close()
    db = data / "kiosk.db"
    conn = sqlite3.connect(db)  # targets as an older config left them: a sync rewrites them
    conn.execute("UPDATE targets SET title = 'as the booth left it'")
    conn.commit()
    conn.close()  # the last connection: the WAL is folded in and removed
    before = db_state(db)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(DataDirBusy, match=f"already using the data dir.*process {holder.pid}"):
            Engine(tiny_settings).claim()  # building one touches nothing; claiming is refused
        seen: list[Event] = []
        early.subscribe(seen.append)
        with pytest.raises(DataDirBusy, match=f"process {holder.pid}"):
            early.start()
        assert seen == []  # not even the tiny-models notice: refused first
        assert db_state(db) == before
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
    again = Engine(tiny_settings)  # the other kiosk left: this one takes the data dir
    titles = [t for _, t in engine_db(again).conn().execute("SELECT id, title FROM targets")]
    again.store.close()
    assert "as the booth left it" not in titles and "A duck on a pond" in titles
