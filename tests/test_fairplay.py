"""Fair play and safety through the real engine: floods, who is who, words, pictures.

The engine runs with the booth's default limits here (the other tests relax them). Most
tests need no drawing, so the engine is not started (prompts are accepted and queued);
the picture tests draw with the tiny models and drive the probes through configuration
(their verdicts on random weights mean nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import SIZE, showing, wait_for
from builders import REPO, tiny_settings_in
from engine_fixtures import Recorder, demo_engine, drawn, engine_db
from textual.widgets import DataTable, Input, Static

from kiosk.core.api import Review
from kiosk.core.commands import parse_command
from kiosk.core.config import Settings, load_settings
from kiosk.core.events import CheckAsked, Done, Flagged, Queued, Refused
from kiosk.core.floods import CheckPaused, CheckRequired, CodesPaused, RateLimited
from kiosk.core.policy import CodeRequired, PolicyError
from kiosk.engine.batch import BatchRunner
from kiosk.engine.engine import Engine
from kiosk.engine.feed import Feed
from kiosk.ml.tiny import with_tiny_models
from kiosk.ui.app import make_app
from kiosk.ui.screens.booth import BoothScreen
from kiosk.ui.screens.check import CheckScreen, CodeNotice
from kiosk.ui.widgets.board import LeaderboardPane
from scoring.probes import ProbeResult

pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")
Factory = Callable[..., tuple[Engine, Recorder]]


def booth_settings(data_dir: Path, *, codes: bool = True, **safety: Any) -> Settings:
    """The repo's config as a booth runs it (default limits, player codes on), tiny."""
    settings = with_tiny_models(load_settings(REPO / "kiosk.toml", data_dir=data_dir))
    players = settings.players.model_copy(update={"codes": codes})
    settings = settings.model_copy(update={"players": players})
    if safety:
        settings = settings.model_copy(update={"safety": settings.safety.model_copy(update=safety)})
    return settings


@pytest.fixture
def booth(data_dir: Path) -> Settings:
    """Default limits; no player codes (they have their own tests)."""
    return booth_settings(data_dir, codes=False)


def events_of(rec: Recorder, kind: type[Any]) -> list[Any]:
    return [e for e in rec.events if isinstance(e, kind)]


# -- floods ---------------------------------------------------------------------------------


def test_a_burst_meets_the_human_check_then_the_rate_limit(
    engine_factory: Factory, booth: Settings
) -> None:
    engine, rec = engine_factory(start=False, settings=booth)
    drawn(engine, "ana", "a duck", 0.5)
    for _ in range(2):  # dedup hits count like any prompt
        assert isinstance(engine.submit("ana", "a duck"), Done)
    with pytest.raises(CheckRequired) as asked:
        engine.submit("ana", "a duck, take 3")
    challenge = asked.value.challenge
    (event,) = events_of(rec, CheckAsked)
    assert event.challenge_id == challenge.id and event.choices == len(challenge.choices)
    assert [r.kind for r in events_of(rec, Refused)] == ["check"]
    right = next(c.number for c in challenge.choices if c.title == challenge.subject)
    assert engine.answer_check("ana", challenge.id, str(right))
    assert isinstance(engine.submit("ana", "a duck, take 3"), Queued)  # the passed prompt
    with pytest.raises(RateLimited) as limited:  # the bucket (4) is empty now
        engine.submit("ana", "a duck, take 4")
    assert "next prompt is possible in" in str(limited.value)
    assert 0 < limited.value.retry_in_s <= 10.0
    assert engine.event_stats().refusals == 2


