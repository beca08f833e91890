"""`kiosk export`: an event's results as files, from a snapshot, alongside a running kiosk.

Writes submissions.csv, leaderboard-<target>.csv, audit.csv, raffles.csv, the drawings
(images/), contact-sheet-<target>.png and one zip of it all into a new folder. Nothing in
the data dir changes: the database is read through a snapshot (kiosk.storage.export) and
the drawings are only read. The folder is built under a temporary name and renamed when
complete, so a failed export leaves no half-written folder behind.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass, field, fields
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from kiosk.core.api import BoardRow
from kiosk.core.config import Settings
from kiosk.core.policy import player_key, sanitise
from kiosk.ops.sheet import Fonts, contact_sheet, find_fonts
from kiosk.storage.export import Snapshot, Table, snapshot

Progress = Callable[[int, int], None]
"""Told (done, total) as drawings are copied: first (0, total), then after each one."""

# A spreadsheet runs a text cell starting with one of these as a formula; visitors type
# nicknames and prompts, so such cells get a leading apostrophe (OWASP "CSV injection").
PICTURES = (".png", ".jpg", ".jpeg", ".webp")
"""Suffixes of files zipped as they are (compressed already)."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TIME_COLUMNS = ("created_at", "at", "reached_at")


class ExportError(Exception):
    """The export cannot be made; the message says why, and nothing was written."""


@dataclass(frozen=True)
class Written:
    """One file of the export: its path in the folder, size, and rows or pixels."""

    path: str
    bytes: int
    rows: int | None = None
    pixels: tuple[int, int] | None = None


@dataclass
class ExportResult:
    """What an export wrote, for the listing and `--json`."""

    out: Path
    zip: Path
    files: list[Written] = field(default_factory=list)
    images_copied: int = 0
    images_bytes: int = 0
    images_missing: list[str] = field(default_factory=list)
    font: str | None = None
    hangul: bool = False
    warnings: list[str] = field(default_factory=list)


def default_out(now: datetime) -> Path:
    """export-YYYYmmdd-HHMMSS in the current directory."""
    return Path.cwd() / f"export-{now:%Y%m%d-%H%M%S}"


def export_event(
    settings: Settings,
    *,
    out: Path | None = None,
    target: str | None = None,
    top: int = 12,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Export the data dir's event into `out` (default: a new export-<time> folder)."""
    now = now or datetime.now()
    data = settings.data_path.resolve()
    db = data / "kiosk.db"
    if not db.is_file():
        raise ExportError(
            f"no database in {data} yet: nothing to export (an archived event: name its"
            " folder with --data-dir)"
        )
    out = _check_out((out or default_out(now)).expanduser().resolve(), data)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        # The snapshot goes beside the export (where the space is), not in it.
        copy = work / ".snapshot.db"
        snapshot(db, copy)
        with Snapshot(copy) as snap:
            result = _write_all(settings, snap, work, target, top, progress, now)
        copy.unlink()
        result.files.append(_zip(work, result.zip, result.zip.stem))
        if out.exists():
            out.rmdir()  # checked empty above
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    result.out = out
    result.zip = out / result.zip.name
    return result


def _check_out(out: Path, data: Path) -> Path:
    if out == data or data in out.parents:
        raise ExportError(f"--out {out} is inside the data dir {data}; choose a folder outside")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"--out {out} already exists and is not empty; choose a new folder")
    return out


def targets_of(settings: Settings, snap: Snapshot, only: str | None) -> list[tuple[str, str]]:
    """(id, title) of the boards to export: the configured targets, then any other the
    event recorded (an archived event may have had others); `only` picks one."""
    found = [(t.id, t.title) for t in settings.targets]
    found += [t for t in snap.targets() if t[0] not in {i for i, _ in found}]
    if only is None:
        return found
    picked = [t for t in found if t[0] == only]
    if not picked:
        raise ExportError(f"unknown target {only!r}; targets: {', '.join(i for i, _ in found)}")
    return picked


def _write_all(
    settings: Settings,
    snap: Snapshot,
    work: Path,
    target: str | None,
    top: int,
    progress: Progress | None,
    now: datetime,
) -> ExportResult:
    result = ExportResult(out=work, zip=work / f"export-{now:%Y%m%d-%H%M%S}.zip")
    boards = targets_of(settings, snap, target)
    result.files.append(_csv(work / "submissions.csv", snap.submissions()))
    for tid, _ in boards:
        rows = snap.board.leaderboard(tid, max(1, snap.board.ranked_count(tid)))
        result.files.append(_csv(work / f"leaderboard-{_safe(tid)}.csv", _board_table(rows)))
    result.files.append(_csv(work / "audit.csv", snap.audit()))
    result.files.append(_csv(work / "raffles.csv", _raffle_table(snap.raffle_records())))
    _copy_images(settings.data_path, snap.images(), work, result, progress)
    fonts = find_fonts()
    result.font, result.hangul = fonts.regular, fonts.hangul
    if not fonts.hangul:
        result.warnings.append(
            "no font with Korean letters found (install fonts-nanum): Korean nicknames may"
            " not render on the contact sheets"
        )
    for tid, title in boards:
        rows = snap.board.leaderboard(tid, top)
        result.files.append(_sheet(work, tid, title, rows, settings.event.name, fonts, now))
    if result.images_missing:
        result.warnings.append(f"{len(result.images_missing)} drawing file(s) missing")
    return result


