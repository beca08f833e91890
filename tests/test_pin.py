"""The staff PIN: format rules, argon2id hashing, the lockout gate, saving the hash."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from builders import REPO

from kiosk.core.config import load_settings
from kiosk.core.pin import (
    CONFIG_MODE,
    MAX_LOCK_S,
    MIN_DIGITS,
    Attempt,
    PinError,
    PinGate,
    check_pin_format,
    hash_pin,
    read_pin_hash,
    verify_pin,
    write_pin_hash,
)

PIN = "918273"
WRONG = "554433"
# The gate tests hash with cheap parameters: verify reads them from the hash, so each
# attempt costs microseconds instead of the real hasher's tenth of a second.
FAST_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PIN)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gate(clock: FakeClock) -> PinGate:
    return PinGate(FAST_HASH, clock=clock)


def fail(gate: PinGate, times: int) -> list[Attempt]:
    return [gate.attempt(WRONG) for _ in range(times)]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A copy of the repo's kiosk.toml with its assets, so the image paths resolve."""
    shutil.copytree(REPO / "assets", tmp_path / "assets")
    path = tmp_path / "kiosk.toml"
    shutil.copy(REPO / "kiosk.toml", path)
    return path


# -- format ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "1234",
        "12345",
        " 48213 ",
        "12a456",
        "abcdef",
        "",
        "      ",
        "123 456",
        "１２３４５６",
        "²²²²²²",
    ],
)
def test_short_or_non_digit_pins_are_refused_with_an_operator_message(bad: str) -> None:
    with pytest.raises(PinError, match=r"^The PIN must be at least 6 digits \(digits only\)\.$"):
        check_pin_format(bad)


def test_six_digits_are_enough() -> None:
    assert MIN_DIGITS == 6
    assert check_pin_format("000000") == "000000"


def test_surrounding_whitespace_is_stripped() -> None:
    assert check_pin_format("  123456 ") == "123456"
    assert check_pin_format("\t00001234567890\n") == "00001234567890"


def test_hash_pin_refuses_a_malformed_pin() -> None:
    with pytest.raises(PinError):
        hash_pin("4821")


# -- hashing -----------------------------------------------------------------------------


def test_hash_accepts_its_pin_and_refuses_another() -> None:
    pin_hash = hash_pin(PIN)
    assert verify_pin(pin_hash, PIN)
    assert verify_pin(pin_hash, f" {PIN}\n")
    assert not verify_pin(pin_hash, WRONG)
    assert not verify_pin(pin_hash, "")


def test_hash_is_argon2id_and_never_contains_the_pin() -> None:
    pin_hash = hash_pin(PIN)
    assert pin_hash.startswith("$argon2id$")
    assert PIN not in pin_hash


def test_two_hashes_of_one_pin_differ_by_their_salt() -> None:
    assert hash_pin(PIN) != hash_pin(PIN)


@pytest.mark.parametrize(
    "bad_hash",
    ["", "   ", "garbage", "$argon2id$v=19$m=65536,t=3,p=1$bad", "$2b$12$abcdefghijklmnopqrstuv"],
)
def test_verify_with_an_empty_or_garbage_hash_is_false_not_an_error(bad_hash: str) -> None:
    assert verify_pin(bad_hash, PIN) is False


# -- the gate ----------------------------------------------------------------------------


def test_a_gate_without_a_hash_stays_closed() -> None:
    gate = PinGate("")
    assert not gate.has_pin
    result = gate.attempt(PIN)
    assert not result.ok
    assert "No staff PIN is set" in result.message


def test_the_right_pin_opens_the_gate(gate: PinGate) -> None:
    assert gate.has_pin
    assert gate.attempt(PIN) == Attempt(
        ok=True, outcome="ok", locked_for_s=0.0, message="PIN accepted: staff mode is open."
    )


def test_wrong_pins_say_how_many_tries_are_left(gate: PinGate) -> None:
    messages = [a.message for a in fail(gate, 4)]
    assert messages == [
        "Wrong PIN. 4 more tries before a lock.",
        "Wrong PIN. 3 more tries before a lock.",
        "Wrong PIN. 2 more tries before a lock.",
        "Wrong PIN. 1 more try before a lock.",
    ]
    assert gate.locked_for() == 0.0


def test_five_wrong_pins_lock_the_gate_for_60_s(gate: PinGate) -> None:
    fifth = fail(gate, 5)[-1]
    assert not fifth.ok
    assert fifth.locked_for_s == 60.0
    assert "try again in 60 s" in fifth.message
    assert gate.locked_for() == 60.0


