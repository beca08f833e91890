"""The word blocklist: the booth's list, better-profanity's list and staff changes."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from builders import REPO
from engine_fixtures import Recorder
from store_fixtures import Backend

from kiosk.core import policy
from kiosk.core import wordfold as wf
from kiosk.core.blocklist import Blocklist, BlocklistError, canonical, parse
from kiosk.core.commands import parse_command
from kiosk.core.config import ConfigError, Settings
from kiosk.core.events import Queued
from kiosk.core.wordfold import fold_words
from kiosk.engine.engine import Engine
from kiosk.storage.store import PgStore, Store

LIST = REPO / "assets" / "blocklist.txt"  # the one shipped (WordSettings().blocklist = "")
CORPUS = REPO / "tests" / "data" / "words"  # also read by bench/words.py


def corpus(name: str) -> list[str]:
    """The texts of a corpus file: one a line, `#` lines are comments."""
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def words() -> Blocklist:
    """The shipped list with better-profanity's, as the booth loads it by default."""
    return Blocklist.load(LIST, profanity=True)


@pytest.fixture(scope="module")
def own() -> Blocklist:
    """The shipped list alone ([words] profanity = false)."""
    return Blocklist.load(LIST, profanity=False)


# -- what is refused ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("porn", "porn"),
        ("a NUDE swan", "nude"),
        ("naked duck", "naked"),
        ("nsfw duck", "nsfw"),
        ("hentai swan", "hentai"),
        ("a duck with a swastika", "swastika"),
        ("white power duck", "white power"),
        ("White-Power duck", "white power"),
        ("gore", "gore"),
    ],
)
def test_english_words_are_refused_even_without_better_profanity(
    own: Blocklist, text: str, entry: str
) -> None:
    assert own.match(text) == entry


@pytest.mark.parametrize(
    "text",
    [
        "p0rn",
        "n.u.d.e",
        "p o r n",
        "P 0 r N swan",
        "n_u_d_e duck",
        "$ex",
        "sh!t",
        "5h1t",
        "s1ut",  # "1" read as "l" ...
        "d1ck",  # ... or as "i"
        "@ss",
        "pоrn",  # a Cyrillic "о"
        "ｐｏｒｎ",  # full width
        "p\u200born",  # a zero-width space inside
        "porn야",  # a Korean particle attached
        "BigDickEnergy",  # camelCase nickname
    ],
)
def test_leetspeak_spacing_and_lookalikes_are_seen_through(words: Blocklist, text: str) -> None:
    assert words.match(text) is not None, text


def test_the_fold_joins_spaced_letters_and_reads_leetspeak() -> None:
    assert fold_words("d.u.c.k") == ["duck"]
    assert fold_words("d u c k and a swan") == ["duck", "and", "a", "swan"]
    assert fold_words("p0rn!") == ["porn"]
    assert fold_words("7 swans, 3 ducks") == ["7", "swans", "3", "ducks"]  # numbers stay
    assert fold_words("p155 and duck99") == ["p", "155", "and", "duck", "99"]
    assert fold_words("Ñúdé") == ["nude"]


# -- accents, stretched letters, joined words, numbers (issue 18 item 13) -----------------


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("nüde", "nude"),
        ("núde", "nude"),
        ("a NÜDE swan", "nude"),
        ("ñudé", "nude"),
        ("pørn", "porn"),  # a letter with its mark built in
        ("fück", "fuck"),
    ],
)
def test_accented_letters_are_read_without_their_marks(
    words: Blocklist, text: str, entry: str
) -> None:
    assert words.match(text) == entry


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("naaaked", "naked"),
        ("nuuuuude duck", "nude"),
        ("whiiite powwwer", "white power"),
        ("assss", "ass"),  # read twice: "as" is no word of the list
        ("pööörn", "porn"),
    ],
)
def test_letters_typed_three_times_or_more_are_read_once_or_twice(
    words: Blocklist, text: str, entry: str
) -> None:
    assert words.match(text) == entry


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("nudeduck", "nude"),
        ("pornduck", "porn"),
        ("duckporn", "porn"),
        ("bignakedswan", "naked"),
        ("p0rnduck", "porn"),
        ("nüdeduck", "nude"),
        ("nuuudeduck", "nude"),
    ],
)
def test_the_strongest_entries_are_found_inside_joined_words(
    words: Blocklist, text: str, entry: str
) -> None:
    assert words.match(text) == entry


