"""Visitor text in Korean and English, from gettext catalogs managed with Babel.

The catalogs are `.po` files in `kiosk/locale/<lang>/LC_MESSAGES/kiosk.po`, compiled
with Babel when first used (no build step to forget). Text for visitors and spectators
is marked in the code with `N_` (kept in English where it is made, e.g. a refusal in
the engine) and translated where it is shown, in the language of the visitor's sitting:

    tr = translator("ko")
    tr(N_("Rank #{rank}"), rank=3)

`make catalogs` extracts the marked text (`pybabel extract`) and updates the catalogs;
`tests/test_i18n.py` fails when a marked text is missing from a catalog or untranslated.
Placeholders are `str.format` names; one ending in `_s` is a duration in seconds and is
said in the catalog's words ("4 min 5 s", "4분 5초").
"""

from __future__ import annotations

import gettext
import io
import math
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "kiosk"
LANGUAGES: dict[str, str] = {"en": "English", "ko": "한국어"}
"""The languages with a catalog, each named in its own words (the switch key shows it)."""
DEFAULT = "en"
_EPS = 1e-9

Translator = Callable[..., str]


def N_(msgid: str) -> str:
    """Mark visitor text for the catalogs; it is translated where it is shown."""
    return msgid


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of `lang` (English text stands for itself when missing)."""
    path = po_path(lang)
    if lang not in LANGUAGES or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as fh:
        po = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, po)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def translate(lang: str, msgid: str, **params: object) -> str:
    """`msgid` in `lang`, its placeholders filled (durations in that language's words)."""
    text = catalog(lang).gettext(msgid)
    if not params:
        return text
    values = {
        k: duration(lang, v) if isinstance(v, int | float) and _is_duration(k, v) else v
        for k, v in params.items()
    }
    return text.format_map(_Lenient(values))


def translator(lang: str) -> Translator:
    """`translate` bound to one language."""

    def tr(msgid: str, **params: object) -> str:
        return translate(lang, msgid, **params)

    return tr


def duration(lang: str, seconds: float) -> str:
    """A wait, rounded up: "12 s", "4 min 5 s", "1 h 3 min" (and in Korean)."""
    tr = translator(lang)
    s = max(1, math.ceil(float(seconds) - _EPS))
    if s < 60:
        return tr(N_("{n} s"), n=s)
    if s < 3600:
        m, rest = divmod(s, 60)
        return tr(N_("{m} min {n} s"), m=m, n=rest) if rest else tr(N_("{m} min"), m=m)
    h, rest = divmod(math.ceil(s / 60), 60)
    return tr(N_("{h} h {m} min"), h=h, m=rest) if rest else tr(N_("{h} h"), h=h)


def next_language(current: str, languages: Sequence[str]) -> str:
    """The language after `current` in the booth's list (the switch key cycles)."""
    order = list(languages)
    if current not in order:
        return order[0]
    return order[(order.index(current) + 1) % len(order)]


def _is_duration(key: str, value: object) -> bool:
    return key.endswith("_s") and isinstance(value, int | float) and not isinstance(value, bool)


class _Lenient(dict[str, object]):
    """A placeholder a translation names but the code did not give stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
