"""Who is who: lookalike letters fold to one player, nicknames need a visible letter,
old databases are re-keyed without losing a row, player codes are stored hashed."""

from __future__ import annotations

import importlib
import string
import unicodedata
from collections.abc import Callable

import pytest
from confusable_homoglyphs.confusables import confusables_data
from hypothesis import given, settings
from hypothesis import strategies as st
from store_fixtures import Backend

from kiosk.core import codes, identity, policy
from kiosk.core.api import StoreError
from kiosk.core.config import Settings
from kiosk.core.policy import CodeRequired, PolicyError
from kiosk.engine.engine import Engine
from kiosk.storage import schema
from kiosk.storage.dialect import Conn
from kiosk.storage.store import PgStore, Store

ASCII_ALNUM = set(string.ascii_letters + string.digits)


def _lookalikes() -> dict[str, set[str]]:
    """Straight from the package's table: each non-ASCII character whose prototype is one
    ASCII letter or digit, and the ASCII characters of that prototype's class."""
    proto: dict[str, str] = {}
    for key, entries in confusables_data.items():
        ch = key.strip("\u200e")
        if len(ch) == 1 and len(entries) == 1 and entries[0]["c"] in ASCII_ALNUM:
            proto[ch] = entries[0]["c"]
    ascii_class: dict[str, set[str]] = {}
    for ch, p in proto.items():
        ascii_class.setdefault(p, {p})
        if ch in ASCII_ALNUM:
            ascii_class[p].add(ch)
    return {ch: ascii_class[p] for ch, p in proto.items() if ch not in ASCII_ALNUM}


LOOKALIKES = _lookalikes()
ASCII_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " _-", max_size=8)


# -- lookalikes fold to one player --------------------------------------------------------


def test_the_table_has_the_usual_suspects() -> None:
    assert len(LOOKALIKES) > 1000
    for cyrillic_or_greek in "аеорсхАВЕКМНОРСТХΑΒΕΗΙΚΜΝΟΡΤΥΧο":
        assert cyrillic_or_greek in LOOKALIKES


def test_every_lookalike_in_the_table_keys_like_its_ascii_letter() -> None:
    for ch, ascii_class in LOOKALIKES.items():
        assert policy.player_key(f"x{ch}y") in {policy.player_key(f"x{a}y") for a in ascii_class}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(LOOKALIKES)), ASCII_TEXT, ASCII_TEXT)
def test_a_lookalike_anywhere_in_a_name_keys_like_the_ascii_name(
    ch: str, before: str, after: str
) -> None:
    keys = {identity.player_key(before + a + after) for a in LOOKALIKES[ch]}
    assert identity.player_key(before + ch + after) in keys


@pytest.mark.parametrize(
    ("spoof", "name"),
    [
        ("ТОМ", "Tom"),  # Cyrillic capitals, whose lowercase looks like small capitals
        ("tоm", "tom"),  # Cyrillic о
        ("Іvan", "Ivan"),  # Cyrillic І is the capital I, not its prototype l
        ("ΑΝΝΑ", "anna"),  # Greek capitals
        ("Ꭺda", "Ada"),  # Cherokee
        ("Ｔｏｍ", "tom"),  # full width
        ("𝐓𝐨𝐦", "TOM"),  # mathematical bold
        ("ﬁona", "Fiona"),  # ligature
        ("Straße", "STRASSE"),  # casefold
        ("Zоë", "Zoë"),  # Cyrillic о with a combining diaeresis composes like Latin ö
        ("ㅤbob\u2800", "bob"),  # blank-looking letters count as spaces
        ("  Tom   Riddle ", "tom riddle"),
    ],
)
def test_lookalike_full_width_and_case_are_one_player(spoof: str, name: str) -> None:
    assert policy.player_key(spoof) == policy.player_key(name)


@pytest.mark.parametrize(("a", "b"), [("l", "1"), ("O", "0"), ("lool", "1oo1"), ("tom", "t0m")])
def test_ascii_stays_as_typed(a: str, b: str) -> None:
    assert policy.player_key(a) != policy.player_key(b)


def test_policy_player_key_is_the_identity_key() -> None:
    assert policy.player_key("ТОМ") == identity.player_key("ТОМ") == "tom"


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=1))
def test_hangul_is_untouched(text: str) -> None:
    assert identity.player_key(text) == text
    assert identity.player_key(f"오리 {text} 2") == f"오리 {text} 2"


