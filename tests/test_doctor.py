"""`kiosk doctor`: each check's pass and fail path, the command's exit codes and --json, and
`kiosk run` stopping on a failed check by name. No GPU here: the CUDA line says so; the
device's own answers come from a stand-in whose float16 matmul really runs (on the CPU)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from builders import REPO, free_port
from click.testing import CliRunner
from kiosk_cmd import kiosk

from kiosk.cli import main
from kiosk.cli.doctor import PreflightFailed, preflight
from kiosk.core.config import JudgeSettings, Settings, load_settings
from kiosk.core.pin import hash_pin
from kiosk.ops import doctor as d
from kiosk.ops import doctor_models as m
from kiosk.storage.lock import DataDirLock
from kiosk.storage.schema import VERSION, sqlite_warning
from kiosk.storage.store import Store

GIB = m.GIB


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The repo's config (real models, not loaded), a data dir that does not exist yet."""
    return load_settings(REPO / "kiosk.toml", data_dir=tmp_path / "data")


@pytest.fixture
def booth(tmp_path: Path) -> Path:
    """A copy of the repo's config and pictures, to break."""
    shutil.copy(REPO / "kiosk.toml", tmp_path / "kiosk.toml")
    shutil.copytree(REPO / "assets", tmp_path / "assets")
    return tmp_path / "kiosk.toml"


# -- the machine --------------------------------------------------------------------------


def test_python_passes_from_3_11_and_fails_below() -> None:
    assert d.check_python((3, 11, 7)).status == "pass"
    old = d.check_python((3, 10, 12))
    assert old.status == "fail" and "needs 3.11" in old.detail and old.fix


@pytest.mark.parametrize(
    ("version", "status"),
    [
        ("3.51.3", "pass"),
        ("3.53.0", "pass"),
        ("3.50.7", "pass"),  # backports of the fix
        ("3.44.6", "pass"),
        ("3.51.2", "warn"),
        ("3.40.1", "warn"),
        ("3.7.0", "warn"),
        ("3.6.23", "fail"),  # no WAL mode at all
    ],
)
def test_sqlite_warns_on_the_wal_reset_bug(version: str, status: str) -> None:
    line = d.check_sqlite(version)
    assert line.status == status, line
    if status == "warn":
        assert "WAL-reset" in line.detail and "3.51.3" in line.fix


def test_sqlite_line_agrees_with_the_engine_warning() -> None:
    assert (d.check_sqlite().status == "warn") is bool(sqlite_warning())


def test_torch_line_names_the_build() -> None:
    cuda_build = SimpleNamespace(__version__="2.14.1+cu130", version=SimpleNamespace(cuda="13.0"))
    assert m.check_torch(cuda_build).status == "pass"
    cpu_build = SimpleNamespace(__version__="2.14.1+cpu", version=SimpleNamespace(cuda=None))
    assert m.check_torch(cpu_build).status == "warn"
    broken = m.check_torch(None, "libtorch_cuda.so: cannot open shared object file")
    assert broken.status == "fail" and "libtorch_cuda.so" in broken.detail


class FakeCuda:
    """torch.cuda as a GPU machine answers it."""

    def __init__(self, free: int, broken: str = "") -> None:
        self.free, self.broken = free, broken

    def is_available(self) -> bool:
        return True

    def get_device_name(self, index: int) -> str:
        if self.broken:
            raise RuntimeError(self.broken)
        return "NVIDIA H200"

    def mem_get_info(self, index: int) -> tuple[int, int]:
        return self.free, 140 * GIB

    def synchronize(self) -> None:
        pass


def gpu_torch(free: int = 100 * GIB, fp16: str = "", device: str = "") -> Any:
    """torch with a CUDA device: the matmul runs for real, on the CPU."""
    import torch

    def full(shape: tuple[int, int], value: float, *, device: str, dtype: Any) -> Any:
        if fp16:
            raise RuntimeError(fp16)
        return torch.full(shape, value, dtype=dtype)

    return SimpleNamespace(
        cuda=FakeCuda(free, device), float16=torch.float16, version=torch.version, full=full
    )


