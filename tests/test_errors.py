"""Errors as a new user meets them, through the real `kiosk` command: a data dir this user
cannot write, a mistyped data dir or config key, a doctor run beside the booth, and
counts that say what they count."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from builders import REPO
from kiosk_cmd import kiosk

from kiosk.ops import doctor as d
from kiosk.storage.lock import DataDirLock, os_error_advice

CONFIG = str(REPO / "kiosk.toml")


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """An existing folder this user cannot write in: mode 0o555; for root, whom modes do
    not stop, sysfs, which refuses even root."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    folder = Path("/sys/kernel")
    try:
        (folder / "kiosk-test").mkdir()
    except PermissionError:
        yield folder
    else:  # an unusual machine where root may write there: nothing to test with
        (folder / "kiosk-test").rmdir()
        pytest.skip("no folder on this machine refuses root")


def permission_fix(text: str) -> bool:
    """The fix a person needs for a permission problem, whoever runs the test."""
    if os.geteuid() == 0:
        return "refuses even root" in text and "--data-dir" in text
    return ("chown" in text or "chmod" in text) and "--data-dir" in text


# -- a data dir this user cannot write ----------------------------------------------------


def test_permission_errors_get_a_permission_fix_and_only_a_full_disk_gets_df() -> None:
    data = Path("/srv/kiosk/data")
    denied = PermissionError(errno.EACCES, "Permission denied")
    seen, fix = os_error_advice(data, denied, uid=1000)
    assert "not writable by" in seen and "sudo mkdir -p /srv/kiosk/data && sudo chown" in fix
    assert "df -h" not in fix
    assert "refuses even root" in os_error_advice(data, denied, uid=0)[0]
    full = OSError(errno.ENOSPC, "No space left on device")
    assert os_error_advice(data, full)[1].startswith("df -h /")
    readonly = OSError(errno.EROFS, "Read-only file system")
    assert "read-only file system" in os_error_advice(data, readonly)[0]


def test_an_existing_data_dir_that_is_not_writable_gets_chown_not_df(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    seen, fix = os_error_advice(folder, PermissionError(errno.EACCES, "Permission denied"), 1000)
    assert f"{folder} is not writable by" in seen
    assert "chown -R" in fix and f"chmod u+w {folder}" in fix


def test_doctor_gives_a_permission_fix_for_an_unwritable_data_dir(unwritable: Path) -> None:
    proc = kiosk(
        "doctor", "--json", "--profile", "tiny", "--config", CONFIG, "--data-dir", str(unwritable)
    )
    assert proc.returncode == 1, proc.stderr
    lines = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    for name in ("data dir", "data dir lock"):
        assert lines[name]["status"] == "fail"
        said = f"{lines[name]['detail']}\n{lines[name]['fix']}"
        assert "df -h" not in said and permission_fix(said)


def test_run_on_an_unwritable_data_dir_stops_with_a_permission_fix(unwritable: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    proc = kiosk(
        "run",
        "--profile",
        "tiny",
        "--config",
        CONFIG,
        "--data-dir",
        str(unwritable),
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "check failed: data dir lock" in proc.stderr
    lock_line = proc.stderr.split("check failed: data dir lock", 1)[1].split("check failed")[0]
    assert "df -h" not in lock_line and permission_fix(lock_line)
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", [("demo",), ("staff", "hide", "bob")])
def test_a_data_dir_that_cannot_be_created_is_said_with_its_fix(
    unwritable: Path, command: tuple[str, ...]
) -> None:
    """`kiosk staff hide` met a PermissionError traceback; `kiosk demo` a bare errno."""
    data = unwritable / "data"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    proc = kiosk(
        *command,
        "--profile",
        "tiny",
        "--config",
        CONFIG,
        "--data-dir",
        str(data),
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"kiosk: cannot use the data dir: cannot create {data}" in proc.stderr
    assert permission_fix(proc.stderr) and "df -h" not in proc.stderr
    assert not data.exists()


# -- a mistyped data dir or config key ---------------------------------------------------


@pytest.mark.parametrize("command", ["stats", "leaderboard"])
def test_counts_of_a_data_dir_that_does_not_exist_say_so_and_create_nothing(
    tmp_path: Path, command: str
) -> None:
    missing = tmp_path / "no-such-data"
    proc = kiosk(command, "--json", "--config", CONFIG, "--data-dir", str(missing))
    assert proc.returncode == 2
    assert f"kiosk: no data dir at {missing}" in proc.stderr and "--data-dir" in proc.stderr
    assert proc.stdout == "" and not missing.exists()


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        ("[generator]\nstpes = 2\n", "generator.stpes: unknown key (did you mean steps?)"),
        ("[generater]\nsteps = 2\n", "generater: unknown key (did you mean generator?)"),
        (
            '[[targets]]\nid = "a"\ntitle = "A"\nimgae = "a.png"\n',
            "targets[0].imgae: unknown key (did you mean image?)",
        ),
        ("[limits]\nzzz = 1\n", "limits.zzz: unknown key (known keys: prompt_max"),
    ],
)
def test_an_unknown_config_key_suggests_the_closest_known_one(
    tmp_path: Path, toml: str, said: str
) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(toml, encoding="utf-8")
    proc = kiosk("stats", "--config", str(config))
    assert proc.returncode == 2 and said in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


# -- the doctor beside the booth -----------------------------------------------------------


def test_doctor_beside_a_running_kiosk_passes_the_lock_with_a_note(tmp_path: Path) -> None:
    """The lock held as `kiosk run` holds it (by this process): a pass naming the pid; the
    same lock before a start (`kiosk run`'s pre-flight) is still a failure."""
    data = tmp_path / "data"
    with DataDirLock(data):
        proc = kiosk(
            "doctor", "--json", "--profile", "tiny", "--config", CONFIG, "--data-dir", str(data)
        )
        before_start = d.check_lock(data)
    line = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}["data dir lock"]
    assert line["status"] == "pass"
    assert line["detail"] == f"held by the running kiosk (pid {os.getpid()})"
    assert "expected while the booth runs" in line["note"]
    assert before_start.status == "fail"


# -- counts that say what they count -------------------------------------------------------


def test_stats_say_which_players_are_on_the_board_and_which_are_not(
    tmp_path: Path, data_dir: Path, env: dict[str, str]
) -> None:
    """Three players; staff tag one and hide another: one on the board, three in all."""
    script = tmp_path / "script.tsv"
    script.write_text(
        "ada\ta duck and a swan\nbob\ta swan at dusk\ncy\ta duck on a pond\n"
        "ada\ta duck and a swan\n!tag-staff cy\n!hide bob\n",
        encoding="utf-8",
    )
    where = ("--profile", "tiny", "--config", CONFIG, "--data-dir", str(data_dir))
    demo = kiosk("demo", "--script", str(script), *where, env=env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    counts = json.loads(kiosk("stats", "--json", *where, env=env).stdout)
    assert counts["players"] == counts["players_in_all"] == 3  # the old key stays
    assert counts["players_on_board"] == 1 and counts["players_not_on_board"] == 2
    assert counts["prompts_played"] == counts["submissions"] == 4
    assert counts["prompts_drawn"] == 3 and counts["prompts_from_dedup"] == 1
    assert counts["board_target"] == "duck-and-swan"
    human = kiosk("stats", *where, env=env).stdout
    assert "players on the board: 1 (duck-and-swan; 3 in all, 2 not on it: hidden, staff" in human
    assert "prompts played: 4 (3 drawn, 1 answered from an identical earlier prompt)" in human
