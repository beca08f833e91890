"""Numbers that people type (ids, seeds, counts, a percent): plain ASCII digits within the
bounds a command takes and SQLite can store.

Python's int() and float() also read '٣', '1_000', ' 7 ' and 'nan', and an int past
2**63 - 1 reaches SQLite as an OverflowError; this one rule serves the CLI's options and
the staff lines of a demo script, so each refuses such text with one clear sentence.
"""

from __future__ import annotations

import math
import re

INTEGER_MAX = 2**63 - 1
"""The largest integer SQLite stores (a signed 64-bit INTEGER)."""

_WHOLE = re.compile(r"-?[0-9]{1,19}")
_DECIMAL = re.compile(r"-?(?:[0-9]{1,19}(?:\.[0-9]{0,19})?|\.[0-9]{1,19})")


def _shown(text: str) -> str:
    """The text as a message quotes it: repr (escapes visible), at most 40 characters."""
    return repr(text if len(text) <= 40 else text[:40] + "...")


def whole_number(text: str, low: int = 0, high: int = INTEGER_MAX) -> int:
    """`text` as an int from `low` to `high`, written in ASCII digits (a leading '-' only);
    otherwise ValueError saying what was expected."""
    value = int(text) if _WHOLE.fullmatch(text) else None
    if value is None or not low <= value <= high:
        raise ValueError(f"{_shown(text)} is not a whole number from {low} to {high}")
    return value


def decimal_number(text: str, low: float, high: float) -> float:
    """`text` as a float from `low` to `high`, written in ASCII digits with an optional
    decimal point (no exponent, nan or inf); otherwise ValueError saying what was expected."""
    value = float(text) if _DECIMAL.fullmatch(text) else math.nan
    if not low <= value <= high:  # nan compares false: refused too
        raise ValueError(f"{_shown(text)} is not a number from {low:g} to {high:g}")
    return value
