"""Fair play by source through the real engine: a phone is limited as a device, whatever
nicknames it types; the queue takes turns over sources and is rebuilt the same after a
restart; back-pressure refuses new prompts when the queue is too long, never a dedup hit
or a join. The engine is not started: prompts are accepted and queued, nothing drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from builders import REPO
from engine_fixtures import Recorder, drawn

from kiosk.core.api import KEYBOARD
from kiosk.core.config import Settings, load_settings, without_flood_limits
from kiosk.core.events import CheckAsked, Done, Queued, Refused
from kiosk.core.floods import CheckPaused, CheckRequired, NicknamesLimited
from kiosk.core.policy import Busy, QueueFullError
from kiosk.engine.engine import Engine
from kiosk.ml.tiny import with_tiny_models

Factory = Callable[..., tuple[Engine, Recorder]]
MACRO, ANN = "phone:macro-device", "phone:ann-device"


def booth(data_dir: Path, **limits: Any) -> Settings:
    """The repo's config as a booth runs it (default limits unless given), tiny, no codes."""
    settings = with_tiny_models(load_settings(REPO / "kiosk.toml", data_dir=data_dir))
    players = settings.players.model_copy(update={"codes": False})
    limited = settings.limits.model_copy(update=limits)
    return settings.model_copy(update={"players": players, "limits": limited})


def kinds(rec: Recorder) -> list[str]:
    return [e.kind for e in rec.events if isinstance(e, Refused)]


def test_a_phone_is_one_player_whatever_nicknames_it_types(
    engine_factory: Factory, data_dir: Path
) -> None:
    """One waiting prompt per phone; its bursts ask one check of the device (a new
    nickname gets the same check); its wrong answers pause the device and the nickname
    (kept across a restart); the keyboard and other phones play on."""
    engine, rec = engine_factory(start=False, settings=booth(data_dir))
    assert isinstance(engine.submit("m1", "a duck 1", source=MACRO), Queued)
    for nick in ("m2", "m3"):  # each attempt counts towards the phone's burst
        with pytest.raises(QueueFullError, match="still on its way"):
            engine.submit(nick, f"a duck by {nick}", source=MACRO)
    with pytest.raises(CheckRequired) as asked:
        engine.submit("m4", "a duck 4", source=MACRO)
    check = asked.value.challenge
    with pytest.raises(CheckRequired) as again:  # a fresh nickname: the same check
        engine.submit("m5", "a duck 5", source=MACRO)
    assert again.value.challenge == check
    (event,) = {e.challenge_id: e for e in rec.events if isinstance(e, CheckAsked)}.values()
    assert event.choices == len(check.choices) >= 6 and event.subject == check.subject
    assert event.pictures == tuple(c.id for c in check.choices)
    assert [engine.check_picture(p) for p in event.pictures] == [c.picture for c in check.choices]
    assert not engine.answer_check("m5", check.id, "1")  # the check is the phone's, not m5's
    # The keyboard is many people in turn: each has their own cap and checks.
    for nick in ("kim", "lee", "park"):
        assert isinstance(engine.submit(nick, f"a swan by {nick}"), Queued)
    assert isinstance(engine.submit("kim", "another swan by kim"), Queued)
    assert isinstance(engine.submit("ann", "a swan on a phone", source=ANN), Queued)
    # Three wrong answers, under three nicknames: the phone is paused, and the last one.
    for nick in ("w0", "w1", "m1"):
        if nick != "w0":
            with pytest.raises(CheckRequired) as asked:
                engine.submit(nick, "a duck again", source=MACRO)
            check = asked.value.challenge
        wrong = next(c.number for c in check.choices if c.title != check.subject)
        assert not engine.answer_check(nick, check.id, str(wrong), source=MACRO)
    with pytest.raises(CheckPaused):
        engine.submit("fresh", "a duck again", source=MACRO)
    with pytest.raises(CheckPaused):  # the nickname too, wherever it plays
        engine.submit("m1", "a duck again")
    with pytest.raises(CheckPaused):  # kept across a restart (a nickname that played)
        Engine(booth(data_dir), store=engine.store).submit("m1", "a duck again")
    assert kinds(rec).count("queue") == 2 and kinds(rec)[-2:] == ["paused", "paused"]


def test_a_phone_plays_under_a_few_new_nicknames_an_hour(
    engine_factory: Factory, data_dir: Path
) -> None:
    settings = booth(data_dir, nicknames_per_device=2, queued_per_device=5)
    engine, rec = engine_factory(start=False, settings=settings)
    engine.submit("ann", "a duck", source=ANN)
    engine.submit("bo", "a swan", source=ANN)  # a family shares a phone
    with pytest.raises(NicknamesLimited) as refused:
        engine.submit("cy", "a duck and a swan", source=ANN)
    assert "2 nicknames this hour" in str(refused.value) and refused.value.retry_in_s > 3500
    assert isinstance(engine.submit("ann", "a duck and a swan", source=ANN), Queued)
    assert isinstance(engine.submit("cy", "a duck and a swan, by cy"), Queued)  # keyboard
    (refusal,) = [e for e in rec.events if isinstance(e, Refused)]
    assert refusal.kind == "nicknames" and refusal.retry_in_s == pytest.approx(3600, abs=60)


def test_a_restart_rebuilds_the_same_fair_queue(engine_factory: Factory, data_dir: Path) -> None:
    """Jobs keep their source: the queue after a restart takes the same turns, sources
    first, then players within a source."""
    settings = without_flood_limits(booth(data_dir, queued_per_device=5))
    engine, _ = engine_factory(start=False, settings=settings)
    for i in range(3):  # a macro with a nickname for every prompt, then everyone else
        engine.submit(f"m{i}", f"a duck, take {i}", source=MACRO)
    engine.submit("ann", "a swan on a phone", source=ANN)
    engine.submit("kim", "a swan at the booth")
    engine.submit("lee", "a duck at the booth")
    order = [(e.nickname, e.prompt) for e in engine.queue_snapshot()]
    assert [nick for nick, _ in order] == ["m0", "ann", "kim", "m1", "lee", "m2"]
    assert {j.source for j in engine.store.jobs.pending()} == {MACRO, ANN, KEYBOARD}
    again = Engine(settings, store=engine.store)
    with again.bus.cond:
        again.drawer.load_queue()
    assert [(e.nickname, e.prompt) for e in again.queue_snapshot()] == order


def test_back_pressure_refuses_new_prompts_not_dedup_hits_or_joins(
    engine_factory: Factory, data_dir: Path
) -> None:
    """Past `max_wait_s` of drawing in the queue (by measured drawing times), a new prompt
    is refused with "try again in a minute"; a prompt already drawn or on its way is
    still answered."""
    engine, rec = engine_factory(start=False, settings=booth(data_dir, max_wait_s=600.0))
    drawn(engine, "ada", "a duck", 0.5)
    engine.times.record(1, 400_000.0)  # a drawing took 400 s: two queued fill the queue
    assert isinstance(engine.submit("bo", "a swan at dusk"), Queued)
    assert isinstance(engine.submit("cy", "a duck at dawn"), Queued)
    with pytest.raises(Busy, match="try again in a minute"):
        engine.submit("dee", "a duck and a swan")
    assert kinds(rec) == ["busy"]
    assert isinstance(engine.submit("dee", "a duck"), Done)  # a dedup hit, no drawing
    joined = engine.submit("dee", "A swan at dusk!")  # joins bo's job, no new drawing
    assert isinstance(joined, Queued) and joined.joined
