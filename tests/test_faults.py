"""Faults: model errors retried once then failed with a reason; broken models, targets,
data dirs and databases stop with a clear message and leave no half-written row."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from builders import REPO
from kiosk_cmd import kiosk

from kiosk.core.config import ConfigError, Settings, load_settings
from kiosk.core.events import Done, Event, Failed, ModelsFailed, Retrying
from kiosk.engine.engine import Engine
from kiosk.ml.generate import Generator, Rendered
from kiosk.storage.schema import sqlite_warning
from scoring.judge import Judge, Verdict


class FlakyGenerator(Generator):
    """The real generator, raising at the backend boundary for the first `failures` calls."""

    def __init__(self, settings: Any, failures: int, error: BaseException) -> None:
        super().__init__(settings)
        self.failures, self.error, self.batches = failures, error, []  # type: ignore[var-annotated]

    def generate(
        self,
        prompts: Sequence[str],
        seeds: Sequence[int],
        progress: Callable[[int, int], object] | None = None,
    ) -> Rendered:
        if prompts != ["warm-up"]:
            self.batches.append(list(prompts))
            if self.failures > 0:
                self.failures -= 1
                raise self.error
        return super().generate(prompts, seeds, progress)


class FlakyJudge(Judge):
    """The real judge, raising once at the backend boundary."""

    failures = 1

    def score(self, images: Any, target_ids: Sequence[str]) -> Verdict:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("judge exploded")
        return super().score(images, target_ids)


def run_engine(settings: Settings, submits: list[tuple[str, str]], **models: Any) -> list[Event]:
    events: list[Event] = []
    engine = Engine(settings, **models)
    engine.subscribe(events.append)
    engine.start()
    try:
        for nick, prompt in submits:  # while models load: they all wait for one batch
            engine.submit(nick, prompt)
        assert engine.wait_ready(120), engine.load_error
        assert engine.wait_idle(120)
    finally:
        engine.stop()
        engine.store.close()
    return events


def oom() -> BaseException:
    import torch

    return torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


def test_out_of_memory_is_retried_alone_and_succeeds(tiny_settings: Settings) -> None:
    gen = FlakyGenerator(tiny_settings.generator, failures=1, error=oom())
    events = run_engine(tiny_settings, [("ada", "a duck"), ("bob", "a swan")], generator=gen)
    retrying = [e for e in events if isinstance(e, Retrying)]
    assert sorted(e.nickname for e in retrying) == ["ada", "bob"]
    assert all(e.reason == "the GPU ran out of memory while drawing" for e in retrying)
    assert sorted(e.nickname for e in events if isinstance(e, Done)) == ["ada", "bob"]
    assert not [e for e in events if isinstance(e, Failed)]
    assert gen.batches[0] == ["a duck", "a swan"] and gen.batches[1:] == [["a duck"], ["a swan"]]


def test_second_error_fails_with_reason_and_queue_goes_on(tiny_settings: Settings) -> None:
    gen = FlakyGenerator(tiny_settings.generator, failures=2, error=ValueError("bad tensor"))
    events = run_engine(tiny_settings, [("ada", "a duck")], generator=gen)
    failed = [e for e in events if isinstance(e, Failed)]
    assert [(f.nickname, f.reason) for f in failed] == [("ada", "drawing failed: bad tensor")]
    db = sqlite3.connect(tiny_settings.data_path / "kiosk.db")
    assert db.execute("SELECT state, attempts, error FROM jobs").fetchall() == [
        ("failed", 2, "drawing failed: bad tensor")
    ]
    assert db.execute("SELECT COUNT(*) FROM submissions").fetchone() == (0,)
    # The engine keeps serving after a failure.
    events = run_engine(tiny_settings, [("bob", "a swan")])
    assert [e.nickname for e in events if isinstance(e, Done)] == ["bob"]


def test_judge_error_is_retried(tiny_settings: Settings) -> None:
    judge = FlakyJudge(tiny_settings.judge.model, tiny_settings.judge.pretrained)
    events = run_engine(tiny_settings, [("ada", "a duck")], judge=judge)
    assert [e.reason for e in events if isinstance(e, Retrying)] == [
        "drawing failed: judge exploded"
    ]
    assert [e.nickname for e in events if isinstance(e, Done)] == ["ada"]


def test_model_that_cannot_load(
    tiny_settings: Settings, tiny_models: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    broken = tmp_path / "broken-sd"
    shutil.copytree(tiny_models / "sd", broken)
    (broken / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"not weights")
    settings = tiny_settings.model_copy(
        update={"generator": tiny_settings.generator.model_copy(update={"model": str(broken)})}
    )
    events = run_engine_failing(settings)
    failed = [e for e in events if isinstance(e, ModelsFailed)]
    assert len(failed) == 1 and failed[0].reason


def run_engine_failing(settings: Settings) -> list[Event]:
    events: list[Event] = []
    engine = Engine(settings)
    engine.subscribe(events.append)
    engine.start()
    assert not engine.wait_ready(120)
    assert engine.load_error
    assert engine.wait_idle(1) is False  # nothing will ever run
    engine.stop()
    return events


def test_target_that_is_not_a_picture(tmp_path: Path) -> None:
    shutil.copytree(REPO / "assets", tmp_path / "assets")
    (tmp_path / "assets" / "fake.png").write_text("this is not a png")
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[[targets]]\nid = "duck"\ntitle = "Duck"\nimage = "assets/fake.png"\n')
    with pytest.raises(ConfigError, match=r"targets\[0\]\.image: not a picture"):
        load_settings(cfg)


def test_data_dir_that_cannot_be_used(tmp_path: Path, env: dict[str, str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    proc = kiosk(
        "demo", "--profile", "tiny", "--data-dir", str(blocker / "data"), env=env, timeout=120
    )
    assert proc.returncode == 2
    assert "cannot use the data dir" in proc.stderr and "Traceback" not in proc.stderr


def test_database_from_a_newer_kiosk(data_dir: Path, env: dict[str, str]) -> None:
    db = sqlite3.connect(data_dir / "kiosk.db")
    db.execute("PRAGMA user_version = 999")
    db.close()
    for args in (["demo", "--profile", "tiny"], ["stats"], ["leaderboard"]):
        proc = kiosk(*args, "--data-dir", str(data_dir), env=env, timeout=120)
        assert proc.returncode == 2, args
        assert "written by a newer kiosk" in proc.stderr and "Traceback" not in proc.stderr


DISK_FULL = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    from kiosk.core.config import load_settings
    from kiosk.engine.engine import Engine
    from kiosk.ml.tiny import with_tiny_models
    settings = with_tiny_models(load_settings(sys.argv[1], data_dir=sys.argv[2]))
    events = []
    engine = Engine(settings)
    engine.subscribe(lambda e: events.append(e.to_dict()))
    engine.start()
    assert engine.wait_ready(120)
    # From now on no file may grow past its current size: the disk is "full".
    limit = max(p.stat().st_size for p in Path(sys.argv[2]).rglob("*") if p.is_file())
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    outcome = "queued"
    try:
        engine.submit("ada", "a duck on a full disk")
    except Exception as exc:
        outcome = f"refused: {exc}"
    engine.wait_idle(60)
    engine.stop()
    print(json.dumps({"outcome": outcome, "events": events}))
""")


