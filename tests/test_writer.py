"""The stages after the drawing: drawings are judged and saved off the model thread, and
nothing about crash safety, events or the queue changes (a kill before the commit redraws
the same picture; a model or save error fails the job with its reason; stop() drains the
stage and the writers)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from builders import REPO
from PIL import Image

from kiosk.core.config import Settings
from kiosk.core.events import Done, Event, Failed, LeaderboardChanged, Retrying, Started
from kiosk.engine import batch
from kiosk.engine.engine import Engine
from kiosk.engine.writer import HostBatch
from kiosk.storage.images import to_pil, write_image
from scoring.judge import Judge


def with_writers(settings: Settings, writers: int, batch_size: int = 4) -> Settings:
    g = settings.generator.model_copy(update={"writers": writers, "batch": batch_size})
    return settings.model_copy(update={"generator": g})


def slow_writes(monkeypatch: pytest.MonkeyPatch, seconds: float, fail: str = "") -> None:
    """write_image takes `seconds`; it raises for a drawing whose prompt key is `fail`."""
    real = write_image

    def write(image: Any, path: Path) -> None:
        time.sleep(seconds)
        if fail and fail in path.name:
            raise OSError(28, "No space left on device")
        real(image, path)

    monkeypatch.setattr(batch, "write_image", write)


def run(settings: Settings, prompts: list[str], stop_at_once: bool = False) -> list[Event]:
    events: list[Event] = []
    engine = Engine(settings)
    engine.subscribe(events.append)
    engine.start()
    try:
        for i, prompt in enumerate(prompts):
            engine.submit(f"p{i}", prompt)
        assert engine.wait_ready(120), engine.load_error
        if stop_at_once:  # once every job is being drawn: stop() must drain the writers
            deadline = time.monotonic() + 120
            while sum(isinstance(e, Started) for e in events) < len(set(prompts)):
                assert time.monotonic() < deadline
                time.sleep(0.01)
        else:
            assert engine.wait_idle(120)
    finally:
        engine.stop()
        engine.store.close()
    return events


def test_model_thread_draws_on_while_a_drawing_is_written(
    tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_writes(monkeypatch, 0.4)
    events = run(with_writers(tiny_settings, 2, batch_size=1), ["a duck", "a swan", "a pond"])
    kinds = [(type(e).__name__, getattr(e, "job_id", None)) for e in events]
    started = [j for k, j in kinds if k == "Started"]
    first_done = kinds.index(("Done", started[0]))
    assert kinds.index(("Started", started[1])) < first_done  # drawn while 1 was written
    assert len([e for e in events if isinstance(e, Done)]) == 3
    for job_id in started:  # per job: started before done, in seq order
        mine = [e for e in events if getattr(e, "job_id", None) == job_id]
        assert [type(e) for e in mine if isinstance(e, Started | Done)] == [Started, Done]
        assert [e.seq for e in mine] == sorted(e.seq for e in mine)
    assert isinstance(events[-1], LeaderboardChanged)


def test_joiners_finish_after_their_lead_and_stop_drains(
    tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_writes(monkeypatch, 0.3)
    prompts = ["a red duck", "a red duck", "a blue swan", "a red duck"]
    events = run(with_writers(tiny_settings, 2), prompts, stop_at_once=True)
    done = [e for e in events if isinstance(e, Done)]
    assert len(done) == 4  # stop() returned after the writers drained
    lead = next(e for e in done if not e.dedup and e.prompt == "a red duck")
    assert all(e.seq > lead.seq for e in done if e.dedup)
    db = sqlite3.connect(tiny_settings.data_path / "kiosk.db")
    assert db.execute("SELECT count(*) FROM jobs").fetchone() == (0,)
    originals = db.execute("SELECT count(*) FROM submissions WHERE dedup_of IS NULL")
    assert originals.fetchone() == (2,)


def test_a_save_error_on_a_writer_fails_that_job_with_its_reason(
    tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = with_writers(tiny_settings, 2)
    engine = Engine(settings)
    key = engine.dedup_key("a doomed duck")
    engine.store.close()
    slow_writes(monkeypatch, 0.05, fail=key)
    events = run(settings, ["a doomed duck", "a happy duck", "a doomed duck"])
    failed = [e for e in events if isinstance(e, Failed)]
    assert {e.nickname for e in failed} == {"p0", "p2"}  # the job and the one who joined it
    assert all("could not save the drawing" in e.reason for e in failed)
    assert [e.nickname for e in events if isinstance(e, Done)] == ["p1"]


def test_pictures_may_be_rows_of_a_tensor_batch() -> None:
    torch = pytest.importorskip("torch")
    images = torch.rand(2, 3, 8, 8)
    pictures = HostBatch(images)
    pil = to_pil(pictures.row(1))
    assert isinstance(pil, Image.Image) and pil.size == (8, 8)
    want = (images[1].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    assert (np.asarray(pil) == want).all()


KILLED_BEFORE_COMMIT = textwrap.dedent("""
    import os, shutil, signal, sys
    from kiosk.core.config import load_settings
    from kiosk.engine import batch
    from kiosk.engine.engine import Engine
    from kiosk.ml.tiny import with_tiny_models
    settings = with_tiny_models(load_settings(sys.argv[1], data_dir=sys.argv[2]))
    g = settings.generator.model_copy(update={"writers": 2})
    settings = settings.model_copy(update={"generator": g})
    real = batch.write_image
    def write(image, path):  # drawn and written, then killed before the commit
        real(image, path)
        shutil.copy(path, sys.argv[3])
        os.kill(os.getpid(), signal.SIGKILL)
    batch.write_image = write
    engine = Engine(settings)
    engine.start()
    engine.submit("ada", "a duck killed before its commit")
    engine.wait_idle(120)