# -- invisible marks are no part of a name ---------------------------------------------------


def _default_ignorable() -> frozenset[str]:
    """Unicode's Default_Ignorable_Code_Point, as the `regex` module (a dependency of
    transformers) knows it: the tests do not take the kiosk's own table on trust."""
    regex = importlib.import_module("regex")
    ignorable = regex.compile(r"\p{Default_Ignorable_Code_Point}")
    return frozenset(chr(cp) for cp in range(0x110000) if ignorable.match(chr(cp)))


DEFAULT_IGNORABLE = _default_ignorable()
INVISIBLE = sorted(DEFAULT_IGNORABLE - identity.BLANK_LETTERS)  # blank letters are spaces
# The ones a visitor meets: variation selectors, the grapheme joiner, Mongolian and Khmer
# marks, zero-width characters, tags and the variation selectors supplement.
NAMED_INVISIBLE = [
    "\ufe0f", "\ufe00", "\u034f", "\u180b", "\u180f", "\u17b4", "\u17b5", "\u200b",
    "\u200d", "\u2060", "\ufeff", "\u00ad", "\U000e0100", "\U000e01ef", "\U000e0061",
]  # fmt: skip
NAME_LETTERS = string.ascii_letters + string.digits + " 오리호수"
VISIBLE_NAMES = st.text(alphabet=NAME_LETTERS, min_size=1, max_size=12).filter(str.strip)


def test_the_invisible_set_is_unicodes_default_ignorable_but_the_blank_letters() -> None:
    assert identity.BLANK_LETTERS < DEFAULT_IGNORABLE  # those show as spaces instead
    assert set(NAMED_INVISIBLE) < DEFAULT_IGNORABLE
    assert identity.INVISIBLE == DEFAULT_IGNORABLE - identity.BLANK_LETTERS


@settings(max_examples=300, deadline=None)
@given(
    VISIBLE_NAMES,
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=12),
            st.one_of(st.sampled_from(NAMED_INVISIBLE), st.sampled_from(INVISIBLE)),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_invisible_marks_anywhere_in_a_name_key_and_clean_like_the_name(
    name: str, marks: list[tuple[int, str]]
) -> None:
    marked = name
    for at, mark in marks:
        marked = marked[:at] + mark + marked[at:]
    assert identity.player_key(marked) == identity.player_key(name)
    assert policy.clean_nickname(marked, 24) == policy.clean_nickname(name, 24)


@pytest.mark.parametrize("mark", NAMED_INVISIBLE)
def test_a_name_with_an_invisible_mark_shows_as_the_name(mark: str) -> None:
    assert policy.sanitise(f"ana{mark}") == "ana"
    assert policy.sanitise(f"a{mark}duck") == "aduck"


@pytest.mark.parametrize("mark", ["\ufe0f", "\u034f", "\u180b", "\u17b4", "\U000e0100"])
def test_ana_with_an_invisible_mark_is_ana_and_needs_anas_code(
    engine_factory: Callable[..., tuple[Engine, object]], tiny_settings: Settings, mark: str
) -> None:
    players = tiny_settings.players.model_copy(update={"codes": True})
    engine, _ = engine_factory(
        start=False, settings=tiny_settings.model_copy(update={"players": players})
    )
    code = engine.submit("ana", "a duck on a pond").player_code
    assert code is not None
    assert engine.needs_code(f"ana{mark}") and engine.needs_code(f"a{mark}na")
    with pytest.raises(CodeRequired, match="is taken"):
        engine.submit(f"ana{mark}", "a swan")
    assert engine.submit(f"a{mark}na", "a swan", code=code).player_code is None
    jobs = engine.store.jobs.pending()
    assert [(j.player_id, j.nickname) for j in jobs] == [(jobs[0].player_id, "ana")] * 2


# -- a nickname needs a visible letter or digit --------------------------------------------

