"""Visitor text comes from the gettext catalogs, complete in every language."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from builders import REPO

from kiosk.core import i18n
from kiosk.core.floods import CodesPaused, RateLimited
from kiosk.core.policy import PolicyError, clean_nickname


def marked() -> set[str]:
    """Every text marked N_() in the package, as `make catalogs` extracts it."""
    found = extract_from_dir(
        str(REPO / "kiosk"),
        method_map=[("**.py", "python")],
        keywords={"N_": None},
    )
    return {m for _file, _line, m, _comments, _context in found if isinstance(m, str) and m}


def catalog(lang: str) -> dict[str, str]:
    with i18n.po_path(lang).open("rb") as fh:
        po = read_po(fh, locale=lang)
    assert not [m.id for m in po if m.id and m.fuzzy], f"{lang}: fuzzy entries"
    return {str(m.id): str(m.string) for m in po if m.id}


def names(text: str) -> set[str]:
    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field}


@pytest.mark.parametrize("lang", sorted(i18n.LANGUAGES))
def test_every_marked_text_is_in_the_catalog(lang: str) -> None:
    """A text marked for visitors and missing from a catalog (or left in it after the code
    dropped it) fails: run `make catalogs` and translate."""
    entries = catalog(lang)
    assert sorted(marked() - entries.keys()) == [], f"missing from {lang}: make catalogs"
    assert sorted(entries.keys() - marked()) == [], f"obsolete in {lang}: make catalogs"


def test_korean_translates_every_text_with_the_same_placeholders() -> None:
    for msgid, text in catalog("ko").items():
        assert text, f"no Korean for {msgid!r}"
        assert names(text) == names(msgid), f"placeholders differ: {msgid!r} -> {text!r}"


def test_a_refusal_is_said_in_the_visitors_language() -> None:
    with pytest.raises(PolicyError) as caught:
        clean_nickname("   ", 24)
    assert str(caught.value) == "Please type a nickname."
    assert caught.value.said("ko") == "닉네임을 입력해 주세요."
    slow = RateLimited(125.0)
    assert "2 min 5 s" in str(slow) and "2분 5초" in slow.said("ko")
    paused = CodesPaused("ana", 0.0, 300.0)
    assert paused.said("ko") == (
        "ana 님의 참가자 코드가 너무 많이 틀렸어요. 5분 후에 다시 하거나 스태프에게 물어보세요."
    )


def test_languages_cycle_in_the_booths_order() -> None:
    assert i18n.next_language("ko", ["ko", "en"]) == "en"
    assert i18n.next_language("en", ["ko", "en"]) == "ko"
    assert i18n.next_language("xx", ["ko", "en"]) == "ko"
    assert i18n.translate("xx", "Waiting") == "Waiting"  # no catalog: the English text


KEPT_AS_IS = {
    # what the visitors typed, what the booth was configured with, and key names
    "duck", "swan", "pond", "Drawing", "Judge", "TINY", "DEMO", "MODELS",
    "Ctrl", "Enter", "English", "CLIP",
    "bob", "ann", "dora", "white", "small", "two", "birds", "lake", "and", "the", "on",
}  # fmt: skip


async def test_the_korean_booth_shows_no_english_but_data_and_key_names(
    tmp_path: Path,
) -> None:
    """A visitor text written without N_() shows up here as English on the Korean booth."""
    import html
    import re

    from app_fixtures import SIZE, FakeEngine, wait_for
    from test_app_snapshots import settings_for, three_visitors

    from kiosk.ui.app import make_app

    settings = settings_for(tmp_path)
    engine = FakeEngine(settings)
    app = make_app(settings, engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_ready, 10, "the booth")
        await pilot.press("f2")
        await three_visitors(pilot, engine)
        svg = app.export_screenshot()
    text = html.unescape(" ".join(re.findall(r">([^<>]*)</text>", svg)))
    english = set(re.findall(r"[A-Za-z]{3,}(?![A-Za-z…])", text)) - KEPT_AS_IS
    assert not english, f"English on the Korean booth: {sorted(english)}"