def test_dedup_hits_count_and_three_wrong_answers_pause_the_nickname(
    engine_factory: Factory, booth: Settings
) -> None:
    engine, _ = engine_factory(start=False, settings=booth)
    drawn(engine, "bo", "the same duck", 0.5)
    for _ in range(2):  # a flooder re-sending one prompt: dedup hits, no model work
        assert isinstance(engine.submit("bo", "the same duck", code=None), Done)
    for _ in range(3):
        with pytest.raises(CheckRequired) as asked:
            engine.submit("bo", "the same duck")
        c = asked.value.challenge
        wrong = next(ch.number for ch in c.choices if ch.title != c.subject)
        assert not engine.answer_check("bo", c.id, str(wrong))
    with pytest.raises(CheckPaused) as paused:
        engine.submit("bo", "the same duck")
    assert "try again in" in str(paused.value)
    # The pause is kept: a restarted engine still refuses.
    again = Engine(booth, store=engine.store)
    with pytest.raises(CheckPaused):
        again.submit("bo", "the same duck")
    # Stats tell drawn prompts from dedup hits and refusals; staff can lift the pause.
    s = engine.event_stats()
    top = {t.nickname: (t.drawn, t.dedup_hits, t.refusals) for t in s.top_submitters}
    assert top["bo"][:2] == (1, 2)
    assert {t.nickname for t in s.most_refused} == {"bo"}
    assert engine.staff(parse_command("unpause bo")).ok
    with pytest.raises(CheckRequired):  # no longer paused: the burst asks a fresh check
        engine.submit("bo", "the same duck")


def test_the_top_submitter_counts_drawn_prompts_not_dedup_hits(
    engine_factory: Factory, tiny_settings: Settings
) -> None:
    engine, _ = engine_factory(start=False, settings=tiny_settings)
    drawn(engine, "ada", "a duck", 0.5)
    drawn(engine, "ada", "a swan", 0.5)
    drawn(engine, "flood", "one prompt", 0.4)
    for _ in range(5):
        engine.submit("flood", "one prompt")
    assert (engine.stats().top_submitter, engine.stats().top_submitter_count) == ("ada", 2)
    flood = next(t for t in engine.event_stats().top_submitters if t.nickname == "flood")
    assert (flood.drawn, flood.dedup_hits) == (1, 5)


# -- who is who -------------------------------------------------------------------------------


def test_lookalike_letters_are_one_player_shown_as_first_typed(
    engine_factory: Factory, tiny_settings: Settings
) -> None:
    engine, _ = engine_factory(start=False, settings=tiny_settings)
    drawn(engine, "Ana", "a duck", 0.3)
    drawn(engine, "Аna", "a swan", 0.6)  # Cyrillic А
    drawn(engine, "ＡＮＡ", "a pond", 0.2)  # full-width
    (row,) = engine.leaderboard()
    assert row.nickname == "Ana" and row.percent == pytest.approx(60.0)
    for blank in ("\u3164\u3164", "\u2800", "a\u0301\u0302\u0303\u0304"):
        with pytest.raises(PolicyError):
            engine.submit(blank, "a duck")


def test_player_codes_claim_a_nickname(engine_factory: Factory, tiny_settings: Settings) -> None:
    players = tiny_settings.players.model_copy(update={"codes": True})  # no flood limits
    engine, _ = engine_factory(
        start=False, settings=tiny_settings.model_copy(update={"players": players})
    )
    first = engine.submit("ana", "a duck on a pond")
    code = first.player_code
    assert code is not None and code.isdigit() and len(code) == 4
    assert engine.needs_code("ana") and engine.needs_code("ANA")
    with pytest.raises(CodeRequired, match="is taken"):
        engine.submit("ana", "a swan")
    wrong = "0000" if code != "0000" else "1111"
    with pytest.raises(CodeRequired, match="not the player code"):
        engine.submit("ana", "a swan", code=wrong)
    assert engine.submit("ana", "a swan", code=code).player_code is None
    # Stored hashed only; staff give a forgetful player a new one (audited).
    stored = engine.store.players.code_hash("ana")
    assert stored and code not in stored
    outcome = engine.staff(parse_command("reset-code ana --reason forgot it"))
    assert outcome.ok
    new = outcome.message.split(": ")[1].split()[0]
    assert engine.check_code("ana", new) and not engine.check_code("ana", code)
    assert any(r.action == "set-code" for r in engine.audit())