BLANK_LOOKING = [
    "\u3164",  # Hangul filler
    "\u115f",  # Hangul choseong filler
    "\u1160",  # Hangul jungseong filler
    "\uffa0",  # halfwidth Hangul filler
    "\u2800",  # braille pattern blank
    *map(chr, range(0x2000, 0x200B)),  # en quad ... hair space
    "\u200b",  # zero width space
    "\u3000",  # ideographic space
    "\u00a0",
    " ",
]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(BLANK_LOOKING), min_size=1, max_size=20))
def test_a_name_of_blank_looking_characters_is_refused(text: str) -> None:
    with pytest.raises(PolicyError, match=r"letter or digit|Please type"):
        policy.clean_nickname(text, 24)


def test_refusal_messages_speak_to_the_visitor() -> None:
    with pytest.raises(PolicyError, match=r"^Please use a nickname with at least one letter"):
        policy.clean_nickname("\u3164\u3164", 24)
    with pytest.raises(PolicyError, match=r"^Please use a nickname without piles of accents"):
        policy.clean_nickname("Z\u0301\u0302\u0303ack", 24)
    with pytest.raises(PolicyError, match="at most 5 characters"):
        policy.clean_nickname("abcdef", 5)


def test_blank_looking_letters_beside_a_name_show_as_spaces() -> None:
    assert policy.clean_nickname("\u3164bob\u2800", 24) == "bob"
    assert policy.clean_nickname("bob\u3164\u3164smith", 24) == "bob smith"


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from("aeoxZ"),
    st.lists(  # marks that draw something (invisible ones are dropped, see above)
        st.characters(categories=["Mn"]).filter(lambda ch: ch not in DEFAULT_IGNORABLE),
        min_size=3,
        max_size=30,
    ),
)
def test_piles_of_combining_marks_are_refused(base: str, marks: list[str]) -> None:
    with pytest.raises(PolicyError):
        policy.clean_nickname("ok" + base + "".join(marks), 24)


@pytest.mark.parametrize(
    "name", ["Việt", "Vie\u0323\u0302t", "ǘ", "e\u0301\u0302", "호수", "Zoë", "١٢", "Ada 2"]
)
def test_real_names_with_accents_pass(name: str) -> None:
    assert policy.clean_nickname(name, 24) == name


# -- existing databases are re-keyed -------------------------------------------------------


def _schema_8_db(backend: Backend, players: list[tuple[int, str]]) -> None:
    """A database as schema 8 left it, keys made the old way (NFKC + casefold)."""
    conn = backend.raw()
    backend.build_schema(conn, 8)
    conn.execute("INSERT INTO targets(id, title, image) VALUES ('duck', 'Duck', 'duck.png')")
    for pid, nick in players:
        old_key = " ".join(unicodedata.normalize("NFKC", nick).casefold().split())
        conn.execute(
            "INSERT INTO players(id, key, nickname, submissions, created_at)"
            " VALUES (?, ?, ?, 1, ?)",
            (pid, old_key, nick, float(pid)),
        )
        conn.execute(
            "INSERT INTO submissions(player_id, nickname, target_id, raw_prompt, prompt,"
            " norm_prompt, dedup_key, image, cosine, percent, seed, created_at)"
            " VALUES (?, ?, 'duck', 'p', 'p', 'p', ?, 'i.png', 0.5, 50, 1, ?)",
            (pid, nick, f"k{pid}", float(pid)),
        )
    conn.execute("UPDATE counters SET players = ?, submissions = ?", (len(players),) * 2)


def _keys(store: Store | PgStore) -> dict[int, str]:
    return dict(store.db.conn().execute("SELECT id, key FROM players").fetchall())


def test_rekey_keeps_colliding_players_apart_and_loses_no_row(backend: Backend) -> None:
    # "tom#2" was typed by a real player, so player 2's moved key takes one more suffix.
    players = [(1, "Tom"), (2, "ТОМ"), (3, "Ada"), (4, "Ꭺda"), (5, "tom#2"), (6, "Тоm")]
    _schema_8_db(backend, players)
    store = backend.open()
    assert backend.dialect.version(store.db.conn()) == schema.VERSION
    assert _keys(store) == {
        1: "tom",
        2: "tom#2#2",
        3: "ada",
        4: "ada#4",
        5: "tom#2",
        6: "tom#6",
    }
    c = store.db.conn()
    assert c.execute("SELECT COUNT(*) FROM players").fetchone()[0] == len(players)
    assert c.execute("SELECT COUNT(DISTINCT player_id) FROM submissions").fetchone()[0] == 6
    assert [r[0] for r in c.execute("SELECT nickname FROM players ORDER BY id")] == [
        n for _, n in players
    ]
    assert store.board.stats().players == len(players)
    # Typing any spelling now reaches the player who played first.
    flags = store.players.flags(policy.player_key("ТОМ"))
    assert flags is not None and flags.nickname == "Tom"
    rekeyed = [r for r in store.moderation.audit_log() if r.action == "rekey"]
    assert sorted(r.subject for r in rekeyed) == ["ada#4", "tom#2#2", "tom#6"]
    assert all(r.actor == "migration" for r in rekeyed)


