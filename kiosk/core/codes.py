"""Player codes: a short number that claims a nickname, stored only as an argon2id hash.

Why a KDF for a 4-digit secret: the database leaves the booth in exports and backups,
and a plain or fast hash of ten thousand possible codes is read back in a blink. A
salted argon2id makes each player's code cost its own search (10,000 guesses, about
a minute of one core at these settings), so a copied file does not hand out every
player's code at once. It is a speed bump, not a vault: at the booth, the real
protection is the limit on wrong tries.
"""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error

DIGITS = 4
"""Digits of a new code: easy to remember for a day, hard to guess at the keyboard."""

_CODE = re.compile(r"[0-9]{1,12}")  # ASCII only: str.isdigit() accepts "²", "١"

# Cheap on purpose (t=1, 8 MiB, one lane): a booth checks codes on every claim and on
# a busy box. Measured on the 2-core dev box (AMD EPYC, argon2-cffi 25.1): a verify takes
# about 6 ms on an idle core, 15-20 ms with both cores busy; hashing the same. The staff
# PIN (kiosk.core.pin) takes about 0.25 s: one hash, worth a stronger setting.
_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, hash_len=16, salt_len=16)


def new_code(digits: int = DIGITS) -> str:
    """A random code of `digits` ASCII digits, zero-padded ("0042")."""
    if not 1 <= digits <= 12:
        raise ValueError("a player code has 1 to 12 digits")
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def hash_code(code: str) -> str:
    """Salted argon2id hash of a code, as an encoded "$argon2id$..." string."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise ValueError("a player code is ASCII digits only")
    return _HASHER.hash(code)


def verify_code(code: str, code_hash: str) -> bool:
    """Whether `code` (surrounding spaces ignored) matches `code_hash`; False, never an
    exception, for an empty hash, a malformed one, or anything that is not a code."""
    if not code_hash or not isinstance(code, str):
        return False
    code = code.strip()
    if not _CODE.fullmatch(code):
        return False
    try:
        return _HASHER.verify(code_hash, code)
    except (Argon2Error, ValueError):  # mismatch, malformed hash, unsupported parameters
        return False
