"""The staff PIN: its format, its argon2id hash, a lockout gate, and saving the hash.

Pure engine-side logic (no textual). Hashing and verifying take about a tenth of a
second of CPU on purpose, and `write_pin_hash` writes a file, so a UI calls them from
a thread worker, never on the event loop. Staff mode stays closed while no hash is set.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import tomlkit
from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Table

MIN_DIGITS = 6
"""A million PINs: at a quarter of a second a guess, a stolen hash takes days of CPU
(4 digits fell in half an hour), and the booth's lockout stops guessing at the keyboard."""
CONFIG_MODE = 0o600
"""The config file holds the PIN hash: only its owner may read it."""
MAX_LOCK_S = 3600.0
"""The doubling lock never grows past an hour: long enough against guessing at the
booth keyboard, short enough that a visitor mashing keys cannot shut staff out all day."""

_DIGITS = re.compile(rf"[0-9]{{{MIN_DIGITS},}}")  # ASCII only: str.isdigit() accepts "²", "١"

# RFC 9106's low-memory profile (t=3, 64 MiB) with one lane instead of four: the booth
# box may have two busy cores, one lane keeps a verify to one core (0.25 s measured), and the
# 64 MiB per guess still makes an offline attack on a stolen kiosk.toml slow.
_HASHER = PasswordHasher(
    time_cost=3, memory_cost=64 * 1024, parallelism=1, hash_len=32, salt_len=16
)


class PinError(ValueError):
    """The PIN or the PIN file was refused; the message is written for the operator."""


def check_pin_format(pin: str) -> str:
    """Strip surrounding whitespace and require at least MIN_DIGITS ASCII digits."""
    cleaned = pin.strip() if isinstance(pin, str) else ""
    if not _DIGITS.fullmatch(cleaned):
        raise PinError(f"The PIN must be at least {MIN_DIGITS} digits (digits only).")
    return cleaned


def hash_pin(pin: str) -> str:
    """Salted argon2id hash of a well-formed PIN, as an encoded "$argon2id$..." string."""
    return _HASHER.hash(check_pin_format(pin))


def verify_pin(pin_hash: str, pin: str) -> bool:
    """Whether `pin` matches `pin_hash`; False (never an exception) for anything else."""
    if not pin_hash or not isinstance(pin, str):
        return False
    try:
        return _HASHER.verify(pin_hash, pin.strip())
    except (Argon2Error, ValueError):  # mismatch, malformed hash, unsupported parameters
        return False


Outcome = Literal["ok", "wrong", "locked", "unset"]
"""What became of one try, as audited: the right PIN, a wrong one, refused unchecked
while the gate was locked, or refused because no PIN is set."""


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """The outcome of one PIN attempt at the staff gate."""

    ok: bool
    outcome: Outcome
    locked_for_s: float = 0.0
    """Seconds the gate stays locked from now; 0 when it is not locked."""
    message: str = ""
    """For the person at the keyboard; never contains the PIN."""