def test_no_gpu_here_the_cuda_line_says_so_cleanly() -> None:
    torch, error = m.load_torch()
    assert torch is not None, error
    facts = m.cuda_facts(torch)
    if facts.available:
        pytest.skip("this machine has a CUDA device")
    line = m.check_cuda(facts)
    assert line.status == "warn", line
    assert line.detail.startswith(
        "no CUDA device: drawings run on the CPU, far too slow for a booth"
    )
    assert "NVIDIA GPU" in line.fix
    assert m.check_cuda(facts, device="cuda").status == "fail"  # asked for, not there
    assert m.check_cuda(m.cuda_facts(None)).status == "warn"


def test_a_cuda_device_with_room_and_working_fp16_passes() -> None:
    line = m.check_cuda(m.cuda_facts(gpu_torch()))
    assert line.status == "pass", line
    assert "NVIDIA H200, 100.0 GiB free of 140.0 GiB" in line.detail
    assert "float16 works" in line.detail


def test_a_cuda_device_that_fails_fp16_or_memory_or_answers_fails() -> None:
    kernel = "CUDA error: no kernel image is available for execution on the device"
    fp16 = m.check_cuda(m.cuda_facts(gpu_torch(fp16=kernel)))
    assert fp16.status == "fail" and kernel in fp16.detail and "float32" in fp16.fix
    assert m.check_cuda(m.cuda_facts(gpu_torch(free=2 * GIB))).status == "fail"
    assert m.check_cuda(m.cuda_facts(gpu_torch(free=5 * GIB))).status == "warn"
    lost = m.check_cuda(m.cuda_facts(gpu_torch(device="CUDA error: unknown error")))
    assert lost.status == "fail" and "unknown error" in lost.detail


# -- the config and what it names ----------------------------------------------------------


def test_config_passes_and_a_broken_one_is_a_failed_line(booth: Path) -> None:
    (line, pictures), settings = d.check_config(booth, None, "real")
    assert line.status == pictures.status == "pass" and settings is not None
    assert pictures.detail == "3 readable (duck-and-swan, duck, swan)"
    booth.write_text(booth.read_text().replace("[limits]", "[limits]\nprompt_maxx = 3"))
    lines, settings = d.check_config(booth, None, "real")
    assert [line.status for line in lines] == ["fail"] and settings is None
    assert "limits.prompt_maxx: unknown key" in lines[0].detail


def test_a_missing_or_broken_picture_is_its_own_line(booth: Path) -> None:
    """The config's own picture check, said by the key to edit; the other checks still run."""
    (booth.parent / "assets" / "duck.png").unlink()
    (booth.parent / "assets" / "swan.png").write_text("not a png")
    (line, pictures), settings = d.check_config(booth, None, "real")
    assert line.status == "pass" and settings is not None  # the rest of the file is fine
    assert pictures.status == "fail" and "[[targets]] image" in pictures.fix
    assert "targets[1].image: file not found" in pictures.detail
    assert "targets[2].image: not a picture" in pictures.detail


def local_models(settings: Settings, root: Path) -> Settings:
    """The settings with a generator and a judge in local folders (files only the checks
    read, of known sizes)."""
    sd, clip = root / "sd", root / "clip"
    (sd / "unet").mkdir(parents=True)
    clip.mkdir()
    (sd / "model_index.json").write_text("{}")
    (sd / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"\0" * 3_000_000)
    (clip / "open_clip_config.json").write_text("{}")
    (clip / "open_clip_model.safetensors").write_bytes(b"\0" * 1_000_000)
    generator = settings.generator.model_copy(update={"model": str(sd)})
    judge = JudgeSettings(model=f"local-dir:{clip}", pretrained="")
    return settings.model_copy(update={"generator": generator, "judge": judge})


def test_weights_present_offline_pass_with_their_size(settings: Settings, tmp_path: Path) -> None:
    line = m.check_weights(local_models(settings, tmp_path / "models"))
    assert line.status == "pass", line
    assert "present offline, 4.0 MB" in line.detail and "generator" in line.detail


