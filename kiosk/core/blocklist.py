"""The word blocklist: prompts and nicknames that must not reach a public screen.

Three sources, merged once at start: the booth's own list (assets/blocklist.txt, any
language), better-profanity's English word list (with `[words] profanity`), and the
words staff blocked or unblocked at the booth (kept in the database). `match` names
the entry a text uses, or None.

How a text matches:
- Entries in scripts written with spaces (Latin...) match whole words or phrases, on
  the normalised text (what `policy.normalise_prompt` makes: NFKC, casefold,
  punctuation between words) and on a folded form: lookalike letters of other scripts
  read as ASCII (`identity.player_key`), spaced-out letters joined ("p o r n",
  "n.u.d.e"), leetspeak read (0 o, 1 i or l, ! | i, 3 e, 4 @ a, 5 $ s, 7 + t; the
  entries are folded alike). Whole words keep "class", "Scunthorpe" and "shuttlecock"
  drawable. camelCase is also read as words ("BigDuckEnergy").
- Entries in scripts written without spaces between words (Korean, Chinese, Japanese,
  Thai...) match anywhere in the text's letters (spaces, digits, punctuation removed):
  Korean attaches particles to words ("개새끼야") and spacing hides nothing ("개 새 끼").
  Two exceptions: a hit that starts inside one word and ends inside a later one is two
  words meeting ("오리야 동화책" holds 야동, "김씨 발자국" 씨발), not a word; and a spared
  word ("시발점") hides the hits that overlap it without containing it.
- A spared or unblocked word (`!word` in the file, `remove`) leaves every list.

Pure apart from `Blocklist.load`, which reads the list files. Measured on the shared
2-core build machine (Python 3.11, best of 5 runs of 3,000 calls): `match` on a
300-character prompt takes 90-130 µs in English, 95-140 µs in Korean, 140-220 µs when
dense with digits and spaced letters, ~25 µs when it hits early (policy.normalise_prompt
of the same English prompt: 160-240 µs). `load` with better-profanity's 900 words:
70-100 ms the first time (the lookalike table included), 25-40 ms after; `add` or
`remove`: 2-3 ms.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from kiosk.core import policy
from kiosk.core.config import ConfigError
from kiosk.core.identity import BLANKS, player_key

# Scripts written without spaces between words: Thai, Lao, Myanmar, Hangul (jamo,
# compatibility jamo, syllables, half-width), Khmer, kana, CJK ideographs.
_UNSPACED = (
    "\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff\u3040-\u30ff\u3130-\u318f"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff"
    "\uff66-\uffdc\U00020000-\U0003134f"
)
# What policy.sanitise drops, as one regex (its loop costs ~0.4 ms on a 300-character
# prompt): controls other than whitespace, format characters (Unicode 14 category Cf:
# zero-width, bidi, tags), surrogates and private use.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f"
    "\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ud800-\uf8ff\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\U000f0000-\U0010ffff]"
)
_ESCAPE = re.compile("[\x1b\x9b\x9d]")  # a terminal escape sequence: policy.sanitise
_BLANK = re.compile(f"[{''.join(sorted(BLANKS))}]")  # letters that draw nothing: spaces
_HAS_UNSPACED = re.compile(f"[{_UNSPACED}]")
_LEET_SYMBOLS = "!|@$+"
_PLAIN_WORD = re.compile(rf"[^\W_{_UNSPACED}]+")
_FOLD_SEPARATOR = re.compile(f"[_{_UNSPACED}]")
_FOLD_WORD = re.compile(r"[\w!|@$+]+")
_FOLD_WORK = re.compile(r"[0-9!|@$+]|(?<!\S)\S\s+\S(?!\S)")  # leetspeak, spaced letters
_LETTERS = re.compile(r"[^\W\d_]+")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
# ASCII fast paths of the word regexes: everything else becomes a space.
_ASCII_PLAIN = {c: " " for c in range(128) if not chr(c).isalnum()}
_ASCII_FOLD = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) in _LEET_SYMBOLS)}
_LEET = {"0": "o", "1": "i", "!": "i", "|": "i", "3": "e", "4": "a", "@": "a", "5": "s"}
_LEET |= {"$": "s", "7": "t", "+": "t"}
_LEET_I = str.maketrans(_LEET)
_LEET_L = str.maketrans(_LEET | {"1": "l", "|": "l"})  # "1" is "i" or "l": "d1ck", "s1ut"
_NOT_LETTERS = "0123456789" + _LEET_SYMBOLS
_PROFANITY_LIST = "profanity_wordlist.txt"


class BlocklistError(ConfigError):
    """A word list cannot be read; the message names the file and the reason."""


# -- the forms of a text --------------------------------------------------------------


def _clean(text: str) -> str:
    """What policy.sanitise keeps, fast: escape sequences (rare) by sanitise itself,
    invisible characters dropped, blank letters as spaces."""
    if text.isascii() and text.isprintable():
        return text
    if _ESCAPE.search(text):
        text = policy.sanitise(text)
    return _BLANK.sub(" ", _INVISIBLE.sub("", text))


def _cased(clean: str) -> str:
    """NFKC and casefold, as policy.normalise_prompt; the word regexes split at punctuation."""
    return clean.lower() if clean.isascii() else unicodedata.normalize("NFKC", clean).casefold()


def _plain_words(cased: str) -> list[str]:
    if cased.isascii():
        return cased.translate(_ASCII_PLAIN).split()
    return _PLAIN_WORD.findall(cased)


def fold_words(text: str, *, one_is_l: bool = False) -> list[str]:
    """The folded words of a text: lookalikes as ASCII, spaced-out letters joined,
    leetspeak read ("P 0 r N" -> ["porn"]); "1" and "|" are "i", or "l" with `one_is_l`."""
    return _fold(_clean(text), one_is_l=one_is_l)


def _fold(clean: str, *, one_is_l: bool = False) -> list[str]:
    if not clean.isascii():  # unspaced scripts have their own pass; often ASCII is left
        clean = _FOLD_SEPARATOR.sub(" ", clean)
    if clean.isascii():  # player_key leaves ASCII as typed
        spaced = clean.lower().translate(_ASCII_FOLD)
        if not _FOLD_WORK.search(spaced):
            return spaced.split()
        words = spaced.split()
    else:
        words = _FOLD_WORD.findall(_FOLD_SEPARATOR.sub(" ", player_key(clean)))
    joined: list[str] = []
    run = ""

    def flush(run: str) -> None:
        joined.append(run)
        if len(run) > 2 and run[0] in "ai":  # "a p.o.r.n": the article is a word of its own
            joined.append(run[1:])

    for word in words:
        if word[0] in "!|" or word[-1] in "!|":
            word = word.strip("!|")  # "duck!" is not "ducki"
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
    table = _LEET_L if one_is_l else _LEET_I
    return [w.translate(table) if w.strip(_NOT_LETTERS) else w for w in joined]


def _letters(cased: str) -> str:
    """Letters only, for entries matched inside words: "개 새.끼 1야" -> "개새끼야"."""
    return "".join(_LETTERS.findall(cased))


# -- entries --------------------------------------------------------------------------


class _Keys(NamedTuple):
    """How an entry is looked up: as whole words (plain and folded keys; no plain key
    for an entry written with leetspeak symbols, "sh!t"), or inside words."""

    plain: str
    folded: str
    inside: str


def _entry(word: str) -> tuple[str, _Keys]:
    """A word as the blocklist keeps it, and its keys; ValueError without letters."""
    clean = _clean(str(word))
    text = " ".join(unicodedata.normalize("NFC", clean).casefold().split())
    cased = _cased(clean)
    if not _HAS_LETTER.search(cased):
        raise ValueError(f"not a word: {word!r}")
    if _HAS_UNSPACED.search(cased):
        return text, _Keys("", "", _letters(cased))
    plain = "" if any(ch in text for ch in _LEET_SYMBOLS) else " ".join(_plain_words(cased))
    return text, _Keys(plain, " ".join(_fold(clean)), "")


def canonical(word: str) -> str:
    """A word as the blocklist keeps and the store records it: casefolded, spaces
    collapsed, leetspeak and punctuation as typed ("P0RN" -> "p0rn"; it is looked up
    through NFKC and the folds). ValueError when it has no letters."""
    return _entry(word)[0]


def parse(text: str) -> tuple[list[str], list[str]]:
    """(entries, spared words) of a word list: one per line, `#` comments, `!word` spares."""
    entries: list[str] = []
    spared: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("!"):
            spared.append(line[1:].strip())
        elif line:
            entries.append(line)
    return entries, [s for s in spared if s]


class _Index(NamedTuple):
    """What `match` reads, swapped whole on add / remove (match runs in other threads)."""

    plain: dict[str, str]  # plain key -> entry
    plain_starts: frozenset[str]
    folded: dict[str, str]  # folded key -> entry
    folded_starts: frozenset[str]
    longest: int  # words in the longest phrase
    inside: re.Pattern[str] | None
    inside_entries: dict[str, str]  # letters -> entry
    cutouts: re.Pattern[str] | None


class Blocklist:
    """Entries from every source, indexed for `match` (indexed again on add / remove)."""

    def __init__(self, entries: Iterable[str] = (), spared: Iterable[str] = ()) -> None:
        """Block `entries`, then spare `spared` (see `remove`)."""
        self._entries: dict[str, _Keys] = {}  # canonical entry -> its keys, first source first
        self._cutouts: dict[str, str] = {}  # spared word matched inside words -> its letters
        for entry in entries:
            self._put(entry)
        for word in spared:
            self._drop(word)
        self._index()

    @classmethod
    def load(
        cls, path: str | Path, profanity: bool = True, changes: Iterable[tuple[str, bool]] = ()
    ) -> Blocklist:
        """The booth's list at `path`, better-profanity's English list when `profanity`,
        then staff's changes (word, blocked) in the order they were made
        (`Store.word_changes()`). BlocklistError (a ConfigError) names a missing file."""
        entries, spared = parse(_read(Path(path), "words.blocklist"))
        if profanity:
            entries += parse(_read(_profanity_path(), "words.profanity"))[0]
        blocklist = cls(entries, spared)
        for word, blocked in changes:
            try:
                if blocked:
                    blocklist._put(word)
                else:
                    blocklist._drop(word)
            except ValueError:
                continue  # a word without letters matches nothing
        blocklist._index()
        player_key("")  # load the lookalike table now, not on a visitor's first prompt
        return blocklist

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, word: str) -> str:
        """Block a word (in memory: the store keeps it); returns its canonical form.
        ValueError when it has no letters."""
        word = self._put(word)
        self._index()
        return word

    def remove(self, word: str) -> str:
        """Unblock a word: every entry it names, leetspeak spellings included ("porn"
        takes "p0rn"); a word matched inside words also stops matching inside it ("시발점").
        Returns its canonical form; ValueError when it has no letters."""
        word = self._drop(word)
        self._index()
        return word

    def match(self, text: str) -> str | None:
        """The entry a prompt or nickname uses (for the audit row), or None: fine."""
        ix = self._ix
        clean = _clean(text)
        cased = _cased(clean)
        hit = _words(_plain_words(cased), ix.plain, ix.plain_starts, ix.longest)
        if hit is None:
            hit = _words(_fold(clean), ix.folded, ix.folded_starts, ix.longest)
        if hit is None and ("1" in clean or "|" in clean):
            hit = _words(_fold(clean, one_is_l=True), ix.folded, ix.folded_starts, ix.longest)
        if hit is None and _CAMEL.search(clean):
            camel = _plain_words(_cased(_CAMEL.sub(" ", clean)))
            hit = _words(camel, ix.plain, ix.plain_starts, ix.longest)
        if hit is None and ix.inside is not None and not cased.isascii():
            hit = _inside(cased, ix)
        return hit

    # -- building -----------------------------------------------------------------------

    def _put(self, word: str) -> str:
        word, keys = _entry(word)
        self._entries.setdefault(word, keys)
        self._cutouts.pop(word, None)
        return word

    def _drop(self, word: str) -> str:
        word, keys = _entry(word)
        for entry, k in list(self._entries.items()):
            if (
                (keys.plain and k.plain == keys.plain)
                or (keys.folded and k.folded == keys.folded)
                or (keys.inside and k.inside == keys.inside)
            ):
                del self._entries[entry]
        if keys.inside:
            self._cutouts[word] = keys.inside
        return word

    def _index(self) -> None:
        plain: dict[str, str] = {}
        folded: dict[str, str] = {}
        inside: dict[str, str] = {}
        for entry, k in self._entries.items():  # first source first: the booth's list
            if k.inside:
                inside.setdefault(k.inside, entry)
            if k.plain:
                plain.setdefault(k.plain, entry)
            if k.folded:
                folded.setdefault(k.folded, entry)
        self._ix = _Index(
            plain=plain,
            plain_starts=_phrase_starts(plain),
            folded=folded,
            folded_starts=_phrase_starts(folded),
            longest=max((k.count(" ") + 1 for k in [*plain, *folded]), default=1),
            inside=_alternation(inside, lookahead=True),
            inside_entries=inside,
            cutouts=_alternation(self._cutouts.values(), lookahead=False),
        )


# -- matching ---------------------------------------------------------------------------


def _words(
    words: list[str], table: dict[str, str], starts: frozenset[str], longest: int
) -> str | None:
    """The entry of the first word or phrase of `words` in `table`."""
    if table.keys().isdisjoint(words) and starts.isdisjoint(words):
        return None
    for i, word in enumerate(words):
        if word in table:
            return table[word]
        if word in starts:
            for n in range(2, min(longest, len(words) - i) + 1):
                phrase = " ".join(words[i : i + n])
                if phrase in table:
                    return table[phrase]
    return None


def _inside(cased: str, ix: _Index) -> str | None:
    """The entry of the first hit inside the text's letters that no spared word hides
    and that is not two words meeting."""
    if ix.inside is None:
        return None
    letters = _letters(cased)
    spans = [m.span() for m in ix.cutouts.finditer(letters)] if ix.cutouts else []
    bounds: frozenset[int] | None = None
    for m in ix.inside.finditer(letters):
        start, end = m.start(), m.start() + len(m.group(1))
        # a spared word hides a hit it overlaps, unless the hit contains it whole
        if any(a < end and start < b and (a < start or b > end) for a, b in spans):
            continue
        bounds = _word_bounds(cased) if bounds is None else bounds
        if start not in bounds and end not in bounds and any(start < b < end for b in bounds):
            continue  # the end of a word meets the start of the next: 오리야 + 동화책
        return ix.inside_entries[m.group(1)]
    return None


def _word_bounds(cased: str) -> frozenset[int]:
    """Where the space-separated words start and end in `_letters(cased)`."""
    bounds = {0}
    at = 0
    for word in cased.split():
        at += len(_letters(word))
        bounds.add(at)
    return frozenset(bounds)


def _phrase_starts(table: dict[str, str]) -> frozenset[str]:
    """First words of the phrases in a table: only there is a phrase looked up."""
    return frozenset(k.split(" ", 1)[0] for k in table if " " in k)


def _alternation(keys: Iterable[str], *, lookahead: bool) -> re.Pattern[str] | None:
    """One regex for many literal keys, longest first; a lookahead finds overlapping hits."""
    ordered = sorted({k for k in keys if k}, key=len, reverse=True)
    if not ordered:
        return None
    body = "|".join(map(re.escape, ordered))
    return re.compile(f"(?=({body}))" if lookahead else body)


def _read(path: Path, key: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = (
            "set [words] blocklist in kiosk.toml to the booth's list, e.g. assets/blocklist.txt"
            if key == "words.blocklist"
            else "reinstall better-profanity, or set [words] profanity = false"
        )
        raise BlocklistError(f"{key}: word list not found: {path} ({hint})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BlocklistError(f"{key}: cannot read the word list {path}: {exc}") from None


def _profanity_path() -> Path:
    """better-profanity's bundled word list, found without importing the package (its
    import builds a censor we do not use)."""
    spec = importlib.util.find_spec("better_profanity")
    if spec is None or not spec.submodule_search_locations:
        raise BlocklistError(
            "words.profanity: the better-profanity package is not installed"
            " (pip install better-profanity, or set [words] profanity = false)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / _PROFANITY_LIST
