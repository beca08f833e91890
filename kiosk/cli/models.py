"""`kiosk models pull|check|tiny`: the weights, before the event and offline."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kiosk.cli.common import EXIT_USAGE, KioskExit, command_with_settings
from kiosk.core.config import Settings


@click.group()
def models() -> None:
    """Fetch, check or build model weights."""


@models.command()
@command_with_settings
def pull(settings: Settings) -> None:
    """Download the configured models into the Hugging Face cache (needs internet)."""
    from kiosk.ml.hub import pull_models

    try:
        pull_models(settings.generator, settings.judge, echo=click.echo)
    except RuntimeError as exc:
        raise KioskExit(str(exc)) from None


@models.command()
@command_with_settings
def check(settings: Settings) -> None:
    """Say whether the configured weights are present for offline use."""
    from kiosk.ml.hub import check_models

    results = check_models(settings.generator, settings.judge)
    for what, name, ok, hint in results:
        mark = "ok     " if ok else "MISSING"
        click.echo(f"{mark} {what}: {name}" + ("" if ok else f"  ({hint})"))
    if not all(ok for _, _, ok, _ in results):
        click.echo(
            "Fetch them with `kiosk models pull` (needs internet), or use --profile tiny.", err=True
        )
        sys.exit(EXIT_USAGE)


@models.command()
@click.argument("directory", type=click.Path(file_okay=False))
def tiny(directory: str) -> None:
    """Build tiny random-weight models into DIRECTORY (offline; outputs are meaningless)."""
    from kiosk.ml.models import quiet_libraries
    from kiosk.ml.tiny import build_tiny_models, judge_name, sd_dir

    quiet_libraries()
    root = build_tiny_models(Path(directory).resolve())
    click.echo(f"generator: {sd_dir(root)}\njudge:     {judge_name(root)}")
    click.echo("These models have random weights: images are noise and scores mean nothing.")
