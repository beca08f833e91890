"""Who is who: the player key, where lookalike letters fold to one player.

"Tom", "ТОМ" (Cyrillic), "Ｔｏｍ" (full width) and "tom" are one player; "t0m" and
"toml" are not. Pure functions, no I/O. The lookalikes come from Unicode's confusables
table (UTS #39), as shipped by the `confusable_homoglyphs` package, not a hand list.

Changing the table (a newer package) or the rules here changes keys: existing databases
are then re-keyed by a migration, as schema migration 9 did.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata

_SPACES = re.compile(r"\s+")
_ASCII_ALNUM = frozenset(string.ascii_letters + string.digits)
_LRM = "\u200e"

BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
"""Hangul fillers: letters (category Lo) that draw nothing, a favourite for invisible
names. Unicode lists them as default-ignorable; `str.isspace` does not know them."""
BLANK_SYMBOLS = frozenset("\u2800")
"""The braille pattern blank: a symbol that draws nothing."""
BLANKS = BLANK_LETTERS | BLANK_SYMBOLS

DEFAULT_IGNORABLE: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul fillers (BLANK_LETTERS)
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),  # zero width space, joiners, directional marks
    (0x202A, 0x202E),  # directional embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, isolates
    (0x3164, 0x3164),  # Hangul filler (BLANK_LETTERS)
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero width no-break space
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler (BLANK_LETTERS)
    (0xFFF0, 0xFFF8),  # reserved
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement, reserved
)
"""Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt, Unicode 16.0):
code points a renderer shows as nothing. Python's unicodedata has no lookup for the
property; a test checks this table against the `regex` module's."""
INVISIBLE = frozenset(chr(cp) for lo, hi in DEFAULT_IGNORABLE for cp in range(lo, hi + 1)) - BLANKS
"""Default-ignorable characters but the blank letters (those show as spaces): "ana" with a
variation selector or a grapheme joiner looks like "ana", so they are dropped."""


def player_key(nickname: str) -> str:
    """Identity of a player: nicknames that differ only by case, width or lookalike
    letters of another script are one player.

    NFKC (width, ligatures, styled letters), and every non-ASCII character whose
    confusable prototype is an ASCII letter or digit becomes that letter, before and
    after casefolding (Cyrillic "Т" looks like "T" but its lowercase "т" does not look
    like "t"). ASCII stays as typed, so "l"/"1" and "O"/"0" stay apart; Hangul and
    other scripts without ASCII lookalikes are kept; blank-looking characters count
    as spaces and invisible ones (INVISIBLE) as nothing.
    """
    fold = _fold_table()
    # Fold before NFKC too: NFKC turns some lookalikes into others ("ϲ", a lunate sigma
    # that looks like "c", becomes "σ", which looks like "o").
    text = unicodedata.normalize("NFKC", nickname.translate(fold)).translate(fold)
    text = unicodedata.normalize("NFKC", text.casefold()).translate(fold)
    text = unicodedata.normalize("NFC", text)  # "о" + U+0308 folded to "o" + U+0308: "ö"
    return _SPACES.sub(" ", text).strip()


@functools.cache
def _fold_table() -> dict[int, str | None]:
    """The `str.translate` table: lookalikes to lowercase ASCII, blanks to spaces,
    invisible characters to nothing."""
    from confusable_homoglyphs.confusables import confusables_data  # loads a JSON once

    prototypes = _ascii_prototypes(confusables_data)
    # The ASCII characters of each prototype's class: "l" has "1" and "I" too.
    members: dict[str, set[str]] = {}
    for ch, proto in prototypes.items():
        members.setdefault(proto, {proto})
        if ch in _ASCII_ALNUM:
            members[proto].add(ch)
    table: dict[int, str | None] = {ord(ch): " " for ch in BLANKS}
    for ch, proto in prototypes.items():
        if ch not in _ASCII_ALNUM:
            table[ord(ch)] = _pick(ch, proto, members[proto]).lower()
    table.update(dict.fromkeys(map(ord, INVISIBLE)))
    return table


def _ascii_prototypes(data: object) -> dict[str, str]:
    """Single characters whose prototype is one ASCII letter or digit, and that prototype.

    The package stores each confusables.txt line both ways: a character maps to the
    list of its prototype's other sources when it is a prototype, and to a list of one,
    its prototype, when it is a source (a prototype is never a source itself).
    """
    if not isinstance(data, dict):
        raise TypeError("confusable_homoglyphs: unexpected data layout")
    out: dict[str, str] = {}
    for key, entries in data.items():
        if not (isinstance(key, str) and isinstance(entries, list) and len(entries) == 1):
            continue
        ch = key.strip(_LRM)  # right-to-left characters are stored as LRM + char + LRM
        proto = entries[0].get("c") if isinstance(entries[0], dict) else None
        if len(ch) == 1 and isinstance(proto, str) and proto in _ASCII_ALNUM:
            out[ch] = proto
    return out


def _pick(ch: str, proto: str, ascii_members: set[str]) -> str:
    """The ASCII member of a lookalike class that `ch` stands for: a capital for a
    capital (Cyrillic "І" is "I", not the prototype "l"), the same digit for a digit
    (Arabic-Indic "١" is "1"), else the prototype."""
    if ch.isupper():
        capitals = sorted(m for m in ascii_members if m.isupper())
        if capitals:
            return capitals[0]
    value = unicodedata.digit(ch, None)
    if value is not None and str(value) in ascii_members:
        return str(value)
    return proto