def test_a_locked_gate_refuses_even_the_right_pin_and_says_seconds_left(
    gate: PinGate, clock: FakeClock
) -> None:
    fail(gate, 5)
    clock.now += 17.5
    sixth = gate.attempt(PIN)
    assert not sixth.ok
    assert sixth.locked_for_s == 42.5
    assert sixth.message == "Too many wrong PINs: try again in 43 s."


def test_the_gate_unlocks_after_60_s(gate: PinGate, clock: FakeClock) -> None:
    fail(gate, 5)
    clock.now += 59.9
    assert not gate.attempt(PIN).ok
    clock.now += 0.1
    assert gate.locked_for() == 0.0
    assert gate.attempt(PIN).ok


def test_each_next_lock_lasts_twice_as_long(gate: PinGate, clock: FakeClock) -> None:
    locks = []
    for _ in range(3):
        locks.append(fail(gate, 5)[-1].locked_for_s)
        clock.now += locks[-1]
    assert locks == [60.0, 120.0, 240.0]


def test_locks_never_grow_past_an_hour(gate: PinGate, clock: FakeClock) -> None:
    for _ in range(10):
        lock = fail(gate, 5)[-1].locked_for_s
        clock.now += lock
    assert lock == MAX_LOCK_S == 3600.0


def test_a_right_pin_resets_the_count_and_the_doubling(gate: PinGate, clock: FakeClock) -> None:
    fail(gate, 5)
    clock.now += 60
    fail(gate, 4)  # one short of the second (120 s) lock
    assert gate.attempt(PIN).ok
    assert fail(gate, 4)[-1].locked_for_s == 0.0  # the count restarted
    assert gate.attempt(WRONG).locked_for_s == 60.0  # and so did the doubling


def test_each_attempt_says_its_outcome_for_the_audit(gate: PinGate, clock: FakeClock) -> None:
    outcomes = [a.outcome for a in [*fail(gate, 5), gate.attempt(PIN), gate.attempt(WRONG)]]
    assert outcomes == ["wrong"] * 5 + ["locked"] * 2
    clock.now += 60
    assert gate.attempt(PIN).outcome == "ok"
    assert PinGate("").attempt(PIN).outcome == "unset"


def test_gate_messages_never_contain_the_pin(gate: PinGate, clock: FakeClock) -> None:
    attempts = [gate.attempt(PIN), *fail(gate, 5), gate.attempt(PIN), gate.attempt(WRONG)]
    clock.now += 60
    attempts.append(gate.attempt(PIN))
    assert all(PIN not in a.message and WRONG not in a.message for a in attempts)


def test_gate_refuses_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        PinGate(FAST_HASH, max_tries=0)
    with pytest.raises(ValueError):
        PinGate(FAST_HASH, lock_s=0)


# -- saving the hash ---------------------------------------------------------------------


def test_write_pin_hash_keeps_comments_and_load_settings_reads_it_back(config: Path) -> None:
    before = config.read_text(encoding="utf-8")
    pin_hash = hash_pin(PIN)
    write_pin_hash(config, pin_hash)
    after = config.read_text(encoding="utf-8")
    assert "# AI Drawing Judge kiosk: booth configuration." in after
    assert 'target = "duck-and-swan"   # the active target (an id below)' in after
    assert len(after.splitlines()) == len(before.splitlines())
    settings = load_settings(config)
    assert settings.staff.pin_hash == pin_hash
    assert verify_pin(settings.staff.pin_hash, PIN)


def test_writing_twice_replaces_the_value(config: Path) -> None:
    write_pin_hash(config, hash_pin("111111"))
    second = hash_pin("222222")
    write_pin_hash(config, second)
    text = config.read_text(encoding="utf-8")
    assert text.count("pin_hash") == 1
    assert load_settings(config).staff.pin_hash == second


