"""The forms of a text that the blocklist reads, and the entries are read alike.

- clean: what policy.sanitise keeps (invisible characters dropped, blanks as spaces);
- cased: NFKC and casefold, as policy.normalise_prompt; `plain_words` splits it;
- folded words (`fold`): lookalike letters of other scripts as ASCII (`identity.player_key`),
  accents dropped ("nüde", "pørn"), spaced-out letters joined ("p o r n", "n.u.d.e"),
  leetspeak read (0 o, 1 i or l, ! | i, 3 e, 4 @ a, 5 $ s, 7 + t), and a number at the end
  of a word read as a number ("p33", "p155", "porn123": "p" + "33", "porn" + "123");
- `unstretched`: letters typed three times or more read once and twice ("naaaked");
- letters: the letters of scripts written without spaces (Korean...), for matching inside.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata

from kiosk.core import policy
from kiosk.core.identity import BLANKS, player_key

# Scripts written without spaces between words: Thai, Lao, Myanmar, Hangul (jamo,
# compatibility jamo, syllables, half-width), Khmer, kana, CJK ideographs.
UNSPACED = (
    "\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff\u3040-\u30ff\u3130-\u318f"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff"
    "\uff66-\uffdc\U00020000-\U0003134f"
)
HAS_UNSPACED = re.compile(f"[{UNSPACED}]")
# What policy.sanitise drops, as one regex (its loop costs ~0.4 ms on a 300-character
# prompt): controls other than whitespace, format characters (Unicode 14 category Cf:
# zero-width, bidi, tags), surrogates and private use.
INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f"
    "\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ud800-\uf8ff\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\U000f0000-\U0010ffff]"
)
LEET_SYMBOLS = "!|@$+"
_ESCAPE = re.compile("[\x1b\x9b\x9d]")  # a terminal escape sequence: policy.sanitise
_BLANK = re.compile(f"[{''.join(sorted(BLANKS))}]")  # letters that draw nothing: spaces
_PLAIN_WORD = re.compile(rf"[^\W_{UNSPACED}]+")
_FOLD_SEPARATOR = re.compile(f"[_{UNSPACED}]")
_FOLD_WORD = re.compile(r"[\w!|@$+]+")
_FOLD_WORK = re.compile(r"[0-9!|@$+]|(?<!\S)\S\s+\S(?!\S)")  # leetspeak, spaced letters
_LETTERS = re.compile(r"[^\W\d_]+")
_STRETCH = re.compile(r"([^\W\d_])\1\1+")  # a letter typed three times or more
_TRIPLE = re.compile(r"(.)\1\1")  # its quick test: three times the same character
# ASCII fast paths of the word regexes: everything else becomes a space.
_ASCII_PLAIN = {c: " " for c in range(128) if not chr(c).isalnum()}
_ASCII_FOLD = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) in LEET_SYMBOLS)}
_LEET = {"0": "o", "1": "i", "!": "i", "|": "i", "3": "e", "4": "a", "@": "a", "5": "s"}
_LEET |= {"$": "s", "7": "t", "+": "t"}
_LEET_I = str.maketrans(_LEET)
_LEET_L = str.maketrans(_LEET | {"1": "l", "|": "l"})  # "1" is "i" or "l": "d1ck", "s1ut"
_DIGITS = "0123456789"
_NOT_LETTERS = _DIGITS + LEET_SYMBOLS
# Latin letters that carry their mark in the letter itself (no decomposition to drop).
_UNMARKED = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ħ": "h"}
)


def clean(text: str) -> str:
    """What policy.sanitise keeps, fast: escape sequences (rare) by sanitise itself,
    invisible characters dropped, blank letters as spaces."""
    if text.isascii() and text.isprintable():
        return text
    if _ESCAPE.search(text):
        text = policy.sanitise(text)
    return _BLANK.sub(" ", INVISIBLE.sub("", text))


def cased(clean: str) -> str:
    """NFKC and casefold, as policy.normalise_prompt; the word regexes split at punctuation."""
    return clean.lower() if clean.isascii() else unicodedata.normalize("NFKC", clean).casefold()


def plain_words(cased: str) -> list[str]:
    """The words of a cased text, as policy.normalise_prompt splits them."""
    if cased.isascii():
        return cased.translate(_ASCII_PLAIN).split()
    return _PLAIN_WORD.findall(cased)


def letters(cased: str) -> str:
    """Letters only, for entries matched inside words: "개 새.끼 1야" -> "개새끼야"."""
    return "".join(_LETTERS.findall(cased))


def unaccented(text: str) -> str:
    """Marks dropped from letters ("nüde", "núde", "ñude" -> "nude"; "pørn" -> "porn")."""
    marked = unicodedata.normalize("NFD", text.translate(_UNMARKED))
    bare = "".join(ch for ch in marked if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", bare)


def fold_words(text: str, *, one_is_l: bool = False) -> list[str]:
    """The folded words of a text: lookalikes as ASCII, accents dropped, spaced-out letters
    joined, leetspeak read ("P 0 r N" -> ["porn"]); "1" and "|" are "i", or "l" with
    `one_is_l`; a number that ends a word is a word of its own ("p33" -> ["p", "33"])."""
    return fold(clean(text), one_is_l=one_is_l)


def fold(clean: str, *, one_is_l: bool = False) -> list[str]:
    """`fold_words` of a text already cleaned."""
    if not clean.isascii():  # unspaced scripts have their own pass; often ASCII is left
        clean = _FOLD_SEPARATOR.sub(" ", clean)
    if clean.isascii():  # player_key leaves ASCII as typed
        spaced = clean.lower().translate(_ASCII_FOLD)
        if not _FOLD_WORK.search(spaced):
            return spaced.split()
        words = spaced.split()
    else:
        folded = unaccented(player_key(clean))
        words = _FOLD_WORD.findall(_FOLD_SEPARATOR.sub(" ", folded))
    return _read_leet(_join_spaced(words), _LEET_L if one_is_l else _LEET_I)


def _join_spaced(words: list[str]) -> list[str]:
    """Runs of one-letter words joined ("p o r n" -> "porn"); "duck!" is not "ducki"."""
    joined: list[str] = []
    run = ""

    def flush(run: str) -> None:
        joined.append(run)
        if len(run) > 2 and run[0] in "ai":  # "a p.o.r.n": the article is a word of its own
            joined.append(run[1:])

    for word in words:
        if word[0] in "!|" or word[-1] in "!|":
            word = word.strip("!|")
        if len(word) == 1:
            run += word
            continue
        if run:
            flush(run)
            run = ""
        if word:
            joined.append(word)
    if run:
        flush(run)
    return joined


def _read_leet(words: list[str], table: dict[int, str]) -> list[str]:
    """Leetspeak read in words with letters; numbers stay as typed, and a number of two
    digits or more that ends a word is one ("p33", "duck99"; "nud3" is "nude")."""
    out: list[str] = []
    for word in words:
        if word[-1] in _DIGITS and word[-2:-1] in _DIGITS and (head := word.rstrip(_DIGITS)):
            out += [head.translate(table) if head.strip(_NOT_LETTERS) else head, word[len(head) :]]
        else:
            out.append(word.translate(table) if word.strip(_NOT_LETTERS) else word)
    return out


def unstretched(words: list[str]) -> list[list[str]]:
    """Folded words with every letter typed three times or more read once, then twice
    ("naaaked" -> "naked", "asss" -> "ass"); [] when no letter is stretched. A letter
    typed twice stays: "good" is not "god"."""
    text = " ".join(words)
    if not _TRIPLE.search(text):
        return []
    once = _STRETCH.sub(r"\1", text)
    if once == text:  # "111"
        return []
    return [once.split(), _STRETCH.sub(r"\1\1", text).split()]
