"""The engine end to end on tiny models, through the real diffusers and open_clip code, on
each store (SQLite, and PostgreSQL on the session's throwaway cluster)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from builders import tiny_settings_in
from engine_fixtures import CountingGenerator, Recorder, engine_db
from PIL import Image
from store_fixtures import BACKENDS

from kiosk.core.config import Settings, StoreSettings
from kiosk.core.events import Done, Failed, LeaderboardChanged, ModelsReady, Queued, Started
from kiosk.core.policy import PolicyError, QueueFullError
from kiosk.engine.engine import Engine
from kiosk.ml.generate import Generator
from kiosk.storage.store import PgStore


@pytest.fixture(params=BACKENDS)
def tiny_settings(request: pytest.FixtureRequest, data_dir: Path, tiny_models: Path) -> Settings:
    """The tiny booth (conftest's), its store SQLite in the data dir or a fresh PostgreSQL
    database (`[store] url`)."""
    settings = tiny_settings_in(data_dir, tiny_models)
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        settings = settings.model_copy(update={"store": StoreSettings(url=url)})
    return settings


def test_end_to_end_real_models(
    engine_factory: Callable[..., tuple[Engine, Recorder]], tiny_settings: Settings
) -> None:
    engine, rec = engine_factory()
    ready = rec.of(ModelsReady)[0]
    assert ready.tiny and ready.device == "cpu"
    q1 = engine.submit("Ada", "a duck and a swan")
    q2 = engine.submit("Bob", "a swan on a lake")
    assert isinstance(q1, Queued) and isinstance(q2, Queued)
    assert q1.position >= 1
    assert engine.wait_idle(120)
    done = rec.of(Done)
    assert {d.nickname for d in done} == {"Ada", "Bob"}
    for d in done:
        assert not d.dedup and d.rank in (1, 2)
        assert -1.0 <= d.cosine <= 1.0
        assert d.score == pytest.approx(100 * max(d.cosine, 0.0))
        with Image.open(d.image) as im:
            assert im.size == (tiny_settings.generator.width, tiny_settings.generator.height)
        assert Path(d.image).is_relative_to(tiny_settings.data_path)
    assert rec.of(LeaderboardChanged)
    board = engine.leaderboard()
    assert [r.nickname for r in board] == sorted(
        ["Ada", "Bob"], key=lambda n: -next(d.cosine for d in done if d.nickname == n)
    )
    assert engine.stats().submissions == 2 and engine.stats().pending_jobs == 0
    assert not list(tiny_settings.data_path.glob("images/*/.tmp-*"))


def test_same_seed_same_drawing(engine_factory: Callable[..., tuple[Engine, Recorder]]) -> None:
    engine, rec = engine_factory()
    gen = engine.generator
    assert isinstance(gen, Generator)
    engine.submit("Ada", "a duck")
    engine.wait_idle(120)
    first = rec.of(Done)[0]
    with Image.open(first.image) as im:
        stored = im.convert("RGB").tobytes()
    sub = engine.store.jobs.submission(first.submission_id)
    assert sub is not None
    (again,) = gen.generate(["a duck"], [sub.seed]).images
    assert again.convert("RGB").tobytes() == stored


def test_dedup_hit_does_not_call_the_generator(
    engine_factory: Callable[..., tuple[Engine, Recorder]],
) -> None:
    engine, rec = engine_factory()
    gen = engine.generator
    engine.submit("Ada", "A Duck!!")
    engine.wait_idle(120)
    assert gen.prompts == ["a duck"]  # type: ignore[union-attr]
    original = rec.of(Done)[0]
    hit = engine.submit("Bob", "a duck")
    assert isinstance(hit, Done) and hit.dedup and hit.job_id is None
    assert gen.prompts == ["a duck"]  # type: ignore[union-attr]  # no model work
    assert (hit.image, hit.cosine) == (original.image, original.cosine)
    assert hit.rank == 2  # same score, reached later
    s = engine.stats()
    assert (s.submissions, s.dedup_hits) == (2, 1)


def test_duplicate_prompts_in_one_batch_draw_once(
    engine_factory: Callable[..., tuple[Engine, Recorder]], tiny_settings: Settings
) -> None:
    gen = CountingGenerator(tiny_settings.generator)
    engine, rec = engine_factory(generator=gen)
    gen.gate = threading.Event()  # hold the worker so both jobs land in one batch
    engine.submit("Ada", "a swan")
    engine.submit("Bob", "A swan.")
    engine.submit("Cy", "a duck")
    gen.gate.set()
    engine.wait_idle(120)
    assert sorted(gen.prompts) == ["a duck", "a swan"]
    done = {d.nickname: d for d in rec.of(Done)}
    assert done["Bob"].dedup and done["Bob"].image == done["Ada"].image


def test_policy_rejections_and_queue_cap(
    engine_factory: Callable[..., tuple[Engine, Recorder]],
) -> None:
    engine, _ = engine_factory(start=False)  # nothing runs: jobs stay queued
    with pytest.raises(PolicyError, match="Please type a nickname"):
        engine.submit("\x1b[2J", "a duck")
    with pytest.raises(PolicyError, match="too long"):
        engine.submit("ada", "x" * 10_000)
    with pytest.raises(PolicyError, match="describe a picture"):
        engine.submit("ada", "?!...")
    for i in range(3):
        engine.submit("ada", f"duck number {i}")
    with pytest.raises(QueueFullError, match="already have 3 drawings waiting"):
        engine.submit("ADA", "one more duck")
    bob = engine.submit("bob", "a swan")
    assert isinstance(bob, Queued) and bob.position == 2  # fair: before ada's 2nd and 3rd
    assert [e.nickname for e in engine.queue_snapshot()] == ["ada", "bob", "ada", "ada"]
    assert engine.stats().pending_jobs == 4 and engine.stats().submissions == 0


def test_restart_resumes_pending_jobs(
    engine_factory: Callable[..., tuple[Engine, Recorder]],
) -> None:
    first, _ = engine_factory(start=False)  # accepts jobs, then "crashes" before drawing
    first.submit("ada", "a duck")
    first.submit("bob", "a swan")
    first.stop()  # a crash lets the data dir go
    first.store.close()
    second, rec = engine_factory(start=True)
    resumed = [q for q in rec.of(Queued) if q.resumed]
    assert [q.nickname for q in resumed] == ["ada", "bob"]
    assert second.wait_idle(120)
    assert {d.nickname for d in rec.of(Done)} == {"ada", "bob"}
    assert second.stats().pending_jobs == 0 and second.stats().submissions == 2


def test_generator_failure_fails_the_job_and_the_queue_goes_on(
    engine_factory: Callable[..., tuple[Engine, Recorder]], tiny_settings: Settings
) -> None:
    gen = CountingGenerator(tiny_settings.generator)
    engine, rec = engine_factory(generator=gen)
    gen.fail_with = RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    engine.submit("ada", "a duck")
    engine.wait_idle(120)
    failed = rec.of(Failed)
    assert [f.nickname for f in failed] == ["ada"]
    assert "ran out of memory" in failed[0].reason
    gen.fail_with = None
    engine.submit("bob", "a swan")
    engine.wait_idle(120)
    assert [d.nickname for d in rec.of(Done)] == ["bob"]
    row = engine_db(engine).conn().execute("SELECT state, error FROM jobs").fetchall()
    assert row == [("failed", failed[0].reason)]


def test_started_events_carry_batch_size(
    engine_factory: Callable[..., tuple[Engine, Recorder]], tiny_settings: Settings
) -> None:
    gen = CountingGenerator(tiny_settings.generator)
    engine, rec = engine_factory(generator=gen)
    gen.gate = threading.Event()
    for nick in ("a", "b", "c", "d", "e"):
        engine.submit(nick, f"prompt {nick}")
    gen.gate.set()
    engine.wait_idle(120)
    sizes = [s.batch for s in rec.of(Started)]
    assert max(sizes) > 1 and max(sizes) <= tiny_settings.generator.batch
    assert len(rec.of(Done)) == 5


def test_models_loaded_beforehand_are_not_loaded_again(tiny_settings: Settings) -> None:
    from scoring.judge import Judge

    gen = CountingGenerator(tiny_settings.generator)
    gen.load()
    judge = Judge(tiny_settings.judge.model, tiny_settings.judge.pretrained)
    judge.load()
    pipe, model = gen.pipe, judge.model
    engine = Engine(tiny_settings, generator=gen, judge=judge)
    engine.start()
    try:
        assert engine.wait_ready(120), engine.load_error
        assert engine.generator is gen and gen.pipe is pipe and judge.model is model
    finally:
        engine.stop()
        if isinstance(engine.store, PgStore):
            engine.store.shutdown()
