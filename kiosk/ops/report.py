"""The leaderboard as printed by the command line: a rich table or JSON-ready rows."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from kiosk.core.api import BoardRow
from kiosk.core.policy import format_percent


def board_rows(rows: list[BoardRow]) -> list[dict[str, object]]:
    """Rows for JSON output; score is the percent at full precision."""
    return [
        {
            "rank": r.rank,
            "nickname": r.nickname,
            "score": r.percent,
            "cosine": r.cosine,
            "prompt": r.prompt,
        }
        for r in rows
    ]


def board_table(rows: list[BoardRow], title: str) -> Table:
    """Rank, player, score with two decimals, prompt; user text never read as markup."""
    table = Table(title=title)
    table.add_column("#", justify="right")
    table.add_column("player")
    table.add_column("score", justify="right")
    table.add_column("prompt")
    for r in rows:
        table.add_row(str(r.rank), Text(r.nickname), format_percent(r.percent), Text(r.prompt))
    return table