def test_missing_weights_fail_and_say_how_to_pull(settings: Settings) -> None:
    generator = settings.generator.model_copy(update={"model": "nobody/not-pulled-here"})
    judge = JudgeSettings(model="local-dir:/nonexistent/clip", pretrained="")
    line = m.check_weights(settings.model_copy(update={"generator": generator, "judge": judge}))
    assert line.status == "fail" and "nobody/not-pulled-here" in line.detail
    assert "kiosk models pull" in line.fix

    def broken(_: Settings) -> list[m.ModelCheck]:
        raise RuntimeError("cache in a strange state")

    assert m.check_weights(settings, models=broken).status == "fail"
    tiny = m.check_weights(settings.model_copy(update={"profile": "tiny"}))
    assert tiny.status == "warn" and "scores mean nothing" in tiny.detail


# -- the data dir, the staff, the clock, the terminal --------------------------------------


def usage(free: int) -> Callable[[Path], tuple[int, int, int]]:
    return lambda path: (10**13, 10**13 - free, free)


def test_disk_against_the_event_need(tmp_path: Path) -> None:
    assert d.EVENT_BYTES == 400_000 * 12_000
    enough = d.check_disk(tmp_path, usage(2 * d.EVENT_BYTES))
    assert enough.status == "pass" and "12,000 drawings x 400 KB" in enough.detail
    assert d.check_disk(tmp_path, usage(d.EVENT_BYTES - 1)).status == "warn"
    full = d.check_disk(tmp_path / "not" / "yet", usage(100_000_000))
    assert full.status == "fail" and "nearly full" in full.detail and str(tmp_path) in full.detail


def test_data_dir_writable_or_not(tmp_path: Path) -> None:
    assert d.check_data_dir(tmp_path).status == "pass"
    assert list(tmp_path.iterdir()) == []  # the probe file is gone
    later = d.check_data_dir(tmp_path / "data")
    assert later.status == "pass" and "will be created" in later.detail
    assert not (tmp_path / "data").exists()
    (tmp_path / "a-file").write_text("")
    blocked = d.check_data_dir(tmp_path / "a-file" / "data")
    assert blocked.status == "fail" and "is a file" in blocked.detail


def test_data_dir_lock_free_or_held_by_another_kiosk(tmp_path: Path) -> None:
    assert d.check_lock(tmp_path / "none-yet").status == "pass"
    assert d.check_lock(tmp_path).status == "pass"
    with DataDirLock(tmp_path):
        held = d.check_lock(tmp_path)
    assert held.status == "fail"
    assert "another kiosk is already using the data dir" in held.detail
    assert f"process {os.getpid()}" in held.detail and "--data-dir" in held.fix
    assert d.check_lock(tmp_path).status == "pass"  # let go


def test_staff_pin_set_missing_or_not_a_hash() -> None:
    line = d.check_staff_pin(hash_pin("482193"))
    assert line.status == "pass" and "argon2id" in line.detail and "482193" not in line.detail
    assert d.check_staff_pin("").status == "warn"
    bad = d.check_staff_pin("4821")
    assert bad.status == "warn" and "kiosk staff set-pin" in bad.fix


def test_clock_floor_and_the_newest_row(tmp_path: Path) -> None:
    now = d.CLOCK_FLOOR.timestamp() + 86400 * 300
    assert d.check_clock(now).status == "pass"
    assert d.check_clock(0.0).status == "fail"  # a dead RTC battery: 1970
    assert d.check_clock(now, newest=now + 5).status == "pass"  # within the slack
    behind = d.check_clock(now, newest=now + 3600)
    assert behind.status == "fail" and "newest row" in behind.detail
    assert d.newest_row_time(tmp_path) is None
    store = Store(tmp_path / "kiosk.db")
    store.moderation.record("pause")
    store.close()
    newest = d.newest_row_time(tmp_path)
    assert newest is not None and d.check_clock(newest + 1, newest).status == "pass"


def test_terminal_size_and_graphics() -> None:
    least = (110, 28)
    assert d.check_terminal((120, 40), "kitty", least).status == "pass"
    small = d.check_terminal((80, 24), "kitty", least)
    assert small.status == "warn" and "smaller than 110x28" in small.detail
    coarse = d.check_terminal((120, 40), "halfcell", least)
    assert coarse.status == "warn" and "Sixel" in coarse.fix
    assert d.check_terminal(None, None, least).status == "warn"


