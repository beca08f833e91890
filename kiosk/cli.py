"""The `kiosk` command: run, demo, stats, leaderboard, models."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kiosk.config import ConfigError, Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])
EXIT_USAGE = 2


class KioskExit(click.ClickException):
    """A clear message and exit code 2, never a traceback."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"kiosk: {self.message}", err=True)


def common_options(fn: F) -> F:
    """--config, --data-dir and --profile, taken by every command."""

    @click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False),
        default=None,
        help="Config file (default: $KIOSK_CONFIG, else ./kiosk.toml).",
    )
    @click.option(
        "--data-dir",
        "data_dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Where the database and images live (overrides event.data_dir).",
    )
    @click.option(
        "--profile",
        type=click.Choice(["real", "tiny"]),
        default=None,
        help="tiny: random-weight demo models built locally (scores mean nothing).",
    )
    @functools.wraps(fn)
    def wrapper(
        *args: Any, config: str | None, data_dir: str | None, profile: str | None, **kwargs: Any
    ) -> Any:
        parent = click.get_current_context().find_root().params
        settings = _settings(
            config or parent.get("config"),
            data_dir or parent.get("data_dir"),
            profile or parent.get("profile") or "real",
        )
        return fn(settings, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _settings(config: str | None, data_dir: str | None, profile: str) -> Settings:
    try:
        return load_settings(config, data_dir=data_dir, profile=profile)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise KioskExit(str(exc)) from None


@click.group(invoke_without_command=True)
@click.option("--config", type=click.Path(dir_okay=False), default=None, hidden=True)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, hidden=True)
@click.option("--profile", type=click.Choice(["real", "tiny"]), default=None, hidden=True)
@click.version_option(package_name="ai-drawing-judge-kiosk")
@click.pass_context
def main(ctx: click.Context, config: str | None, data_dir: str | None, profile: str | None) -> None:
    """AI Drawing Judge: a booth prompt game. Without a command, runs the booth (`kiosk run`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@main.command()
@common_options
@click.option(
    "--graphics",
    type=click.Choice(["auto", "kitty", "sixel", "halfcell"]),
    default="auto",
    help="How images are drawn in the terminal.",
)
@click.option("--unlocked", is_flag=True, help="Development: allow quitting with Ctrl+Q.")
def run(settings: Settings, graphics: str, unlocked: bool) -> None:
    """Run the booth screen (the Textual app)."""
    import os

    from kiosk.graphics import detect
    from kiosk.lock import DataDirBusy
    from kiosk.models import apply_offline
    from kiosk.store import StoreError

    apply_offline(settings)
    for name in ("COLUMNS", "LINES"):  # a stale export would pin Textual to the wrong size
        os.environ.pop(name, None)
    mode = detect(graphics)  # probes the terminal: must happen before Textual owns stdin
    from kiosk.app import make_app

    try:
        app = make_app(settings, graphics=mode, unlocked=unlocked)
        # Say so here, not in a full-screen app a visitor cannot leave.
        app.engine.claim()
    except (StoreError, DataDirBusy) as exc:
        raise KioskExit(str(exc)) from None
    try:
        app.run()
    finally:
        app.stop_engine()


@main.command()
@common_options
@click.option(
    "--script",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="nickname<TAB>prompt per line (default: event.demo_script).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event per line.")
def demo(settings: Settings, script: str | None, as_json: bool) -> None:
    """Headless: finish pending jobs, play a script, print the leaderboard."""
    from kiosk.demo import ScriptError, run_demo
    from kiosk.lock import DataDirBusy
    from kiosk.models import apply_offline
    from kiosk.store import StoreError

    apply_offline(settings)
    path = Path(script) if script else settings.resolve(settings.event.demo_script)
    try:
        code = run_demo(settings, path, as_json=as_json)
    except (ScriptError, StoreError, DataDirBusy) as exc:
        raise KioskExit(str(exc)) from None
    sys.exit(code)


def _open_store(settings: Settings) -> Any:
    from kiosk.store import Store, StoreError

    db = settings.data_path / "kiosk.db"
    if not db.exists():
        return None
    try:
        return Store(db, readonly=True)
    except StoreError as exc:
        raise KioskExit(str(exc)) from None


@main.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def stats(settings: Settings, as_json: bool) -> None:
    """Players, submissions, dedup hits, pending jobs, top submitter."""
    from kiosk.store import Stats

    store = _open_store(settings)
    s = store.stats() if store else Stats(0, 0, 0, 0, None, 0)
    data = {
        "players": s.players,
        "submissions": s.submissions,
        "dedup_hits": s.dedup_hits,
        "pending_jobs": s.pending_jobs,
        "top_submitter": s.top_submitter,
        "top_submitter_count": s.top_submitter_count,
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for key, value in data.items():
        click.echo(f"{key.replace('_', ' '):>20}: {'-' if value is None else value}")


@main.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--target", default=None, help="Target id (default: the active target).")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
def leaderboard(settings: Settings, as_json: bool, target: str | None, limit: int) -> None:
    """Each player's best score, best first; ties go to who reached it first."""
    from rich.console import Console

    from kiosk.report import board_rows, board_table

    ids = [t.id for t in settings.targets]
    if target is not None and target not in ids:
        raise KioskExit(f"unknown target {target!r}; configured targets: {', '.join(ids)}")
    target = target or settings.active_target.id
    store = _open_store(settings)
    rows = store.leaderboard(target, limit) if store else []
    if as_json:
        click.echo(json.dumps(board_rows(rows), ensure_ascii=False))
        return
    Console().print(board_table(rows, f"Leaderboard - {target}"))


@main.group()
def models() -> None:
    """Fetch, check or build model weights."""


@models.command()
@common_options
def pull(settings: Settings) -> None:
    """Download the configured models into the Hugging Face cache (needs internet)."""
    from kiosk.hub import pull_models

    try:
        pull_models(settings, echo=click.echo)
    except RuntimeError as exc:
        raise KioskExit(str(exc)) from None


@models.command()
@common_options
def check(settings: Settings) -> None:
    """Say whether the configured weights are present for offline use."""
    from kiosk.hub import check_models

    results = check_models(settings)
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
    from kiosk.models import quiet_libraries
    from kiosk.tiny import build_tiny_models, judge_name, sd_dir

    quiet_libraries()
    root = build_tiny_models(Path(directory).resolve())
    click.echo(f"generator: {sd_dir(root)}\njudge:     {judge_name(root)}")
    click.echo("These models have random weights: images are noise and scores mean nothing.")