def test_rekey_without_collisions_writes_no_audit(backend: Backend) -> None:
    _schema_8_db(backend, [(1, "ТОМ"), (2, "ada")])
    store = backend.open()
    assert _keys(store) == {1: "tom", 2: "ada"}
    assert store.moderation.audit_log() == []


def test_a_failing_python_step_rolls_back_the_whole_migration(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    _schema_8_db(backend, [(1, "ТОМ")])

    def half_done(conn: Conn) -> None:
        conn.execute("UPDATE players SET key = 'half'")
        raise RuntimeError("power cut")

    monkeypatch.setitem(schema.PYTHON_STEPS, 9, half_done)
    with pytest.raises(RuntimeError, match="power cut"):
        backend.open()
    conn = backend.raw()
    assert backend.dialect.version(conn) == 8
    assert [tuple(r) for r in conn.execute("SELECT key FROM players").fetchall()] == [("том",)]


# -- player codes ------------------------------------------------------------------------


def test_new_codes_are_zero_padded_digits(monkeypatch: pytest.MonkeyPatch) -> None:
    for digits in (1, 4, 6):
        code = codes.new_code(digits)
        assert len(code) == digits and set(code) <= set(string.digits)
    assert len(codes.new_code()) == codes.DIGITS == 4
    monkeypatch.setattr("secrets.randbelow", lambda n: 42)
    assert codes.new_code(4) == "0042"
    with pytest.raises(ValueError):
        codes.new_code(0)


@settings(max_examples=15, deadline=None)
@given(st.from_regex(r"[0-9]{4}", fullmatch=True))
def test_code_hash_round_trip(code: str) -> None:
    hashed = codes.hash_code(code)
    assert hashed.startswith("$argon2id$")
    salt_and_digest = hashed.split("$")[-2:]
    assert all(code not in part for part in salt_and_digest)
    assert codes.verify_code(code, hashed)
    assert codes.verify_code(f" {code} ", hashed)
    wrong = f"{(int(code) + 1) % 10_000:04d}"
    assert not codes.verify_code(wrong, hashed)


def test_verify_code_never_raises() -> None:
    hashed = codes.hash_code("1234")
    assert not codes.verify_code("1234", "")
    assert not codes.verify_code("1234", "not a hash")
    assert not codes.verify_code("12a4", hashed)
    assert not codes.verify_code("١٢٣٤", hashed)  # Arabic-Indic digits are not the code
    with pytest.raises(ValueError):
        codes.hash_code("12 4")


def test_store_keeps_the_code_hash_and_audits_staff_resets(store: Store | PgStore) -> None:
    key = policy.player_key("Ada")
    assert store.players.code_hash(key) is None
    store.jobs.add(
        player_key=key,
        nickname="Ada",
        target_id="duck",
        raw_prompt="a duck",
        prompt="a duck",
        norm_prompt="a duck",
        dedup_key="k",
        seed=1,
    )
    assert store.players.code_hash(key) == ""
    hashed = codes.hash_code("0042")
    store.players.set_code_hash(key, hashed)
    assert store.players.code_hash(key) == hashed and store.moderation.audit_log() == []
    store.players.set_code_hash(key, "", actor="staff", reason="forgot the code")
    assert store.players.code_hash(key) == ""
    (row,) = store.moderation.audit_log()
    assert (row.actor, row.action, row.subject, row.reason) == (
        "staff",
        "clear-code",
        key,
        "forgot the code",
    )
    with pytest.raises(StoreError, match="no player"):
        store.players.set_code_hash("nobody", hashed)
    with pytest.raises(ValueError):
        store.players.set_code_hash(key, "0042")