def _safe(name: str) -> str:
    """A target id as a file name part."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "_"


def _cell(value: Any) -> Any:
    """A CSV cell: text without escape sequences or control characters (prompts are stored
    as typed; a `cat` of the file must run nothing), then guarded against formulas."""
    if not isinstance(value, str):
        return value
    text = sanitise(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _iso(value: Any) -> str:
    try:
        return datetime.fromtimestamp(float(value)).astimezone().isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def _csv(path: Path, table: Table) -> Written:
    """Write a table as CSV (UTF-8 with a BOM, so spreadsheets read Korean right), with a
    readable local time after each timestamp column."""
    times = [i for i, c in enumerate(table.columns) if c in _TIME_COLUMNS]
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*table.columns, *(f"{table.columns[i]}_iso" for i in times)])
        for row in table.rows:
            writer.writerow([*(_cell(v) for v in row), *(_iso(row[i]) for i in times)])
            count += 1
    return Written(path=path.name, bytes=path.stat().st_size, rows=count)


def _board_table(rows: Sequence[BoardRow]) -> Table:
    """A whole leaderboard: every BoardRow field, and the score with two decimals as shown
    (after the nickname) beside the percent at full precision."""
    names = [f.name for f in fields(BoardRow)]
    columns = [*names[:2], "score", *names[2:]]
    body = ((*astuple(r)[:2], f"{r.percent:.2f}", *astuple(r)[2:]) for r in rows)
    return Table(columns=columns, rows=iter(body))


def _names(entrants: Iterable[Any]) -> list[str]:
    return [e.nickname for e in entrants]


def _final_winners(record: dict[str, Any]) -> list[str]:
    """The winners after every redraw (each replaced one by the recorded replacement)."""
    names = _names(record["winners"])
    for redraw in record["redraws"]:
        key = player_key(str(redraw["replaced"]))
        at = next((i for i, n in enumerate(names) if player_key(n) == key), None)
        if at is None:
            continue
        if redraw["replacement"]:
            names[at] = str(redraw["replacement"])
        else:
            del names[at]
    return names


def _raffle_row(r: dict[str, Any]) -> tuple[Any, ...]:
    redraws = [f"{d['replaced']} -> {d['replacement']} (seed {d['seed']})" for d in r["redraws"]]
    return (
        r["id"],
        r["at"],
        r["target"],
        r["rule"],
        r["wanted"],
        r["seed"],
        len(r["eligible"]),
        "; ".join(_names(r["winners"])),
        "; ".join(str(d["replaced"]) for d in r["redraws"]),
        "; ".join(redraws),
        "; ".join(_final_winners(r)),
        "; ".join(_names(r["eligible"])),
    )


def _raffle_table(records: list[dict[str, Any]]) -> Table:
    """One row per raffle: rule, seed, eligible, winners, who was absent (redrawn, in
    order), each redraw (absent -> replacement), final winners."""
    columns = ["id", "at", "target_id", "rule", "wanted", "seed", "eligible_count"]
    columns += ["winners", "absent", "redraws", "final_winners", "eligible"]
    return Table(columns=columns, rows=iter(_raffle_row(r) for r in records))


def _image_dest(rel: str) -> PurePosixPath:
    """Where a drawing goes in the export: its own relative path under images/ (so the
    CSVs' image column points at it), an odd path under images/other/."""
    p = PurePosixPath(rel.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return PurePosixPath("images", "other", p.name or "unnamed")
    return p if p.parts[0] == "images" else PurePosixPath("images", *p.parts)


def _copy_images(
    data: Path, images: list[str], work: Path, result: ExportResult, progress: Progress | None
) -> None:
    if progress:
        progress(0, len(images))
    for done, rel in enumerate(images, start=1):
        source = Path(rel) if Path(rel).is_absolute() else data / rel
        dest = work / _image_dest(rel)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            result.images_copied += 1
            result.images_bytes += dest.stat().st_size
        except OSError:
            result.images_missing.append(rel)
        if progress:
            progress(done, len(images))


def _sheet(
    work: Path,
    tid: str,
    title: str,
    rows: list[BoardRow],
    event: str,
    fonts: Fonts,
    now: datetime,
) -> Written:
    pictures = [work / _image_dest(r.image) for r in rows]
    sub = f"{event} · top {len(rows)} · exported {now:%Y-%m-%d %H:%M}"
    image = contact_sheet(rows, pictures, title, sub, fonts)
    path = work / f"contact-sheet-{_safe(tid)}.png"
    image.save(path, format="PNG", optimize=True)
    return Written(path=path.name, bytes=path.stat().st_size, pixels=image.size)


def _zip(work: Path, path: Path, folder: str) -> Written:
    """Every file of the export in one zip, under one folder; drawings stored as they are
    (PNG, WebP and JPEG are compressed already), text deflated."""
    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(p for p in work.rglob("*") if p.is_file() and p != path):
            rel = file.relative_to(work).as_posix()
            kind = zipfile.ZIP_STORED if file.suffix in PICTURES else zipfile.ZIP_DEFLATED
            zf.write(file, f"{folder}/{rel}", compress_type=kind)
    return Written(path=path.name, bytes=path.stat().st_size)
