"""The real `kiosk` command on a shared PostgreSQL store (`[store] url`): booths on two
data dirs play into one board, which any machine with the config reads, and staff at
one booth act on it for all. (Dedup across
booths needs the same models at both; the tiny ones live in each data dir, so the store's
contract tests prove that part.)"""

from __future__ import annotations

import json
from pathlib import Path

from builders import shared_config
from kiosk_cmd import kiosk


def demo(
    config: Path, data_dir: Path, script: Path, env: dict[str, str]
) -> list[dict[str, object]]:
    args = ("--config", str(config), "--profile", "tiny", "--data-dir", str(data_dir))
    proc = kiosk("demo", "--json", "--script", str(script), *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_two_booths_share_one_board(
    tmp_path: Path, pg_url: str, data_dir: Path, env: dict[str, str]
) -> None:
    config = shared_config(tmp_path, pg_url)
    (tmp_path / "a.tsv").write_text("ada\ta duck and a swan\nbob\ta swan at dusk\n")
    (tmp_path / "b.tsv").write_text("cy\ta duck on a pond\n")
    booth_b = tmp_path / "booth-b"
    booth_b.mkdir()
    (booth_b / "tiny-models").symlink_to(data_dir / "tiny-models")
    first = demo(config, data_dir, tmp_path / "a.tsv", env)
    assert len([e for e in first if e["event"] == "done"]) == 2
    second = demo(config, booth_b, tmp_path / "b.tsv", env)
    rows = second[-1]["rows"]  # booth B's closing board has booth A's players too
    assert isinstance(rows, list) and sorted(r["nickname"] for r in rows) == ["ada", "bob", "cy"]
    # Any machine with the config reads the event's board: no data dir of its own.
    board = kiosk(
        "leaderboard",
        "--json",
        "--config",
        str(config),
        "--data-dir",
        str(tmp_path / "none"),
        env=env,
    )
    assert board.returncode == 0, board.stderr
    assert sorted(r["nickname"] for r in json.loads(board.stdout)) == ["ada", "bob", "cy"]
    # Staff at booth B ban a player of booth A: the shared board loses them.
    ban = kiosk("staff", "ban", "bob", "--config", str(config), "--data-dir", str(booth_b), env=env)
    assert ban.returncode == 0, ban.stderr
    audit = kiosk("audit", "--json", "--config", str(config), "--data-dir", str(data_dir), env=env)
    assert [(a["action"], a["subject"]) for a in json.loads(audit.stdout)] == [("ban", "bob")]
