"""Event days: `kiosk event new` archives the current event into a dated folder and starts a
fresh one; `kiosk event list` shows both. Drawings are committed by hand (no models)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import REPO
from click.testing import CliRunner, Result
from engine_fixtures import drawn
from kiosk_cmd import kiosk

from kiosk.cli import main
from kiosk.core.api import BoardRow, Stats
from kiosk.core.config import Settings, load_settings
from kiosk.core.events import Queued
from kiosk.engine.engine import Engine
from kiosk.ops.eventdays import MANIFEST, EventError, archive_event, list_events, slug
from kiosk.storage.images import clean_temp_files
from kiosk.storage.lock import DataDirLock
from kiosk.storage.store import Store

DAY_ONE = datetime(2025, 6, 12, 18, 30, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The repo's config on a fresh data dir; no models are ever loaded here."""
    return load_settings(REPO / "kiosk.toml", data_dir=tmp_path / "data")


def cli(settings: Settings, *args: str, data_dir: Path | None = None) -> Result:
    """`kiosk --config ... --data-dir ... ARGS`, in this process."""
    where = data_dir or settings.data_path
    base = ["--config", str(settings.source), "--data-dir", str(where)]
    return CliRunner().invoke(main, [*base, *args], catch_exceptions=False)


def play(settings: Settings, scores: dict[str, float]) -> None:
    """Each nickname draws one picture with this score; its PNG file is written too."""
    engine = Engine(settings)
    try:
        for nick, cosine in scores.items():
            sid = drawn(engine, nick, f"a duck and a swan by {nick}", cosine)
            sub = engine.store.jobs.submission(sid)
            assert sub is not None
            image = settings.data_path / sub.image
            image.parent.mkdir(parents=True, exist_ok=True)
            image.write_bytes(f"png of {nick}".encode())
    finally:
        engine.store.close()


def image_hashes(data_dir: Path) -> dict[str, str]:
    root = data_dir / "images"
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def table_rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in rowid order: what "nothing lost" compares."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall() for n in names}
    finally:
        conn.close()


def snapshot(data_dir: Path, target: str) -> tuple[Stats, list[BoardRow]]:
    store = Store(data_dir / "kiosk.db", readonly=True)
    try:
        return store.board.stats(), store.board.leaderboard(target, 100)
    finally:
        store.close()