@pytest.mark.parametrize(
    "text",
    [
        "snakeduck",  # s-naked-uck: !snake hides the hit it overlaps
        "the river snaked past",
        "a hen tail feather",  # never joined across a space: not "hentai"
        "a classic grass therapist with a cockatoo",  # entries not marked `*word*`
        "Sussex sextant",
        "good",  # a letter typed twice stays: not "god"
        "denuded trees",  # a spared word that contains the hit
    ],
)
def test_joined_and_stretched_reading_keeps_innocent_words(words: Blocklist, text: str) -> None:
    assert words.match(text) is None


@pytest.mark.parametrize(
    ("text", "entry"),
    [("p33", None), ("p155", None), ("b52", None), ("porn123", "porn"), ("nud3", "nude")],
)
def test_a_number_that_ends_a_word_is_a_number_not_leetspeak(
    words: Blocklist, text: str, entry: str | None
) -> None:
    assert words.match(text) == entry


def test_a_marked_word_matches_inside_joined_words_only_from_four_letters() -> None:
    words = Blocklist(["*quack*", "*ab*", "honk"])
    assert words.match("duckquackduck") == "quack"
    assert words.match("ab") == "ab" and words.match("abstract art") is None
    assert words.match("honkduck") is None
    assert canonical(" *QUACK* ") == "*quack*"  # what the store keeps: the mark too
    words.remove("quack")
    assert words.match("duckquackduck") is None and words.match("quack") is None


def test_every_innocent_text_of_the_corpus_passes(words: Blocklist) -> None:
    """Booth prompts and nicknames: birds, ponds, art styles, colours, names (English,
    accented, Korean romanised and in Hangul), the Scunthorpe traps."""
    texts = corpus("innocent.txt")
    assert len(texts) >= 300
    refused = [(text, words.match(text)) for text in texts if words.match(text) is not None]
    assert refused == []


def test_every_bad_text_of_the_corpus_is_refused(words: Blocklist) -> None:
    """The issue's examples and their variants: accents, stretched letters, joined words,
    numbers, leetspeak, spacing, lookalikes, Korean."""
    texts = corpus("bad.txt")
    assert len(texts) >= 100
    assert [text for text in texts if words.match(text) is None] == []


def test_the_words_bench_prints_both_rates_on_the_corpus() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "words.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("SUMMARY words: innocent pass 100.00 %"), summary
    assert "bad refused 100.00 %" in summary


def test_staff_words_follow_the_same_folding(
    engine_factory: Callable[..., tuple[Engine, Recorder]], tiny_settings: Settings
) -> None:
    """Through the engine's gate and the staff commands, as at the booth."""
    engine, _ = engine_factory(start=False, settings=tiny_settings)
    for nickname, prompt in (("ana", "a nüde swan"), ("ana", "a pornduck"), ("naaaked", "a duck")):
        with pytest.raises(policy.PolicyError, match="keep it friendly"):
            engine.submit(nickname, prompt)
    assert isinstance(engine.submit("p33", "a duck"), Queued)
    assert isinstance(engine.submit("p155", "a swan"), Queued)
    assert engine.staff(parse_command("block-word *quack*")).ok
    assert engine.staff(parse_command("block-word honk")).ok
    assert engine.staff(parse_command("unblock-word naked")).ok
    for prompt in ("a qüäääck", "duckquackduck", "hooonk", "a hönk"):
        with pytest.raises(policy.PolicyError, match="keep it friendly"):
            engine.submit("cy", prompt)
    for prompt in ("honkduck", "nakedswan", "naaaked"):  # honk is a whole word; naked unblocked
        assert isinstance(engine.submit("cy", prompt), Queued), prompt


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("개새끼야", "개새끼"),
        ("이 개새끼들아", "개새끼"),
        ("개 새 끼", "개새끼"),
        ("개.새.끼", "개새끼"),
        ("씨발 오리", "씨발"),
        ("씨1발", "씨발"),
        ("시발놈아", "시발"),
        ("병신같은 백조", "병신"),
        ("섹스하는 오리", "섹스"),
        ("야동 보는 오리", "야동"),
        ("좆같네", "좆"),
        ("ㅅㅂ", "ㅅㅂ"),
        ("개새 끼야", "개새끼"),  # spaced inside the word
        ("씨 발", "씨발"),
        ("저 개 새끼", "개새끼"),
    ],
)
def test_korean_entries_match_with_particles_and_spacing(
    own: Blocklist, text: str, entry: str
) -> None:
    assert own.match(text) == entry


# -- what passes ----------------------------------------------------------------------------

