"""Booths of one event (`[event] booth`), on SQLite and on PostgreSQL: a job belongs to the
booth that accepted it, only its owner draws or commits it, staff hand a dead booth's
jobs to another (`adopt`), pauses hold per booth or for the whole event, and the audit,
stats and export name the booth."""

from __future__ import annotations

import csv
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from builders import REPO, accept, scored, tiny_data_dir
from click.testing import CliRunner
from engine_fixtures import CountingGenerator, Recorder, drawn, engine_db
from store_fixtures import TARGETS, Backend

from kiosk.cli import main
from kiosk.core.api import JobMoved, StoreError
from kiosk.core.commands import StaffCommand
from kiosk.core.config import ConfigError, Settings, StoreSettings, booth_name, load_settings
from kiosk.core.events import Done, Event, Failed, Notice, Queued, Started
from kiosk.engine.desk import StaffDesk
from kiosk.engine.engine import Engine
from kiosk.ml.tiny import with_tiny_models
from kiosk.storage.store import PgStore, Store

AnyStore = Store | PgStore
MakeEngine = Callable[..., tuple[Engine, Recorder]]


def booths(backend: Backend) -> tuple[AnyStore, AnyStore]:
    """Two booths, hall-a and hall-b, on one store."""
    a = backend.open(booth="hall-a")
    a.meta.sync_targets(TARGETS)
    return a, backend.open(booth="hall-b")


@pytest.fixture
def settings() -> Settings:
    return load_settings(REPO / "kiosk.toml")


def act(desk: StaffDesk, action: str, subject: str = "") -> tuple[bool, str]:
    outcome = desk.run(StaffCommand(action=action, subject=subject))  # type: ignore[arg-type]
    return outcome.ok, outcome.message


def test_a_job_is_its_booths_and_only_its_booth_commits_it(backend: Backend) -> None:
    a, b = booths(backend)
    job = accept(a, "ada", "a duck")
    assert job.booth == "hall-a" and [j.id for j in b.jobs.pending("hall-a")] == [job.id]
    assert b.jobs.pending("hall-b") == [] and b.booths.owned([job.id]) == set()
    assert a.booths.owned([job.id]) == {job.id}
    with pytest.raises(JobMoved):
        b.jobs.complete(job, scored(0.5))  # booth B never commits booth A's job
    assert b.jobs.fail(job.id, "not yours") == []  # nor fails it
    assert [j.id for j in a.jobs.pending()] == [job.id] and a.board.stats().submissions == 0
    assert b.booths.pending_by_booth() == {"hall-a": 1}


def test_a_prompt_typed_at_another_booth_joins_and_is_that_booths_submission(
    backend: Backend,
) -> None:
    a, b = booths(backend)
    job = accept(a, "ada", "a duck")
    joined = b.jobs.add_waiter(
        player_key="bob", nickname="bob", dedup_key=job.dedup_key, raw_prompt="a duck",
        prompt="a duck",
    )  # fmt: skip
    assert joined is not None and joined[1].id == job.id and joined[0].booth == "hall-b"
    sub, follower = a.jobs.complete(job, scored(0.7))
    assert (follower.nickname, follower.dedup_of) == ("bob", sub.id)
    booth_of = "SELECT booth FROM submissions WHERE id = ?"
    assert a.db.one(booth_of, sub.id)[0] == "hall-a"  # drawn there
    assert a.db.one(booth_of, follower.id)[0] == "hall-b"  # typed here
    stats = b.moderation.event_stats()
    assert stats.drawings_per_booth == {"hall-a": 1} and stats.submissions == 2


