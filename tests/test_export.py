"""`kiosk export`: every file written, row counts equal to the database's, readable contact
sheets (Korean names included), and nothing in the data dir touched, even while another
connection writes. The event is built with the real Store; drawings are small PNGs, no
models."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from builders import REPO, commit
from click.testing import CliRunner, Result
from PIL import Image, ImageFont

import kiosk.ops.export as ops_export
from kiosk.cli import main
from kiosk.core.api import BoardRow, Job
from kiosk.core.raffle import draw_winners
from kiosk.ops.sheet import (
    HEADER,
    PAD,
    TILE,
    Fonts,
    contact_sheet,
    find_fonts,
    renders_hangul,
    sheet_size,
)
from kiosk.storage import schema
from kiosk.storage.images import image_relpath
from kiosk.storage.store import Store

TARGET, OTHER = "duck-and-swan", "duck"
TARGET_IDS = (TARGET, OTHER, "swan")  # as in the repo's kiosk.toml
# nickname, prompt, cosine, target
PLAYS = [
    ("ada", "a duck and a swan", 0.91, TARGET),
    ("bob", "two birds", 0.82, TARGET),
    ("지민", "호수 위의 오리와 백조", 0.87, TARGET),
    ("cy", "a pond", 0.75, TARGET),
    ("staffer", "the best prompt", 0.99, TARGET),
    ("dee", "a duck alone", 0.70, OTHER),
]


def drawing(
    store: Store, data: Path, nickname: str, prompt: str, cosine: float, target: str
) -> int:
    """A drawing committed as the worker would: its PNG on disk, then the row."""
    key = hashlib.sha256(f"{nickname}|{prompt}|{target}".encode()).hexdigest()
    rel = image_relpath(key)
    (data / rel).parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 32), (int(cosine * 255), 90, 160)).save(data / rel)
    return commit(store, nickname, prompt, cosine, target=target, key=key, seed=len(prompt))


def build_event(data: Path) -> dict[str, int]:
    """An event with a Korean nickname, a hidden drawing, a staff player, a dedup hit, a
    raffle with a redraw and audit rows; returns ids of note."""
    store = Store(data / "kiosk.db")
    store.meta.sync_targets([(t, t.replace("-", " "), f"assets/{t}.png") for t in TARGET_IDS])
    ids = {nick: drawing(store, data, nick, p, c, t) for nick, p, c, t in PLAYS}
    ids["hidden"] = drawing(store, data, "bob", "a rude picture", 0.97, TARGET)
    store.moderation.hide_submission(ids["hidden"], reason="rude")
    store.moderation.set_staff("staffer", True, reason="works here")
    original = store.jobs.submission(ids["ada"])
    assert original is not None
    like = Job(
        id=0,
        player_id=0,
        nickname="eve",
        target_id=TARGET,
        raw_prompt="A duck and a swan!",
        prompt="A duck and a swan!",
        norm_prompt="a duck and a swan",
        dedup_key=original.dedup_key,
        seed=original.seed,
        created_at=0.0,
    )
    ids["dedup"] = store.jobs.add_dedup(
        player_key="eve", nickname="eve", job_like=like, original=original
    ).id
    eligible = store.raffles.entrants(TARGET)
    winners = draw_winners(eligible, 2, seed=7)
    rid = store.raffles.add(
        target_id=TARGET,
        wanted=2,
        rule="among the top 9",
        seed=7,
        eligible=eligible,
        winners=winners,
    )
    spare = next(e for e in eligible if e not in winners)
    store.raffles.add_redraw(rid, winners[0].nickname, spare.nickname, seed=8)
    store.moderation.record("pause", reason="lunch")
    store.close()  # the last connection: the WAL is folded in and removed
    return ids


@pytest.fixture
def event(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    build_event(data)
    return data


def run_export(data: Path, *args: str) -> Result:
    runner = CliRunner()
    return runner.invoke(
        main, ["--config", str(REPO / "kiosk.toml"), "--data-dir", str(data), "export", *args]
    )


def export_json(data: Path, out: Path, *args: str) -> dict[str, Any]:
    result = run_export(data, "--out", str(out), "--json", *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no progress bar with --json
    data_out: dict[str, Any] = json.loads(result.stdout)
    return data_out


def files_of(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under a folder: (size, mtime) by relative path."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def db_one(data: Path, sql: str, *args: object) -> Any:
    """One value from the data dir's database, read without touching it."""
    conn = sqlite3.connect(f"{(data / 'kiosk.db').as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_file_with_the_databases_rows_and_nothing_in_the_data_dir_changes(
    event: Path, tmp_path: Path
) -> None:
    before = files_of(event)
    out = tmp_path / "out"
    report = export_json(event, out)
    assert files_of(event) == before  # names, sizes and mtimes: no -wal, no -shm either
    names = {Path(f["path"]).name for f in report["files"]}
    sheets = {f"contact-sheet-{t}.png" for t in TARGET_IDS}
    boards = {f"leaderboard-{t}.csv" for t in TARGET_IDS}
    csvs = {"submissions.csv", "audit.csv", "raffles.csv"} | boards
    assert names == csvs | sheets | {Path(report["zip"]).name}
    rows = {Path(f["path"]).name: f.get("rows") for f in report["files"]}
    assert rows["submissions.csv"] == db_one(event, "SELECT COUNT(*) FROM submissions") == 8
    assert rows["audit.csv"] == db_one(event, "SELECT COUNT(*) FROM audit") == 5
    assert rows["raffles.csv"] == db_one(event, "SELECT COUNT(*) FROM raffles") == 1
    for t in TARGET_IDS:
        ranked = db_one(event, "SELECT COUNT(*) FROM best WHERE target_id = ?", t)
        assert rows[f"leaderboard-{t}.csv"] == ranked
    for name in csvs:
        assert len(read_csv(out / name)) == rows[name]
    for f in report["files"]:
        assert Path(f["path"]).stat().st_size == f["bytes"] > 0
    images = {p.relative_to(out).as_posix() for p in (out / "images").rglob("*.webp")}
    assert report["images"]["copied"] == len(images) == 7  # the dedup hit reuses a file
    with zipfile.ZipFile(report["zip"]) as zf:
        inside = {n.split("/", 1)[1] for n in zf.namelist()}
        assert zf.testzip() is None
    assert inside == csvs | sheets | images