INNOCENT = [
    # the classic Scunthorpe traps: entries inside longer words
    "a duck visiting Scunthorpe",
    "a swan in a class of ducklings",
    "an assassin duck in a hood",
    "a cockatoo and a swan",
    "a duck playing badminton with a shuttlecock",
    "a peacock, a woodcock and a swan",
    "a duck drinking a cocktail in Sussex",
    "Charles Dickens reading to ducks",
    "a therapist duck with a notepad",
    "grapes and a swan",
    "a duck analysing a document",
    "a bass guitar played by a swan",
    "a titanic swan on the Thames",
    # words better-profanity lists that a duck-and-swan booth needs
    "The Ugly Duckling",
    "the ugly duckling becomes a swan",
    "a fat duck on a sandbar",
    "a blue tit and a swan",
    "a murder of crows chasing a swan",
    "Puss in Boots riding a swan",
    "ducks in a rice paddy",
    "a comic strip about a swan",
    "bold brush stroke swan",
    "a duck with a funny facial expression",
    "a swan in the style of Jackson Pollock",
    "a gal and her duck",
    "a gay pride duck with a rainbow",
    "a duck on a snowy slope",
    "a duck pond full of weed",
    "oh my god, a giant duck",
    # numbers and letters
    "7 swans a-swimming",
    "a 3d duck in 4k, 8-bit style",
    "r2d2 and c3po feeding ducks",
    "duck 2.0",
    "1 duck, 2 swans, 3 geese",
    "a duck and a swan!!!",
    "a duck, a swan, a goose and a hen",
    "a b&w photo of a swan",
    "Hello!! Duck!!",
    # Korean: words meeting words, and words that contain a Korean entry
    "호수 위의 오리",
    "미운 오리 새끼",
    "오리 새끼들이 엄마를 따라가는 모습",
    "백조의 호수 발레",
    "도시 위를 나는 백조",
    "접시 위의 오리 인형",
    "시발점에서 출발하는 오리 기차",
    "유니섹스 모자를 쓴 오리",
    "누드김밥을 먹는 오리",
    "빨강 간판 아래 백조",
    "밤에 자지 않는 부엉이",
    "뒤를 보지 않는 백조",
    "여자 지갑을 든 오리",
    "껌을 씹는 오리",
    "엄마를 졸라서 받은 오리 인형",
    "시바견과 백조",
    "해바라기씨를 먹는 오리",
    "신비로운 백조",
    "무지개 색 오리 발자국",
    "강아지와 오리 새끼",
    "한강 위의 백조",
    "백조 black swan 호수",
    # two innocent words meeting: the end of one, the start of the next
    "오리야 동화책 읽어줘",
    "김씨 발자국",
    "해바라기씨 발라먹는 오리",
    "꽃병 신비로운 빛",
    "유리병 신발 신은 오리",
    "바나나 체리 오리",
    "모자 살짝 쓴 오리",
]


@pytest.mark.parametrize("prompt", INNOCENT)
def test_innocent_booth_prompts_pass(words: Blocklist, prompt: str) -> None:
    assert words.match(prompt) is None, prompt


@pytest.mark.parametrize(
    ("nickname", "entry"),
    [
        ("Duckmaster", None),
        ("SwanLake99", None),
        ("l33t_gamer", None),
        ("xXDuckXx", None),
        ("김오리", None),
        ("백조123", None),
        ("Dick_Tracy_Fan", "dick"),
        ("xx_p0rn_xx", "p0rn"),
        ("PornKing", "porn"),
        ("개새끼123", "개새끼"),
        ("xXp0rnXx", "porn"),  # a `*word*` entry is found inside a joined word
        ("p33", None),  # a nickname with a number, not "pee"
        ("p155", None),  # not "piss"
    ],
)
def test_nicknames_are_checked_the_same_way(
    words: Blocklist, nickname: str, entry: str | None
) -> None:
    assert words.match(nickname) == entry


def test_empty_and_odd_text_is_fine(words: Blocklist) -> None:
    for text in ["", "   ", "!!!", "🦆🦢", "\x1b[31m", "1 2 3", "ㅋㅋㅋ"]:
        assert words.match(text) is None
    assert words.match("\x1b[31mporn\x1b[0m") == "porn"  # escape sequences are sanitised


# -- staff changes ----------------------------------------------------------------------------


def test_add_and_remove_in_memory() -> None:
    words = Blocklist(["porn"])
    assert words.match("a quack") is None
    assert words.add("  QUACK ") == "quack"
    assert words.match("a Qu4ck!") == "quack"
    assert words.remove("porn") == "porn"
    assert words.match("p0rn") is None
    with pytest.raises(ValueError, match="not a word"):
        words.add("!!! 123")