def test_one_job_per_drawing_when_two_booths_accept_it_at_once(
    engine_factory: MakeEngine, halls: tuple[Settings, Settings]
) -> None:
    """Booths A and B take the same prompt at the same moment: B looked (no job for
    it yet), then A wrote its job, then B writes. B's write, under the store's one write
    lock, sees A's job and writes nothing (InFlight); B's visitor joins A's job, and the
    drawing is made once."""
    a_settings, b_settings = halls
    gen_a, gen_b = CountingGenerator(a_settings.generator), CountingGenerator(b_settings.generator)
    a, _ = engine_factory(settings=a_settings, generator=gen_a)
    b, rec_b = engine_factory(settings=b_settings, generator=gen_b)
    assert a.staff(StaffCommand(action="pause")).ok
    jobs = b.store.jobs
    look = jobs.add_waiter

    def b_looks_then_a_writes(**kwargs: Any) -> Any:
        jobs.add_waiter = look  # type: ignore[method-assign]  # once
        seen = look(**kwargs)  # B's look: nothing in flight yet
        assert seen is None
        assert isinstance(a.submit("ada", "a duck at dawn"), Queued)  # A writes its job
        return seen

    jobs.add_waiter = b_looks_then_a_writes  # type: ignore[method-assign]
    joined = b.submit("dee", "a duck at dawn")
    assert isinstance(joined, Queued) and joined.joined
    assert [j.booth for j in b.store.jobs.pending()] == ["hall-a"]  # one job, A's
    assert a.staff(StaffCommand(action="resume")).ok
    assert a.wait_idle(120)
    heard(rec_b, Done)
    assert [e.nickname for e in rec_b.of(Done)] == ["dee"]
    assert gen_a.prompts == ["a duck at dawn"] and gen_b.prompts == []


def test_resume_takes_this_booths_jobs_and_sqlite_is_one_booths(backend: Backend) -> None:
    """On PostgreSQL a booth resumes only its own jobs; an SQLite file is one booth's
    (the data-dir lock), which takes every pending job in it: rows from before booths
    and a renamed host resume as they always did."""
    a, b = booths(backend)
    mine, theirs = accept(b, "bob", "a swan"), accept(a, "ada", "a duck")
    resumed = [j.id for j in b.booths.resume()]
    if backend.dialect.shared:
        assert resumed == [mine.id] and a.booths.owned([theirs.id]) == {theirs.id}
    else:
        assert resumed == [mine.id, theirs.id] and a.booths.owned([theirs.id]) == set()


def test_adopt_hands_a_dead_booths_jobs_over_once_and_audits_it(
    backend: Backend, settings: Settings
) -> None:
    a, b = booths(backend)
    jobs = [accept(a, "ada", "a duck"), accept(a, "cy", "a swan")]
    b.jobs.add_waiter(
        player_key="bob", nickname="bob", dedup_key=jobs[0].dedup_key, raw_prompt="a duck",
        prompt="a duck",
    )  # fmt: skip
    desk = StaffDesk(b, settings)
    ok, said = act(desk, "adopt", "hall-a")
    assert ok and said.startswith("adopted 2 pending jobs of hall-a"), said
    assert [j.id for j in b.jobs.pending("hall-b")] == [j.id for j in jobs]
    assert a.booths.owned([j.id for j in jobs]) == set() and a.jobs.pending("hall-a") == []
    with pytest.raises(JobMoved):  # booth A comes back mid-batch: it commits nothing
        a.jobs.complete(jobs[0], scored(0.5))
    _, follower = b.jobs.complete(jobs[0], scored(0.6))
    assert follower.nickname == "bob" and b.jobs.complete(jobs[1], scored(0.4))
    assert b.board.stats().submissions == 3 and b.jobs.pending() == []
    (row,) = [r for r in b.moderation.audit_log() if r.action == "adopt"]
    assert (row.subject, row.booth) == ("hall-a", "hall-b") and "2 pending jobs" in row.reason
    assert b.moderation.event_stats().drawings_per_booth == {"hall-b": 2}
    # Nothing left to adopt, and a booth does not adopt itself: refused, saying why.
    ok, said = act(desk, "adopt", "hall-a")
    assert not ok and said.startswith("booth hall-a has no pending jobs"), said
    ok, said = act(desk, "adopt", "hall-b")
    assert not ok and "is this booth" in said, said
    ok, said = act(desk, "adopt", "hall a")
    assert not ok and "not a booth name" in said, said


