"""Staff actions that hold up (issue 18, items 1-6): unhiding restores only what that hide
hid, redraws never return a prize to an absentee, a ban before the first prompt holds,
the config's staff list applies at start, every surface follows the switched target, and
event-wide staff settings outlive `kiosk event new`. Drawings are committed by hand (no
models) except in the demo script."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from builders import REPO
from click.testing import CliRunner, Result
from engine_fixtures import demo_engine, drawn, engine_db

from kiosk.cli import main
from kiosk.core.commands import parse_command
from kiosk.core.config import Settings
from kiosk.core.events import Done
from kiosk.core.policy import Banned, PolicyError
from kiosk.engine.engine import Engine
from kiosk.ops.demo import run_demo
from kiosk.ops.eventdays import MANIFEST
from kiosk.ops.export import export_event
from kiosk.storage.store import Store

SIX = ("ada", "bob", "cy", "dee", "eve", "fay")


def board(engine: Engine) -> list[str]:
    return [r.nickname for r in engine.leaderboard()]


def entrants(engine: Engine) -> list[str]:
    return [e.nickname for e in engine.store.raffles.entrants(engine.target_id)]


def staff(engine: Engine, line: str) -> str:
    outcome = engine.staff(parse_command(line))
    assert outcome.ok, outcome.message
    return outcome.message


def cli(settings: Settings, *args: str) -> Result:
    """`kiosk --config kiosk.toml --profile tiny --data-dir DATA ARGS`, in this process."""
    base = ["--config", str(REPO / "kiosk.toml"), "--profile", "tiny"]
    base += ["--data-dir", str(settings.data_path)]
    return CliRunner().invoke(main, [*base, *args], catch_exceptions=False)


@pytest.fixture
def engine(tiny_settings: Settings) -> Engine:
    e = Engine(tiny_settings)
    for i, nick in enumerate(SIX):
        drawn(e, nick, f"a duck by {nick}", 0.9 - i / 20)
    return e


def copy_of(engine: Engine, nick: str, prompt: str) -> int:
    done = engine.submit(nick, prompt)
    assert isinstance(done, Done) and done.dedup
    return done.submission_id


# -- 1. unhiding restores only what that hide hid ------------------------------------------


def test_unhiding_a_drawing_keeps_a_hidden_players_copy_hidden(engine: Engine) -> None:
    original = drawn(engine, "ada", "a duck on a pond", 0.99)
    troll = copy_of(engine, "troll", "A duck on a pond!")
    staff(engine, "hide troll --reason rude")
    staff(engine, f"hide-submission {original}")
    said = staff(engine, f"unhide-submission {original}")
    assert board(engine)[0] == "ada" and "troll" not in board(engine)
    assert "troll" not in entrants(engine)  # the board and the raffle agree
    assert troll not in [r.id for r in engine.store.board.visible_recent(50)]  # nor the wall
    assert [r.hidden for r in engine.recent(nickname="troll")] == [True]
    assert "2 drawings" in said and "1 stay hidden" in said
    staff(engine, "unhide troll")  # unhiding the player shows it again
    assert "troll" in board(engine) and "troll" in entrants(engine)


def test_unhiding_an_original_keeps_a_copy_staff_hid_on_its_own(engine: Engine) -> None:
    original = drawn(engine, "ada", "a duck on a pond", 0.99)
    copy = copy_of(engine, "gus", "a duck on a pond")
    staff(engine, f"hide-submission {copy}")
    staff(engine, f"hide-submission {original}")
    staff(engine, f"unhide-submission {original}")
    assert "gus" not in board(engine)  # old code: the copy came back with the original
    staff(engine, f"hide-submission {original}")
    staff(engine, f"unhide-submission {copy}")
    assert "gus" not in board(engine)  # still hidden with its original
    staff(engine, f"unhide-submission {original}")
    assert "gus" in board(engine) and "gus" in entrants(engine)


def test_migration_keeps_copies_hidden_with_their_player_and_original(
    engine: Engine, tiny_settings: Settings
) -> None:
    """A schema-9 database (hidden 0/1/2): a copy hidden (1) with its hidden original,
    whose player is hidden too, stays hidden when the original is shown again."""
    original = drawn(engine, "ada", "a duck on a pond", 0.99)
    copy = copy_of(engine, "troll", "a duck on a pond")
    staff(engine, "hide troll")
    staff(engine, f"hide-submission {original}")
    engine.store.close()
    db = tiny_settings.data_path / "kiosk.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE submissions SET hidden = 1 WHERE id IN (?, ?)", (original, copy))
    conn.execute("ALTER TABLE players DROP COLUMN played")
    conn.execute("ALTER TABLE raffle_redraws DROP COLUMN candidates")
    conn.execute("ALTER TABLE jobs DROP COLUMN source")
    conn.execute("DROP TABLE pictures")
    conn.execute("PRAGMA user_version = 9")
    conn.close()
    again = Engine(tiny_settings)
    hidden = dict(engine_db(again).conn().execute("SELECT id, hidden FROM submissions"))
    assert (hidden[original], hidden[copy]) == (1, 2 | 4)
    staff(again, f"unhide-submission {original}")
    assert "ada" in board(again) and "troll" not in board(again)


# -- 2. raffle redraws ---------------------------------------------------------------------


def test_three_absentees_redrawn_one_by_one_never_win_again(engine: Engine) -> None:
    """6 eligible, 3 winners, the three declared absent in turn, over 200 seeded raffles:
    the prize never goes back to one of them, and the replay agrees. (Before: 160 of 200
    ended with an absentee among the winners.)"""
    returned, replays_differ = [], []
    for seed in range(200):
        first = engine.raffle(winners=3, among=6, seed=seed)
        absent = [w.nickname for w in first.winners]
        for name in absent:
            after = engine.redraw(first.raffle_id, name)
        final = [w.nickname for w in after.winners]
        if set(final) & set(absent) or len(final) != 3:
            returned.append(seed)
        replayed, same = engine.desk.replay(first.raffle_id)
        if not same or replayed.winners != after.winners:
            replays_differ.append(seed)
    assert (len(returned), replays_differ) == (0, []), f"{len(returned)} of 200: {returned}"


def test_a_redraw_skips_players_banned_hidden_or_tagged_staff_since_the_draw(
    engine: Engine, tiny_settings: Settings
) -> None:
    first = engine.raffle(winners=1, among=6, seed=1)
    (winner,) = [w.nickname for w in first.winners]
    others = [n for n in SIX if n != winner]
    staff(engine, f"ban {others[0]}")
    staff(engine, f"hide {others[1]}")
    staff(engine, f"tag-staff {others[2]}")
    drawn_ = [engine.redraw(first.raffle_id, winner, "staff").winners[0].nickname]
    drawn_.append(engine.redraw(first.raffle_id, drawn_[0]).winners[0].nickname)
    assert sorted(drawn_) == sorted(others[3:])
    assert engine.redraw(first.raffle_id, drawn_[1]).winners == []  # nobody left
    for line in (f"unban {others[0]}", f"unhide {others[1]}", f"untag-staff {others[2]}"):
        staff(engine, line)
    replayed, same = engine.desk.replay(first.raffle_id)  # from the recorded candidates
    assert same and replayed.winners == []
    engine.store.close()
    out = tiny_settings.data_path.parent / "export"
    export_event(tiny_settings, out=out)
    with (out / "raffles.csv").open(encoding="utf-8-sig") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["absent"] == "; ".join([winner, *drawn_])
    assert row["redraws"].startswith(f"{winner} -> {drawn_[0]} (seed ")
    assert row["final_winners"] == ""


def test_a_redraw_with_a_seed_on_the_command_line_replays(
    engine: Engine, tiny_settings: Settings
) -> None:
    engine.store.close()
    drew = json.loads(
        cli(tiny_settings, "raffle", "--winners", "2", "--among", "6", "--json").output
    )
    gone = drew["winners"][0]
    args = ("raffle", "--redraw", str(drew["raffle_id"]), "--absent", gone, "--seed", "5")
    redrawn = json.loads(cli(tiny_settings, *args, "--json").output)
    assert gone not in redrawn["winners"] and drew["winners"][1] in redrawn["winners"]
    replay = cli(tiny_settings, "raffle", "--replay", str(drew["raffle_id"]), "--json")
    again = json.loads(replay.output)
    assert again["same_winners"] and again["winners"] == redrawn["winners"]


# -- 3. a ban before the first prompt ------------------------------------------------------


def test_a_nickname_banned_before_it_plays_is_refused_at_its_first_prompt(
    tiny_settings: Settings,
) -> None:
    done = cli(tiny_settings, "staff", "ban", "ＥＶＥ", "--reason", "known troll")
    assert done.exit_code == 0 and "ok: ban" in done.output, done.output
    engine = Engine(tiny_settings)
    with pytest.raises(Banned):
        engine.submit("eve", "a duck")  # folded like every nickname
    assert engine.stats().players == 0  # a ban alone makes no player
    assert (engine.audit()[-1].action, engine.audit()[-1].reason) == ("ban", "known troll")
    staff(engine, "unban eve")
    drawn(engine, "Eve", "a duck", 0.5)
    assert engine.stats().players == 1 and board(engine) == ["Eve"]


def test_a_ban_line_in_a_script_holds_for_a_nickname_that_never_played(data_dir: Path) -> None:
    from kiosk.core.config import load_settings
    from kiosk.ml.tiny import with_tiny_models

    script = data_dir / "ban.tsv"
    script.write_text("!ban mallory --reason spam\nmallory\ta duck\nada\ta swan\n")
    settings = with_tiny_models(load_settings(REPO / "kiosk.toml", data_dir=data_dir))
    out = io.StringIO()
    assert run_demo(settings, script, demo_engine, as_json=True, out=out) == 0
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert ("ban", "mallory", True) in [
        (e["action"], e["subject"], e["ok"]) for e in events if e["event"] == "staff"
    ]
    refused = [e for e in events if e["event"] == "refused"]
    assert [(e["nickname"], e["kind"]) for e in refused] == [("mallory", "banned")]
    assert [e["nickname"] for e in events if e["event"] == "done"] == ["ada"]


# -- 4. the config's staff list applies at start -------------------------------------------


def test_a_nickname_added_to_the_staff_list_after_it_played_stops_ranking_at_start(
    engine: Engine, tiny_settings: Settings
) -> None:
    engine.store.close()
    staff_ = tiny_settings.staff.model_copy(update={"nicknames": ["ADA", "nobody yet"]})
    settings = tiny_settings.model_copy(update={"staff": staff_})
    restarted = Engine(settings)
    assert "ada" not in board(restarted) and "ada" not in entrants(restarted)
    result = restarted.raffle(winners=6, among=6, seed=3)
    assert "ada" not in [w.nickname for w in result.winners]
    restarted.store.close()
    Engine(settings).store.close()  # a second start tags nobody again
    tags = [
        a
        for a in Store(settings.data_path / "kiosk.db").moderation.audit_log()
        if a.actor == "config"
    ]
    assert [(a.action, a.subject) for a in tags] == [("tag-staff", "ada")]


# -- 5. every surface follows the switched target ------------------------------------------


def test_every_surface_uses_the_target_staff_switched_to(
    engine: Engine, tiny_settings: Settings
) -> None:
    staff(engine, "target swan")
    drawn(engine, "swanfan", "a white swan", 0.4)
    engine.store.close()
    rows = json.loads(cli(tiny_settings, "leaderboard", "--json").output)
    assert [r["nickname"] for r in rows] == ["swanfan"]
    assert json.loads(cli(tiny_settings, "stats", "--json").output)["board_target"] == "swan"
    raffle = json.loads(
        cli(tiny_settings, "raffle", "--winners", "1", "--among", "3", "--json").output
    )
    assert (raffle["target"], raffle["winners"]) == ("swan", ["swanfan"])
    told = cli(tiny_settings, "leaderboard", "--json", "--target", "duck-and-swan").output
    assert len(json.loads(told)) == len(SIX)  # --target still says otherwise


# -- 6. staff settings outlive `kiosk event new` -------------------------------------------


def test_event_new_carries_words_bans_staff_tags_and_hidden_players(
    engine: Engine, tiny_settings: Settings
) -> None:
    for line in ("block-word quackery", "ban bob", "ban mallory", "tag-staff cy", "hide dee"):
        staff(engine, line)
    staff(engine, "target swan")
    engine.store.close()
    done = cli(tiny_settings, "event", "new", "--name", "Day one")
    assert done.exit_code == 0, done.output
    for said in ("blocked words (1): quackery", "bans (2): bob, mallory", "staff tags (1): cy"):
        assert said in done.output
    assert "hidden players (1): dee" in done.output
    (archive,) = (tiny_settings.data_path / "events").iterdir()
    assert json.loads((archive / MANIFEST).read_text())["active_target"] == "swan"

    day_two = Engine(tiny_settings)
    assert day_two.stats().players == 0 and day_two.target_id == "duck-and-swan"
    for nick, prompt in (("bob", "a duck"), ("ada", "a quackery duck"), ("mallory", "a swan")):
        with pytest.raises(PolicyError):
            day_two.submit(nick, prompt)
    for nick in ("cy", "dee", "ada"):
        drawn(day_two, nick, f"day two by {nick}", 0.5)
    assert board(day_two) == ["ada"] and day_two.stats().players == 3
    assert [a.reason for a in day_two.audit() if a.subject == "bob"] == [
        "carried over from Day one"
    ]


def test_a_fresh_event_with_only_carried_settings_is_not_archived_again(
    engine: Engine, tiny_settings: Settings
) -> None:
    staff(engine, "ban bob")
    engine.store.close()
    assert cli(tiny_settings, "event", "new").exit_code == 0
    again = cli(tiny_settings, "event", "new")
    assert again.exit_code == 0 and "Nothing to archive" in again.output
