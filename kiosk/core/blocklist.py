"""The word blocklist: prompts and nicknames that must not reach a public screen.

Three sources, merged once at start: the booth's own list (assets/blocklist.txt, any
language), better-profanity's English word list (with `[words] profanity`), and the
words staff blocked or unblocked at the booth (kept in the database). `match` names
the entry a text uses, or None.

How a text matches (its forms are made in `wordfold`, the entries' alike):
- Entries in scripts written with spaces (Latin...) match whole words or phrases, on
  the normalised text (what `policy.normalise_prompt` makes: NFKC, casefold,
  punctuation between words) and on a folded form: lookalike letters of other scripts
  read as ASCII, accents dropped ("nüde"), spaced-out letters joined ("p o r n"),
  leetspeak read ("p0rn"), a number that ends a word kept a number ("p33" is no "pee",
  "porn123" is "porn"), and letters typed three times or more read once or twice
  ("naaaked"). Whole words keep "class", "Scunthorpe" and "shuttlecock" drawable.
  camelCase is also read as words ("BigDuckEnergy").
- A `*word*` entry (a few of the strongest words) also matches inside one folded word
  ("nudeduck", "duckporn"), never across a space ("hen tail" is no "hentai").
- Entries in scripts written without spaces between words (Korean, Chinese, Japanese,
  Thai...) match anywhere in the text's letters (spaces, digits, punctuation removed):
  Korean attaches particles to words ("개새끼야") and spacing hides nothing ("개 새 끼").
  A hit that starts inside one word and ends inside a later one is two words meeting
  ("오리야 동화책" holds 야동, "김씨 발자국" 씨발), not a word.
- A spared or unblocked word (`!word` in the file, `remove`) leaves every list, and
  hides the hits inside words that it overlaps, unless a hit contains it whole ("시발점"
  hides 시발, "snake" hides *naked* in "snakeduck", "denude" hides *nude*).

Pure apart from `Blocklist.load`, which reads the list files. Measured on the shared
2-core build machine (Python 3.11, best of 5 runs of 3,000 calls, other work running):
`match` on a 300-character prompt takes 60-90 µs in English, 105-125 µs in Korean,
175-185 µs when dense with digits and spaced letters, 5-7 µs when it hits early
(policy.normalise_prompt of the same English prompt: 160-240 µs); accents, numbers,
stretched letters and `*word*` entries add little on plain prompts, 30-40 µs on dense
ones. `load` with better-profanity's 900 words: 70-100 ms
the first time (the lookalike table included), 25-40 ms after; `add` or `remove`: 2-3 ms.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from kiosk.core import wordfold as wf
from kiosk.core.config import ConfigError
from kiosk.core.identity import player_key

_HAS_LETTER = re.compile(r"[^\W\d_]")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_PROFANITY_LIST = "profanity_wordlist.txt"
_JOINED_MIN = 4  # letters of a `*word*` entry matched inside joined words


class BlocklistError(ConfigError):
    """A word list cannot be read; the message names the file and the reason."""


# -- entries --------------------------------------------------------------------------


class _Keys(NamedTuple):
    """How an entry is looked up: as whole words (plain and folded keys; no plain key
    for an entry written with leetspeak symbols, "sh!t"), inside words (unspaced scripts),
    and inside joined words (a `*word*` entry: its folded letters)."""

    plain: str
    folded: str
    inside: str
    joined: str = ""


def _entry(word: str) -> tuple[str, str, _Keys]:
    """A word as the store records it ("*porn*"), as matches name it ("porn"), and its
    keys; ValueError without letters. A `*word*` shorter than _JOINED_MIN letters matches
    whole words only: "*ab*" inside words would refuse half the booth."""
    clean = wf.clean(str(word))
    text = " ".join(unicodedata.normalize("NFC", clean).casefold().split())
    cased = wf.cased(clean)
    if not _HAS_LETTER.search(cased):
        raise ValueError(f"not a word: {word!r}")
    joined = len(text) > 2 and text[0] == text[-1] == "*"
    name = text[1:-1].strip() if joined else text
    if wf.HAS_UNSPACED.search(cased):
        return text, name, _Keys("", "", wf.letters(cased))
    plain = "" if any(ch in name for ch in wf.LEET_SYMBOLS) else " ".join(wf.plain_words(cased))
    folded = " ".join(wf.fold(clean))
    inside = folded.replace(" ", "") if joined else ""
    return text, name, _Keys(plain, folded, "", inside if len(inside) >= _JOINED_MIN else "")


def canonical(word: str) -> str:
    """A word as the store records it: casefolded, spaces collapsed, leetspeak,
    punctuation and the `*word*` mark as typed ("P0RN" -> "p0rn"; it is looked up through
    NFKC and the folds). ValueError when it has no letters."""
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
    inside: _Inside  # unspaced scripts: inside the text's letters
    joined: _Inside  # `*word*` entries: inside one folded word


class _Inside(NamedTuple):
    """Keys matched inside a string, and the spared words that hide them."""

    pattern: re.Pattern[str] | None
    entries: dict[str, str]  # key -> entry
    cutouts: re.Pattern[str] | None

    @classmethod
    def of(cls, entries: dict[str, str], cutouts: Iterable[str]) -> _Inside:
        return cls(
            _alternation(entries, lookahead=True), entries, _alternation(cutouts, lookahead=False)
        )

    def hits(self, letters: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, entry) of each hit in `letters` that no spared word hides: a
        spared word hides a hit it overlaps, unless the hit contains it whole."""
        if self.pattern is None or not any(key in letters for key in self.entries):
            return  # the quick test (str.find is many times faster than the regex)
        spans: list[tuple[int, int]] | None = None  # found on the first hit: most texts have none
        for m in self.pattern.finditer(letters):
            if spans is None:
                spans = [c.span() for c in self.cutouts.finditer(letters)] if self.cutouts else []
            start, end = m.start(), m.start() + len(m.group(1))
            if not any(a < end and start < b and (a < start or b > end) for a, b in spans):
                yield start, end, self.entries[m.group(1)]


