"""Staff mode: moderate the latest drawings, tag staff, ban, switch target, pause, raffle.

Every action goes through the engine's staff actions (audited, soft); the list reloads
on engine events. Staff mode closes on F12 or Escape, and by itself after two minutes
without a key; the booth is then back as the visitor left it.

Keys that cannot misfire: actions are function keys or ctrl keys that no text field
uses for editing (ctrl+u, ctrl+k, ctrl+w, ctrl+a edit a field, so they are not staff
actions); quitting asks y/n first; F1 lists every key. Tab from the list goes to the
reason field, never to the filter first.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static
from textual.worker import get_current_worker

from kiosk.core.api import RaffleResult, Recent
from kiosk.core.commands import StaffAction, StaffCommand
from kiosk.core.policy import format_percent
from kiosk.ui.host import Booth
from kiosk.ui.screens import dismiss_once
from kiosk.ui.staff.dialogs import (
    ConfirmDialog,
    KeysHelp,
    WordsDialog,
    binding_rows,
    light_field,
)
from kiosk.ui.staff.raffle import RaffleDialog, RaffleReveal
from kiosk.ui.staff.stats import StatsScreen
from kiosk.ui.widgets.picture import Picture

IDLE_CLOSE_S = 120.0
LIST_SIZE = 200

# What each key does, as F1 tells it (the footer keeps the short labels).
_CLOSE = "Close staff mode: the booth is back as the visitor left it"
_HIDE = "Hide or show the selected drawing, with its dedup copies"
_HIDE_PLAYER = "Hide or show the selected player (their later drawings too)"
_TAG = "Tag or untag the player as staff: staff never rank or win"
_TARGET = "Switch to the next target picture"
_PAUSE = "Pause or resume drawing (prompts wait in the queue)"
_RAFFLE = "Raffle: how many, among the top K or above a score; then the reveal"
_QUIT = "Quit the kiosk (asks y/n first)"
_STATS = "The event's stats: counts, activity and scores as charts"
_REVIEW = "The review queue (drawings the safety probes held), or all drawings"
_APPROVE = "Approve a held drawing: it ranks and shows unblurred"
_PEEK = "Show a held drawing's original here, until the selection moves"
_CODE = "A new player code for the selected player"
_LIFT = "Lift the selected player's pause (wrong codes or checks)"
_WORDS = "Block a word, or -word to unblock it"
REVEAL_KEYS = [
    ("Space", "Reveal the next winner (they also come by themselves)"),
    ("1 to 9", "Redraw that winner if they are not here (asks y/n, names them)"),
    ("C", "Check a winner's player code"),
    ("Esc", "Close the reveal"),
]


class StaffScreen(Screen[None]):
    """The staff's screen over the booth."""

    DEFAULT_CSS = """
    StaffScreen #staff-state { height: 1; background: $accent 30%; padding: 0 1; }
    StaffScreen #staff-notes { height: auto; color: $warning; padding: 0 1; }
    StaffScreen #staff-left { width: 2fr; }
    StaffScreen .staff-field { height: 3; }
    StaffScreen .staff-field Label { width: 28; padding: 1 1 0 1; color: $text-muted; }
    StaffScreen .staff-field.-active Label { color: $accent; text-style: bold; }
    StaffScreen .staff-field Input { width: 1fr; }
    StaffScreen #staff-right { width: 1fr; border: round $primary; padding: 0 1; }
    StaffScreen #staff-list { height: 1fr; }
    StaffScreen #staff-detail { height: auto; }
    StaffScreen #staff-said { height: auto; color: $text-muted; }
    StaffScreen #staff-picture { width: 34; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "keys", "Keys", priority=True, tooltip="This list of every key"),
        Binding("f12,escape", "close", "Close", priority=True, tooltip=_CLOSE),
        # Function keys: they never type into the filter or reason fields.
        Binding("f2", "hide_drawing", "Hide drawing", priority=True, tooltip=_HIDE),
        Binding("f3", "hide_player", "Hide player", priority=True, tooltip=_HIDE_PLAYER),
        Binding("f4", "ban", "Ban", priority=True, tooltip="Ban or unban the player"),
        Binding("f5", "staff_tag", "Staff tag", priority=True, tooltip=_TAG),
        Binding("f6", "next_target", "Next target", priority=True, tooltip=_TARGET),
        Binding("f7", "pause", "Pause", priority=True, tooltip=_PAUSE),
        Binding("f8", "raffle", "Raffle", priority=True, tooltip=_RAFFLE),
        Binding("f9", "audit", "Audit", priority=True, tooltip="The latest staff actions"),
        Binding("f10", "quit_kiosk", "Quit kiosk", priority=True, tooltip=_QUIT),
        Binding("f11", "stats", "Stats", priority=True, tooltip=_STATS),
        # Fair play and safety: ctrl keys that no text field edits with (not ctrl+a/e/d/
        # k/u/w/x/c/v), so clearing a reason never acts on a player. In the footer only
        # the first; F1 lists them all.
        Binding("ctrl+r", "review", "Review", priority=True, tooltip=_REVIEW),
        Binding("ctrl+y", "approve", "Approve", priority=True, show=False, tooltip=_APPROVE),
        Binding("ctrl+o", "peek", "Original", priority=True, show=False, tooltip=_PEEK),
        Binding("ctrl+g", "reset_code", "New code", priority=True, show=False, tooltip=_CODE),
        Binding("ctrl+l", "unpause", "Lift pause", priority=True, show=False, tooltip=_LIFT),
        Binding("ctrl+t", "words", "Words", priority=True, show=False, tooltip=_WORDS),
    ]
    OTHER_KEYS: ClassVar[list[tuple[str, str]]] = [
        ("Up / Down", "Choose a drawing in the list"),
        ("Tab", "From the list to the reason field, then the filter, then back"),
    ]

    def __init__(self, kiosk: Booth) -> None:
        super().__init__()
        self.kiosk = kiosk
        self._rows: list[Recent] = []
        self._last_key = time.monotonic()
        self._review = False
        """Showing only the drawings the safety probes held (ctrl+r)."""
        self._peek = False

    def compose(self) -> ComposeResult:
        yield Static(id="staff-state")
        yield Static(id="staff-notes")
        with Horizontal():
            with Vertical(id="staff-left"):
                # The list sits between the two fields, so Tab from it reaches the reason.
                with Horizontal(classes="staff-field field"):
                    yield Label("Filter by nickname")
                    yield Input(placeholder="part of a nickname", id="staff-filter")
                yield DataTable(id="staff-list", cursor_type="row", zebra_stripes=True)
                with Horizontal(classes="staff-field field"):
                    yield Label("Reason for the next action")
                    yield Input(placeholder="optional; kept in the audit", id="staff-reason")
            with Vertical(id="staff-right"):
                yield Picture(
                    self.kiosk.image_class, placeholder="(no drawing selected)", id="staff-picture"
                )
                yield Static(id="staff-detail")
                yield Static(id="staff-said")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "player", "score", "when", "flags", "prompt")
        self.set_interval(5.0, self._close_when_idle)
        self.reload()
        table.focus()

    # -- the list ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="staff-list", exit_on_error=False)
    def reload(self) -> None:
        """Read the latest submissions in a thread (SQLite), then show them."""
        nickname = self.query_one("#staff-filter", Input).value.strip()
        engine = self.kiosk.engine
        rows = (
            engine.held_for_review(LIST_SIZE)
            if self._review
            else engine.recent(LIST_SIZE, nickname)
        )
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[Recent]) -> None:
        table = self.query_one(DataTable)
        keep = table.cursor_row
        chosen = self.selected()  # new drawings come in above: stay on this one
        self._rows = rows
        table.clear()
        for r in rows:
            flags = " ".join(
                word
                for word, on in (
                    ("HELD", r.held),
                    ("HIDDEN", r.hidden),
                    ("staff", r.staff),
                    ("BANNED", r.banned),
                    ("dedup", r.dedup),
                )
                if on
            )
            when = time.strftime("%H:%M:%S", time.localtime(r.created_at))
            table.add_row(
                str(r.id),
                Text(r.nickname),
                format_percent(r.percent),
                when,
                flags,
                Text(r.prompt),
            )
        if rows:
            ids = [r.id for r in rows]
            at = ids.index(chosen.id) if chosen is not None and chosen.id in ids else keep
            table.move_cursor(row=min(at, len(rows) - 1))
        self._state()
        self._detail()

    def _state(self) -> None:
        engine = self.kiosk.engine
        whole = engine.pause_scope == "event"
        scope = "whole event" if whole else "this booth"
        paused = f"  ·  DRAWING PAUSED ({scope})" if engine.paused else ""
        review = "  ·  REVIEW QUEUE (ctrl+r: all drawings)" if self._review else ""
        target = self.kiosk.settings.active_target
        self.query_one("#staff-state", Static).update(
            Text(f"STAFF MODE  ·  target: {target.id} ({target.title}){paused}{review}")
        )
        # Warnings for the operator (also in the log): here, never over a visitor's screen.
        notes = self.query_one("#staff-notes", Static)
        notes.update(Text("\n".join(f"⚠ {note}" for note in self.kiosk.operator_notes)))
        notes.display = bool(self.kiosk.operator_notes)

    def selected(self) -> Recent | None:
        table = self.query_one(DataTable)
        if not self._rows or table.cursor_row < 0:
            return None
        return self._rows[min(table.cursor_row, len(self._rows) - 1)]

    def _detail(self) -> None:
        row = self.selected()
        picture = self.query_one(Picture)
        detail = self.query_one("#staff-detail", Static)
        if row is None:
            picture.show(None)
            detail.update("")
            return
        engine = self.kiosk.engine
        peek = self._peek and row.held
        picture.show(engine.original_path(row) if peek else engine.image_path(row))
        held = ""
        if row.held:
            held = "\nHELD by the safety probe" + (f": {row.flags}" if row.flags else "")
            held += "\nctrl+o: show the original here  ctrl+y: approve  F2: hide"
        detail.update(
            Text(f"#{row.id} {row.nickname}  {format_percent(row.percent)}\n{row.prompt}{held}")
        )

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._peek = False  # the original never stays up by itself
        self._detail()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "staff-filter":
            self.reload()

    def on_key(self, _: events.Key) -> None:
        self._last_key = time.monotonic()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        light_field(self, event.widget)  # which field the next keys type into, lit

    def _close_when_idle(self) -> None:
        if time.monotonic() - self._last_key >= IDLE_CLOSE_S:
            self.action_close()

    # -- actions -------------------------------------------------------------------------

    def _do(self, action: StaffAction, subject: str) -> None:
        reason_box = self.query_one("#staff-reason", Input)
        cmd = StaffCommand(action=action, subject=subject, reason=reason_box.value.strip())
        outcome = self.kiosk.engine.staff(cmd)
        reason_box.clear()
        self._say(("" if outcome.ok else "Refused: ") + outcome.message, error=not outcome.ok)
        self.reload()

    def _say(self, message: str, *, error: bool = False) -> None:
        said = self.query_one("#staff-said", Static)
        said.update(Text(message, style="bold red" if error else ""))

    def action_hide_drawing(self) -> None:
        if row := self.selected():
            self._do("unhide-submission" if row.hidden else "hide-submission", str(row.id))

    def action_hide_player(self) -> None:
        if row := self.selected():
            self._do("unhide" if row.hidden else "hide", row.nickname)

    def action_ban(self) -> None:
        if row := self.selected():
            self._do("unban" if row.banned else "ban", row.nickname)

    def action_staff_tag(self) -> None:
        if row := self.selected():
            self._do("untag-staff" if row.staff else "tag-staff", row.nickname)

    def action_next_target(self) -> None:
        ids = [t.id for t in self.kiosk.settings.targets]
        now = self.kiosk.engine.target_id
        self._do("target", ids[(ids.index(now) + 1) % len(ids)] if now in ids else ids[0])

    def action_pause(self) -> None:
        self._do("resume" if self.kiosk.engine.paused else "pause", "")

    def action_raffle(self) -> None:
        """Choose how, draw, then reveal the winners full screen."""
        self.app.push_screen(
            RaffleDialog(self.kiosk.engine, self.kiosk.settings.active_target.title), self._reveal
        )

    def _reveal(self, result: RaffleResult | None) -> None:
        if result is None:
            return
        names = ", ".join(w.nickname for w in result.winners)
        self._say(f"Raffle {result.raffle_id} ({result.rule}; seed {result.seed}): {names}")
        titles = {t.id: t.title for t in self.kiosk.settings.targets}
        self.app.push_screen(
            RaffleReveal(result, titles.get(result.target, result.target), self.kiosk.engine)
        )

    def action_audit(self) -> None:
        rows = self.kiosk.engine.audit(12)
        lines = [
            f"{time.strftime('%H:%M:%S', time.localtime(r.at))} {r.action} {r.subject}"
            + (f" ({r.reason})" if r.reason else "")
            for r in rows
        ]
        self._say("\n".join(lines) or "No staff actions yet.")

    def action_review(self) -> None:
        """Only the drawings the safety probes held (oldest first), or every drawing."""
        self._review = not self._review
        self._peek = False
        self.reload()

    def action_approve(self) -> None:
        if (row := self.selected()) and row.held:
            self._do("approve", str(row.id))
        elif row:
            self._say("Only a held drawing needs approving.", error=True)

    def action_peek(self) -> None:
        """Show a held drawing as it is, for staff to judge (until the selection moves)."""
        row = self.selected()
        if row is None or not row.held:
            return
        self._peek = not self._peek
        self._detail()

    def action_reset_code(self) -> None:
        if row := self.selected():
            self._do("reset-code", row.nickname)

    def action_unpause(self) -> None:
        if row := self.selected():
            self._do("unpause", row.nickname)

    def action_words(self) -> None:
        """Block a word (or `-word` to unblock one): the next prompts are checked."""
        self.app.push_screen(WordsDialog(), self._word)

    def _word(self, text: str | None) -> None:
        if not text:
            return
        if text.startswith("-"):
            self._do("unblock-word", text[1:].strip())
        else:
            self._do("block-word", text.strip())

    def action_stats(self) -> None:
        self.app.push_screen(StatsScreen(self.kiosk.engine))

    def action_close(self) -> None:
        if self.app.screen is self:
            dismiss_once(self, None)

    def action_keys(self) -> None:
        """F1: every key of staff mode and what it does, read from the bindings."""
        sections = [
            ("Staff mode", [*binding_rows(self.BINDINGS), *self.OTHER_KEYS]),
            ("The raffle reveal (after F8)", REVEAL_KEYS),
        ]
        self.app.push_screen(KeysHelp("Staff keys", sections))

    def action_quit_kiosk(self) -> None:
        """F10 asks first: a slip of the finger must not close the booth."""
        question = ConfirmDialog(
            "Quit the kiosk? y/n", "Visitors cannot play until it is started again."
        )
        self.app.push_screen(question, self._quit)

    def _quit(self, yes: bool | None) -> None:
        """Quitting is a staff action: audited, then the kiosk exits."""
        if yes:
            self.kiosk.engine.note_staff("quit")
            self.app.exit()
