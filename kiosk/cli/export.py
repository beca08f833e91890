"""`kiosk export`: an event's results as CSV files, contact sheets and one zip.

Read-only on the data dir, so it runs alongside a running kiosk, and on an archived event
with `--data-dir`. The work is kiosk.ops.export; here are the options, the progress bar
and the listing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kiosk.cli.common import KioskExit, WholeNumber, command_with_settings
from kiosk.core.config import Settings

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from kiosk.ops.export import ExportResult


class _Bar:
    """A click progress bar on stderr for the drawings copied: opened on the first tick,
    finished on the last."""

    def __init__(self) -> None:
        self._bar: ProgressBar[int] | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None and done < total:
            bar = click.progressbar(length=total, label="copying drawings", file=sys.stderr)
            self._bar = bar
            self._bar.__enter__()
        if self._bar is not None:
            self._bar.update(done - self._bar.pos)
            if done >= total:
                self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    return f"{n / 1000:.1f} kB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"


def _listing(result: ExportResult) -> list[str]:
    lines = [f"exported to {result.out}/"]
    for f in result.files:
        if f.rows is not None:
            what = f"{f.rows} rows"
        elif f.pixels is not None:
            what = f"{f.pixels[0]}x{f.pixels[1]} px"
        else:
            what = ""
        lines.append(f"  {f.path:<36} {what:>20} {_size(f.bytes):>10}")
    missing = f", {len(result.images_missing)} missing" if result.images_missing else ""
    images = f"{result.images_copied} files{missing}"
    lines.append(f"  {'images/':<36} {images:>20} {_size(result.images_bytes):>10}")
    return lines


def _as_json(result: ExportResult) -> dict[str, Any]:
    files = []
    for f in result.files:
        entry: dict[str, Any] = {"path": str(result.out / f.path), "bytes": f.bytes}
        if f.rows is not None:
            entry["rows"] = f.rows
        if f.pixels is not None:
            entry["width"], entry["height"] = f.pixels
        files.append(entry)
    return {
        "out": str(result.out),
        "zip": str(result.zip),
        "files": files,
        "images": {
            "dir": str(result.out / "images"),
            "copied": result.images_copied,
            "bytes": result.images_bytes,
            "missing": result.images_missing,
        },
        "font": {"file": result.font, "hangul": result.hangul},
        "warnings": result.warnings,
    }


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A new (or empty) folder; default ./export-YYYYmmdd-HHMMSS.",
)
@click.option("--target", default=None, help="Only this target's board (default: every one).")
@click.option(
    "--top",
    type=WholeNumber(1, 200),
    default=12,
    show_default=True,
    help="Drawings on each contact sheet.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@command_with_settings
def export(
    settings: Settings, out: Path | None, target: str | None, top: int, as_json: bool
) -> None:
    """Write the event's results (submissions, leaderboards, audit, raffles as CSV; the
    drawings; a contact sheet per board; one zip of it all) into a new folder. Read-only
    on the data dir: safe while the kiosk runs. On a shared store ([store] url): a
    snapshot of the event, read while the booths go on."""
    from kiosk.core.api import StoreError
    from kiosk.ops.export import ExportError, export_event

    bar = None if as_json else _Bar()
    try:
        if settings.store.url:
            from kiosk.ops.shared import export_shared

            result = export_shared(settings, out=out, target=target, top=top, progress=bar)
        else:
            result = export_event(settings, out=out, target=target, top=top, progress=bar)
    except (ExportError, StoreError) as exc:
        raise KioskExit(str(exc)) from None
    except OSError as exc:
        raise KioskExit(f"cannot write the export: {exc}") from None
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        click.echo(json.dumps(_as_json(result), ensure_ascii=False))
        return
    for line in _listing(result):
        click.echo(line)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
