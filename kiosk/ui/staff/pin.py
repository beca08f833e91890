"""The staff PIN prompt: the only way into staff mode (F12 opens it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from kiosk.core.pin import Attempt, PinGate


class PinScreen(ModalScreen[bool]):
    """Asks for the staff PIN; dismissed with True for the right one, False on Escape.
    Checking a PIN takes a quarter of a second (argon2id): it runs in a thread."""

    DEFAULT_CSS = """
    PinScreen { align: center middle; }
    PinScreen > Vertical {
        width: 44; height: auto; padding: 1 2;
        border: round $accent; background: $panel;
    }
    PinScreen #pin-message { color: $text-muted; height: auto; }
    PinScreen #pin-message.-error { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Back", show=False)]

    def __init__(self, gate: PinGate, note: Callable[[str], None]) -> None:
        super().__init__()
        self._gate = gate
        self._note = note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Staff PIN")
            yield Input(password=True, restrict=r"[0-9]*", max_length=16, id="pin")
            yield Static(Text("Enter the staff PIN, or Escape."), id="pin-message")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        pin = event.value
        event.input.clear()
        self._check(pin)

    @work(thread=True, exclusive=True, group="pin", exit_on_error=False)
    def _check(self, pin: str) -> None:
        was_locked = self._gate.locked_for() > 0  # then the PIN is not even checked
        attempt = self._gate.attempt(pin)
        outcome = "ok" if attempt.ok else "locked" if was_locked else "wrong"
        self._note(outcome)  # audited: the outcome, never the PIN
        self.app.call_from_thread(self._answer, attempt)

    def _answer(self, attempt: Attempt) -> None:
        if attempt.ok:
            self.dismiss(True)
            return
        message = self.query_one("#pin-message", Static)
        message.set_class(True, "-error")
        message.update(Text(attempt.message))

    def action_cancel(self) -> None:
        self.dismiss(False)
