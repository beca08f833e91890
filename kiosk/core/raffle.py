"""Raffle draws, pure: the winners a seed picks, who may replace a winner who is not
there, and a recorded raffle replayed. The store records them (kiosk.storage.raffles);
the staff desk (kiosk.engine.desk) decides when.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable
from typing import Any

from kiosk.core.api import Entrant
from kiosk.core.policy import player_key


def draw_winners(eligible: list[Entrant], wanted: int, seed: int) -> list[Entrant]:
    """`wanted` distinct winners from the eligible list (in its order), by the seed: the
    same list and seed always give the same winners."""
    return random.Random(seed).sample(eligible, min(wanted, len(eligible)))


def redraw_candidates(
    eligible: list[Entrant],
    winners: list[Entrant],
    absentees: Iterable[str],
    eligible_now: Collection[int],
) -> list[Entrant]:
    """Who may replace a winner who is not there: the raffle's eligible players (in
    their order) who may still win now (`eligible_now`: player ids, not banned, hidden
    or tagged staff since), are not winners, and were never declared absent."""
    out = {player_key(w.nickname) for w in winners} | {player_key(a) for a in absentees}
    still = [e for e in eligible if e.player_id in eligible_now]
    return [e for e in still if player_key(e.nickname) not in out]


def replace_winner(
    winners: list[Entrant], absent: str, candidates: list[Entrant], seed: int
) -> tuple[list[Entrant], Entrant | None]:
    """The winners with `absent` replaced, in its place, by one drawn (by the seed) from
    the candidates, and who that is; with no candidate left, `absent` is just removed."""
    key = player_key(absent)
    at = next(i for i, w in enumerate(winners) if player_key(w.nickname) == key)
    kept = [*winners[:at], *winners[at + 1 :]]
    if not candidates:
        return kept, None
    picked = random.Random(seed).choice(candidates)
    return [*kept[:at], picked, *kept[at:]], picked


def replay_record(record: dict[str, Any]) -> tuple[list[Entrant], bool]:
    """A recorded raffle (`Store.raffles.get`) drawn again from its seed and eligible
    list, each redraw from its recorded seed and candidates: the final winners, and
    whether every pick is the one recorded."""
    winners = draw_winners(record["eligible"], record["wanted"], record["seed"])
    same = winners == record["winners"]
    for redraw in record["redraws"]:
        pool = redraw["candidates"]
        if pool is None:  # recorded before candidates were kept: the rule of that time
            taken = {player_key(w.nickname) for w in winners}
            pool = [e for e in record["eligible"] if player_key(e.nickname) not in taken]
        winners, picked = replace_winner(winners, redraw["replaced"], pool, redraw["seed"])
        same = same and (picked.nickname if picked else None) == redraw["replacement"]
    return winners, same