# -- the command, and `kiosk run` ----------------------------------------------------------


def test_doctor_command_exit_codes_and_json(tmp_path: Path) -> None:
    """Warnings only (no GPU, tiny models, no PIN): exit 0, also beside a running kiosk
    (its data-dir lock is a pass with a note); a broken config: exit 1, never a traceback."""
    data = tmp_path / "data"
    where = ["--profile", "tiny", "--config", str(REPO / "kiosk.toml"), "--data-dir", str(data)]
    runner = CliRunner()
    ok = runner.invoke(main, ["doctor", *where])
    assert ok.exit_code == 0, ok.output
    assert "! cuda" in ok.output and "no CUDA device" in ok.output
    assert "checks:" in ok.output and "0 failed" in ok.output
    as_json = runner.invoke(main, ["doctor", "--json", *where])
    assert as_json.exit_code == 0
    report = json.loads(as_json.output)
    names = [c["name"] for c in report["checks"]]
    assert names[:3] == ["python", "sqlite", "config"] and {"clock", "words"} <= set(names)
    assert report["ok"] and report["summary"]["fail"] == 0
    assert sum(report["summary"].values()) == len(names) == 14

    data.mkdir()
    with DataDirLock(data):  # as the running booth holds it: doctor runs beside it
        beside = runner.invoke(main, ["doctor", *where])
    assert beside.exit_code == 0, beside.output
    assert f"✓ data dir lock    held by the running kiosk (pid {os.getpid()})" in beside.output
    assert "note: `" in beside.output and "expected while the booth runs" in beside.output

    bad = tmp_path / "bad.toml"
    bad.write_text("[event]\ncolour = 'red'\n")
    broken = runner.invoke(main, ["doctor", "--json", "--config", str(bad)])
    assert broken.exit_code == 1 and isinstance(broken.exception, SystemExit)
    lines = {c["name"]: c for c in json.loads(broken.output)["checks"]}
    assert lines["config"]["status"] == "fail" and "unknown key" in lines["config"]["detail"]
    assert {"python", "sqlite", "torch", "cuda", "terminal"} <= set(lines)


def test_run_preflight_warns_then_stops_on_a_failed_check(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    preflight(settings)
    assert "kiosk: warning: staff pin" in capsys.readouterr().err  # the booth would start
    settings.data_path.mkdir()
    with DataDirLock(settings.data_path), pytest.raises(PreflightFailed) as failed:
        preflight(settings)
    assert failed.value.exit_code == 1
    assert "check failed: data dir lock" in failed.value.message
    assert "fix:" in failed.value.message


def test_kiosk_run_on_a_failing_machine_names_the_check(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    with DataDirLock(data):
        proc = kiosk("run", "--profile", "tiny", "--data-dir", str(data), env=env, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "kiosk: check failed: data dir lock: another kiosk is already using" in proc.stderr
    assert f"process {os.getpid()}" in proc.stderr and "fix:" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_words_pass_with_the_shipped_list_and_fail_on_a_missing_one(settings: Settings) -> None:
    assert d.check_words(settings).status == "pass"
    words = settings.words.model_copy(update={"blocklist": "no/such/list.txt"})
    result = d.check_words(settings.model_copy(update={"words": words}))
    assert result.status == "fail" and "word list not found" in result.detail


def test_the_shared_store_line_names_server_schema_or_why_not(pg_url: str) -> None:
    from kiosk.storage.store import PgStore

    assert d.check_store("") is None  # SQLite: the sqlite and data dir lines say it all
    empty = d.check_store(pg_url)
    assert empty is not None and empty.status == "warn" and "schema 0" in empty.detail
    PgStore(pg_url).shutdown()  # the first kiosk migrates it
    ready = d.check_store(pg_url)
    assert ready is not None and ready.status == "pass"
    assert ready.detail.startswith("PostgreSQL ") and f"schema {VERSION}" in ready.detail
    gone = d.check_store(f"postgresql://kiosk:pw@127.0.0.1:{free_port()}/event")
    assert gone is not None and gone.status == "fail" and "pw" not in gone.detail
    assert "[store] url" in gone.fix