def test_archive_then_continue_loses_nothing(settings: Settings) -> None:
    data, target = settings.data_path, settings.active_target.id
    play(settings, {"ada": 0.91, "bob": 0.85, "cy": 0.77})
    before_rows, before_images = table_rows(data / "kiosk.db"), image_hashes(data)
    before = snapshot(data, target)
    assert len(before_images) == 3

    done = cli(settings, "event", "new", "--name", "Day one: Pond & Co")
    assert done.exit_code == 0, done.output
    (archive,) = (data / "events").iterdir()
    assert archive.name.endswith("-day-one-pond-co") and str(archive) in done.output
    assert f"--data-dir {archive} leaderboard" in done.output

    # The archive is the whole day, unchanged: every row, the board, the stats, the files.
    assert table_rows(archive / "kiosk.db") == before_rows
    assert snapshot(archive, target) == before
    assert image_hashes(archive) == before_images
    manifest = json.loads((archive / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["name"] == "Day one: Pond & Co"
    assert (manifest["players"], manifest["drawings"], manifest["submissions"]) == (3, 3, 3)
    assert [t["id"] for t in manifest["targets"]] == [t.id for t in settings.targets]

    # The data dir is a fresh event at once, and day two plays on it.
    assert snapshot(data, target)[0].players == 0
    assert not (data / "images").exists()
    play(settings, {"dee": 0.5})
    stats, rows = snapshot(data, target)
    assert stats.players == 1 and [r.nickname for r in rows] == ["dee"]
    assert len(image_hashes(data)) == 1

    # Nothing that scans the data dir reaches into the archive.
    (archive / "images" / "keep").mkdir()
    (archive / "images" / "keep" / ".tmp-left-by-a-crash.png").write_bytes(b"x")
    clean_temp_files(data)
    with DataDirLock(data):
        assert snapshot(archive, target) == before
    assert (archive / "images" / "keep" / ".tmp-left-by-a-crash.png").exists()

    # The real command opens the archive by --data-dir, read-only.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    args = ("--config", str(settings.source), "--data-dir", str(archive), "leaderboard", "--json")
    board = kiosk(*args, env=env, timeout=60)
    assert board.returncode == 0, board.stderr
    assert [(r["nickname"], r["cosine"]) for r in json.loads(board.stdout)] == [
        ("ada", 0.91),
        ("bob", 0.85),
        ("cy", 0.77),
    ]
    stats_out = cli(settings, "stats", "--json", data_dir=archive)
    assert json.loads(stats_out.output)["players"] == 3
    assert table_rows(archive / "kiosk.db") == before_rows  # reading changed nothing


def test_event_list_shows_the_current_event_then_archives_newest_first(
    settings: Settings,
) -> None:
    play(settings, {"ada": 0.9, "bob": 0.8})
    first = archive_event(settings, now=DAY_ONE)
    play(settings, {"cy": 0.7})
    second = archive_event(settings, name="Day two", now=DAY_ONE + timedelta(days=1))
    play(settings, {"dee": 0.6, "eve": 0.5, "fay": 0.4})
    assert first is not None and second is not None
    assert first.path.name == "2025-06-12-ai-drawing-judge"
    assert second.path.name == "2025-06-13-day-two"

    out = cli(settings, "event", "list", "--json")
    assert out.exit_code == 0, out.output
    listed = json.loads(out.output)
    assert listed["current"]["players"] == 3 and listed["current"]["drawings"] == 3
    archives = listed["archives"]
    assert [a["folder"] for a in archives] == [second.path.name, first.path.name]
    assert [a["players"] for a in archives] == [1, 2]
    assert archives[1]["name"] == "AI Drawing Judge 2025-06-12"
    assert archives[0]["data_dir"] == str(second.path)
    assert f"--data-dir {second.path} leaderboard" in archives[0]["open"]

    human = cli(settings, "event", "list").output
    assert human.index("Current event") < human.index("day-two") < human.index("ai-drawing-judge")
    assert "3 players, 3 drawings" in human and f"--data-dir {first.path}" in human


def test_a_running_kiosk_keeps_its_event(settings: Settings) -> None:
    play(settings, {"ada": 0.9})
    data = settings.data_path
    with DataDirLock(data):  # what `kiosk run` or `kiosk demo` holds
        refused = cli(settings, "event", "new")
    assert refused.exit_code == 2
    assert "another kiosk is already using the data dir" in refused.output
    assert not (data / "events").exists() and snapshot(data, settings.active_target.id)[1]


def test_waiting_prompts_refuse_unless_forced(settings: Settings) -> None:
    play(settings, {"ada": 0.9})
    engine = Engine(settings)
    assert isinstance(engine.submit("bob", "a swan at night"), Queued)  # never drawn
    engine.store.close()
    data = settings.data_path

    refused = cli(settings, "event", "new")
    assert refused.exit_code == 2
    assert "1 visitor prompt is still waiting to be drawn" in refused.output
    assert "--force" in refused.output and "will not be drawn" in refused.output
    assert not (data / "events").exists() and (data / "kiosk.db").exists()

    forced = cli(settings, "event", "new", "--force")
    assert forced.exit_code == 0, forced.output
    (archive,) = (data / "events").iterdir()
    assert json.loads((archive / MANIFEST).read_text(encoding="utf-8"))["pending_jobs"] == 1
    assert snapshot(archive, settings.active_target.id)[0].pending_jobs == 1
    assert list_events(settings).current.pending_jobs == 0


def test_an_empty_event_or_an_archive_is_not_archived_again(settings: Settings) -> None:
    nothing = cli(settings, "event", "new")
    assert nothing.exit_code == 0 and "Nothing to archive" in nothing.output
    assert not settings.data_path.exists()  # a mistyped --data-dir is not created

    play(settings, {"ada": 0.9})
    done = archive_event(settings, now=DAY_ONE)
    assert done is not None
    assert archive_event(settings, now=DAY_ONE) is None  # the fresh event is already fresh
    refused = cli(settings, "event", "new", data_dir=done.path)
    assert refused.exit_code == 2 and "is an archived event" in refused.output
    with pytest.raises(EventError, match="is an archived event"):
        archive_event(load_settings(settings.source, data_dir=done.path))

    play(settings, {"bob": 0.8})  # a second event archived the same day, same name
    again = archive_event(settings, now=DAY_ONE)
    assert again is not None and again.path.name == f"{done.path.name}-2"


def test_folder_names() -> None:
    assert slug("AI Drawing Judge") == "ai-drawing-judge"
    assert slug("Café Day #2!") == "cafe-day-2"
    assert slug("🦆🦢") == "event"
    assert len(slug("x" * 200)) == 60