class Blocklist:
    """Entries from every source, indexed for `match` (indexed again on add / remove)."""

    def __init__(self, entries: Iterable[str] = (), spared: Iterable[str] = ()) -> None:
        """Block `entries`, then spare `spared` (see `remove`)."""
        self._entries: dict[str, _Keys] = {}  # entry -> its keys, first source first
        self._cutouts: dict[str, str] = {}  # spared word -> its letters (unspaced scripts)
        self._joined_cutouts: dict[str, str] = {}  # spared word -> its folded letters
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
        (`Store.words.changes()`). BlocklistError (a ConfigError) names a missing file."""
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
        """Block a word (in memory: the store keeps it); `*word*` blocks it inside joined
        words too. Returns its canonical form; ValueError when it has no letters."""
        word = self._put(word)
        self._index()
        return word

    def remove(self, word: str) -> str:
        """Unblock a word: every entry it names, leetspeak spellings included ("porn"
        takes "p0rn" and "*porn*"); it also hides the hits inside words that overlap it
        ("시발점", "snake" for "*naked*"). Returns its canonical form; ValueError when it
        has no letters."""
        word = self._drop(word)
        self._index()
        return word

    def match(self, text: str) -> str | None:
        """The entry a prompt or nickname uses (for the audit row), or None: fine."""
        ix = self._ix
        clean = wf.clean(text)
        cased = wf.cased(clean)
        hit = _words(wf.plain_words(cased), ix.plain, ix.plain_starts, ix.longest)
        if hit is None:
            hit = _folded(wf.fold(clean), ix)
        if hit is None and ("1" in clean or "|" in clean):
            hit = _folded(wf.fold(clean, one_is_l=True), ix)
        if hit is None and _CAMEL.search(clean):
            camel = wf.plain_words(wf.cased(_CAMEL.sub(" ", clean)))
            hit = _words(camel, ix.plain, ix.plain_starts, ix.longest)
        if hit is None and ix.inside.pattern is not None and not cased.isascii():
            hit = _inside(cased, ix.inside)
        return hit

    # -- building -----------------------------------------------------------------------

    def _put(self, word: str) -> str:
        text, name, keys = _entry(word)
        known = self._entries.get(name)
        if known is None or (keys.joined and not known.joined):  # "*porn*" after "porn"
            self._entries[name] = keys
        self._cutouts.pop(name, None)
        self._joined_cutouts.pop(name, None)
        return text

    def _drop(self, word: str) -> str:
        text, name, keys = _entry(word)
        for entry, k in list(self._entries.items()):
            if (
                (keys.plain and k.plain == keys.plain)
                or (keys.folded and k.folded == keys.folded)
                or (keys.inside and k.inside == keys.inside)
            ):
                del self._entries[entry]
        if keys.inside:
            self._cutouts[name] = keys.inside
        else:
            self._joined_cutouts[name] = keys.folded.replace(" ", "")
        return text

    def _index(self) -> None:
        plain: dict[str, str] = {}
        folded: dict[str, str] = {}
        inside: dict[str, str] = {}
        joined: dict[str, str] = {}
        for entry, k in self._entries.items():  # first source first: the booth's list
            for table, key in ((plain, k.plain), (folded, k.folded), (inside, k.inside)):
                if key:
                    table.setdefault(key, entry)
            if k.joined:
                joined.setdefault(k.joined, entry)
        self._ix = _Index(
            plain=plain,
            plain_starts=_phrase_starts(plain),
            folded=folded,
            folded_starts=_phrase_starts(folded),
            longest=max((k.count(" ") + 1 for k in [*plain, *folded]), default=1),
            inside=_Inside.of(inside, self._cutouts.values()),
            joined=_Inside.of(joined, self._joined_cutouts.values()),
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


def _folded(words: list[str], ix: _Index) -> str | None:
    """The entry of folded words: whole words, stretched letters read once or twice
    ("naaaked"), then `*word*` entries inside one word ("nudeduck", not "hen tail")."""
    forms = [words, *wf.unstretched(words)]
    for form in forms:
        hit = _words(form, ix.folded, ix.folded_starts, ix.longest)
        if hit is not None:
            return hit
    if ix.joined.pattern is not None:
        for form in forms:
            for _start, _end, entry in ix.joined.hits(" ".join(form)):
                return entry
    return None


def _inside(cased: str, inside: _Inside) -> str | None:
    """The entry of the first hit inside the text's letters that no spared word hides
    and that is not two words meeting."""
    letters = wf.letters(cased)
    bounds: frozenset[int] | None = None
    for start, end, entry in inside.hits(letters):
        bounds = _word_bounds(cased) if bounds is None else bounds
        if start not in bounds and end not in bounds and any(start < b < end for b in bounds):
            continue  # the end of a word meets the start of the next: 오리야 + 동화책
        return entry
    return None


def _word_bounds(cased: str) -> frozenset[int]:
    """Where the space-separated words start and end in `wordfold.letters(cased)`."""
    bounds = {0}
    at = 0
    for word in cased.split():
        at += len(wf.letters(word))
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
