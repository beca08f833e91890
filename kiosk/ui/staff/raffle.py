"""The raffle from staff mode: choose how, draw, and reveal the winners on the booth.

The reveal is a moment for the crowd: the target's title, then one winner at a time in
big letters (Space for the next, or by itself every few seconds), with the winners so
far below. A winner who is not there is redrawn with their number key, after a y/n
question that names them (recorded, replayable). The seed is in the audit, not on screen.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Input, Label, Static

from kiosk.core.api import RaffleResult
from kiosk.core.commands import StaffError
from kiosk.core.i18n import N_
from kiosk.core.numbers import decimal_number, whole_number
from kiosk.core.policy import format_percent
from kiosk.ui.lang import tr
from kiosk.ui.staff.bigtext import BigText
from kiosk.ui.staff.dialogs import ConfirmDialog, light_field

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

REVEAL_STEP_S = 3.0
"""The next winner appears by itself after this long (Space shows it at once)."""
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

    def compose(self) -> ComposeResult:
        target = cast("KioskApp", self.app).settings.active_target
        with Vertical():
            yield Label(f"Raffle on the active target: {target.title}", id="raffle-title")
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
        app = cast("KioskApp", self.app)
        winners = self.query_one("#raffle-winners", Input).value
        among = self.query_one("#raffle-among", Input).value
        above = self.query_one("#raffle-above", Input).value.strip()
        try:
            n = whole_number(winners or "0", 1, 1000)  # the CLI's bounds: one rule
            if above:
                result = app.engine.raffle(winners=n, above=decimal_number(above, 0, 100))
            else:
                result = app.engine.raffle(winners=n, among=whole_number(among or "0", 1))
        except (StaffError, ValueError) as exc:
            message = self.query_one("#raffle-message", Static)
            message.set_class(True, "-error")
            message.update(Text(f"Cannot draw: {exc}"))
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RaffleReveal(Screen[None]):
    """The winners, one at a time in big letters, full screen; stays until staff close it."""

    DEFAULT_CSS = """
    RaffleReveal { align: center middle; }
    RaffleReveal #reveal-box {
        width: 100%; max-width: 116; height: auto; border: double $accent; padding: 1 2;
    }
    RaffleReveal Static { width: 100%; text-align: center; }
    RaffleReveal #reveal-title { text-style: bold; color: $accent; }
    RaffleReveal #reveal-rule { color: $text-muted; }
    RaffleReveal #reveal-which { text-style: bold; margin: 1 0 0 0; }
    RaffleReveal #reveal-name { color: $accent; text-style: bold; margin: 1 0; }
    RaffleReveal #reveal-winners { margin: 1 0 0 0; }
    RaffleReveal #reveal-help { color: $text-muted; margin: 1 0 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f12", "close", "Close", priority=True),
    ]
    HELP: ClassVar[str] = (
        "Space: next winner.  Number key: redraw that winner if they are not here (asks"
        " y/n).  C: check a winner's player code.  Esc: close."
    )

    def __init__(self, result: RaffleResult, target_title: str = "") -> None:
        super().__init__()
        self.result = result
        self.target_title = target_title or result.target
        self._shown = 0
        """How many winners are revealed (in order)."""
        self._current = 0
        """The winner shown big (an index into the winners)."""
        self._redrawn: set[int] = set()
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        r = self.result
        with Center(), Vertical(id="reveal-box"):
            # What the crowd reads is in the catalogs (the wall shows this reveal too).
            title = tr(self, N_("RAFFLE  ·  {title}"), title=self.target_title)
            eligible = tr(self, N_("{n} eligible"), n=len(r.eligible))
            yield Static(Text(title), id="reveal-title")
            yield Static(Text(f"{r.rule}  ·  {eligible}"), id="reveal-rule")
            yield Static(id="reveal-which")
            yield Static(id="reveal-name")
            yield Static(id="reveal-score")
            yield Static(id="reveal-winners")
            yield Static(Text(self.HELP), id="reveal-help")

    def on_mount(self) -> None:
        self._next()
        if self._shown < len(self.result.winners):
            self._timer = self.set_interval(REVEAL_STEP_S, self._tick)

    def _tick(self) -> None:
        if self.app.screen is self:  # not while staff answer a question over it
            self._next()

    def _next(self) -> None:
        """Reveal one more winner, big; the timer stops once all are shown."""
        if self._shown < len(self.result.winners):
            self._shown += 1
            self._current = self._shown - 1
        if self._shown >= len(self.result.winners) and self._timer is not None:
            self._timer.stop()
        self._show()

    def _show(self) -> None:
        winners = self.result.winners
        which, name, score = (
            self.query_one(f"#reveal-{part}", Static) for part in ("which", "name", "score")
        )
        if not winners:
            which.update(Text(tr(self, N_("No eligible player is left to draw."))))
            name.update("")
            score.update("")
        else:
            i = min(self._current, len(winners) - 1)
            said = tr(self, N_("Winner {n} of {total}"), n=i + 1, total=len(winners))
            if i in self._redrawn:
                said += "  ·  " + tr(self, N_("redrawn"))
            which.update(Text(said))
            name.update(BigText(winners[i].nickname))
            score.update(Text(f"{winners[i].nickname}  ·  {format_percent(winners[i].percent)}"))
        lines = Text()
        for n, w in enumerate(winners[: self._shown], start=1):
            style = "reverse bold" if n - 1 == self._current else "bold"
            lines.append(f" {n}. {w.nickname}  {format_percent(w.percent)} ", style=style)
            lines.append("   ")
        self.query_one("#reveal-winners", Static).update(lines)

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key in NEXT_KEYS:
            self._next()
            if self._timer is not None:
                self._timer.reset()
        elif key == "c":
            self.app.push_screen(CodeCheckDialog(self.result), self._checked)
        elif key.isdigit() and 1 <= int(key) <= min(self._shown, len(self.result.winners)):
            number = int(key)
            who = self.result.winners[number - 1].nickname
            question = ConfirmDialog(
                f"Redraw winner {number}, {who}? y/n",
                "Only when they are not here. The redraw is recorded in the audit.",
            )
            self.app.push_screen(question, partial(self._redraw, number, who))

    def _redraw(self, number: int, who: str, yes: bool | None) -> None:
        """Staff said y: replace winner `number` (recorded), and show who comes instead."""
        if not yes:
            return
        app = cast("KioskApp", self.app)
        try:
            self.result = app.engine.redraw(self.result.raffle_id, who)
        except StaffError as exc:
            self.notify(str(exc), severity="error")
            return
        self._redrawn.add(number - 1)
        self._current = number - 1
        self._shown = min(self._shown, len(self.result.winners))
        self._show()

    def _checked(self, said: str | None) -> None:
        if said:
            self.notify(said, severity="information" if said.startswith("✓") else "error")

    def action_close(self) -> None:
        self.dismiss(None)


class CodeCheckDialog(ModalScreen[str | None]):
    """Staff check a winner's player code before handing the prize: `N CODE`."""

    DEFAULT_CSS = """
    CodeCheckDialog { align: center middle; }
    CodeCheckDialog > Vertical {
        width: 56; height: auto; padding: 1 2; border: round $accent; background: $panel;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Back", show=False)]

    def __init__(self, result: RaffleResult) -> None:
        super().__init__()
        self.result = result

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
        app = cast("KioskApp", self.app)
        if app.engine.check_code(who, parts[1]):
            self.dismiss(f"✓ That is {who}'s player code.")
        else:
            self.dismiss(f"✗ That is not {who}'s player code.")

    def action_cancel(self) -> None:
        self.dismiss(None)
