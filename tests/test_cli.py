"""The real `kiosk` command in subprocesses: demo (--json and human), stats, board, models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from builders import REPO
from kiosk_cmd import kiosk

OLD_STATS_KEYS = (
    "players",
    "submissions",
    "dedup_hits",
    "pending_jobs",
    "top_submitter",
    "top_submitter_count",
)


def test_demo_json_then_again_all_dedup(
    tmp_path: Path, data_dir: Path, env: dict[str, str]
) -> None:
    script = tmp_path / "script.tsv"
    script.write_text(
        "# comment\nada\ta duck and a swan\nbob\ta swan, at dusk\n\n"
        "ada\tA duck and a swan!!\ncy\t\x1b[31mred\x1b[0m duck\n",
        encoding="utf-8",
    )
    demo = (
        "demo",
        "--json",
        "--profile",
        "tiny",
        "--data-dir",
        str(data_dir),
        "--script",
        str(script),
    )
    proc = kiosk(*demo, env=env)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert all("event" in e for e in events)
    seqs = [e["seq"] for e in events if "seq" in e]  # every engine event, in order
    assert len(seqs) == len(events) - 1 and seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "notice" and "mean nothing" in events[0]["message"]
    assert "ready" in kinds and kinds[-1] == "leaderboard"
    done = [e for e in events if e["event"] == "done"]
    assert len(done) == 4
    for d in done:
        assert {"nickname", "prompt", "score", "cosine", "rank", "dedup", "image"} <= d.keys()
        assert isinstance(d["score"], float) and isinstance(d["dedup"], bool)
        assert Path(d["image"]).is_file()
        assert "\x1b" not in d["nickname"] + d["prompt"]
    assert [d["dedup"] for d in done if d["nickname"] == "ada"].count(True) == 1
    assert len([e for e in events if e["event"] == "queued"]) >= 3
    board = events[-1]["rows"]
    assert sorted(r["nickname"] for r in board) == ["ada", "bob", "cy"]
    assert board == sorted(board, key=lambda r: -r["cosine"])

    again = kiosk(*demo, env=env)  # the same script again: every prompt a dedup hit
    assert again.returncode == 0, again.stderr
    events2 = [json.loads(line) for line in again.stdout.splitlines()]
    done2 = [e for e in events2 if e["event"] == "done"]
    assert len(done2) == 4 and all(d["dedup"] for d in done2)
    assert not [e for e in events2 if e["event"] in ("queued", "started")]

    stats = json.loads(kiosk("stats", "--json", "--data-dir", str(data_dir), env=env).stdout)
    assert {k: stats[k] for k in OLD_STATS_KEYS} == {  # the keys scripts already read
        "players": 3,
        "submissions": 8,
        "dedup_hits": 5,
        "pending_jobs": 0,
        "top_submitter": "ada",  # drawn prompts only: a tie at 1, ada was first
        "top_submitter_count": 1,
    }
    assert stats["players_on_board"] == stats["players_in_all"] == 3
    assert stats["prompts_drawn"] == 3 and stats["prompts_from_dedup"] == 5
    # The shared options work before the command's name too (click's context object).
    before = kiosk("--data-dir", str(data_dir), "--profile", "tiny", "stats", "--json", env=env)
    assert json.loads(before.stdout) == stats
    top = kiosk("leaderboard", "--json", "--limit", "1", "--data-dir", str(data_dir), env=env)
    assert json.loads(top.stdout)[0]["nickname"] == board[0]["nickname"]
    human = kiosk("leaderboard", "--data-dir", str(data_dir), env=env)
    assert board[0]["nickname"] in human.stdout and "%" in human.stdout


def test_demo_human_output_ends_with_the_board(data_dir: Path, env: dict[str, str]) -> None:
    proc = kiosk(
        "demo", "--profile", "tiny", "--data-dir", str(data_dir), env={**env, "COLUMNS": "160"}
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "TINY DEMO MODELS" in out and "scores mean nothing" in out
    assert "Leaderboard" in out and "ada" in out
    assert "same prompt as before" in out
    last = out.rstrip().splitlines()[-2]  # last table row before the bottom border
    assert "%" in last


def test_missing_weights_offline_is_a_clear_message(tmp_path: Path, env: dict[str, str]) -> None:
    empty_cache = {**env, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    proc = kiosk("demo", "--data-dir", str(tmp_path / "d"), env=empty_cache)
    assert proc.returncode == 2
    assert "kiosk models pull" in proc.stdout + proc.stderr
    assert "--profile tiny" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    check = kiosk("models", "check", "--data-dir", str(tmp_path / "d"), env=empty_cache)
    assert check.returncode == 2
    assert "MISSING generator: stabilityai/sd-turbo" in check.stdout
    assert "MISSING judge: ViT-B-32/laion2b_s34b_b79k" in check.stdout
    pull = kiosk("models", "pull", env=empty_cache)
    assert pull.returncode == 2 and "HF_HUB_OFFLINE" in pull.stderr


def test_models_tiny_builds_loadable_folders(tmp_path: Path, env: dict[str, str]) -> None:
    proc = kiosk("models", "tiny", str(tmp_path / "tm"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "tm" / "sd" / "model_index.json").is_file()
    assert (tmp_path / "tm" / "sd" / "tokenizer").is_dir()
    assert (tmp_path / "tm" / "open_clip" / "open_clip_config.json").is_file()
    assert "scores mean nothing" in proc.stdout


def test_bad_script_line_is_reported(tmp_path: Path, data_dir: Path, env: dict[str, str]) -> None:
    script = tmp_path / "bad.tsv"
    script.write_text("ada a duck without a tab\n")
    proc = kiosk(
        "demo", "--profile", "tiny", "--data-dir", str(data_dir), "--script", str(script), env=env
    )
    assert proc.returncode == 2
    assert "bad.tsv:1: expected nickname<TAB>prompt" in proc.stderr
    assert "Traceback" not in proc.stderr


BOOTH_UNTIL_FIRST_FRAME = """
import sys
from kiosk.cli import main
from kiosk.cli.doctor import preflight
from kiosk.core.config import load_settings
from kiosk.ml.tiny import with_tiny_models
from kiosk.ml.models import apply_offline
from kiosk.engine.engine import Engine
from kiosk.ui.app import make_app

settings = with_tiny_models(load_settings(sys.argv[1], data_dir=sys.argv[2]))
preflight(settings)
apply_offline(settings)
app = make_app(settings, engine_factory=Engine)
app.engine.claim()
heavy = ("torch", "torchvision", "diffusers", "transformers", "open_clip")
print(",".join(name for name in heavy if name in sys.modules))
"""


def test_the_booth_loads_no_model_library_before_its_first_frame(
    data_dir: Path, env: dict[str, str]
) -> None:
    """What `kiosk run` does before the app draws its loading screen (pre-flight, the app,
    the data-dir claim) imports no torch or diffusers: those load in the engine's thread,
    behind the first frame (bench/first_frame.py times it)."""
    proc = subprocess.run(
        [sys.executable, "-c", BOOTH_UNTIL_FIRST_FRAME, str(REPO / "kiosk.toml"), str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"imported before the first frame: {proc.stdout}"
