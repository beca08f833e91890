"""Staff mode's small dialogs: a y/n question, the key list (F1) and the blocked words.

A function key pressed by mistake must not close the booth or send a raffle winner away,
so those actions ask first; and staff should never have to guess a key, so F1 lists them
all, with what each one does, straight from the bindings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from kiosk.ui.screens import dismiss_once

_KEY_NAMES = {"escape": "Esc", "enter": "Enter", "space": "Space", "tab": "Tab"}


def key_display(keys: str) -> str:
    """A binding's keys as people say them: "f12,escape" -> "F12 / Esc", "ctrl+r" -> "Ctrl+R"."""

    def one(key: str) -> str:
        parts = key.split("+")
        name = _KEY_NAMES.get(parts[-1], parts[-1].upper())
        return "+".join([*(p.capitalize() for p in parts[:-1]), name])

    return " / ".join(one(k.strip()) for k in keys.split(","))


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, meaning) for each binding: its tooltip when it has one, else its label."""
    rows = []
    for b in bindings:
        if isinstance(b, Binding):
            rows.append((key_display(b.key), b.tooltip or b.description))
    return rows


def light_field(root: DOMNode, focused: Widget) -> None:
    """Mark the labelled row (class "field") that holds `focused` with "-active", so CSS
    can light its label: Textual's :focus-within does not restyle the label itself."""
    for row in root.query(".field"):
        row.set_class(focused.parent is row, "-active")


class ConfirmDialog(ModalScreen[bool]):
    """Asks `question` (ending in "y/n"); dismissed with True on `y`, False on `n` or Esc.
    Every other key is ignored, so typing on cannot answer it by accident."""

    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: auto; max-width: 80; height: auto; padding: 1 3;
        border: thick $warning; background: $panel;
    }
    ConfirmDialog #confirm-question { width: auto; text-style: bold; }
    ConfirmDialog #confirm-help { width: auto; color: $text-muted; margin: 1 0 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", show=False),
        Binding("n,escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        answer = "y: yes     n or Esc: no, nothing happens"
        with Vertical():
            yield Static(Text(self.question), id="confirm-question")
            yield Static(
                Text(f"{self.detail}\n{answer}" if self.detail else answer), id="confirm-help"
            )

    def action_answer(self, yes: bool) -> None:
        dismiss_once(self, yes)


class KeysHelp(ModalScreen[None]):
    """Every key of a screen and what it does, in sections; F1 or Escape closes it."""

    DEFAULT_CSS = """
    KeysHelp { align: center middle; }
    KeysHelp > VerticalScroll {
        width: 96; max-height: 90%; height: auto; padding: 0 2;
        border: round $accent; background: $panel;
    }
    KeysHelp #keys-title { text-style: bold; color: $accent; margin: 1 0 0 0; }
    KeysHelp .keys-section { text-style: bold; margin: 1 0 0 0; }
    KeysHelp .keys-table { height: auto; }
    KeysHelp #keys-close { color: $text-muted; margin: 1 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1", "close", "Close", show=False, priority=True),
    ]

    def __init__(self, title: str, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.title_text = title
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(self.title_text), id="keys-title")
            for heading, rows in self.sections:
                yield Static(Text(heading), classes="keys-section")
                table = Table.grid(padding=(0, 2))
                table.add_column(width=14, no_wrap=True, style="bold")
                table.add_column(ratio=1)
                for keys, meaning in rows:
                    table.add_row(keys, meaning)
                yield Static(table, classes="keys-table")
            yield Static(Text("F1 or Esc: back to staff mode"), id="keys-close")

    def action_close(self) -> None:
        dismiss_once(self, None)


class WordsDialog(ModalScreen[str | None]):
    """One word to block, or `-word` to unblock it; Enter does it, Escape cancels."""

    DEFAULT_CSS = """
    WordsDialog { align: center middle; }
    WordsDialog > Vertical {
        width: 60; height: auto; padding: 1 2; border: round $accent; background: $panel;
    }
    WordsDialog Static { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Back", show=False)]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Blocked words")
            yield Input(placeholder="a word to block, or -word to unblock it", id="word")
            yield Static(
                Text(
                    "Prompts and nicknames with it are refused neutrally, spaced or in"
                    " leetspeak too. Kept across restarts; audited."
                )
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        dismiss_once(self, event.value.strip() or None)

    def action_cancel(self) -> None:
        dismiss_once(self, None)
