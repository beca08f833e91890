"""Sanitising, limits, normalisation, dedup keys and score formatting."""

from __future__ import annotations

import pytest

from kiosk.core import policy
from kiosk.core.policy import PolicyError


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("A Duck!!", "a duck"),
        ("  a   duck  ", "a duck"),
        ("a\tduck\n", "a duck"),
        ("ＡＢＣ duck", "abc duck"),  # full-width letters (NFKC)
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower
        ("a duck, a swan.", "a duck a swan"),
        ("a\u200bduck", "aduck"),  # zero-width space dropped
    ],
)
def test_normalise_equal(a: str, b: str) -> None:
    assert policy.normalise_prompt(a) == policy.normalise_prompt(b)


def test_normalise_keeps_distinct_prompts_apart() -> None:
    assert policy.normalise_prompt("a duck") != policy.normalise_prompt("a swan")
    assert policy.normalise_prompt("🦆") == "🦆"  # emoji are words here, not punctuation
    assert policy.normalise_prompt("호수 위의 오리!") == "호수 위의 오리"


@pytest.mark.parametrize(
    "dirty",
    [
        "\x1b[31mred\x1b[0m duck",
        "\x1b]0;pwned\x07duck",
        "\x1b]8;;http://x\x1b\\duck",
        "\x9b31mduck",
        "du\x00ck",
        "\u202educk",
        "\x1bPqdata\x1b\\duck",
    ],
)
def test_sanitise_removes_escapes_and_controls(dirty: str) -> None:
    clean = policy.sanitise(dirty)
    assert "\x1b" not in clean and "\x9b" not in clean and "\x00" not in clean
    assert "\u202e" not in clean
    assert "duck" in clean.replace(" ", "")


def test_clean_field_limits() -> None:
    assert policy.clean_field("  ada  ", what="nickname", max_len=5) == "ada"
    with pytest.raises(PolicyError, match="at most 5 characters"):
        policy.clean_field("abcdef", what="nickname", max_len=5)
    with pytest.raises(PolicyError, match="Please type a nickname"):
        policy.clean_field("\x1b[0m \u200b", what="nickname", max_len=5)
    with pytest.raises(PolicyError, match="too long"):
        policy.clean_field("x" * 1_000_000, what="prompt", max_len=300)


def test_dedup_key_and_seed_are_stable() -> None:
    k1 = policy.dedup_key("a duck", "duck", "gen", "judge")
    assert k1 == policy.dedup_key("a duck", "duck", "gen", "judge")
    assert k1 != policy.dedup_key("a duck", "swan", "gen", "judge")
    assert k1 != policy.dedup_key("a duck", "duck", "other-gen", "judge")
    assert k1 != policy.dedup_key("a duck", "duck", "gen", "other-judge")
    assert policy.seed_for(k1) == policy.seed_for(k1)
    assert 0 <= policy.seed_for(k1) < 2**63


def test_percent_and_format() -> None:
    assert policy.percent(-0.3) == 0.0
    assert policy.percent(0.87421) == pytest.approx(87.421)
    assert policy.format_percent(87.421) == "87.42%"
    assert policy.format_percent(5) == "5.00%"
    assert policy.format_percent(100) == "100.00%"


def test_player_key_folds_case_and_width() -> None:
    assert policy.player_key("Ada") == policy.player_key("ａｄａ") == "ada"
