"""The human check: pick the picture named in the question, among at least six.

The pictures are drawn from the targets and a set of distractors shipped in
`assets/distractors/` (things clearly not a duck or a swan), so even a booth with one
target has a real check: a blind macro passes one check in six at best, and a wrong
answer counts towards a pause (kiosk.core.floods). Pure: the caller gives the random
source, so a simulation replays.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from kiosk.core.config import REPO_ROOT
from kiosk.core.i18n import N_

CHOICES = 6
"""Pictures in one check (one digit key each at the booth)."""
DISTRACTOR_DIR = REPO_ROOT / "assets" / "distractors"
DISTRACTORS: dict[str, str] = {
    "cat.png": N_("A cat"),
    "fish.png": N_("A fish"),
    "house.png": N_("A house"),
    "tree.png": N_("A tree"),
    "car.png": N_("A car"),
    "flower.png": N_("A flower"),
    "sun.png": N_("The sun"),
    "cup.png": N_("A cup"),
}
"""The distractor pictures (drawn by assets/draw_distractors.py) and their titles."""


def distractors() -> list[tuple[str, Path]]:
    """(title, picture) of each shipped distractor."""
    return [(title, DISTRACTOR_DIR / name) for name, title in DISTRACTORS.items()]


@dataclass(frozen=True, kw_only=True)
class Choice:
    """One picture of a human check, shown with the number to press (or tapped)."""

    number: int
    """1-based: the key the visitor presses."""
    id: str
    """Opaque, for a web page (`<challenge id>-<number>`): it tells nothing about the
    picture, so a page can name it in a URL (see FloodGuard.picture)."""
    title: str
    """The picture's title; never shown beside it (that would give the answer away)."""
    picture: Path


@dataclass(frozen=True, kw_only=True)
class Challenge:
    """A human check: pick the picture named in `question`. It does not carry the answer;
    only the guard knows it."""

    id: str
    question: str
    """E.g. "Press the number of: A swan on a pond"."""
    subject: str
    """The title asked about (the end of `question`)."""
    choices: tuple[Choice, ...]
    """The pictures, in a random order, numbered 1..n."""


def pool_of(pictures: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """The pictures a check draws from, one per title (so the question is clear): the
    targets given, then the distractors."""
    pool: list[tuple[str, Path]] = []
    for title, path in [*pictures, *distractors()]:
        if all(title != known for known, _ in pool):
            pool.append((title, path))
    if len(pool) < CHOICES:
        raise ValueError(f"a human check needs at least {CHOICES} pictures, got {len(pool)}")
    return pool


def draw_check(pool: list[tuple[str, Path]], rng: random.Random) -> tuple[Challenge, str]:
    """A fresh check from `pool`: new id, CHOICES pictures in a random order, one asked
    for. Returns the check and its answer (the number to press)."""
    cid = f"{rng.getrandbits(64):016x}"
    picked = rng.sample(pool, CHOICES)
    choices = tuple(
        Choice(number=i, id=f"{cid}-{i}", title=title, picture=path)
        for i, (title, path) in enumerate(picked, start=1)
    )
    asked = rng.choice(choices)
    challenge = Challenge(
        id=cid,
        question=f"Press the number of: {asked.title}",
        subject=asked.title,
        choices=choices,
    )
    return challenge, str(asked.number)
