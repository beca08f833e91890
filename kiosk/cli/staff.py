"""`kiosk staff ...`, `kiosk raffle` and `kiosk audit`: staff actions without the booth.

Actions that write take the data dir's lock, so while a kiosk runs on it they say so
and name it (staff then use the booth's staff mode); reads (the audit, a replay) work
alongside. The rules are the engine's own (kiosk.engine.desk).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from kiosk.cli.common import DecimalNumber, KioskExit, WholeNumber, command_with_settings
from kiosk.core.api import RaffleResult
from kiosk.core.commands import ACTIONS, StaffAction, StaffCommand, StaffError
from kiosk.core.config import Settings
from kiosk.engine.desk import StaffDesk


@contextmanager
def desk_for(settings: Settings, *, write: bool) -> Iterator[StaffDesk]:
    """A StaffDesk on the data dir's database; `write` holds the data-dir lock."""
    from kiosk.core.api import StoreError
    from kiosk.storage.lock import DataDirBusy, DataDirLock
    from kiosk.storage.store import open_store

    lock = DataDirLock(settings.data_path)
    try:
        if write:
            lock.acquire()
        store = open_store(
            settings.store.url,
            settings.data_path / "kiosk.db",
            readonly=not write,
            booth=settings.event.booth,
        )
    except DataDirBusy as exc:
        raise KioskExit(f"{exc}\n  Use the booth's staff mode (F12) while it runs.") from None
    except StoreError as exc:
        lock.release()
        raise KioskExit(str(exc)) from None
    try:
        if write:
            store.meta.sync_targets(
                [(t.id, t.title, str(settings.target_image(t))) for t in settings.targets]
            )
        desk = StaffDesk(store, settings)
        if write:  # a name added to [staff] nicknames never wins a raffle drawn here
            desk.apply_staff_nicknames()
        yield desk
    finally:
        store.close()
        lock.release()


@click.group()
def staff() -> None:
    """Staff actions: hide, ban, tag staff, switch target, pause (this booth or the whole
    event), adopt a dead booth's jobs; set the PIN."""


def _action_command(action: StaffAction) -> click.Command:
    argument = ACTIONS[action].subject

    def body(settings: Settings, reason: str, **args: Any) -> None:
        subject = str(args.get(argument, "") or "")
        with desk_for(settings, write=True) as desk:
            outcome = desk.run(StaffCommand(action=action, subject=subject, reason=reason))
        click.echo(("ok: " if outcome.ok else "refused: ") + outcome.message)
        if not outcome.ok:
            sys.exit(1)

    fn: Callable[..., Any] = command_with_settings(body)
    fn = click.option("--reason", default="", help="Why (recorded in the audit).")(fn)
    if argument:
        number = argument == "submission_id"  # an id SQLite can hold, in ASCII digits
        fn = click.argument(argument, type=WholeNumber(1) if number else None)(fn)
    return click.command(name=action, help=ACTIONS[action].help)(fn)


for _action in ACTIONS:
    staff.add_command(_action_command(_action))


@staff.command("set-pin")
@command_with_settings
def set_pin(settings: Settings) -> None:
    """Set the staff PIN (6+ digits): asked twice on a terminal, or read once from
    standard input. Only its argon2id hash is stored, in [staff] pin_hash; the config
    is then readable by its owner only (0600)."""
    from kiosk.core.pin import MIN_DIGITS, PinError, check_pin_format, hash_pin, write_pin_hash

    try:
        if sys.stdin.isatty():
            pin = click.prompt(
                f"New staff PIN ({MIN_DIGITS}+ digits)", hide_input=True, confirmation_prompt=True
            )
        else:
            pin = sys.stdin.readline()
        write_pin_hash(settings.source, hash_pin(check_pin_format(pin)))
    except PinError as exc:
        raise KioskExit(str(exc)) from None
    click.echo(f"Staff PIN set (its hash is in [staff] pin_hash of {settings.source}).")


def _raffle_json(result: RaffleResult, **extra: Any) -> dict[str, Any]:
    return {
        "event": "raffle",
        "raffle_id": result.raffle_id,
        "target": result.target,
        "rule": result.rule,
        "seed": result.seed,
        "eligible": len(result.eligible),
        "winners": [w.nickname for w in result.winners],
        **extra,
    }


@click.command()
@click.option("--target", default=None, help="Target id (default: the active target).")
@click.option("--winners", type=WholeNumber(1, 1000), default=None, help="How many win.")
@click.option("--among", type=WholeNumber(1), default=None, help="Among the top K players.")
@click.option("--above", type=DecimalNumber(0, 100), default=None, help="Best >= PERCENT.")
@click.option(
    "--seed",
    type=WholeNumber(0),
    default=None,
    help="Seed, of a draw or a redraw (default: chosen now).",
)
@click.option(
    "--replay", type=WholeNumber(1), default=None, help="Draw a recorded raffle again by id."
)
@click.option(
    "--redraw", type=WholeNumber(1), default=None, help="Raffle id: replace a winner not there."
)
@click.option("--absent", default=None, help="With --redraw: the winner who is not there.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@command_with_settings
def raffle(
    settings: Settings,
    target: str | None,
    winners: int | None,
    among: int | None,
    above: float | None,
    seed: int | None,
    replay: int | None,
    redraw: int | None,
    absent: str | None,
    as_json: bool,
) -> None:
    """Draw winners among a target's eligible players (not hidden, staff or banned)."""
    try:
        if redraw is not None:
            if not absent:
                raise StaffError("say who is not there: --absent NICKNAME")
            with desk_for(settings, write=True) as desk:
                result = desk.redraw(redraw, absent, seed=seed)
            extra: dict[str, Any] = {"redraw": True, "absent": absent}
        elif replay is not None:
            with desk_for(settings, write=False) as desk:
                result, same = desk.replay(replay)
            extra = {"replay": True, "same_winners": same}
        else:
            if winners is None:
                raise StaffError("say how many win: --winners N")
            with desk_for(settings, write=True) as desk:
                result = desk.raffle(
                    target=target, winners=winners, among=among, above=above, seed=seed
                )
            extra = {}
    except StaffError as exc:
        raise KioskExit(str(exc)) from None
    if as_json:
        click.echo(json.dumps(_raffle_json(result, **extra), ensure_ascii=False))
        return
    click.echo(
        f"raffle {result.raffle_id} on {result.target} ({result.rule}), seed {result.seed},"
        f" {len(result.eligible)} eligible"
        + (" - replayed, same winners" if extra.get("same_winners") else "")
    )
    for i, w in enumerate(result.winners, start=1):
        click.echo(f"  {i}. {w.nickname}  {w.percent:.2f}%")


@click.command()
@click.option("--limit", type=WholeNumber(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@command_with_settings
def audit(settings: Settings, limit: int, as_json: bool) -> None:
    """Staff actions, newest first (with the booth where each was taken)."""
    import time

    if not settings.store.url and not (settings.data_path / "kiosk.db").exists():
        rows = []
    else:
        with desk_for(settings, write=False) as desk:
            rows = desk.store.moderation.audit_log(limit)
    if as_json:
        data = [
            {
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "subject": r.subject,
                "reason": r.reason,
                "booth": r.booth,
            }
            for r in rows
        ]
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.at))
        why = f"  ({r.reason})" if r.reason else ""
        where = f"  [at {r.booth}]" if r.booth else ""
        click.echo(f"{when}  {r.actor:<7} {r.action:<18} {r.subject}{why}{where}")
