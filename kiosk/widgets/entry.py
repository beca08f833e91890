"""Nickname, then prompt: Enter moves on, Enter on the prompt asks for a drawing."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from kiosk.policy import PolicyError, clean_field

HINT_NICKNAME = "Type your nickname, then press Enter."
HINT_PROMPT = "Describe the picture in words, then press Enter to draw it."


class EntryForm(Vertical):
    """The two inputs a visitor types into, and a hint line for help and refusals."""

    @dataclass
    class Submitted(Message):
        """The visitor pressed Enter on the prompt."""

        nickname: str
        prompt: str

    def __init__(self, *, nickname_max: int, id: str | None = None) -> None:
        super().__init__(id=id)
        self._nickname_max = nickname_max
        self.border_title = "Play"

    def compose(self) -> ComposeResult:
        yield Label("Nickname", classes="field-label")
        yield Input(placeholder="your nickname", id="nickname")
        yield Label("Prompt", classes="field-label")
        yield Input(placeholder="e.g. a duck and a swan on a pond", id="prompt")
        yield Static(Text(HINT_NICKNAME), id="hint")

    @property
    def nickname(self) -> str:
        return self.query_one("#nickname", Input).value

    def focus_nickname(self) -> None:
        self.query_one("#nickname", Input).focus()

    def hint(self, message: str, *, error: bool = False) -> None:
        """Say something under the inputs (plain text; an error is shown as one)."""
        hint = self.query_one("#hint", Static)
        hint.set_class(error, "-error")
        hint.update(Text(message))

    def clear(self) -> None:
        """Forget the player: both inputs empty, focus on the nickname."""
        self.query_one("#nickname", Input).clear()
        self.query_one("#prompt", Input).clear()
        self.hint(HINT_NICKNAME)
        self.focus_nickname()

    def accepted(self, message: str) -> None:
        """The prompt was taken: clear it for the next one, keep the nickname."""
        self.query_one("#prompt", Input).clear()
        self.hint(message)

    @on(Input.Submitted, "#nickname")
    def _nickname_entered(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            clean_field(event.value, what="nickname", max_len=self._nickname_max)
        except PolicyError as exc:
            self.hint(str(exc), error=True)
            return
        self.hint(HINT_PROMPT)
        self.query_one("#prompt", Input).focus()

    @on(Input.Submitted, "#prompt")
    def _prompt_entered(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.nickname.strip():
            self.hint("Please type a nickname first.", error=True)
            self.focus_nickname()
            return
        self.post_message(self.Submitted(self.nickname, event.value))
