"""Staff actions in the engine and the store (each audited), on the command line and in a
rehearsal script. Drawings are committed by hand here (no models) except in the demo."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from builders import REPO
from engine_fixtures import demo_engine, drawn
from kiosk_cmd import kiosk

from kiosk.core.commands import StaffCommand, StaffError, parse_command
from kiosk.core.config import Settings, load_settings
from kiosk.core.events import Event, Queued, StaffActed, TargetChanged
from kiosk.core.policy import PolicyError
from kiosk.engine.engine import Engine
from kiosk.ml.tiny import with_tiny_models
from kiosk.ops.demo import run_demo
from kiosk.storage.lock import DataDirLock
from kiosk.storage.store import Store


def board(engine: Engine) -> list[str]:
    return [r.nickname for r in engine.leaderboard()]


@pytest.fixture
def engine(tiny_settings: Settings) -> Engine:
    e = Engine(tiny_settings)
    for nick, cos in (("ada", 0.9), ("bob", 0.8), ("cy", 0.7), ("dee", 0.6)):
        drawn(e, nick, f"a duck by {nick}", cos)
    return e


def test_commands_read_like_the_cli() -> None:
    assert parse_command("hide bo --reason spam and more") == StaffCommand(
        action="hide", subject="bo", reason="spam and more"
    )
    assert parse_command("pause") == StaffCommand(action="pause")
    assert parse_command("target swan").subject == "swan"
    for bad in ("dance", "hide", "pause now", "hide a b"):
        with pytest.raises(StaffError):
            parse_command(bad)


def test_hide_a_player_and_what_they_submit_later(engine: Engine) -> None:
    seen: list[Event] = []
    engine.subscribe(seen.append)
    outcome = engine.staff(parse_command("hide bob --reason rude"))
    assert outcome.ok and board(engine) == ["ada", "cy", "dee"]
    drawn(engine, "bob", "a swan by bob", 0.99)  # later ones are hidden too
    assert board(engine) == ["ada", "cy", "dee"]
    assert [e.name for e in seen][:2] == ["staff", "leaderboard_changed"]
    engine.staff(parse_command("unhide bob"))
    assert board(engine) == ["bob", "ada", "cy", "dee"]
    # A drawing hidden on its own stays hidden when its player is hidden and unhidden.
    (swan,) = [r.id for r in engine.recent(nickname="bob") if "swan" in r.prompt]
    engine.staff(parse_command(f"hide-submission {swan}"))
    engine.staff(parse_command("hide bob"))
    engine.staff(parse_command("unhide bob"))
    assert [r.hidden for r in engine.recent(nickname="bob")] == [True, False]
    assert board(engine) == ["ada", "bob", "cy", "dee"]
    row = [a for a in engine.store.moderation.audit_log() if a.action == "hide"][-1]  # the first
    assert (row.action, row.subject, row.reason) == ("hide", "bob", "rude")
    assert engine.stats().submissions == 5  # nothing deleted


def test_hiding_an_original_hides_its_copies_and_the_prompt_is_not_drawn_again(
    engine: Engine,
) -> None:
    original = drawn(engine, "eve", "a rude picture", 0.95)
    copy = engine.submit("fay", "A rude picture!")
    assert not isinstance(copy, Queued) and copy.dedup
    assert engine.staff(parse_command(f"hide-submission {original}")).ok
    assert "eve" not in board(engine) and "fay" not in board(engine)
    with pytest.raises(PolicyError, match="cannot be drawn"):
        engine.submit("gus", "a RUDE picture")
    assert "2 drawings" in engine.staff(parse_command(f"unhide-submission {original}")).message


def test_banned_nickname_is_refused_neutrally_and_keeps_its_rows(engine: Engine) -> None:
    engine.staff(parse_command("ban cy --reason spam"))
    with pytest.raises(PolicyError, match="cannot play right now"):
        engine.submit("CY", "another duck")
    assert "cy" in board(engine)  # existing rows stay unless hidden
    engine.staff(parse_command("unban cy"))
    assert isinstance(engine.submit("cy", "another duck"), Queued)


def test_staff_players_play_but_never_rank_or_win(engine: Engine) -> None:
    engine.staff(parse_command("tag-staff ada"))
    assert board(engine) == ["bob", "cy", "dee"]
    result = engine.raffle(winners=4, among=10, seed=1)
    assert "ada" not in [w.nickname for w in result.winners]
    assert len(result.eligible) == 3


def test_config_staff_nicknames_are_staff_from_their_first_prompt(
    tiny_settings: Settings,
) -> None:
    staff = tiny_settings.staff.model_copy(update={"nicknames": ["Cloud Shin"]})
    engine = Engine(tiny_settings.model_copy(update={"staff": staff}))
    drawn(engine, "cloud shin", "a duck", 0.99)
    drawn(engine, "ada", "a swan", 0.5)
    assert board(engine) == ["ada"]


def test_raffle_records_its_seed_and_replays_to_the_same_winners(engine: Engine) -> None:
    engine.staff(parse_command("ban dee"))
    first = engine.raffle(winners=2, among=3, seed=42)
    assert [e.nickname for e in first.eligible] == ["ada", "bob", "cy"]
    again, same = engine.desk.replay(first.raffle_id)
    assert same and again.winners == first.winners and again.seed == 42
    above = engine.raffle(winners=5, above=75.0)
    assert sorted(w.nickname for w in above.winners) == ["ada", "bob"]
    with pytest.raises(StaffError, match="nobody is eligible"):
        engine.raffle(winners=1, above=99.0)
    assert [r.action for r in engine.store.moderation.audit_log()][:2] == ["raffle", "raffle"]


def test_a_winner_who_is_not_there_is_redrawn_and_the_replay_agrees(engine: Engine) -> None:
    first = engine.raffle(winners=2, among=4, seed=3)
    absent = first.winners[0].nickname
    after = engine.redraw(first.raffle_id, absent)
    names = [w.nickname for w in after.winners]
    assert absent not in names and len(names) == 2
    assert first.winners[1].nickname in names
    replayed, same = engine.desk.replay(first.raffle_id)
    assert same and replayed.winners == after.winners  # the redraw is recorded, replayed
    with pytest.raises(StaffError, match="is not a winner"):
        engine.redraw(first.raffle_id, absent)
    assert engine.store.moderation.audit_log()[0].action == "redraw"


def test_pause_and_target_outlive_a_restart(tiny_settings: Settings) -> None:
    engine = Engine(tiny_settings)
    seen: list[Event] = []
    engine.subscribe(seen.append)
    engine.staff(parse_command("pause"))
    engine.staff(parse_command("target swan"))
    queued = engine.submit("ada", "a swan")
    assert isinstance(queued, Queued) and queued.paused and queued.target == "swan"
    (changed,) = [e for e in seen if isinstance(e, TargetChanged)]
    assert changed.title == "A swan on a pond"
    bad = engine.staff(parse_command("target unicorn"))
    assert not bad.ok and "unknown target" in bad.message
    assert [e.ok for e in seen if isinstance(e, StaffActed)] == [True, True, False]
    engine.store.close()
    again = Engine(tiny_settings)
    assert again.paused and again.target_id == "swan"
    again.staff(parse_command("resume"))
    assert not Engine(tiny_settings).paused


def test_cli_staff_actions_audit_and_replay(
    engine: Engine, tiny_settings: Settings, env: dict[str, str]
) -> None:
    engine.store.close()
    where = ("--profile", "tiny", "--data-dir", str(tiny_settings.data_path))
    done = kiosk("staff", "hide", "bob", "--reason", "spam", *where, env=env)
    assert done.returncode == 0 and "ok: hide bob" in done.stdout, done.stderr
    refused = kiosk("staff", "hide", "nobody", *where, env=env)
    assert refused.returncode == 1 and "no player 'nobody'" in refused.stdout
    drawn_ = kiosk(
        "raffle", "--winners", "1", "--among", "2", "--seed", "9", "--json", *where, env=env
    )
    result = json.loads(drawn_.stdout)
    assert result["eligible"] == 2 and result["seed"] == 9
    replay = kiosk("raffle", "--replay", str(result["raffle_id"]), "--json", *where, env=env)
    again = json.loads(replay.stdout)
    assert again["same_winners"] and again["winners"] == result["winners"]
    log = json.loads(kiosk("audit", "--json", *where, env=env).stdout)
    assert [(r["action"], r["subject"]) for r in log][:2] == [
        ("raffle", f"{result['raffle_id']} {engine.target_id}"),
        ("hide", "bob"),
    ]
    board_ = json.loads(kiosk("leaderboard", "--json", *where, env=env).stdout)
    assert "bob" not in [r["nickname"] for r in board_]
    with DataDirLock(tiny_settings.data_path):  # a kiosk runs: writes say so
        busy = kiosk("staff", "pause", *where, env=env)
        assert busy.returncode == 2 and "another kiosk is already using" in busy.stderr
        assert kiosk("audit", *where, env=env).returncode == 0  # reads work alongside


def test_set_pin_from_standard_input_keeps_the_config(tmp_path: Path, env: dict[str, str]) -> None:
    import shutil

    config = tmp_path / "kiosk.toml"
    shutil.copy(REPO / "kiosk.toml", config)
    shutil.copytree(REPO / "assets", tmp_path / "assets")
    bad = kiosk("staff", "set-pin", "--config", str(config), env=env, input="12\n")
    assert bad.returncode == 2 and "at least 6 digits" in bad.stderr
    ok = kiosk("staff", "set-pin", "--config", str(config), env=env, input="482193\n")
    assert ok.returncode == 0, ok.stderr
    text = config.read_text(encoding="utf-8")
    assert 'pin_hash = "$argon2id$' in text and "482193" not in text
    assert "# the active target" in text  # the file's comments are kept


def test_rehearsal_script_with_staff_lines(data_dir: Path) -> None:
    """examples/rehearsal.tsv end to end (the real demo, in this process; test_cli runs
    `kiosk demo` itself): staff tag, hide, ban, pause/resume, raffle, target switch, each
    as an event in the timeline."""
    out = io.StringIO()
    settings = with_tiny_models(load_settings(REPO / "kiosk.toml", data_dir=data_dir))
    script = REPO / "examples" / "rehearsal.tsv"
    assert run_demo(settings, script, demo_engine, as_json=True, out=out) == 0
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    staff = [(e["action"], e["subject"], e["ok"]) for e in events if e["event"] == "staff"]
    assert staff == [
        ("tag-staff", "cloudshin", True),
        ("hide", "bo", True),
        ("ban", "bo", True),
        ("pause", "", True),
        ("resume", "", True),
        ("target", "swan", True),
    ]
    assert any(
        e["event"] == "refused" and e["kind"] == "banned" and "cannot play" in e["reason"]
        for e in events
    )
    (raffle,) = [e for e in events if e["event"] == "raffle"]
    assert raffle["seed"] == 7 and len(raffle["winners"]) == 2
    assert not {"cloudshin", "bo"} & set(raffle["winners"])
    board_ = events[-1]
    assert board_["target"] == "swan"
    assert sorted(r["nickname"] for r in board_["rows"]) == ["grace", "linus"]
    first = Store(data_dir / "kiosk.db", readonly=True).board.leaderboard("duck-and-swan")
    assert not {"cloudshin", "bo"} & {r.nickname for r in first}


def test_event_stats_count_refusals_hidden_and_scores(engine: Engine) -> None:
    with pytest.raises(PolicyError):
        engine.submit("ada", "?!")
    engine.staff(parse_command("ban dee"))
    with pytest.raises(PolicyError):
        engine.submit("dee", "a swan")
    engine.staff(parse_command("hide cy"))
    s = engine.event_stats()
    assert (s.players, s.drawings, s.submissions, s.refusals, s.hidden) == (4, 4, 4, 2, 1)
    assert sum(s.per_10_min) == 4 and len(s.score_bins) == 20
    assert s.score_bins[19] + s.score_bins[18] == 1  # ada's 90% in the 90-95% bin
    assert s.score_bins[18] == 1 and s.score_bins[16] == 1  # 90%, 80%
    assert (
        s.top_submitters[0].nickname == "ada"
        and s.top_submitters[0].drawn == 1
        and s.draw_ms_p50 == pytest.approx(2.0)
    )
    assert {t.nickname: t.refusals for t in s.most_refused} == {"ada": 1, "dee": 1}