class PinGate:
    """Checks PINs and locks out guessing.

    After `max_tries` wrong PINs in a row the gate locks for `lock_s`; each later lock
    lasts twice the one before (up to MAX_LOCK_S). While locked every attempt is refused
    without checking the PIN. A right PIN resets both the count and the doubling: the
    person who knows the PIN is back, so the next visitor's typos start from scratch.

    Attempts from several threads are checked one at a time: each one sees the count and
    the lock that the one before it left, so a burst of tries cannot slip past the limit.
    """

    def __init__(
        self,
        pin_hash: str | Callable[[], str],
        *,
        clock: Callable[[], float] = time.monotonic,
        max_tries: int = 5,
        lock_s: float = 60.0,
    ) -> None:
        if max_tries < 1 or not lock_s > 0:
            raise ValueError("max_tries must be at least 1 and lock_s above 0")
        if isinstance(pin_hash, str):
            fixed = pin_hash
            self._read_hash: Callable[[], str] = lambda: fixed
        else:
            self._read_hash = pin_hash
        self._clock = clock
        self._max_tries = max_tries
        self._lock_s = lock_s
        self._wrong = 0  # wrong PINs since the last lock or success
        self._locks = 0  # locks since the last success: the doubling exponent
        self._locked_until = -math.inf
        self._checking = threading.Lock()  # held for a whole attempt, the verify included

    @classmethod
    def from_config(
        cls, config_path: Path, loaded_hash: str, *, clock: Callable[[], float] = time.monotonic
    ) -> PinGate:
        """A gate that rereads `[staff] pin_hash` from the config file at every use, so a
        PIN set with `kiosk staff set-pin` while the booth runs works at the next F12.
        `loaded_hash` (what the booth started with) stands in while the file has none."""
        return cls(lambda: read_pin_hash(config_path) or loaded_hash, clock=clock)

    def current_hash(self) -> str:
        """The hash PINs are checked against now (it may read the config file)."""
        return self._read_hash().strip()

    @property
    def has_pin(self) -> bool:
        """False while no hash is configured: staff mode must stay closed then. With a
        reader it reads the file, so a UI asks from a thread."""
        return bool(self.current_hash())

    def locked_for(self) -> float:
        """Seconds left on the current lock; 0 when not locked."""
        return max(0.0, self._locked_until - self._clock())

    def attempt(self, pin: str) -> Attempt:
        """Check one PIN, counting it towards a lock when it is wrong. Thread-safe: a
        caller waits while another's attempt is checked."""
        with self._checking:
            return self._attempt(pin)

    def _attempt(self, pin: str) -> Attempt:
        pin_hash = self.current_hash()
        if not pin_hash:
            message = "No staff PIN is set, so staff mode stays closed."
            return Attempt(ok=False, outcome="unset", message=message)
        if (left := self.locked_for()) > 0:
            return Attempt(
                ok=False, outcome="locked", locked_for_s=left, message=_locked_message(left)
            )
        if verify_pin(pin_hash, pin):
            self._wrong = 0
            self._locks = 0
            return Attempt(ok=True, outcome="ok", message="PIN accepted: staff mode is open.")
        self._wrong += 1
        if self._wrong < self._max_tries:
            tries = self._max_tries - self._wrong
            word = "try" if tries == 1 else "tries"
            message = f"Wrong PIN. {tries} more {word} before a lock."
            return Attempt(ok=False, outcome="wrong", message=message)
        lock = min(self._lock_s * 2**self._locks, MAX_LOCK_S)
        self._wrong = 0
        self._locks += 1
        self._locked_until = self._clock() + lock
        message = f"Wrong PIN. {_locked_message(lock)}"
        return Attempt(ok=False, outcome="wrong", locked_for_s=lock, message=message)


def _locked_message(seconds: float) -> str:
    return f"Too many wrong PINs: try again in {math.ceil(seconds)} s."


def read_pin_hash(config_path: Path) -> str:
    """`[staff] pin_hash` as the config file says now; "" when it says none or cannot be
    read (a booth then keeps the hash it started with)."""
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""
    staff = data.get("staff")
    value = staff.get("pin_hash") if isinstance(staff, dict) else None
    return value.strip() if isinstance(value, str) else ""


def write_pin_hash(config_path: Path, pin_hash: str) -> None:
    """Set `[staff] pin_hash` in a TOML config, keeping its comments and layout.

    An empty hash clears the PIN (staff mode closed). The file is replaced atomically,
    so a crash leaves either the old config or the new one, never half of one; the new
    one is readable by its owner only (CONFIG_MODE) and keeps the old one's owner.
    """
    if pin_hash and not pin_hash.startswith("$argon2"):
        raise PinError("That is not a PIN hash: make one with the staff PIN tool.")
    try:
        with config_path.open(encoding="utf-8", newline="") as f:  # keep its line endings
            doc = tomlkit.parse(f.read())
    except (OSError, UnicodeDecodeError) as exc:
        raise PinError(f"{config_path}: cannot read the config file: {exc}") from None
    except TOMLKitError as exc:
        raise PinError(f"{config_path}: not valid TOML: {exc}") from None
    staff = doc.get("staff")
    if staff is None:
        staff = tomlkit.table()
        doc["staff"] = staff
    if not isinstance(staff, Table):
        raise PinError(f"{config_path}: [staff] must be a table to hold pin_hash.")
    staff["pin_hash"] = pin_hash
    new_text = doc.as_string()
    # Belt and braces: never replace a working config with one that reads differently.
    if tomllib.loads(new_text).get("staff", {}).get("pin_hash") != pin_hash:
        raise PinError(f"{config_path}: could not write [staff] pin_hash; the file is unchanged.")
    _replace_atomically(config_path, new_text)


def _replace_atomically(path: Path, text: str) -> None:
    """Write to a temp file beside `path`, flush it to disk, then rename it over `path`."""
    old = path.stat()
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            os.fchmod(f.fileno(), CONFIG_MODE)  # before the hash is in it
            _keep_owner(f.fileno(), old, path)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _keep_owner(fd: int, old: os.stat_result, path: Path) -> None:
    """Give the new file the old one's owner and group (root setting the PIN of a booth
    that runs as its own user must not take the config away from that user)."""
    new = os.fstat(fd)
    if (new.st_uid, new.st_gid) == (old.st_uid, old.st_gid):
        return
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
    except PermissionError:
        if new.st_uid != old.st_uid:
            raise PinError(
                f"{path}: belongs to another user; set the PIN as that user (or root),"
                " so the booth can still read its config. The file is unchanged."
            ) from None
        # Only the group differs and cannot be kept: at 0600 the group reads nothing.