def test_guessing_a_player_code_pauses_the_nickname(
    engine_factory: Factory, tiny_settings: Settings
) -> None:
    """Wrong codes in a row (`[players] code_failures`) pause the nickname, across a
    restart, with a clear refusal and an audit row; staff's unpause lets its owner in."""
    players = tiny_settings.players.model_copy(update={"codes": True, "code_failures": 3})
    settings = tiny_settings.model_copy(update={"players": players})
    engine, rec = engine_factory(start=False, settings=settings)
    code = engine.submit("ana", "a duck on a pond").player_code
    assert code is not None
    wrong = "0000" if code != "0000" else "1111"
    for _ in range(2):
        with pytest.raises(CodeRequired):
            engine.submit("ana", "a swan", code=wrong)
    with pytest.raises(CodesPaused, match="Too many wrong player codes for ana") as paused:
        engine.submit("ana", "a swan", code=wrong)
    assert "ask the staff" in str(paused.value)
    with pytest.raises(CheckPaused):  # even the right code waits: the guesser can't tell
        engine.submit("ana", "a swan", code=code)
    kinds = [e.kind for e in events_of(rec, Refused)]
    assert kinds == ["code", "code", "paused", "paused"]
    assert any(r.action == "paused" and r.actor == "policy" for r in engine.audit())
    again = Engine(settings, store=engine.store)  # kept across a restart
    with pytest.raises(CheckPaused):
        again.submit("ana", "a swan", code=code)
    assert engine.staff(parse_command("unpause ana")).ok
    assert isinstance(engine.submit("ana", "a swan", code=code), Queued)
    engine.submit("bo", "a duck")  # other nicknames never waited
    # The owner forgot the code and tried too often: staff's new code lets them in at once.
    for _ in range(3):
        with pytest.raises(CodeRequired if _ < 2 else CodesPaused):
            engine.submit("ana", "a pond", code=wrong)
    outcome = engine.staff(parse_command("reset-code ana --reason locked out"))
    new = outcome.message.split(": ")[1].split()[0]
    assert isinstance(engine.submit("ana", "a pond", code=new), Queued)


def test_the_demo_rehearses_fair_play_as_events(data_dir: Path, tmp_path: Path) -> None:
    """A flooding player, a lookalike nickname, a blocked word, a claimed nickname with a
    wrong code, drawings the probe flags (margin set to flag all) and one staff approve:
    each an event, and the board shows only the approved drawing."""
    import io
    import json

    import tomlkit

    from kiosk.ops.demo import run_demo

    doc = tomlkit.parse((REPO / "kiosk.toml").read_text(encoding="utf-8"))
    for target in doc["targets"]:
        target["image"] = str(REPO / str(target["image"]))
    doc["safety"]["margin"] = -2.0
    doc["safety"]["text"] = "off"
    config = tmp_path / "kiosk.toml"
    config.write_text(tomlkit.dumps(doc), encoding="utf-8")
    script = tmp_path / "script.tsv"
    script.write_text(
        "ana\ta duck on a pond\nana\ta swan on a lake\nana\ta duck and a swan\n"
        "\u0430na\ttwo ducks\n"  # Cyrillic а: the same player, a burst
        "bo\tp 0 r n\n"
        "cy\ta swan at dusk\t1234\ncy\ta swan at night\t9999\ncy\ta swan at noon\t1234\n"
        "!approve 1 --reason looked at it\n",
        encoding="utf-8",
    )
    out = io.StringIO()  # the real demo, in this process (no second torch import)
    settings = with_tiny_models(load_settings(config, data_dir=data_dir))
    assert run_demo(settings, script, demo_engine, as_json=True, out=out) == 0
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    refused = [(e["nickname"], e["kind"]) for e in events if e["event"] == "refused"]
    assert refused == [("\u0430na", "check"), ("bo", "words"), ("cy", "code")]
    assert [e["nickname"] for e in events if e["event"] == "challenge"] == ["\u0430na"]
    flagged = [e for e in events if e["event"] == "flagged"]
    assert len(flagged) == 5 and all(e["flags"].startswith("unsafe:") for e in flagged)
    assert [e["action"] for e in events if e["event"] == "staff"] == ["approve"]
    board = events[-1]
    assert board["event"] == "leaderboard"
    assert [r["nickname"] for r in board["rows"]] == ["ana"]


