"""Fair play at the booth: the human check a burst of prompts asks for, and the player
code a new nickname is given (and a returning one is asked for)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Container, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Label, Static

from kiosk.core.checks import Challenge
from kiosk.core.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.screens import dismiss_once
from kiosk.ui.widgets.bigdigits import BigDigits
from kiosk.ui.widgets.picture import Picture


class CheckScreen(ModalScreen[str | None]):
    """Six pictures (targets and distractors) in a random order: press the number of the
    one asked for. A key macro cannot replay it (the pictures, their order and the
    question change every time), and a blind guess passes one in six."""

    DEFAULT_CSS = """
    CheckScreen { align: center middle; }
    CheckScreen > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 100%; padding: 0 2;
        border: double $warning; background: $panel;
    }
    CheckScreen #check-title { text-style: bold; color: $warning; width: 100%; }
    CheckScreen #check-question { width: 100%; margin-bottom: 1; }
    CheckScreen #check-choices {
        layout: grid; grid-size: 3; grid-gutter: 0 2; grid-rows: auto;
        width: 58; height: auto;
    }
    CheckScreen .check-choice { width: 18; height: auto; }
    CheckScreen .check-picture { width: 18; }
    CheckScreen .check-number { width: 18; text-align: center; text-style: bold; }
    CheckScreen #check-help { color: $text-muted; width: 100%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, challenge: Challenge, image_class: type[Widget]) -> None:
        super().__init__()
        self.challenge = challenge
        self._image_class = image_class

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(tr(self, N_("Quick check: are you a person?")), id="check-title")
            subject = tr(self, self.challenge.subject)  # a distractor's title is translated
            question = tr(self, N_("Press the number of: {title}"), title=subject)
            yield Static(Text(question), id="check-question")
            with Container(id="check-choices"):
                for choice in self.challenge.choices:
                    with Vertical(classes="check-choice"):
                        yield Picture(self._image_class, choice.picture, classes="check-picture")
                        yield Static(Text(str(choice.number)), classes="check-number")
            yield Static(
                Text(tr(self, N_("Press 1 to {n}.  Esc: not now."), n=len(self.challenge.choices))),
                id="check-help",
            )

    def on_key(self, event: events.Key) -> None:
        if event.character and event.character.isdigit():
            event.stop()
            dismiss_once(self, event.character)

    def action_cancel(self) -> None:
        dismiss_once(self, None)


class CodeNotice(ModalScreen[None]):
    """A new player's code, five rows high, once: they need it to play again under their
    nickname (in a later sitting) and to claim a prize. Enter goes on at once; the code
    stays, small, in the result pane for the rest of the sitting."""

    DEFAULT_CSS = """
    CodeNotice { align: center middle; }
    CodeNotice > Vertical {
        width: 64; height: auto; padding: 1 2; border: double $accent; background: $panel;
    }
    CodeNotice #code-title { text-style: bold; color: $accent; width: 100%; }
    CodeNotice #code-digits { margin: 1 0; }
    CodeNotice #code-help { width: 100%; }
    CodeNotice #code-close { color: $text; text-style: bold; width: 100%; margin-top: 1; }
    """

    def __init__(self, nickname: str, code: str) -> None:
        super().__init__()
        self.nickname = nickname
        self.code = code

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(tr(self, N_("Your player code"))), id="code-title")
            with Center():
                yield BigDigits(self.code, id="code-digits")
            help_text = tr(
                self,
                N_(
                    "You need it to play again as {nick} another time, and to claim a"
                    " prize. Write it down or take a photo of it."
                ),
                nick=self.nickname,
            )
            yield Static(Text(help_text), id="code-help")
            yield Static(Text(tr(self, N_("Press Enter to go on."))), id="code-close")

    def on_key(self, event: events.Key) -> None:
        event.stop()
        if event.key in ("enter", "escape"):
            dismiss_once(self, None)
