"""What every `kiosk` command shares: --config, --data-dir and --profile in click's
context object, the settings they make, numbers as typed, and errors as one clear line."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import click

from kiosk.core.api import StoreError
from kiosk.core.config import ConfigError, Settings, load_settings
from kiosk.core.numbers import INTEGER_MAX, decimal_number, whole_number
from kiosk.storage.lock import DataDirBusy

F = TypeVar("F", bound=Callable[..., Any])
EXIT_USAGE = 2
CLEAR_ERRORS = (ConfigError, StoreError, DataDirBusy)
"""What a command may meet that says itself in a sentence (a config or word list that
cannot be read, a database or data dir that cannot be used, another kiosk on the data
dir): said as a KioskExit by every command, whichever forgot to catch it."""


class KioskExit(click.ClickException):
    """A clear message and exit code 2, never a traceback."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"kiosk: {self.message}", err=True)


class WholeNumber(click.IntRange):
    """An integer option or argument in ASCII digits from `low` to `high` (default: the
    largest SQLite stores), so '²', '1_000' or a 20-digit id is a usage error (exit 2)
    and never reaches the database as an OverflowError."""

    def __init__(self, low: int, high: int | None = None) -> None:
        super().__init__(low, high)  # help shows the range: "x>=1" or "1<=x<=1000"
        self.low, self.high = low, INTEGER_MAX if high is None else high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            try:
                value = whole_number(value, self.low, self.high)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        return super().convert(value, param, ctx)


class DecimalNumber(click.FloatRange):
    """A number option in ASCII digits from `low` to `high`: 'nan', '1e999' or '٣' is a
    usage error (exit 2)."""

    def __init__(self, low: float, high: float) -> None:
        super().__init__(low, high)
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            try:
                value = decimal_number(value, self.low, self.high)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        return super().convert(value, param, ctx)


@dataclass
class Common:
    """The shared options, gathered from the group and the command (the command's win)."""

    config: str | None = None
    data_dir: str | None = None
    profile: Literal["real", "tiny"] = "real"

    def settings(self) -> Settings:
        """Read and validate the config these options name; a bad one is a KioskExit."""
        try:
            return self.load()
        except ConfigError as exc:
            raise KioskExit(str(exc)) from None

    def load(self) -> Settings:
        """The settings with the profile applied (raises ConfigError)."""
        settings = load_settings(self.config, data_dir=self.data_dir)
        if self.profile == "tiny":
            from kiosk.ml.tiny import with_tiny_models

            return with_tiny_models(settings)
        return settings


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Option callback: keep a given value in the context object shared by all commands."""
    if value is not None and param.name is not None:
        setattr(ctx.ensure_object(Common), param.name, value)


OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (
        ("--config",),
        {
            "type": click.Path(dir_okay=False),
            "help": "Config file (default: $KIOSK_CONFIG, else ./kiosk.toml).",
        },
    ),
    (
        ("--data-dir", "data_dir"),
        {
            "type": click.Path(file_okay=False),
            "help": "Where the database and images live (overrides event.data_dir).",
        },
    ),
    (
        ("--profile",),
        {
            "type": click.Choice(["real", "tiny"]),
            "help": "tiny: random-weight demo models built locally (scores mean nothing).",
        },
    ),
]


def common_options(fn: F) -> F:
    """--config, --data-dir and --profile, for the group and every command. Their values go
    to the `Common` context object (shared with subcommands), not to the function."""
    for decls, extra in reversed(OPTIONS):
        fn = click.option(*decls, expose_value=False, callback=_remember, **extra)(fn)
    return fn


def pass_settings(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Call the command with the Settings its shared options name, as first argument; the
    errors that say themselves (CLEAR_ERRORS) end it as a KioskExit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        common = click.get_current_context().ensure_object(Common)
        try:
            return fn(common.settings(), *args, **kwargs)
        except CLEAR_ERRORS as exc:
            raise KioskExit(str(exc)) from None

    return wrapper


def command_with_settings(fn: F) -> F:
    """A command body that takes Settings first, with the shared options."""
    return cast(F, common_options(pass_settings(fn)))
