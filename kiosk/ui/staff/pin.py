"""The staff PIN prompt: the only way into staff mode (F12 opens it)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from kiosk.core.pin import Attempt, PinGate
from kiosk.ui.screens import dismiss_once


class PinScreen(ModalScreen[bool]):
    """Asks for the staff PIN; dismissed with True for the right one, False on Escape.
    Checking a PIN takes a quarter of a second (argon2id): it runs in a thread, and the
    tries typed meanwhile wait their turn, so each one counts and is audited, in order."""

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
        self._tries: deque[str] = deque()  # typed, not checked yet
        self._turns = threading.Lock()  # guards _tries and _checking
        self._checking = False  # a worker is taking tries off _tries
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Staff PIN")
            yield Input(password=True, restrict=r"[0-9]*", max_length=16, id="pin")
            yield Static(Text("Enter the staff PIN, or Escape."), id="pin-message")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        pin = event.value
        event.input.clear()
        with self._turns:
            self._tries.append(pin)
            if self._checking:  # the running worker takes it in its turn
                return
            self._checking = True
        self._check_tries(self.app)

    @work(thread=True, group="pin", exit_on_error=False)
    def _check_tries(self, app: App[object]) -> None:
        """Check the tries one at a time, oldest first, until none is left: one worker,
        never cancelled by the next try, so no try goes unchecked or unaudited. `app` is
        taken on the event loop: once staff mode opens, this screen has none to ask."""
        try:
            while (pin := self._next_try()) is not None:
                attempt = self._gate.attempt(pin)
                self._note(attempt.outcome)  # audited: the outcome, never the PIN
                app.call_from_thread(self._answer, attempt)
        except BaseException:
            with self._turns:
                self._checking = False  # the next try starts a worker again
            raise

    def _next_try(self) -> str | None:
        with self._turns:
            if self._tries:
                return self._tries.popleft()
            self._checking = False
            return None

    def _answer(self, attempt: Attempt) -> None:
        if self._answered:  # staff mode opened, or Escape: later answers show nowhere
            return
        if attempt.ok:
            self._answered = True
            dismiss_once(self, True)
            return
        message = self.query_one("#pin-message", Static)
        message.set_class(True, "-error")
        message.update(Text(attempt.message))

    def action_cancel(self) -> None:
        if not self._answered:
            self._answered = True
            dismiss_once(self, False)