# -- words ------------------------------------------------------------------------------------


def test_blocked_words_are_refused_neutrally_and_staff_changes_persist(
    engine_factory: Factory, tiny_settings: Settings
) -> None:
    engine, rec = engine_factory(start=False, settings=tiny_settings)
    for nickname, prompt in (("ana", "a p.0.r.n duck"), ("ana", "오리 씨발"), ("b00bs", "duck")):
        with pytest.raises(PolicyError, match="keep it friendly"):
            engine.submit(nickname, prompt)
    assert [r.kind for r in events_of(rec, Refused)] == ["words"] * 3
    assert sum(r.action == "blocked" for r in engine.audit()) == 3
    engine.submit("ana", "a quacking duck")
    assert engine.staff(parse_command("block-word quack --reason inside joke")).ok
    with pytest.raises(PolicyError, match="keep it friendly"):
        engine.submit("cy", "a q.u.a.c.k")
    # Kept in the database: a restarted engine knows it, and unblocking works.
    again = Engine(tiny_settings, store=engine.store)
    with pytest.raises(PolicyError, match="keep it friendly"):
        again.submit("cy", "quack quack")
    assert again.staff(parse_command("unblock-word quack")).ok
    assert isinstance(again.submit("cy", "quack quack"), Queued)


# -- pictures ---------------------------------------------------------------------------------


def test_a_flagged_drawing_is_blurred_everywhere_and_ranks_only_once_approved(
    engine_factory: Factory, data_dir: Path
) -> None:
    settings = booth_settings(data_dir, codes=False, margin=-2.0, text="off")  # flag all
    engine, rec = engine_factory(settings=settings)
    engine.submit("ana", "a duck on a pond")
    assert engine.wait_idle(120)
    (done,) = events_of(rec, Done)
    (flag,) = events_of(rec, Flagged)
    assert done.flagged and flag.submission_id == done.submission_id
    assert done.image.endswith(".blur.webp") and Path(done.image).exists()
    assert engine.leaderboard() == []  # held: not ranked
    (held,) = engine.held_for_review()
    assert held.held and "unsafe:" in held.flags
    assert engine.image_path(held) == Path(done.image)
    assert engine.original_path(held).exists()
    view = Feed(settings).poll()  # the wall shows nothing of it
    assert view is not None and view.latest == [] and view.board == []
    # A dedup hit of a held drawing is held with it.
    copy = engine.submit("bo", "A duck on a pond!")
    assert isinstance(copy, Done) and copy.flagged
    assert engine.staff(parse_command(f"approve {done.submission_id}")).ok
    assert [r.nickname for r in engine.leaderboard()] == ["ana", "bo"]
    assert engine.held_for_review() == []


def test_the_text_probe_flags_or_takes_a_penalty_as_configured(tiny_settings: Settings) -> None:
    probe = ProbeResult(
        unsafe=None,
        text=True,
        nearest_unsafe="a hate symbol",
        unsafe_margin=-0.2,
        text_margin=0.03,
        unsafe_cosine=0.1,
        neutral_cosine=0.3,
        text_cosine=0.33,
    )

    def verdict(text: str) -> tuple[float, str, int]:
        safety = tiny_settings.safety.model_copy(update={"text": text, "text_penalty": 0.5})
        runner = BatchRunner(
            store=None,  # type: ignore[arg-type]
            data_dir=Path(),
            generator=None,  # type: ignore[arg-type]
            judge=None,  # type: ignore[arg-type]
            publish=print,
            safety=safety,
        )
        return runner._verdict(probe, 0.8)

    assert verdict("flag") == (0.8, probe.flags, Review.HELD)
    cosine, flags, review = verdict("penalty")
    assert cosine == pytest.approx(0.4) and "text" in flags and review == 0
    assert verdict("off") == (0.8, "", 0)


# -- the booth --------------------------------------------------------------------------------


