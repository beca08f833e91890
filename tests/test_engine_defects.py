"""Engine defects found in review, each pinned by a test that failed before its fix."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from builders import REPO
from engine_fixtures import CountingGenerator, Recorder, drawn, engine_db

from kiosk.core.config import ConfigError, Settings, load_settings
from kiosk.core.eta import CallTimes, queue_etas
from kiosk.core.events import Done, Event, Failed, Queued, Started
from kiosk.engine.engine import Engine
from kiosk.ml.tiny import TINY_SIZE, with_tiny_models
from kiosk.storage.lock import DataDirBusy

Factory = Callable[..., tuple[Engine, Recorder]]


# -- 1. dedup knows how the drawing was made ---------------------------------------------


@pytest.mark.parametrize(
    "change",
    [{"steps": 2}, {"guidance": 1.5}, {"width": TINY_SIZE + 8}, {"height": TINY_SIZE + 8}],
    ids=["steps", "guidance", "width", "height"],
)
def test_dedup_is_not_hit_when_a_generation_setting_changed(
    tiny_settings: Settings, change: dict[str, object]
) -> None:
    first = Engine(tiny_settings)
    drawn(first, "ada", "a duck", 0.5)
    assert isinstance(first.submit("bob", "a duck"), Done)  # same settings: a dedup hit
    first.store.close()
    generator = tiny_settings.generator.model_copy(update=change)
    second = Engine(tiny_settings.model_copy(update={"generator": generator}))
    assert isinstance(second.submit("cy", "a duck"), Queued)  # drawn again, the new way


def test_dedup_is_not_hit_when_the_target_picture_was_replaced(
    tmp_path: Path, tiny_settings: Settings
) -> None:
    first = Engine(tiny_settings)
    drawn(first, "ada", "a duck", 0.5)
    first.store.close()
    config = tmp_path / "kiosk.toml"
    shutil.copy(REPO / "kiosk.toml", config)
    shutil.copytree(REPO / "assets", tmp_path / "assets")
    target = tiny_settings.active_target
    # The same target id, a different picture (the swan's).
    shutil.copy(REPO / "assets" / "swan.png", tmp_path / target.image)
    replaced = with_tiny_models(load_settings(config, data_dir=tiny_settings.data_path))
    assert replaced.active_target.id == target.id
    assert isinstance(Engine(replaced).submit("bob", "a duck"), Queued)


# -- 2. in-flight dedup ------------------------------------------------------------------


def test_same_prompt_while_drawing_joins_the_job(
    engine_factory: Factory, tiny_settings: Settings
) -> None:
    gen = CountingGenerator(tiny_settings.generator)
    engine, rec = engine_factory(generator=gen)
    gen.gate = threading.Event()  # the first job is being drawn while the others arrive
    ada = engine.submit("Ada", "a swan")
    bob = engine.submit("Bob", "A swan.")
    assert isinstance(ada, Queued) and isinstance(bob, Queued)
    assert bob.joined and bob.job_id == ada.job_id
    jobs = engine_db(engine).conn().execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
    assert jobs == 1  # no second job row
    gen.gate.set()
    assert engine.wait_idle(120)
    assert gen.prompts == ["a swan"]  # drawn once
    done = {d.nickname: d for d in rec.of(Done)}
    assert not done["Ada"].dedup and done["Bob"].dedup
    assert done["Bob"].image == done["Ada"].image and done["Bob"].cosine == done["Ada"].cosine
    assert (done["Ada"].rank, done["Bob"].rank) == (1, 2)  # the later one ranks after
    assert engine.stats().submissions == 2 and engine.stats().pending_jobs == 0


def test_joined_prompts_survive_a_crash(engine_factory: Factory, tiny_settings: Settings) -> None:
    first, _ = engine_factory(start=False)  # accepts both, then "crashes" before drawing
    first.submit("ada", "a swan")
    joined = first.submit("bob", "a swan!")
    assert isinstance(joined, Queued) and joined.joined
    first.store.close()
    gen = CountingGenerator(tiny_settings.generator)
    second, rec = engine_factory(generator=gen)
    resumed = [q for q in rec.of(Queued) if q.resumed]
    assert [(q.nickname, q.joined) for q in resumed] == [("ada", False), ("bob", True)]
    assert second.wait_idle(120)
    assert gen.prompts == ["a swan"]
    assert sorted(d.nickname for d in rec.of(Done)) == ["ada", "bob"]
    assert second.stats().submissions == 2


def test_a_failed_job_fails_the_prompts_that_joined_it(
    engine_factory: Factory, tiny_settings: Settings
) -> None:
    gen = CountingGenerator(tiny_settings.generator)
    engine, rec = engine_factory(generator=gen)
    gen.gate = threading.Event()
    gen.fail_with = RuntimeError("CUDA out of memory")
    engine.submit("ada", "a swan")
    engine.submit("bob", "a swan")
    gen.gate.set()
    assert engine.wait_idle(120)
    assert sorted(f.nickname for f in rec.of(Failed)) == ["ada", "bob"]
    assert not engine.store.jobs.waiters()


def test_identical_jobs_in_one_batch_are_drawn_once(
    engine_factory: Factory, tiny_settings: Settings
) -> None:
    """Two pending jobs with one key (as an older kiosk could leave them) meet in a batch."""
    first, _ = engine_factory(start=False)
    for nick, prompt in (("ada", "a swan"), ("bob", "A swan."), ("cy", "a duck")):
        norm = prompt.lower().strip(".")
        key = first.dedup_key(norm)
        first.store.jobs.add(
            player_key=nick,
            nickname=nick,
            target_id=first.target_id,
            raw_prompt=prompt,
            prompt=prompt,
            norm_prompt=norm,
            dedup_key=key,
            seed=1,
        )
    first.store.close()
    gen = CountingGenerator(tiny_settings.generator)
    engine, rec = engine_factory(generator=gen)
    assert engine.wait_idle(120)
    assert [s.batch for s in rec.of(Started)] == [3, 3, 3]  # one batch
    assert gen.calls == [2] and sorted(gen.prompts) == ["a duck", "a swan"]
    done = {d.nickname: d for d in rec.of(Done)}
    assert done["bob"].dedup and done["bob"].image == done["ada"].image


# -- 3. ETA from measured calls at the sizes used ----------------------------------------


def test_eta_uses_the_measured_time_of_the_batch_size_used() -> None:
    times = CallTimes()
    assert queue_etas(times, retries=0, queued=2, batch=4) == [None, None]
    times.record(1, 2000.0)
    # A lone visitor: one call of one, not a full batch of four.
    assert queue_etas(times, retries=0, queued=1, batch=4) == [2.0]
    times.record(4, 3000.0)
    # Six waiting: a call of 4 (measured), then one of 2 (from the nearest: 1, per job).
    assert queue_etas(times, retries=0, queued=6, batch=4) == [3.0] * 4 + [7.0] * 2
    # A retry goes first, alone; what the running call still needs comes before all.
    assert queue_etas(times, retries=1, queued=1, batch=4, running_left_ms=500.0) == [2.5, 4.5]


def test_lone_visitor_sees_one_call_not_a_full_batch(tiny_settings: Settings) -> None:
    assert tiny_settings.generator.batch == 4
    engine = Engine(tiny_settings)
    engine.times.record(1, 2000.0)
    queued = engine.submit("ada", "a duck")
    assert isinstance(queued, Queued) and queued.eta_s == pytest.approx(2.0)
    assert [e.eta_s for e in engine.queue_snapshot()] == [pytest.approx(2.0)]


# -- 4. stop() keeps the lock until the worker is out ------------------------------------


def test_stop_keeps_the_data_dir_until_the_running_batch_ends(
    engine_factory: Factory, tiny_settings: Settings
) -> None:
    gen = CountingGenerator(tiny_settings.generator)
    engine, rec = engine_factory(generator=gen)
    gen.gate = threading.Event()
    engine.submit("ada", "a duck")
    deadline = time.monotonic() + 30
    while not rec.of(Started) and time.monotonic() < deadline:
        time.sleep(0.01)
    engine.stop(timeout=0.2)  # gives up waiting: the batch is still running
    with pytest.raises(DataDirBusy):
        Engine(tiny_settings).claim()
    gen.gate.set()
    assert engine.drawer._thread is not None
    engine.drawer._thread.join(30)
    later = Engine(tiny_settings)
    later.claim()  # the worker let go when its batch ended
    later.stop()
    assert [d.nickname for d in rec.of(Done)] == ["ada"]


# -- 5. submit before start ---------------------------------------------------------------


def test_jobs_submitted_before_start_are_queued_once(
    engine_factory: Factory, tiny_settings: Settings
) -> None:
    gen = CountingGenerator(tiny_settings.generator)
    engine, rec = engine_factory(start=False, generator=gen)
    engine.submit("ada", "a duck")
    engine.submit("bob", "a swan")
    engine.start()
    assert engine.wait_ready(120)
    assert engine.wait_idle(120)
    assert len(rec.of(Started)) == 2 and len(rec.of(Done)) == 2
    assert sorted(gen.prompts) == ["a duck", "a swan"]
    assert engine.stats().submissions == 2


# -- 6. a resumed job whose target is gone ------------------------------------------------


def test_resumed_job_of_a_removed_target_fails_without_model_work(
    engine_factory: Factory, tiny_settings: Settings
) -> None:
    swan_day = tiny_settings.model_copy(
        update={"event": tiny_settings.event.model_copy(update={"target": "swan"})}
    )
    first = Engine(swan_day)
    first.submit("ada", "a swan")
    first.store.close()
    without_swan = [t for t in tiny_settings.targets if t.id != "swan"]
    settings = tiny_settings.model_copy(update={"targets": without_swan})
    gen = CountingGenerator(settings.generator)
    engine, rec = engine_factory(settings=settings, generator=gen)
    assert engine.wait_idle(120)
    (failed,) = rec.of(Failed)
    assert failed.nickname == "ada" and "'swan' is no longer configured" in failed.reason
    assert gen.prompts == [] and not rec.of(Started)
    state = engine_db(engine).conn().execute("SELECT state FROM jobs").fetchall()
    assert state == [("failed",)]


# -- 7. a judge without weights -----------------------------------------------------------


def test_empty_judge_pretrained_is_refused_unless_the_model_brings_weights(
    tmp_path: Path,
) -> None:
    text = (REPO / "kiosk.toml").read_text(encoding="utf-8")
    config = tmp_path / "kiosk.toml"
    config.write_text(
        text.replace('pretrained = "laion2b_s34b_b79k"', 'pretrained = ""').replace(
            'image = "assets/', f'image = "{REPO}/assets/'
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="random weights"):
        load_settings(config)
    folder = config.read_text(encoding="utf-8").replace(
        'model = "ViT-B-32"', 'model = "local-dir:/models/clip"'
    )
    config.write_text(folder, encoding="utf-8")
    assert load_settings(config).judge.pretrained == ""


# -- 8. one offline rule, the Hub's ----------------------------------------------------


@pytest.mark.parametrize("value", ["1", "true", "ON", "yes", "0", "false", "False", "no", ""])
def test_offline_is_decided_as_huggingface_hub_decides(value: str) -> None:
    code = (
        "from kiosk.ml.offline import hub_offline\n"
        "from huggingface_hub import constants\n"
        "print(hub_offline(), constants.HF_HUB_OFFLINE)"
    )
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": value}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=60
    )
    ours, theirs = out.stdout.split()
    assert ours == theirs, out.stderr


def test_pull_is_not_refused_when_offline_is_false(
    monkeypatch: pytest.MonkeyPatch, tiny_settings: Settings
) -> None:
    from kiosk.ml import hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "false")
    seen: list[str] = []
    # The tiny generator is a local folder: nothing to download, nothing touches the network.
    settings = tiny_settings.model_copy(
        update={"judge": tiny_settings.judge.model_copy(update={"model": "local-dir:/x"})}
    )
    hub.pull_models(settings.generator, settings.judge, echo=seen.append)
    assert "nothing to download" in seen[0]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="HF_HUB_OFFLINE is set"):
        hub.pull_models(settings.generator, settings.judge, echo=seen.append)


# -- 9. events in order, numbered ---------------------------------------------------------


def test_every_subscriber_sees_a_jobs_events_in_order(engine_factory: Factory) -> None:
    engine, _ = engine_factory()

    def slow(event: Event) -> None:  # a subscriber that takes its time over `queued`
        if isinstance(event, Queued):
            time.sleep(0.3)

    seen: list[Event] = []
    engine.subscribe(slow)
    engine.subscribe(seen.append)
    for nick in ("ada", "bob", "cy"):
        engine.submit(nick, f"a duck for {nick}")
    assert engine.wait_idle(120)
    seqs = [e.seq for e in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] > 0
    for nick in ("ada", "bob", "cy"):
        kinds = [e.name for e in seen if getattr(e, "nickname", None) == nick]
        assert kinds == ["queued", "started", "done"], (nick, kinds)