def test_csvs_hold_flags_and_leaderboards_leave_out_hidden_and_staff(
    event: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export_json(event, out)
    subs = read_csv(out / "submissions.csv")
    assert {"player_banned", "player_staff", "player_hidden", "dedup_of", "job_id"} <= set(subs[0])
    by_prompt = {s["prompt"]: s for s in subs}
    assert by_prompt["a rude picture"]["hidden"] == "1"
    assert by_prompt["the best prompt"]["player_staff"] == "1"
    assert by_prompt["A duck and a swan!"]["dedup_of"] == by_prompt["a duck and a swan"]["id"]
    board = read_csv(out / f"leaderboard-{TARGET}.csv")
    assert [r["nickname"] for r in board] == ["ada", "eve", "지민", "bob", "cy"]
    assert board[0]["score"] == "91.00" and board[3]["prompt"] == "two birds"  # not hidden
    (raffle,) = read_csv(out / "raffles.csv")
    assert raffle["seed"] == "7" and raffle["eligible_count"] == "5"
    assert len(raffle["winners"].split("; ")) == len(raffle["final_winners"].split("; ")) == 2
    assert raffle["winners"] != raffle["final_winners"] and "->" in raffle["redraws"]
    assert {a["action"] for a in read_csv(out / "audit.csv")} == {
        "hide-submission",
        "tag-staff",
        "raffle",
        "redraw",
        "pause",
    }


def test_contact_sheet_has_the_expected_size_and_korean_renders(
    event: Path, tmp_path: Path
) -> None:
    report = export_json(event, tmp_path / "out", "--target", TARGET, "--top", "4")
    (sheet,) = [f for f in report["files"] if f["path"].endswith(".png")]
    with Image.open(sheet["path"]) as im:
        im.load()
        assert im.size == (sheet["width"], sheet["height"]) == sheet_size(4)
    fonts = find_fonts()
    assert report["font"]["hangul"] == fonts.hangul
    # Pillow's own font has no Hangul: the check below can tell.
    assert not renders_hangul(ImageFont.load_default(size=24))
    if not fonts.hangul:
        assert report["warnings"]  # says Korean names may not render
        pytest.skip("no font with Hangul on this machine (install fonts-nanum)")
    assert renders_hangul(fonts.load(24)) and renders_hangul(fonts.load(24, bold=True))

    def caption(nickname: str) -> bytes:
        row = BoardRow(
            rank=1,
            nickname=nickname,
            percent=90.0,
            cosine=0.9,
            prompt="p",
            image="x.png",
            submission_id=1,
            reached_at=0.0,
        )
        image = contact_sheet([row], [tmp_path / "none.png"], "t", "s", fonts)
        return image.crop((PAD, HEADER + TILE, PAD + TILE, sheet_size(1)[1])).tobytes()

    assert len({caption("한글"), caption("글한"), caption("\U0010fffd\U0010fffd")}) == 3


def test_without_a_hangul_font_it_still_draws_and_says_so(
    event: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ops_export, "find_fonts", lambda: Fonts(None, None, hangul=False))
    report = export_json(event, tmp_path / "out", "--target", TARGET)
    assert report["font"] == {"file": None, "hangul": False}
    assert any("Korean nicknames may not render" in w for w in report["warnings"])
    sheet = next(f for f in report["files"] if f["path"].endswith(".png"))
    assert (sheet["width"], sheet["height"]) == sheet_size(5)


def test_a_missing_drawing_becomes_a_grey_tile(event: Path, tmp_path: Path) -> None:
    image = db_one(
        event,
        "SELECT s.image FROM best b JOIN submissions s ON s.id = b.submission_id"
        " WHERE b.target_id = ? ORDER BY b.cosine DESC, b.submission_id LIMIT 1",
        TARGET,
    )
    (event / image).unlink()
    report = export_json(event, tmp_path / "out", "--target", TARGET)
    assert report["images"]["missing"] == [image]
    assert any("missing" in w for w in report["warnings"])
    sheet = next(f["path"] for f in report["files"] if f["path"].endswith(".png"))
    with Image.open(sheet) as im:
        assert im.convert("RGB").getpixel((PAD + 4, HEADER + 4)) == (160, 160, 160)


def test_export_while_another_connection_writes(event: Path, tmp_path: Path) -> None:
    """As beside a running kiosk: a row committed but still only in the WAL is exported, a
    row of an open write transaction is not, and the export does not wait for it."""
    writer = sqlite3.connect(event / "kiosk.db", isolation_level=None)
    add = "INSERT INTO audit(at, actor, action, detail) VALUES (0, 'staff', ?, '')"
    writer.execute(add, ("committed",))
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(add, ("uncommitted",))
    try:
        report = export_json(event, tmp_path / "out")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    audit = next(f for f in report["files"] if f["path"].endswith("audit.csv"))
    assert audit["rows"] == 6
    assert [r["action"] for r in read_csv(Path(audit["path"]))][-1] == "committed"


def test_an_event_from_an_older_kiosk_exports_and_stays_as_it_was(tmp_path: Path) -> None:
    data = tmp_path / "old-event"
    data.mkdir()
    conn = sqlite3.connect(data / "kiosk.db", isolation_level=None)
    for number, script in enumerate(schema.MIGRATIONS[:5], start=1):
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.close()
    before = files_of(data)
    report = export_json(data, tmp_path / "out")
    assert files_of(data) == before and db_one(data, "PRAGMA user_version") == 5
    assert all(f.get("rows") in (0, None) for f in report["files"])


def test_default_folder_in_the_current_directory_with_a_progress_bar(
    event: Path, tmp_path: Path
) -> None:
    """The real command in a subprocess, as at a shell: ./export-<time>/ and its zip."""
    here = tmp_path / "here"
    here.mkdir()
    args = ["--config", str(REPO / "kiosk.toml"), "--data-dir", str(event), "export", "--top", "3"]
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True,
        text=True,
        cwd=here,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (out,) = here.iterdir()
    assert out.name.startswith("export-") and (out / f"{out.name}.zip").is_file()
    assert f"exported to {out}/" in done.stdout and "submissions.csv" in done.stdout
    assert "copying drawings" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "moon"], "unknown target 'moon'"),
        (["--out", "{data}/inside"], "inside the data dir"),
        (["--out", "{full}"], "not empty"),
    ],
)
def test_refusals_are_clear(event: Path, tmp_path: Path, args: list[str], message: str) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    args = [a.format(data=event, full=full) for a in args]
    result = run_export(event, *args)
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.output
    assert (full / "keep.txt").read_text() == "mine" and not (event / "inside").exists()


def test_no_database_yet_is_a_clear_message(tmp_path: Path) -> None:
    result = run_export(tmp_path / "empty", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "no database" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "empty").exists()