def test_one_kiosk_per_booth_and_a_running_booth_is_not_adopted(
    backend: Backend, settings: Settings
) -> None:
    """PostgreSQL: a running booth holds its name on the server; a second kiosk with the
    same name is refused, and so is adopting it, until it stops. SQLite: the data-dir
    lock keeps a second kiosk out, and no other booth runs on the file."""
    a, b = booths(backend)
    accept(a, "ada", "a duck")
    a.hold_booth()
    twin = backend.open(booth="hall-a")
    if backend.dialect.shared:
        with pytest.raises(StoreError, match="booth 'hall-a' is already running"):
            twin.hold_booth()
        ok, said = act(StaffDesk(b, settings), "adopt", "hall-a")
        assert not ok and "booth hall-a is running" in said, said
        a.release_booth()
        twin.hold_booth()  # the name is free again
        twin.release_booth()
    assert act(StaffDesk(b, settings), "adopt", "hall-a")[0]


def test_pause_is_per_booth_with_an_event_wide_pause_on_top(
    backend: Backend, settings: Settings
) -> None:
    a, b = booths(backend)
    desk_a, desk_b = StaffDesk(a, settings), StaffDesk(b, settings)
    assert act(desk_a, "pause")[0]
    assert (desk_a.pause_scope(), desk_b.pause_scope()) == ("booth", "")
    ok, said = act(desk_b, "pause-all")
    assert ok and "every booth" in said
    assert (desk_a.pause_scope(), desk_b.pause_scope()) == ("event", "event")
    ok, said = act(desk_a, "resume")  # its own pause lifts; the event's holds
    assert ok and "whole event is still paused" in said, said
    ok, said = act(desk_a, "pause")
    assert act(desk_b, "resume-all")[0]
    assert (desk_a.pause_scope(), desk_b.pause_scope()) == ("booth", "")
    audit = [(r.action, r.subject, r.booth) for r in reversed(b.moderation.audit_log())]
    assert audit == [
        ("pause", "hall-a", "hall-a"),
        ("pause-all", "event", "hall-b"),
        ("resume", "hall-a", "hall-a"),
        ("pause", "hall-a", "hall-a"),
        ("resume-all", "event", "hall-b"),
    ]


def test_a_pause_kept_by_an_older_kiosk_still_holds_until_resumed(
    store: AnyStore, settings: Settings
) -> None:
    store.meta.swap("engine.paused", "1")  # as kiosks before booths kept it
    desk = StaffDesk(store, settings)
    assert desk.pause_scope() == "booth"
    assert act(desk, "resume")[0] and desk.pause_scope() == ""


def test_a_booth_name_is_short_and_printable() -> None:
    assert booth_name(" hall-a ") == "hall-a" and booth_name("부스-1") == "부스-1"
    for bad in ("", "hall a", "x" * 33, "tab\there", "bell\x07"):
        with pytest.raises(ValueError):
            booth_name(bad)


