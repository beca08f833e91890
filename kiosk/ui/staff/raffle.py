"""The raffle from staff mode: choose how, draw, and reveal the winners on the booth.

The reveal shows one winner at a time, then all of them, and stays until staff close it;
a winner who is not there is redrawn with their number key (recorded, replayable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, Static

from kiosk.core.api import RaffleResult
from kiosk.core.staff import StaffError

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

REVEAL_STEP_S = 1.2


class RaffleDialog(ModalScreen[RaffleResult | None]):
    """How many win, among the top K or above a score; Enter draws, Escape cancels."""

    DEFAULT_CSS = """
    RaffleDialog { align: center middle; }
    RaffleDialog > Vertical {
        width: 56; height: auto; padding: 1 2; border: round $accent; background: $panel;
    }
    RaffleDialog #raffle-message { height: auto; color: $text-muted; }
    RaffleDialog #raffle-message.-error { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Back", show=False)]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Raffle on the active target")
            yield Input("3", placeholder="winners", restrict=r"[0-9]*", id="raffle-winners")
            yield Input("10", placeholder="among the top K", restrict=r"[0-9]*", id="raffle-among")
            yield Input(placeholder="or: best score at least (percent)", id="raffle-above")
            yield Static(
                Text("Winners, then among the top K or a score; Enter draws."),
                id="raffle-message",
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        app = cast("KioskApp", self.app)
        winners = self.query_one("#raffle-winners", Input).value
        among = self.query_one("#raffle-among", Input).value
        above = self.query_one("#raffle-above", Input).value.strip()
        try:
            if above:
                result = app.engine.raffle(winners=int(winners or 0), above=float(above))
            else:
                result = app.engine.raffle(winners=int(winners or 0), among=int(among or 0))
        except (StaffError, ValueError) as exc:
            message = self.query_one("#raffle-message", Static)
            message.set_class(True, "-error")
            message.update(Text(f"Cannot draw: {exc}"))
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RaffleReveal(Screen[None]):
    """The winners, revealed one by one, full screen; stays until staff close it."""

    DEFAULT_CSS = """
    RaffleReveal { align: center middle; }
    RaffleReveal #reveal-box { width: 70; height: auto; border: double $accent; padding: 1 2; }
    RaffleReveal #reveal-title { text-style: bold; color: $accent; width: 100%; }
    RaffleReveal #reveal-winners { height: auto; width: 100%; }
    RaffleReveal #reveal-help { color: $text-muted; width: 100%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f12", "close", "Close", priority=True),
    ]
    HELP: ClassVar[str] = (
        "Number key: redraw that winner if they are not here.  C: check a winner's player"
        " code.  Esc: close."
    )

    def __init__(self, result: RaffleResult) -> None:
        super().__init__()
        self.result = result
        self._shown = 0

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="reveal-box"):
            yield Static(Text(self._title()), id="reveal-title")
            yield Static(id="reveal-winners")
            yield Static(Text(self.HELP), id="reveal-help")

    def _title(self) -> str:
        r = self.result
        return (
            f"Raffle {r.raffle_id} · {r.target} · {r.rule} · "
            f"{len(r.eligible)} eligible · seed {r.seed}"
        )

    def on_mount(self) -> None:
        self._step()

    def _step(self) -> None:
        """One more winner, then again, until all are shown."""
        self._shown = min(self._shown + 1, len(self.result.winners))
        self._show()
        if self._shown < len(self.result.winners):
            self.set_timer(REVEAL_STEP_S, self._step)

    def _show(self) -> None:
        lines = Text()
        for i, w in enumerate(self.result.winners[: self._shown], start=1):
            lines.append(f"{i}. ", style="bold")
            lines.append(w.nickname, style="bold")
            lines.append(f"   {w.percent:.2f}%\n")
        self.query_one("#reveal-winners", Static).update(lines)

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key == "c":
            self.app.push_screen(CodeCheckDialog(self.result), self._checked)
            return
        if key.isdigit() and 1 <= int(key) <= len(self.result.winners):
            absent = self.result.winners[int(key) - 1].nickname
            app = cast("KioskApp", self.app)
            try:
                self.result = app.engine.redraw(self.result.raffle_id, absent)
            except StaffError as exc:
                self.notify(str(exc), severity="error")
                return
            self._shown = len(self.result.winners)
            self._show()
            self.notify(f"{absent} redrawn (recorded).")

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