""")


def test_a_kill_between_drawing_and_commit_redraws_the_same_picture(
    tiny_settings: Settings, tmp_path: Path, env: dict[str, str]
) -> None:
    first = tmp_path / "first.png"
    args = [str(REPO / "kiosk.toml"), str(tiny_settings.data_path), str(first)]
    proc = subprocess.run([sys.executable, "-c", KILLED_BEFORE_COMMIT, *args], env=env, timeout=180)
    assert proc.returncode == -9 and first.is_file()
    events = run(with_writers(tiny_settings, 2), [])  # resumes the pending job
    done = [e for e in events if isinstance(e, Done)]
    assert len(done) == 1 and done[0].nickname == "ada"
    db = sqlite3.connect(tiny_settings.data_path / "kiosk.db")
    assert db.execute("SELECT count(*) FROM submissions").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM jobs").fetchone() == (0,)
    again = Image.open(done[0].image)
    assert again.tobytes() == Image.open(first).tobytes()  # the same seed: the same picture


def test_writer_threads_end_with_the_engine(tiny_settings: Settings) -> None:
    run(with_writers(tiny_settings, 2), ["a duck"])
    assert not [
        t for t in threading.enumerate() if t.name.startswith(("kiosk-writer", "kiosk-stage"))
    ]


def slow_judge(monkeypatch: pytest.MonkeyPatch, seconds: float, fail: bool = False) -> list[str]:
    """Judge.score takes `seconds` (or raises, with `fail`); returns the threads it ran on."""
    threads: list[str] = []
    real = Judge.score

    def score(self: Judge, images: Any, target_ids: Any) -> Any:
        threads.append(threading.current_thread().name)
        time.sleep(seconds)
        if fail:
            raise RuntimeError("the judge fell over")
        return real(self, images, target_ids)

    monkeypatch.setattr(Judge, "score", score)
    return threads


def test_the_judge_runs_on_the_stage_thread_while_the_next_batch_is_drawn(
    tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = slow_judge(monkeypatch, 0.4)
    events = run(with_writers(tiny_settings, 2, batch_size=1), ["a duck", "a swan", "a pond"])
    assert set(threads) == {"kiosk-stage_0"}
    kinds = [(type(e).__name__, getattr(e, "job_id", None)) for e in events]
    started = [j for k, j in kinds if k == "Started"]
    assert kinds.index(("Started", started[1])) < kinds.index(("Done", started[0]))
    done = [e for e in events if isinstance(e, Done)]
    assert [e.job_id for e in done] == started  # committed in the order drawn


def test_a_judge_error_on_the_stage_thread_retries_once_then_fails_the_job(
    tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_judge(monkeypatch, 0.0, fail=True)
    events = run(with_writers(tiny_settings, 2), ["a duck", "a duck", "a swan"])
    assert sorted(e.nickname for e in events if isinstance(e, Retrying)) == ["p0", "p2"]
    failed = [e for e in events if isinstance(e, Failed)]
    assert sorted(e.nickname for e in failed) == ["p0", "p1", "p2"]  # p1 joined p0's job
    assert all("the judge fell over" in e.reason for e in failed)
    db = sqlite3.connect(tiny_settings.data_path / "kiosk.db")
    assert db.execute("SELECT count(*) FROM submissions").fetchone() == (0,)
