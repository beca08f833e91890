"""`kiosk doctor` (the checklist before doors open) and the pre-flight `kiosk run` does.

The checks live in kiosk/ops/doctor.py; this module gathers what only the command line
knows (its options, the terminal and the graphics it would use) and prints the lines.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from collections.abc import Sequence

import click

from kiosk.cli.common import Common, KioskExit, common_options
from kiosk.core.config import Settings
from kiosk.ops.checks import CheckResult, exit_code, report
from kiosk.ops.doctor import check_config, check_terminal, machine_checks, quick_checks, site_checks
from kiosk.ops.doctor_models import model_checks

MARKS = {"pass": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "red")}
GRAPHICS = ("auto", "kitty", "sixel", "halfcell")


class PreflightFailed(KioskExit):
    """A check failed before the booth started: which one and its fix, exit code 1."""

    exit_code = 1


def terminal_size() -> tuple[int, int] | None:
    """(columns, rows) of the terminal on standard output; None when it is not one."""
    stdout = sys.__stdout__
    try:
        if stdout is None or not stdout.isatty():
            return None
        size = os.get_terminal_size(stdout.fileno())
    except (OSError, ValueError):
        return None
    return size.columns, size.lines


def terminal_check(mode: str | None) -> CheckResult:
    """The terminal line: its size against the booth's least, and the graphics mode."""
    from kiosk.ui.screens.too_small import MIN_COLUMNS, MIN_ROWS

    return check_terminal(terminal_size(), mode, (MIN_COLUMNS, MIN_ROWS))


def gather(common: Common, graphics: str) -> list[CheckResult]:
    """Every check, in the order an operator fixes things; a broken config is a line."""
    (config, *pictures), settings = check_config(common.config, common.data_dir, common.profile)
    results = [*machine_checks(), config, *model_checks(settings), *pictures]
    if settings is not None:  # beside a running booth: its data-dir lock is expected
        results += site_checks(settings, now=time.time(), beside=True)
    mode = None
    if terminal_size() is not None:
        from kiosk.ui.graphics import detect

        mode = detect(graphics)  # probes the terminal, as `kiosk run` would
    return [*results, terminal_check(mode)]


def render(results: Sequence[CheckResult], columns: int | None = None) -> str:
    """One line per check (mark, name, what was seen), its fix below when it did not pass;
    wrapped to `columns` with a hanging indent (None: not wrapped, for grep and pipes)."""
    width = max(len(r.name) for r in results)
    indent = " " * (width + 4)

    def fill(text: str, first: str) -> str:
        if columns is None:
            return first + text
        return textwrap.fill(
            text, max(columns - 1, 40), initial_indent=first, subsequent_indent=indent
        )

    lines = []
    for r in results:
        mark, colour = MARKS[r.status]
        text = fill(r.detail, f"  {r.name:<{width}}  ")[1:]
        lines.append(click.style(mark, fg=colour, bold=True) + text)
        if r.status != "pass" and r.fix:
            lines.append(fill(f"fix: {r.fix}", indent))
        if r.note:
            lines.append(fill(f"note: {r.note}", indent))
    counts = report(results)["summary"]
    lines.append(
        f"\n{len(results)} checks: {counts['pass']} passed, {counts['warn']} warned,"
        f" {counts['fail']} failed"
    )
    return "\n".join(lines)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--graphics",
    type=click.Choice(GRAPHICS),
    default="auto",
    help="The graphics `kiosk run --graphics` would be given.",
)
@common_options
def doctor(as_json: bool, graphics: str) -> None:
    """Check this machine before doors open: pass / warn / fail, each with its fix.

    Exit code 0 when nothing fails (warnings allowed), 1 otherwise.
    """
    common = click.get_current_context().ensure_object(Common)
    results = gather(common, graphics)
    if as_json:
        click.echo(json.dumps(report(results), ensure_ascii=False))
    else:
        size = terminal_size()
        click.echo(render(results, size[0] if size else None))
    sys.exit(exit_code(results))


def preflight(settings: Settings) -> None:
    """The quick checks, before `kiosk run` probes the terminal and loads any model: a
    failed one stops the booth with its name and fix (PreflightFailed, exit code 1)."""
    _stop_on_failure(quick_checks(settings, now=time.time()))


def preflight_terminal(mode: str) -> None:
    """The terminal line, once the screen side has picked the graphics."""
    _stop_on_failure([terminal_check(mode)])


def _stop_on_failure(results: Sequence[CheckResult]) -> None:
    """Warnings on one line each; failures raised together, each with its fix."""
    for r in results:
        if r.status == "warn":
            click.echo(f"kiosk: warning: {r.name}: {r.detail}", err=True)
    failures = [f"{r.name}: {r.detail}\n  fix: {r.fix}" for r in results if r.status == "fail"]
    if failures:
        raise PreflightFailed(
            "check failed: "
            + "\ncheck failed: ".join(failures)
            + "\n  (`kiosk doctor` runs every check)"
        )
