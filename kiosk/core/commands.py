"""Staff commands: every action staff can take, named once, read one way.

Commands are written as the words after `kiosk staff` (`hide bo --reason spam`, `target
swan`, `pause`), so a demo script's `!` lines, the command line and the booth's staff
mode mean the same thing. `StaffAction` is a Literal: mypy catches a misspelt action
wherever one is written, and `ACTIONS` is the one table of what each takes and does.
The rules that carry them out are the engine's staff desk (kiosk.engine.desk).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal, get_args

from kiosk.core.config import Settings
from kiosk.core.numbers import whole_number

StaffAction = Literal[
    "hide",
    "unhide",
    "ban",
    "unban",
    "tag-staff",
    "untag-staff",
    "reset-code",
    "unpause",
    "hide-submission",
    "unhide-submission",
    "approve",
    "block-word",
    "unblock-word",
    "target",
    "pause",
    "resume",
    "pause-all",
    "resume-all",
    "adopt",
]
Subject = Literal["nickname", "submission_id", "word", "target_id", "booth", ""]


@dataclass(frozen=True)
class ActionSpec:
    """What an action takes (its one argument, "" for none) and what it does."""

    subject: Subject
    help: str


ACTIONS: dict[StaffAction, ActionSpec] = {
    "hide": ActionSpec(
        "nickname", "Hide a player's drawings (and later ones) from every public screen."
    ),
    "unhide": ActionSpec("nickname", "Show a hidden player's drawings again."),
    "ban": ActionSpec(
        "nickname", "Refuse a nickname's next prompts (its drawings stay); works before it plays."
    ),
    "unban": ActionSpec("nickname", "Let a banned nickname play again."),
    "tag-staff": ActionSpec(
        "nickname", "Mark a nickname as staff: plays, never ranks, never wins."
    ),
    "untag-staff": ActionSpec("nickname", "Remove the staff mark from a nickname."),
    "reset-code": ActionSpec(
        "nickname", "Give a player a new player code (they forgot theirs); prints it."
    ),
    "unpause": ActionSpec(
        "nickname", "Let a player paused after failed human checks or wrong codes play again."
    ),
    "hide-submission": ActionSpec("submission_id", "Hide one drawing (and its dedup copies)."),
    "unhide-submission": ActionSpec("submission_id", "Show a hidden drawing again."),
    "approve": ActionSpec(
        "submission_id", "Approve a drawing the safety probes held: it ranks, unblurred."
    ),
    "block-word": ActionSpec(
        "word", "Refuse prompts and nicknames with this word (kept across restarts)."
    ),
    "unblock-word": ActionSpec("word", "Stop refusing a word (one of the shipped list too)."),
    "target": ActionSpec("target_id", "Switch the active target (each target keeps its board)."),
    "pause": ActionSpec(
        "", "Pause drawing at this booth: prompts are still saved, drawn on resume."
    ),
    "resume": ActionSpec("", "Resume drawing at this booth."),
    "pause-all": ActionSpec(
        "", "Pause drawing at every booth of the event (each booth's own pause stays)."
    ),
    "resume-all": ActionSpec("", "Lift the event-wide pause (a booth paused on its own stays)."),
    "adopt": ActionSpec(
        "booth", "Hand a dead booth's pending jobs to this booth, which draws them."
    ),
}
assert set(ACTIONS) == set(get_args(StaffAction))

TARGET_KEY, EVENT_PAUSED_KEY, WORDS_KEY = "event.target", "event.paused", "words.version"
"""The store's meta keys for what staff set: the active target, the event-wide pause, the
words' version (bumped on each change, so every booth reloads its list)."""

PauseScope = Literal["", "booth", "event"]
"""Why drawing is paused here: not ("") , this booth's own pause, or the whole event's
(which wins when both hold)."""


OLD_PAUSED_KEY = "engine.paused"
"""The pause as kiosks before booths kept it (one per store): read as this booth's own
until this booth's pause is set or lifted."""


def booth_paused_key(booth: str) -> str:
    """The meta key of one booth's own pause."""
    return f"engine.paused:{booth}"


@dataclass(frozen=True, kw_only=True)
class StaffCommand:
    """One staff action: what, on whom (a nickname, a submission id, a target id), why."""

    action: StaffAction
    subject: str = ""
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class StaffOutcome:
    """What a staff action did, in words for the operator."""

    action: StaffAction
    subject: str
    ok: bool
    message: str


class StaffError(ValueError):
    """A staff command that cannot be understood or carried out; the message says why."""


def submission_id(action: str, text: str) -> int:
    """A submission id as staff typed it: ASCII digits SQLite can hold ('²', '١' or 20
    digits is a StaffError that says so, never a crash)."""
    try:
        return whole_number(text, 1)
    except ValueError:
        raise StaffError(f"`{action}` takes a submission id (a number), got {text!r}") from None


def parse_command(text: str) -> StaffCommand:
    """`hide bo --reason spam` -> StaffCommand; raises StaffError with the usage."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise StaffError(f"cannot read {text!r}: {exc}") from None
    reason = ""
    if "--reason" in words:
        at = words.index("--reason")
        reason = " ".join(words[at + 1 :])
        words = words[:at]
    if not words or words[0] not in ACTIONS:
        raise StaffError(f"unknown staff action {text!r}; one of: {', '.join(ACTIONS)}")
    action, args = words[0], words[1:]
    takes = ACTIONS[action].subject
    if len(args) != (1 if takes else 0):
        what = {"nickname": "a nickname", "word": "a word", "booth": "a booth name"}.get(
            takes, "an id"
        )
        raise StaffError(f"`{action}` takes {what if takes else 'nothing'}: got {args}")
    return StaffCommand(action=action, subject=args[0] if args else "", reason=reason)


def chosen_target(chosen: str | None, settings: Settings) -> str:
    """`chosen` (what staff switched to, kept in meta) if still configured, else the
    config's target."""
    ids = [t.id for t in settings.targets]
    return chosen if chosen in ids else settings.active_target.id
