"""The current player's latest drawing: the image, the score in large digits, rank, best,
and their player code, small, for the rest of the sitting."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Digits, Label, Static

from kiosk.core.events import Done
from kiosk.core.i18n import N_
from kiosk.core.policy import format_percent, player_key
from kiosk.ui.lang import tr
from kiosk.ui.widgets.picture import Picture
from kiosk.ui.widgets.status import State, StatusLine

DEDUP_MINE = N_("Same prompt as before: here is your drawing again.")
DEDUP_THEIRS = N_(
    "Someone already drew this prompt: you get the same drawing and score, ranked after them."
)
HELD_NOTE = N_("This drawing is waiting for a quick check by the staff.")
DONE_NOTE = N_("Done! {nick} scored {score}")


class ResultPane(Vertical):
    """Where the player's drawing and score appear, with the state of their request.
    What it says is kept as catalog messages, so a language switch says it again."""

    def __init__(self, image_class: type[Widget], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._image_class = image_class
        self._status: tuple[State, str, dict[str, object]] = ("idle", "", {})
        self._done: Done | None = None
        self._code: str | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="result-body"):
            yield Picture(self._image_class, placeholder="", id="result-picture")
            with Vertical(id="result-info"):
                yield Label(classes="caption", id="score-caption")
                yield Digits("", id="score")
                yield Static(id="score-text")
                yield Static(id="rank")
        yield Static(id="result-prompt")

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        """Say it all again in the app's language."""
        self.border_title = tr(self, N_("Your drawing"))
        self.query_one("#score-caption", Label).update(Text(tr(self, N_("Score"))))
        self.query_one("#result-picture", Picture).placeholder = tr(
            self, N_("Your drawing appears here.")
        )
        state, msgid, params = self._status
        self.status(state, msgid, **params)
        self._say_done()
        self.show_code(self._code)

    def status(self, state: State, msgid: str, **params: object) -> None:
        """Show the state of the latest request (a catalog message)."""
        self._status = (state, msgid, params)
        text = tr(self, msgid, **params) if msgid else ""
        self.query_one(StatusLine).show(state, text)

    def show_code(self, code: str | None) -> None:
        """The sitting's player code, small on the pane's bottom edge (never cut), so the
        visitor can note it before leaving."""
        self._code = code
        self.border_subtitle = tr(self, N_("Your player code: {code}"), code=code) if code else ""

    def clear(self) -> None:
        """Nothing drawn yet for this player (and no code: a new sitting)."""
        self._done = None
        self.status("idle", "")
        self.query_one("#result-picture", Picture).show(None)
        self.query_one("#score", Digits).update("")
        for name in ("#score-text", "#rank", "#result-prompt"):
            self.query_one(name, Static).update("")
        self.show_code(None)

    def show_done(self, done: Done) -> None:
        """A finished drawing: image, `87.42%` in large digits, rank and best."""
        self._done = done
        score = format_percent(done.score)
        if done.flagged:
            self.status("held", HELD_NOTE)
        elif (
            done.dedup and done.first_by and player_key(done.first_by) != player_key(done.nickname)
        ):
            self.status("dedup", DEDUP_THEIRS)
        elif done.dedup:
            self.status("dedup", DEDUP_MINE)
        else:
            self.status("done", DONE_NOTE, nick=done.nickname, score=score)
        self.query_one("#result-picture", Picture).show(done.image)
        self.query_one("#score", Digits).update(score)
        self._say_done()

    def _say_done(self) -> None:
        done = self._done
        if done is None:
            return
        score = format_percent(done.score)
        self.query_one("#score-text", Static).update(
            Text(tr(self, N_("{score} match"), score=score))
        )
        if done.flagged:
            rank = tr(self, N_("Ranked after the check"))
        elif done.rank is not None:
            rank = tr(self, N_("Rank #{rank}"), rank=done.rank)
        else:
            rank = tr(self, N_("Not ranked"))
        if done.text_penalty and not done.flagged:
            rank += "\n" + tr(self, N_("(words in the picture: score lowered)"))
        best = format_percent(done.best) if done.best is not None else "-"
        best_said = tr(self, N_("Best: {best}"), best=best)
        self.query_one("#rank", Static).update(Text(f"{rank}\n{best_said}"))
        self.query_one("#result-prompt", Static).update(
            Text.assemble(tr(self, N_("Prompt: ")), (done.prompt, "italic"))
        )