def test_full_disk_loses_nothing_and_says_why(
    tiny_settings: Settings, data_dir: Path, env: dict[str, str]
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(REPO / "kiosk.toml"), str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    failed = [e for e in result["events"] if e["event"] == "failed"]
    if result["outcome"].startswith("refused"):
        assert "the disk is full" in result["outcome"] or "could not save" in result["outcome"]
    else:
        assert failed and "could not save the drawing" in failed[0]["reason"]
    db = sqlite3.connect(data_dir / "kiosk.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    for (image,) in db.execute("SELECT image FROM submissions"):
        assert (data_dir / image).is_file()
    assert not list(data_dir.glob("images/*/.tmp-*"))


@pytest.mark.parametrize(
    ("version", "warns"),
    [
        ("3.40.1", True),
        ("3.44.5", True),
        ("3.44.6", False),
        ("3.50.6", True),
        ("3.50.7", False),
        ("3.51.2", True),
        ("3.51.3", False),
        ("3.52.0", False),
        ("4.0.0", False),
    ],
)
def test_sqlite_wal_reset_warning(version: str, warns: bool) -> None:
    warning = sqlite_warning(version)
    assert bool(warning) is warns
    if warning:
        assert version in warning and "3.51.3" in warning


def test_engine_announces_old_sqlite(tiny_settings: Settings) -> None:
    events: list[Event] = []
    engine = Engine(tiny_settings)
    engine.subscribe(events.append)
    engine.start()
    engine.stop()
    messages = [e.to_dict().get("message", "") for e in events if e.name == "notice"]
    assert any("TINY DEMO MODELS" in m for m in messages)
    assert any("WAL-reset" in m for m in messages) is bool(sqlite_warning())