def test_removing_a_word_takes_its_leetspeak_spellings(words: Blocklist) -> None:
    copy = Blocklist(["porn", "p0rn", "pr0n"])
    copy.remove("PORN")
    assert copy.match("porn") is None and copy.match("p0rn") is None
    assert copy.match("pr0n") == "pr0n"


def test_a_spared_korean_word_keeps_its_entry_elsewhere() -> None:
    words = Blocklist(["시발"], spared=["시발점"])
    assert words.match("시발점에서 출발") is None
    assert words.match("시발 시발점") == "시발"
    words.remove("개시발")  # an innocent word staff spared at the booth
    assert words.match("개시발") is None
    words.add("시발점")  # blocking a spared word wins
    assert words.match("시발점") == "시발점"


def test_a_spared_word_only_hides_hits_it_does_not_contain() -> None:
    words = Blocklist(["강간", "빨강머리"], spared=["빨강"])
    assert words.match("빨강 간판") is None  # 빨강 + 간판 meet: not 강간
    assert words.match("빨강머리 오리") == "빨강머리"  # contains 빨강 whole
    assert words.match("강간") == "강간"


def test_staff_changes_persist_through_the_store(backend: Backend) -> None:
    store = backend.open()
    store.words.set(canonical("Quack"), True, actor="staff", reason="spam")
    store.words.set(canonical("porn"), False, actor="staff")
    store.words.set(canonical("ugly"), True)
    store.words.set(canonical("ugly"), False)  # the latest change wins
    store.close()

    again = backend.open()
    assert again.words.changes() == [("quack", True), ("porn", False), ("ugly", False)]
    words = Blocklist.load(LIST, profanity=True, changes=again.words.changes())
    assert words.match("quack quack") == "quack"
    assert words.match("porn") is None  # a shipped word staff removed
    assert words.match("p0rn") is None  # with its leetspeak spelling
    assert words.match("nude") == "nude"
    assert words.match("the ugly duckling") is None
    actions = [(a.action, a.subject, a.reason) for a in again.moderation.audit_log()]
    assert actions[-1] == ("block-word", "quack", "spam")
    assert actions[0] == ("unblock-word", "ugly", "")
    assert len(actions) == 4
    again.close()


def test_set_word_refuses_an_empty_word(store: Store | PgStore) -> None:
    with pytest.raises(Exception, match="no word"):
        store.words.set("  ", True)
    assert store.words.changes() == []
    store.close()


# -- the list file ----------------------------------------------------------------------------


def test_a_missing_list_is_a_clear_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(BlocklistError) as info:
        Blocklist.load(missing, profanity=False)
    assert isinstance(info.value, ConfigError)
    assert str(info.value).startswith(f"words.blocklist: word list not found: {missing}")


def test_an_unreadable_list_is_a_clear_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00porn")
    with pytest.raises(BlocklistError, match="cannot read the word list"):
        Blocklist.load(bad, profanity=False)


def test_the_list_format() -> None:
    entries, spared = parse("# a comment\nporn  # inline\n\n  Nude \n!ugly\n!\n개새끼\n")
    assert entries == ["porn", "Nude", "개새끼"]
    assert spared == ["ugly"]


def test_the_shipped_list_is_tasteful_and_its_entries_work(own: Blocklist) -> None:
    entries, spared = parse(LIST.read_text(encoding="utf-8"))
    assert 30 <= len(entries) <= 80
    assert len(set(entries)) == len(entries)
    assert any(wf.HAS_UNSPACED.search(e) for e in entries)  # Korean entries
    for entry in entries:
        assert own.match(entry) is not None, entry  # none is spared or unreadable
        assert own.match(entry) == canonical(entry).strip("*")  # named without its mark
    for word in spared:
        assert canonical(word) == word.casefold()


def test_better_profanity_adds_english_words(words: Blocklist, own: Blocklist) -> None:
    assert len(words) > 5 * len(own)
    assert own.match("wanker") is None
    assert words.match("wanker") == "wanker"


def test_the_normalised_form_is_policys() -> None:
    """The fast forms split a text into the same words as policy.normalise_prompt."""
    for text in ["A Duck!!", "Straße", "ＡＢＣ duck", "a\u200bduck", "호수 위의 오리!", "x\ttab"]:
        norm = policy.normalise_prompt(text)
        assert wf.plain_words(wf.cased(wf.clean(text))) == wf.plain_words(norm)


def test_invisible_characters_are_the_ones_policy_drops() -> None:
    """Every control (but whitespace) and format character of this Python's Unicode."""
    for cp in range(0x110000):
        ch = chr(cp)
        if unicodedata.category(ch) in {"Cc", "Cf"} and not ch.isspace():
            assert wf.INVISIBLE.match(ch), hex(cp)
