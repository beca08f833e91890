"""Nickname, then prompt: Enter moves on, Enter on the prompt asks for a drawing.

Keys typed in a burst (a fast typist while the screen is busy drawing a picture, a
paste, a barcode scanner) reach a field before it has handled the Enter among them, so
each field handles Enter itself, in turn with the keys before it, and hands the keys
after it to the field Enter moved the focus to.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from kiosk.core.i18n import N_
from kiosk.core.policy import PolicyError, clean_nickname
from kiosk.ui.lang import tr

HINT_NICKNAME = N_("Type your nickname, then press Enter.")
HINT_PROMPT = N_("Describe the picture in words, then press Enter to draw it.")
HINT_CODE = N_("{nick} is taken: type its player code, then Enter (or choose another nickname).")
HINT_NO_NICKNAME = N_("Please type a nickname first.")
HINT_FULL = {
    "nickname": N_("That is as long as a nickname can be: at most {max_len} characters."),
    "prompt": N_("That is as long as a prompt can be: at most {max_len} characters."),
}
LABELS = {
    "#nickname-label": N_("Nickname"),
    "#code-label": N_("Player code"),
    "#prompt-label": N_("Prompt"),
}
PLACEHOLDERS = {
    "#nickname": N_("your nickname"),
    "#code": N_("the code you were given"),
    "#prompt": N_("e.g. a duck and a swan on a pond"),
}
TYPING_MIN_KEYS = 8
"""Typing speed is judged only on prompts of at least this many typed keys."""


class FormField(Input):
    """An input of the entry form that handles Enter in turn with the keys typed before
    it (Input's own Enter binding runs later, at the app, after keys typed after it).
    It stops at its maximum length: a longer paste keeps what fits, and the form says so."""

    @dataclass
    class Full(Message):
        """The field is at its maximum length; what was typed or pasted beyond it is cut."""

        field: FormField

    def __init__(
        self,
        on_enter: Callable[[FormField], None],
        *,
        placeholder: str,
        id: str,
        max_length: int = 0,
        password: bool = False,
    ) -> None:
        super().__init__(placeholder=placeholder, id=id, max_length=max_length, password=password)
        self._enter_pressed = on_enter
        self.typed: list[float] = []
        """When each printable key of the current value arrived (a paste is not typing)."""

    def typing_cps(self) -> float | None:
        """Characters a second the current value was typed at; None: too few keys to say."""
        keys = self.typed
        if len(keys) < TYPING_MIN_KEYS:
            return None
        span = keys[-1] - keys[0]
        return float("inf") if span <= 0 else (len(keys) - 1) / span

    def on_paste(self, event: events.Paste) -> None:
        """A line longer than the room left keeps what fits (Input would drop all of it)."""
        lines = event.text.splitlines()
        if not (self.max_length and lines):
            return  # Input's own handler pastes it
        start, end = sorted(self.selection)
        room = max(self.max_length - len(self.value) + (end - start), 0)
        if len(lines[0]) > room:
            event.stop()
            event.prevent_default()
            self.replace(lines[0][:room], start, end)
            self.post_message(self.Full(self))

    def restricted(self) -> None:
        """A key beyond the maximum length: say so instead of ringing the bell."""
        if self.max_length and len(self.value) >= self.max_length:
            self.post_message(self.Full(self))

    def on_key(self, event: events.Key) -> None:
        focused = self.screen.focused
        if focused is not self and isinstance(focused, FormField):
            # Typed after an Enter that moved the focus on: it belongs to that field.
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
        elif event.key == "enter":
            event.stop()
            event.prevent_default()
            self._enter_pressed(self)
        elif event.is_printable:
            self.typed.append(time.monotonic())
        # anything else: Input's own key handler, run after this one, types it


class EntryForm(Vertical):
    """The inputs a visitor types into, and a hint line for help and refusals. Every
    text is a catalog message, said in the app's language (`relabel` after a switch)."""

    @dataclass
    class Submitted(Message):
        """The visitor pressed Enter on the prompt."""

        nickname: str
        prompt: str
        code: str | None = None
        """The player code typed for a claimed nickname (None: none typed)."""
        typing_cps: float | None = None
        """How fast the prompt was typed, in characters a second (None: too short to say)."""

    @dataclass
    class NicknameAccepted(Message):
        """Enter on the nickname (and its code, when one is asked) moved on to the prompt."""

        nickname: str

    def __init__(
        self,
        *,
        nickname_max: int,
        prompt_max: int = 300,
        needs_code: Callable[[str], bool] = lambda nickname: False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._nickname_max = nickname_max
        self._prompt_max = prompt_max
        self._needs_code = needs_code
        self._hint: tuple[str, bool, dict[str, object]] = (HINT_NICKNAME, False, {})

    def compose(self) -> ComposeResult:
        yield Label(id="nickname-label", classes="field-label")
        yield FormField(self._enter, placeholder="", id="nickname", max_length=self._nickname_max)
        yield Label(id="code-label", classes="field-label code-row")
        yield FormField(
            self._enter, placeholder="", id="code", max_length=12, password=True
        ).add_class("code-row")
        yield Label(id="prompt-label", classes="field-label")
        yield FormField(self._enter, placeholder="", id="prompt", max_length=self._prompt_max)
        yield Static(id="hint")

    def on_mount(self) -> None:
        self._show_code(False)
        self.relabel()

    def relabel(self) -> None:
        """Say every label, placeholder and the current hint in the app's language."""
        self.border_title = tr(self, N_("Play"))
        for selector, msgid in LABELS.items():
            self.query_one(selector, Label).update(Text(tr(self, msgid)))
        for selector, msgid in PLACEHOLDERS.items():
            self.query_one(selector, Input).placeholder = tr(self, msgid)
        msgid, error, params = self._hint
        self._say_hint(msgid, error, params)

    def _show_code(self, show: bool) -> None:
        for row in self.query(".code-row"):
            row.display = show

    def ask_code(self, msgid: str, **params: object) -> None:
        """A claimed nickname: show the code field, empty, with the focus in it."""
        self._show_code(True)
        code = self.query_one("#code", Input)
        code.clear()
        self._say_hint(msgid, True, params)
        self.screen.set_focus(code)

    def on_form_field_full(self, message: FormField.Full) -> None:
        message.stop()
        self._say_full(message.field)

    def on_input_changed(self, message: Input.Changed) -> None:
        field = message.input
        limit = field.max_length or 0
        if isinstance(field, FormField) and 0 < limit <= len(field.value):
            self._say_full(field)

    def _say_full(self, field: FormField) -> None:
        if field.id in HINT_FULL:
            self.hint(HINT_FULL[field.id], error=True, max_len=field.max_length)

    @property
    def nickname(self) -> str:
        return self.query_one("#nickname", Input).value

    @property
    def has_text(self) -> bool:
        """Something is typed in the form (a visitor started and may have walked away)."""
        return any(field.value for field in self.query(FormField))

    def focus_nickname(self) -> None:
        """Focus the nickname now (`focus()` would wait for the app: keys typed right after
        Ctrl+N must land in it)."""
        self.screen.set_focus(self.query_one("#nickname", Input))

    def hint(self, msgid: str, *, error: bool = False, **params: object) -> None:
        """Say a catalog message under the inputs (plain text; an error is shown as one)."""
        self._say_hint(msgid, error, params)

    def _say_hint(self, msgid: str, error: bool, params: dict[str, object]) -> None:
        self._hint = (msgid, error, params)
        hint = self.query_one("#hint", Static)
        hint.set_class(error, "-error")
        hint.update(Text(tr(self, msgid, **params)))

    def say(self, exc: PolicyError) -> None:
        """A refusal from the engine, in the visitor's language."""
        self.hint(exc.msgid, error=True, **exc.params)

    def clear(self) -> None:
        """Forget the player: the inputs empty, focus on the nickname."""
        for field in self.query(FormField):
            field.clear()
            field.typed.clear()
        self._show_code(False)
        self.hint(HINT_NICKNAME)
        self.focus_nickname()

    def code_accepted(self) -> None:
        """The code played: the sitting keeps it, the field goes."""
        self.query_one("#code", FormField).clear()
        self._show_code(False)

    def accepted(self, msgid: str, **params: object) -> None:
        """The prompt was taken (the field was emptied when Enter was pressed)."""
        self._say_hint(msgid, False, params)

    def refused(self, prompt: str, msgid: str, **params: object) -> None:
        """The prompt was not taken: say why and give it back, unless the visitor has
        already typed something new into the field."""
        self._say_hint(msgid, True, params)
        field = self.query_one("#prompt", Input)
        if not field.value:
            field.value = prompt
            field.cursor_position = len(prompt)

    def _enter(self, field: FormField) -> None:
        """Enter on the nickname checks it and moves to the prompt; Enter on the prompt
        empties the field at once (for the next prompt) and asks for a drawing. Focus
        moves at once (`focus()` would wait for the app): the next key must find it."""
        nickname = self.query_one("#nickname", FormField)
        code = self.query_one("#code", FormField)
        prompt = self.query_one("#prompt", FormField)
        if field is nickname:
            try:
                nick = clean_nickname(nickname.value, self._nickname_max)
            except PolicyError as exc:
                self.say(exc)
                return
            if self._needs_code(nick):
                self.ask_code(HINT_CODE, nick=nick)
                return
            self._show_code(False)
            code.clear()
            self._to_prompt(nick)
        elif field is code:
            self._to_prompt(nickname.value)
        elif not nickname.value.strip():
            self.hint(HINT_NO_NICKNAME, error=True)
            self.screen.set_focus(nickname)
        else:
            text, cps = prompt.value, prompt.typing_cps()
            prompt.clear()
            prompt.typed.clear()
            given = code.value.strip() if code.display and code.value.strip() else None
            self.post_message(self.Submitted(nickname.value, text, given, cps))

    def _to_prompt(self, nickname: str) -> None:
        self.hint(HINT_PROMPT)
        self.screen.set_focus(self.query_one("#prompt", FormField))
        self.post_message(self.NicknameAccepted(nickname))
