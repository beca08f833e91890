"""The raffle from staff mode: choose how, draw, and reveal the winners on the booth.

The reveal is a moment for the crowd: the target's title, then one winner at a time in
big letters (Space for the next, or by itself every few seconds), with the winners so
far below. A winner who is not there is redrawn with their number key, after a y/n
question that names them (recorded, replayable). The seed is in the audit, not on screen.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, Static

from kiosk.core.api import EngineAPI, RaffleResult
from kiosk.core.commands import StaffError
from kiosk.core.numbers import decimal_number, whole_number
from kiosk.ui.screens import dismiss_once
from kiosk.ui.staff.dialogs import ConfirmDialog, light_field
from kiosk.ui.widgets.raffle import RaffleBoard

NEXT_KEYS = frozenset({"space", "enter", "right"})


class RaffleDialog(ModalScreen[RaffleResult | None]):
    """How many win, among the top K or above a score; Enter draws, Escape cancels."""

    DEFAULT_CSS = """
    RaffleDialog { align: center middle; }
    RaffleDialog > Vertical {
        width: 72; height: auto; padding: 1 2; border: round $accent; background: $panel;
    }
    RaffleDialog #raffle-title { text-style: bold; margin: 0 0 1 0; }
    RaffleDialog .raffle-field { height: 3; }
    RaffleDialog .raffle-label { width: 30; padding: 1 1 0 0; }
    RaffleDialog .raffle-field.-active .raffle-label { color: $accent; text-style: bold; }
    RaffleDialog .raffle-field Input { width: 1fr; }
    RaffleDialog #raffle-message { height: auto; color: $text-muted; }
    RaffleDialog #raffle-message.-error { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Back", show=False)]
    FIELDS: ClassVar[list[tuple[str, str, str, str]]] = [
        # id, label, value, restrict
        ("raffle-winners", "Winners (how many)", "3", r"[0-9]*"),
        ("raffle-among", "Among the top K players", "10", r"[0-9]*"),
        ("raffle-above", "Or: best score at least (%)", "", r"[0-9.]*"),
    ]

    def __init__(self, engine: EngineAPI, target_title: str) -> None:
        super().__init__()
        self.engine = engine
        self.target_title = target_title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Raffle on the active target: {self.target_title}", id="raffle-title")
            for field_id, label, value, restrict in self.FIELDS:
                with Horizontal(classes="raffle-field field"):
                    yield Label(label, classes="raffle-label")
                    yield Input(value, restrict=restrict, id=field_id)
            yield Static(
                Text(
                    "Enter draws; Esc cancels. A score, when given, is used instead of the"
                    " top K. Staff and hidden players never win."
                ),
                id="raffle-message",
            )

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        light_field(self, event.widget)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        winners = self.query_one("#raffle-winners", Input).value
        among = self.query_one("#raffle-among", Input).value
        above = self.query_one("#raffle-above", Input).value.strip()
        try:
            n = whole_number(winners or "0", 1, 1000)  # the CLI's bounds: one rule
            if above:
                result = self.engine.raffle(winners=n, above=decimal_number(above, 0, 100))
            else:
                result = self.engine.raffle(winners=n, among=whole_number(among or "0", 1))
        except (StaffError, ValueError) as exc:
            message = self.query_one("#raffle-message", Static)
            message.set_class(True, "-error")
            message.update(Text(f"Cannot draw: {exc}"))
            return
        dismiss_once(self, result)

    def action_cancel(self) -> None:
        dismiss_once(self, None)


class RaffleReveal(Screen[None]):
    """The winners revealed full screen, with staff's keys; stays until staff close it."""

    DEFAULT_CSS = "RaffleReveal { align: center middle; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f12", "close", "Close", priority=True),
    ]
    HELP: ClassVar[str] = (
        "Space: next winner.  Number key: redraw that winner if they are not here (asks"
        " y/n).  C: check a winner's player code.  Esc: close."
    )

    def __init__(self, result: RaffleResult, target_title: str, engine: EngineAPI) -> None:
        super().__init__()
        self.board = RaffleBoard(result, target_title or result.target, self.HELP)
        self.engine = engine

    @property
    def result(self) -> RaffleResult:
        return self.board.result

    def compose(self) -> ComposeResult:
        with Center():
            yield self.board

    def on_key(self, event: events.Key) -> None:
        key, winners = event.key, self.result.winners
        if key in NEXT_KEYS:
            self.board.step()
        elif key == "c":
            self.app.push_screen(CodeCheckDialog(self.result, self.engine), self._checked)
        elif key.isdigit() and 1 <= int(key) <= min(self.board.shown, len(winners)):
            number = int(key)
            who = winners[number - 1].nickname
            question = ConfirmDialog(
                f"Redraw winner {number}, {who}? y/n",
                "Only when they are not here. The redraw is recorded in the audit.",
            )
            self.app.push_screen(question, partial(self._redraw, number, who))

    def _redraw(self, number: int, who: str, yes: bool | None) -> None:
        """Staff said y: replace winner `number` (recorded), and show who comes instead."""
        if not yes:
            return
        try:
            result = self.engine.redraw(self.result.raffle_id, who)
        except StaffError as exc:
            self.notify(str(exc), severity="error")
            return
        self.board.redrawn(result, number - 1)

    def _checked(self, said: str | None) -> None:
        if said:
            self.notify(said, severity="information" if said.startswith("✓") else "error")

    def action_close(self) -> None:
        dismiss_once(self, None)


class CodeCheckDialog(ModalScreen[str | None]):
    """Staff check a winner's player code before handing the prize: `N CODE`."""

    DEFAULT_CSS = """
    CodeCheckDialog { align: center middle; }
    CodeCheckDialog > Vertical {
        width: 56; height: auto; padding: 1 2; border: round $accent; background: $panel;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Back", show=False)]

    def __init__(self, result: RaffleResult, engine: EngineAPI) -> None:
        super().__init__()
        self.result = result
        self.engine = engine

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Check a winner's player code")
            yield Input(placeholder="winner number, space, code (e.g. 1 4821)", password=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        parts = event.value.split()
        winners = self.result.winners
        if len(parts) != 2 or not parts[0].isdigit() or not 1 <= int(parts[0]) <= len(winners):
            self.notify(f"Type a winner number (1 to {len(winners)}) and the code.")
            return
        who = winners[int(parts[0]) - 1].nickname
        if self.engine.check_code(who, parts[1]):
            dismiss_once(self, f"✓ That is {who}'s player code.")
        else:
            dismiss_once(self, f"✗ That is not {who}'s player code.")

    def action_cancel(self) -> None:
        dismiss_once(self, None)