def test_write_creates_the_staff_table_when_missing(config: Path) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(text.split("[staff]")[0], encoding="utf-8")
    write_pin_hash(config, FAST_HASH)
    assert load_settings(config).staff.pin_hash == FAST_HASH


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o666, 0o600], ids=oct)
def test_write_leaves_no_temp_file_and_the_config_readable_by_its_owner_only(
    config: Path, mode: int
) -> None:
    config.chmod(mode)
    write_pin_hash(config, FAST_HASH)
    assert sorted(p.name for p in config.parent.iterdir()) == ["assets", "kiosk.toml"]
    assert config.stat().st_mode & 0o7777 == CONFIG_MODE == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_write_keeps_the_configs_owner_and_group(config: Path) -> None:
    """Root setting the PIN of a booth that runs as its own user leaves the file theirs."""
    os.chown(config, 4242, 4343)
    write_pin_hash(config, FAST_HASH)
    st = config.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (4242, 4343, 0o600)
    assert read_pin_hash(config) == FAST_HASH


def test_write_keeps_crlf_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "crlf.toml"
    path.write_bytes(b'# booth\r\n[staff]\r\npin_hash = ""  # set me\r\n')
    write_pin_hash(path, FAST_HASH)
    assert (
        path.read_bytes()
        == f'# booth\r\n[staff]\r\npin_hash = "{FAST_HASH}"  # set me\r\n'.encode()
    )


def test_an_empty_hash_clears_the_pin(config: Path) -> None:
    write_pin_hash(config, FAST_HASH)
    write_pin_hash(config, "")
    assert load_settings(config).staff.pin_hash == ""


@pytest.mark.parametrize("bad", ["1234", "not a hash"])
def test_write_refuses_something_that_is_not_a_hash(config: Path, bad: str) -> None:
    before = config.read_bytes()
    with pytest.raises(PinError, match="not a PIN hash"):
        write_pin_hash(config, bad)
    assert config.read_bytes() == before


def test_write_refuses_invalid_toml_and_leaves_it_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[staff\npin_hash = ", encoding="utf-8")
    with pytest.raises(PinError, match="not valid TOML"):
        write_pin_hash(path, FAST_HASH)
    assert path.read_text(encoding="utf-8") == "[staff\npin_hash = "


def test_write_to_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(PinError, match="cannot read the config file"):
        write_pin_hash(tmp_path / "nope.toml", FAST_HASH)


# -- a PIN set while the booth runs --------------------------------------------------------


def test_a_gate_from_the_config_sees_a_pin_written_after_it_was_made(config: Path) -> None:
    gate = PinGate.from_config(config, "")
    assert not gate.has_pin and "No staff PIN is set" in gate.attempt(PIN).message
    write_pin_hash(config, FAST_HASH)  # what `kiosk staff set-pin` does
    assert gate.has_pin and gate.attempt(PIN).ok


def test_a_gate_from_the_config_keeps_its_start_hash_while_the_file_has_none(
    config: Path,
) -> None:
    gate = PinGate.from_config(config, FAST_HASH)
    assert gate.attempt(PIN).ok
    config.write_text("[staff\nbroken", encoding="utf-8")  # unreadable: the start hash
    assert read_pin_hash(config) == "" and gate.attempt(PIN).ok


def test_a_new_pin_replaces_the_old_one_at_the_next_attempt(config: Path) -> None:
    gate = PinGate.from_config(config, FAST_HASH)
    write_pin_hash(config, PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("222222"))
    assert not gate.attempt(PIN).ok and gate.attempt("222222").ok


# -- kiosk staff set-pin, and kiosk doctor on the file it wrote ----------------------------


def test_set_pin_wants_six_digits_and_leaves_the_config_to_its_owner(
    config: Path, env: dict[str, str]
) -> None:
    from kiosk_cmd import kiosk

    from kiosk.ops.doctor import check_staff_pin

    set_pin = ("staff", "set-pin", "--config", str(config))
    assert "6+ digits" in kiosk(*set_pin, "--help", env=env).stdout
    config.chmod(0o644)
    short = kiosk(*set_pin, env=env, input="4821\n")
    assert short.returncode == 2 and "at least 6 digits" in short.stderr
    assert config.stat().st_mode & 0o777 == 0o644 and read_pin_hash(config) == ""
    done = kiosk(*set_pin, env=env, input="482193\n")
    assert done.returncode == 0, done.stderr
    assert config.stat().st_mode & 0o777 == 0o600
    pin_hash = read_pin_hash(config)
    assert verify_pin(pin_hash, "482193")
    assert check_staff_pin(pin_hash, config).status == "pass"
    config.chmod(0o644)  # someone copied it about: the doctor says so
    warned = check_staff_pin(pin_hash, config)
    assert warned.status == "warn" and "other users can read it" in warned.detail
    assert warned.fix == f"chmod 600 {config}"