async def test_booth_asks_a_human_check_when_typing_is_too_fast(
    tmp_path: Path, tiny_models: Path
) -> None:
    """Keys faster than the configured typing speed: the booth asks the question; the
    right answer sends the prompt on. With codes on, the new player then sees their code.
    (Pilot's pace depends on the machine, so the limit is set below any: 1 key a second;
    the tmux test types at machine speed against the default.)"""
    settings = booth_settings(tiny_settings_in(tmp_path / "data", tiny_models).data_path)
    limits = settings.limits.model_copy(update={"typing_cps_max": 1.0})
    settings = settings.model_copy(update={"limits": limits})
    app = make_app(settings, engine_factory=Engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.models_ready, 60, "models")
            await pilot.press(*"ann", "enter", *"a duck on a blue pond", "enter")
            await wait_for(pilot, lambda: showing(app, CheckScreen), what="the check")
            check = app.screen
            assert isinstance(check, CheckScreen)
            c = check.challenge
            right = next(ch.number for ch in c.choices if ch.title == c.subject)
            await pilot.press(str(right))
            await wait_for(pilot, lambda: showing(app, CodeNotice), what="the player code")
            notice = app.screen
            assert isinstance(notice, CodeNotice) and app.engine.check_code("ann", notice.code)
            await pilot.pause(0.2)
            await pilot.press("enter")
            await wait_for(pilot, lambda: showing(app, BoothScreen))
            hint = app.booth.query_one("#hint", Static)
            assert "Got it" in str(hint.render())
            # A returning "ann" is asked for the code; a wrong one does not play.
            await pilot.press("ctrl+n", *"ann", "enter")
            code = app.booth.query_one("#code", Input)
            await wait_for(pilot, lambda: code.display and code.has_focus, what="code field")
            await pilot.press(*"9" * 4, "enter")
            prompt = app.booth.query_one("#prompt", Input)
            prompt.value = "a swan"  # typed slowly enough: no check this time
            await pilot.press("enter")
            if notice.code == "9999":
                return  # one in ten thousand: the guess was right
            await wait_for(
                pilot, lambda: "not the player code" in str(hint.render()), what="refusal"
            )
    finally:
        app.stop_engine()


async def test_staff_review_queue_approves_a_held_drawing(
    tmp_path: Path, tiny_models: Path
) -> None:
    from test_staff_mode import PIN, enter_pin, with_pin

    from kiosk.ui.staff.pin import PinScreen
    from kiosk.ui.staff.screen import StaffScreen

    settings = with_pin(tiny_settings_in(tmp_path / "data", tiny_models))
    engine = Engine(settings)
    sid = drawn(engine, "ann", "a duck by ann", 0.9)
    drawn(engine, "bob", "a duck by bob", 0.5)
    with engine_db(engine).transaction() as c:  # as the worker holds one the probe flagged
        c.execute("UPDATE submissions SET review = 1, flags = 'unsafe:test' WHERE id = ?", (sid,))
        c.execute("DELETE FROM best WHERE submission_id = ?", (sid,))
    app = make_app(settings, engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.models_ready, 60, "models")
            board = app.booth.query_one(LeaderboardPane)
            await wait_for(pilot, lambda: len(board.rows) == 1, what="bob only")
            await pilot.press("f12")
            await wait_for(pilot, lambda: showing(app, PinScreen))
            await enter_pin(pilot, PIN)
            await wait_for(pilot, lambda: showing(app, StaffScreen), what="staff mode")
            await pilot.press("ctrl+r")
            table = app.screen.query_one(DataTable)
            await wait_for(pilot, lambda: table.row_count == 1, what="the review queue")
            assert "HELD" in str(table.get_row_at(0))
            await pilot.press("ctrl+y")
            await wait_for(pilot, lambda: table.row_count == 0, what="an empty queue")
            await pilot.press("f12")
            await wait_for(pilot, lambda: len(board.rows) == 2, what="ann ranked")
            assert board.rows[0].nickname == "ann"
    finally:
        app.stop_engine()
