"""Hostile input: arbitrary Unicode, huge strings, NUL, ANSI/OSC escapes, bidi and
zero-width characters never crash submit() or the config loader, never reach the
board, and always respect the limits."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from builders import REPO
from click.testing import CliRunner
from engine_fixtures import Recorder, engine_db
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.cli import main
from kiosk.core.commands import parse_command
from kiosk.core.config import ConfigError, Settings, load_settings
from kiosk.core.events import Done, Queued
from kiosk.core.policy import PolicyError
from kiosk.engine.engine import Engine

NASTY = [
    "\x1b[31m",
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\x1b]8;;http://evil\x1b\\",
    "\x1bP+q\x1b\\",
    "\x9b1m",
    "\x00",
    "\x07",
    "\x08",
    "\r",
    "\u202e",
    "\u2066",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\x7f",
    "\x85",
    "\u2028",
    "\U0001f986",
    "\ud7a3",
    "Ａ",
    "ﬁ",
    "\u0301",
]
nasty_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=20)), max_size=30).map(
    "".join
)
any_text = st.one_of(
    st.text(), nasty_text, st.text(min_size=300, max_size=5000), st.just("x" * 100_000)
)


def clean(text: str) -> bool:
    """Nothing a terminal would act on: no controls, no format characters, no ESC."""
    return not any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in text)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    s = load_settings(REPO / "kiosk.toml", data_dir=tmp_path_factory.mktemp("hostile"))
    s = s.model_copy(update={"limits": s.limits.model_copy(update={"queued_per_player": 100})})
    engine = Engine(s)  # never started: no models needed, jobs just queue
    yield engine
    engine.store.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nickname=any_text, prompt=any_text)
def test_submit_never_crashes_and_never_passes_escapes(
    engine: Engine, nickname: str, prompt: str
) -> None:
    try:
        result = engine.submit(nickname, prompt)
    except PolicyError as exc:
        assert str(exc) and clean(str(exc))
        return
    assert isinstance(result, Queued | Done)
    assert clean(result.nickname) and clean(result.prompt)
    assert 0 < len(result.nickname) <= engine.settings.limits.nickname_max
    assert 0 < len(result.prompt) <= engine.settings.limits.prompt_max


def test_board_and_queue_hold_only_clean_text(engine: Engine) -> None:
    engine.submit("\x1b[31mMallory\x1b[0m\u202e", "\x1b]0;pwn\x07a \u200bduck")
    snapshot = engine.queue_snapshot()
    assert snapshot and all(clean(e.nickname) and clean(e.prompt) for e in snapshot)
    assert any(e.nickname == "Mallory" and e.prompt == "a duck" for e in snapshot)
    rows = (
        engine_db(engine)
        .conn()
        .execute(
            "SELECT p.nickname, j.prompt, j.norm_prompt FROM jobs j JOIN players p"
            " ON p.id = j.player_id"
        )
        .fetchall()
    )
    assert all(clean(" ".join(r)) for r in rows)


def test_refusals_say_why(engine: Engine) -> None:
    with pytest.raises(PolicyError, match="Please type a nickname"):
        engine.submit("\x1b[0m\u200b\x00", "a duck")
    with pytest.raises(PolicyError, match="at most 300 characters"):
        engine.submit("ada", "duck " * 100)
    with pytest.raises(PolicyError, match="at most 24 characters"):
        engine.submit("a" * 25, "a duck")


toml_scalar = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=30).map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'),
)


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=500), nasty_text))
def test_config_loader_fails_only_with_config_error(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("cfg") / "kiosk.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_settings(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path.resolve()))


@settings(max_examples=200, deadline=None)
@given(
    section=st.sampled_from(["event", "generator", "judge", "limits", "staff"]),
    key=st.sampled_from(
        [
            "name",
            "steps",
            "width",
            "batch",
            "device",
            "model",
            "prompt_max",
            "pin_hash",
            "offline",
            "bogus",
        ]
    ),
    value=toml_scalar.map(str),
)
def test_config_values_fail_only_with_config_error(
    tmp_path_factory: pytest.TempPathFactory, section: str, key: str, value: str
) -> None:
    path = tmp_path_factory.mktemp("cfg") / "kiosk.toml"
    image = (REPO / "assets" / "duck.png").as_posix()
    path.write_text(
        f'[[targets]]\nid = "duck"\ntitle = "Duck"\nimage = "{image}"\n'
        f"[{section}]\n{key} = {value}\n",
        encoding="utf-8",
    )
    try:
        result = load_settings(path)
    except ConfigError as exc:
        assert f"{section}.{key}" in str(exc) or "not valid TOML" in str(exc)
    else:
        assert isinstance(result, Settings)


# -- the CLI's numbers: whatever is typed, a usage error (exit 2), never a traceback ---------

SQLITE_MAX = 2**63 - 1
# Each numeric argument: the words before its value, the words after, its bounds.
NUMERIC: list[tuple[list[str], list[str], int, int]] = [
    (["raffle", "--winners"], ["--among", "3"], 1, 1000),
    (["raffle", "--winners", "1", "--among"], [], 1, SQLITE_MAX),
    (["raffle", "--winners", "1", "--among", "3", "--seed"], [], 0, SQLITE_MAX),
    (["raffle", "--replay"], [], 1, SQLITE_MAX),
    (["raffle", "--redraw"], ["--absent", "bo"], 1, SQLITE_MAX),
    (["staff", "hide-submission"], [], 1, SQLITE_MAX),
    (["staff", "unhide-submission"], [], 1, SQLITE_MAX),
    (["staff", "approve"], [], 1, SQLITE_MAX),
    (["audit", "--limit"], [], 1, 100_000),
    (["leaderboard", "--limit"], [], 1, 10_000),
    (["export", "--top"], [], 1, 200),
    (["wall", "--serve", "--port"], [], 1, 65535),
    (["wall", "--serve", "--max-viewers"], [], 1, 64),
]
OTHER_DIGITS = st.characters(categories=["Nd", "No", "Nl"], exclude_characters="0123456789")
NOT_PERCENTS = ["", " ", " 7", "7 ", "+7", "1_000", "0x10", "1e3", "nan", "inf", "٣", "²"]
NOT_NUMBERS = [*NOT_PERCENTS, "7.0"]


def bad_whole_numbers(low: int, high: int) -> st.SearchStrategy[str]:
    """Out of bounds (huge and negative among them), digits that are not ASCII, empty."""
    return st.one_of(
        st.integers(max_value=low - 1).map(str),
        st.integers(min_value=high + 1).map(str),
        st.text(OTHER_DIGITS, min_size=1, max_size=6),
        st.tuples(st.integers(low, high), st.text(OTHER_DIGITS, min_size=1, max_size=2)).map(
            lambda t: f"{t[0]}{t[1]}"
        ),
        st.sampled_from(NOT_NUMBERS),
    )


@st.composite
def numeric_invocations(draw: st.DrawFn) -> list[str]:
    """A command line with one numeric argument given a bad value."""
    before, after, low, high = draw(st.sampled_from(NUMERIC))
    return [*before, draw(bad_whole_numbers(low, high)), *after]


@pytest.fixture(scope="module")
def untouched_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("numbers") / "data"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=numeric_invocations())
def test_cli_numbers_out_of_range_or_not_ascii_are_usage_errors(
    untouched_dir: Path, args: list[str]
) -> None:
    common = ["--config", str(REPO / "kiosk.toml"), "--data-dir", str(untouched_dir)]
    result = CliRunner().invoke(main, [*common, *args])
    assert result.exit_code == 2, (args, result.output)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1].startswith("Error:")
    assert not untouched_dir.exists()  # refused before anything was opened


@settings(max_examples=40, deadline=None)
@given(
    value=st.one_of(
        st.sampled_from([*NOT_PERCENTS, "-0.5", "100.01", "1e999", "1.5.0"]),
        st.text(OTHER_DIGITS, min_size=1, max_size=3),
    )
)
def test_cli_percent_that_is_not_a_plain_number_in_range_is_a_usage_error(
    untouched_dir: Path, value: str
) -> None:
    result = CliRunner().invoke(
        main, ["--data-dir", str(untouched_dir), "raffle", "--winners", "1", "--above", value]
    )
    assert result.exit_code == 2 and "--above" in result.stderr, result.output
    assert not untouched_dir.exists()


# -- exports: a `cat` of a CSV runs no terminal escape ------------------------------------

ESCAPED_PROMPTS = [
    '\x1b[31m=HYPERLINK("http://evil")\x1b[0m a duck \x1b]0;pwned\x07on a pond',
    "+\x1b[2J\x1b[Ha swan\x9b1m in red\x85\x9c and \x1b]8;;http://evil\x1b\\a link\x1b]8;;\x1b\\",
    "=1+1 two \x90qbirds\x9c\x07\x08\x7f swimming",
]


def test_exported_csvs_hold_no_terminal_escapes_and_keep_the_formula_guard(
    engine_factory: Callable[..., tuple[Engine, Recorder]], tiny_settings: Settings, tmp_path: Path
) -> None:
    engine, rec = engine_factory()
    for i, prompt in enumerate(ESCAPED_PROMPTS):
        engine.submit(f"\x1b[1mmallory{i}\x1b[0m", prompt)
    engine.wait_idle()
    assert len(rec.of(Done)) == len(ESCAPED_PROMPTS)
    engine.staff(parse_command("pause --reason \x1b]0;owned\x07lunch \x9b2J=break"))
    engine.stop()
    engine.store.close()
    out = tmp_path / "export"
    args = ["--config", str(REPO / "kiosk.toml"), "--data-dir", str(tiny_settings.data_path)]
    result = CliRunner().invoke(main, [*args, "export", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    csvs = sorted(out.glob("*.csv"))
    assert {p.name for p in csvs} >= {"submissions.csv", "audit.csv", "raffles.csv"}
    for path in csvs:
        data = path.read_bytes()
        assert b"\x1b" not in data and "\x9b".encode() not in data, path.name
        assert not set(data) & (set(range(0x20)) - {0x0A, 0x0D}), path.name
        text = data.decode("utf-8-sig")
        assert clean(text.replace("\r\n", "")), path.name
    with (out / "submissions.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    raw = [r["raw_prompt"] for r in rows]
    assert raw[0] == '\'=HYPERLINK("http://evil") a duck on a pond'
    assert raw[1].startswith("'+a swan") and raw[2].startswith("'=1+1 two")
    with (out / "audit.csv").open(encoding="utf-8-sig", newline="") as fh:
        reasons = [r["reason"] for r in csv.DictReader(fh) if r["action"] == "pause"]
    assert reasons == ["lunch =break"]
