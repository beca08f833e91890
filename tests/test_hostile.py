"""Hostile input: arbitrary Unicode, huge strings, NUL, ANSI/OSC escapes, bidi and
zero-width characters never crash submit() or the config loader, never reach the
board, and always respect the limits."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.core.config import ConfigError, Settings, load_settings
from kiosk.core.engine import Engine
from kiosk.core.events import Done, Queued
from kiosk.core.policy import PolicyError

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
    repo = Path(__file__).resolve().parent.parent
    s = load_settings(repo / "kiosk.toml", data_dir=tmp_path_factory.mktemp("hostile"))
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
    assert 0 < len(result.nickname) <= engine.limits.nickname_max
    assert 0 < len(result.prompt) <= engine.limits.prompt_max


def test_board_and_queue_hold_only_clean_text(engine: Engine) -> None:
    engine.submit("\x1b[31mMallory\x1b[0m\u202e", "\x1b]0;pwn\x07a \u200bduck")
    snapshot = engine.queue_snapshot()
    assert snapshot and all(clean(e.nickname) and clean(e.prompt) for e in snapshot)
    assert any(e.nickname == "Mallory" and e.prompt == "a duck" for e in snapshot)
    rows = (
        engine.store._conn()
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
    repo = Path(__file__).resolve().parent.parent
    path = tmp_path_factory.mktemp("cfg") / "kiosk.toml"
    image = (repo / "assets" / "duck.png").as_posix()
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
