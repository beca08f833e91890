"""The current player's latest drawing: the image, the score in large digits, rank, best."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Digits, Label, Static

from kiosk.core.events import Done
from kiosk.core.policy import format_percent
from kiosk.ui.widgets.picture import Picture
from kiosk.ui.widgets.status import State, StatusLine

DEDUP_NOTE = "Same prompt as before: here is the original drawing."
HELD_NOTE = "This drawing is waiting for a quick check by the staff."


class ResultPane(Vertical):
    """Where the player's drawing and score appear, with the state of their request."""

    def __init__(self, image_class: type[Widget], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._image_class = image_class
        self.border_title = "Your drawing"

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="result-body"):
            yield Picture(
                self._image_class, placeholder="Your drawing appears here.", id="result-picture"
            )
            with Vertical(id="result-info"):
                yield Label("Score", classes="caption")
                yield Digits("", id="score")
                yield Static(id="score-text")
                yield Static(id="rank")
        yield Static(id="result-prompt")

    def status(self, state: State, message: str | Text) -> None:
        """Show the state of the latest request."""
        self.query_one(StatusLine).show(state, message)

    def clear(self) -> None:
        """Nothing drawn yet for this player."""
        self.status("idle", "")
        self.query_one("#result-picture", Picture).show(None)
        self.query_one("#score", Digits).update("")
        for name in ("#score-text", "#rank", "#result-prompt"):
            self.query_one(name, Static).update("")

    def show_done(self, done: Done) -> None:
        """A finished drawing: image, `87.42%` in large digits, rank and best."""
        score = format_percent(done.score)
        if done.flagged:
            self.status("held", HELD_NOTE)
        elif done.dedup:
            self.status("dedup", Text.assemble(DEDUP_NOTE, " Score ", (score, "bold")))
        else:
            self.status(
                "done",
                Text.assemble("Done! ", (done.nickname, "bold"), " scored ", (score, "bold")),
            )
        self.query_one("#result-picture", Picture).show(done.image)
        self.query_one("#score", Digits).update(score)
        self.query_one("#score-text", Static).update(Text(f"{score} match"))
        rank = f"Rank #{done.rank}" if done.rank is not None else "Not ranked"
        if done.flagged:
            rank = "Ranked after the check"
        elif done.text_penalty:
            rank += "\n(words in the picture: score lowered)"
        best = format_percent(done.best) if done.best is not None else "-"
        self.query_one("#rank", Static).update(Text(f"{rank}\nBest: {best}"))
        self.query_one("#result-prompt", Static).update(
            Text.assemble("Prompt: ", (done.prompt, "italic"))
        )