def test_the_booth_defaults_to_the_host_name_and_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "gpu-box.hall.example")
    assert load_settings(REPO / "kiosk.toml").event.booth == "gpu-box"
    text = (REPO / "kiosk.toml").read_text(encoding="utf-8")
    text = text.replace('"assets/', f'"{REPO}/assets/').replace('"examples/', f'"{REPO}/examples/')
    bad = tmp_path / "kiosk.toml"
    bad.write_text(text.replace("[event]\n", '[event]\nbooth = "hall a"\n', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="booth"):
        load_settings(bad)


def booth_settings(settings: Settings, booth: str, data_dir: Path, url: str = "") -> Settings:
    """`settings` as one booth on its own data dir, with the tiny models in it (as each
    booth keeps its own), on the store at `url` (empty: its SQLite file)."""
    event = settings.event.model_copy(update={"booth": booth, "data_dir": str(data_dir)})
    moved = settings.model_copy(update={"event": event, "store": StoreSettings(url=url)})
    return with_tiny_models(moved)


@pytest.fixture
def halls(
    tiny_settings: Settings, tiny_models: Path, pg_url: str, tmp_path: Path
) -> tuple[Settings, Settings]:
    """Booths hall-a (the test's data dir) and hall-b (its own) on one PostgreSQL store."""
    b_dir = tiny_data_dir(tmp_path / "booth-b", tiny_models)
    return (
        booth_settings(tiny_settings, "hall-a", tiny_settings.data_path, pg_url),
        booth_settings(tiny_settings, "hall-b", b_dir, pg_url),
    )


def heard(rec: Recorder, kind: type[Event], timeout: float = 10) -> None:
    """Wait until `rec` has an event of `kind` (another booth's commit is heard, not
    waited on)."""
    deadline = time.monotonic() + timeout
    while not rec.of(kind) and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_dead_booths_jobs_are_drawn_once_by_the_booth_that_adopts_them(
    engine_factory: MakeEngine, halls: tuple[Settings, Settings]
) -> None:
    """Two booths on one PostgreSQL store. Booth A accepts prompts while paused; booth B
    draws its own prompt but not A's; a prompt typed at B that is in flight at A joins
    A's job; A cannot be adopted while it runs; A dies (its engine stops); staff at B
    adopt hall-a: B draws A's jobs, each once, and the joined prompt gets its drawing at
    B; A, restarted, has nothing left to draw."""
    a_settings, b_settings = halls
    gen_a, gen_b = CountingGenerator(a_settings.generator), CountingGenerator(b_settings.generator)
    a, _ = engine_factory(settings=a_settings, generator=gen_a)
    b, rec_b = engine_factory(settings=b_settings, generator=gen_b)
    assert a.staff(StaffCommand(action="pause")).ok and a.pause_scope == "booth"
    queued = [a.submit("ada", "a duck at dawn"), a.submit("cy", "a swan at dusk")]
    ids = [q.job_id for q in queued if isinstance(q, Queued)]
    assert len(ids) == 2 and not b.paused
    b.submit("bob", "a heron in the reeds")
    assert b.wait_idle(120), b.load_error
    assert gen_b.prompts == ["a heron in the reeds"]  # B never draws A's jobs unasked
    joined = b.submit("dee", "a duck at dawn")  # in flight at A: joins A's job
    assert isinstance(joined, Queued) and joined.joined and joined.job_id == ids[0]
    assert joined.eta_s is None  # A draws it: B does not guess when
    assert [j.id for j in b.store.jobs.pending("hall-a")] == ids
    refused = b.staff(StaffCommand(action="adopt", subject="hall-a"))
    assert not refused.ok and "booth hall-a is running" in refused.message, refused.message

    a.stop()  # booth A dies before drawing them
    outcome = b.staff(StaffCommand(action="adopt", subject="hall-a", reason="A is down"))
    assert outcome.ok, outcome.message
    assert b.wait_idle(120) and b.store.jobs.pending() == []
    assert sorted(gen_b.prompts) == ["a duck at dawn", "a heron in the reeds", "a swan at dusk"]
    dee = [e for e in rec_b.of(Done) if e.nickname == "dee"]
    assert len(dee) == 1 and dee[0].dedup  # the joined prompt's drawing, at B
    gen_back = CountingGenerator(a_settings.generator)
    back, rec_back = engine_factory(settings=a_settings, generator=gen_back)  # A restarts
    assert back.wait_idle(60) and back.store.booths.resume() == []
    assert rec_back.of(Queued) == [] and gen_a.prompts == gen_back.prompts == []
    db = engine_db(b)
    for job_id in ids:
        once = "SELECT COUNT(*), MIN(booth) FROM submissions WHERE job_id = ? AND dedup_of IS NULL"
        assert tuple(db.one(once, job_id)) == (1, "hall-b")
    assert b.event_stats().drawings_per_booth == {"hall-b": 3}
    adopted = [r for r in b.audit() if r.action == "adopt"]
    assert [(r.subject, r.booth) for r in adopted] == [("hall-a", "hall-b")]


def test_a_single_booth_resumes_every_pending_job_whatever_its_name(
    engine_factory: MakeEngine, tiny_settings: Settings
) -> None:
    """SQLite: jobs accepted under another booth name (a renamed host, rows from before
    booths) are still this data dir's, resumed and drawn at start."""
    here = tiny_settings.data_path
    old, _ = engine_factory(start=False, settings=booth_settings(tiny_settings, "old-host", here))
    queued = old.submit("ada", "a duck at dawn")
    assert isinstance(queued, Queued)
    old.store.close()
    gen = CountingGenerator(tiny_settings.generator)
    new, rec = engine_factory(
        settings=booth_settings(tiny_settings, "new-host", here), generator=gen
    )
    assert new.wait_idle(120) and gen.prompts == ["a duck at dawn"]
    assert [e.job_id for e in rec.of(Done)] == [queued.job_id]


def test_stats_and_export_name_each_booth(tiny_settings: Settings, tmp_path: Path) -> None:
    """`kiosk stats` counts drawings and waiting jobs per booth; the export's submissions
    and audit rows carry a booth column (SQLite: the export reads the file)."""
    here = tiny_settings.data_path
    engine = Engine(booth_settings(tiny_settings, "hall-a", here))
    drawn(engine, "ada", "a duck at dawn", 0.6)
    engine.submit("bob", "a swan at dusk")  # accepted, waiting (never started)
    assert engine.staff(StaffCommand(action="hide", subject="bob")).ok
    engine.store.close()
    base = ["--config", str(REPO / "kiosk.toml"), "--profile", "tiny", "--data-dir", str(here)]
    out = CliRunner().invoke(main, [*base, "stats", "--json"], catch_exceptions=False)
    assert json.loads(out.output)["booths"] == {"hall-a": {"drawings": 1, "jobs_waiting": 1}}
    out = CliRunner().invoke(main, [*base, "stats"], catch_exceptions=False)
    assert "booth hall-a: 1 drawn here, 1 waiting" in out.output
    report = tmp_path / "out"
    done = CliRunner().invoke(main, [*base, "export", "--out", str(report), "--json"])
    assert done.exit_code == 0, done.output
    with (report / "submissions.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert [r["booth"] for r in csv.DictReader(fh)] == ["hall-a"]
    with (report / "audit.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert [(r["action"], r["booth"]) for r in csv.DictReader(fh)] == [("hide", "hall-a")]


def test_a_job_adopted_while_its_booth_draws_it_is_committed_once(
    engine_factory: MakeEngine, halls: tuple[Settings, Settings]
) -> None:
    """A booth stuck mid-batch whose connection the server lost (so it no longer holds
    its name) is adopted: the adopting booth draws and commits the job; when the stuck
    one finishes, it commits nothing and tells its player nothing failed (the commit
    checks the owner)."""
    a_settings, b_settings = halls
    gen_a = CountingGenerator(a_settings.generator)
    a, rec_a = engine_factory(settings=a_settings, generator=gen_a)
    b, rec_b = engine_factory(settings=b_settings)
    gen_a.gate = threading.Event()  # A's GPU hangs on its next call
    queued = a.submit("ada", "a duck at dawn")
    assert isinstance(queued, Queued)
    deadline = time.monotonic() + 30
    while not [e for e in rec_a.of(Started) if e.job_id == queued.job_id]:
        assert time.monotonic() < deadline, "A never started the job"
        time.sleep(0.05)
    a.store.release_booth()  # as when the server loses the booth's connection
    assert b.staff(StaffCommand(action="adopt", subject="hall-a")).ok
    assert b.wait_idle(120) and [e.job_id for e in rec_b.of(Done)] == [queued.job_id]
    gen_a.gate.set()
    assert a.wait_idle(120)
    assert rec_a.of(Done) == [] and rec_a.of(Failed) == []
    assert any("no longer this booth's" in n.message for n in rec_a.of(Notice))
    once = "SELECT COUNT(*), MIN(booth) FROM submissions WHERE job_id = ?"
    assert tuple(engine_db(b).one(once, queued.job_id)) == (1, "hall-b")


def test_kiosk_staff_adopt_hands_jobs_to_the_configured_booth(tmp_path: Path, pg_url: str) -> None:
    """`kiosk staff adopt BOOTH` with booth hall-b's config: hall-a's pending jobs become
    hall-b's, audited with the booth; nothing left, or its own name, is refused."""
    dead = PgStore(pg_url, booth="hall-a")
    try:
        dead.meta.sync_targets(TARGETS)
        job = accept(dead, "ada", "a duck")
    finally:
        dead.shutdown()
    text = (REPO / "kiosk.toml").read_text(encoding="utf-8")
    text = text.replace('"assets/', f'"{REPO}/assets/').replace('"examples/', f'"{REPO}/examples/')
    text = text.replace("[event]\n", '[event]\nbooth = "hall-b"\n', 1)
    config = tmp_path / "kiosk.toml"
    config.write_text(text.replace('\nurl = ""', f'\nurl = "{pg_url}"', 1), encoding="utf-8")
    base = ["--config", str(config), "--data-dir", str(tmp_path / "b")]

    def staff(*args: str) -> tuple[int, str]:
        done = CliRunner().invoke(main, [*base, "staff", *args], catch_exceptions=False)
        return done.exit_code, done.output

    assert staff("adopt", "hall-a", "--reason", "GPU down") == (
        0,
        "ok: adopted 1 pending job of hall-a: hall-b draws them\n",
    )
    code, said = staff("adopt", "hall-a")
    assert code == 1 and "refused: booth hall-a has no pending jobs" in said, said
    code, said = staff("adopt", "hall-b")
    assert code == 1 and "hall-b is this booth" in said, said
    log = CliRunner().invoke(main, [*base, "audit", "--json"], catch_exceptions=False)
    (row,) = json.loads(log.output)
    assert (row["action"], row["subject"], row["booth"]) == ("adopt", "hall-a", "hall-b")
    assert "GPU down" in row["reason"]
    check = PgStore(pg_url, booth="hall-b")
    try:
        assert [j.id for j in check.jobs.pending("hall-b")] == [job.id]
    finally:
        check.shutdown()


def test_an_event_wide_pause_holds_at_every_booth(
    engine_factory: MakeEngine, halls: tuple[Settings, Settings]
) -> None:
    """Staff at booth A pause the whole event: booth B keeps its prompts without drawing
    them (it reads the pause as it takes a batch) and says so; A's resume-all reaches B
    when B next wakes (here, its next prompt), and B draws both."""
    a_settings, b_settings = halls
    gen_b = CountingGenerator(b_settings.generator)
    a, _ = engine_factory(settings=a_settings, start=False)
    b, _ = engine_factory(settings=b_settings, generator=gen_b)
    assert a.staff(StaffCommand(action="pause-all")).ok
    b.submit("bob", "a heron in the reeds")
    assert b.wait_idle(60) and gen_b.prompts == [] and b.pause_scope == "event"
    assert a.staff(StaffCommand(action="resume-all")).ok
    b.submit("cy", "a swan at dusk")
    assert b.wait_idle(120) and sorted(gen_b.prompts) == ["a heron in the reeds", "a swan at dusk"]
    assert not b.paused


def test_a_visitor_who_joins_another_booths_drawing_sees_it_done_at_their_booth(
    engine_factory: MakeEngine, halls: tuple[Settings, Settings]
) -> None:
    """dee types at booth B a prompt booth A is about to draw: it joins A's job; when A
    commits it, B's screen gets dee's `done`, with rank and best, and the drawing in B's
    own data dir (fetched from the shared store), as A's own followers get theirs."""
    a_settings, b_settings = halls
    b_dir = b_settings.data_path
    a, _ = engine_factory(settings=a_settings)
    b, rec_b = engine_factory(settings=b_settings)
    assert a.staff(StaffCommand(action="pause")).ok
    a.submit("ada", "a duck at dawn")
    joined = b.submit("dee", "a duck at dawn")
    assert isinstance(joined, Queued) and joined.joined
    assert a.staff(StaffCommand(action="resume")).ok
    assert a.wait_idle(120), a.load_error
    heard(rec_b, Done)
    (done,) = rec_b.of(Done)
    assert (done.nickname, done.job_id, done.dedup, done.rank) == ("dee", joined.job_id, True, 2)
    rel = Path(done.image).relative_to(b_dir)  # B's own copy, the bytes A drew
    assert done.best == done.score
    assert (b_dir / rel).read_bytes() == (a_settings.data_path / rel).read_bytes()
