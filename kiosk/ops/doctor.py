"""`kiosk doctor`: the checklist before doors open, each line pass / warn / fail with its fix.

One small function per check, each given what it reads (settings, paths, a disk-usage
function, the time, the terminal's size, the graphics mode), so tests drive every path
without patching. Nothing here downloads or loads a model. `quick_checks` (no torch, no
weights) takes well under a second: `kiosk run` runs it before the booth starts.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
import tomllib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from kiosk.core.config import ConfigError, Settings, find_config, with_tiny_models
from kiosk.storage.lock import DataDirBusy, DataDirLock
from kiosk.storage.schema import sqlite_warning

Status = Literal["pass", "warn", "fail"]
DiskUsage = Callable[[Path], tuple[int, int, int]]
"""(total, used, free) bytes of the file system holding a path: `shutil.disk_usage`."""

MIN_PYTHON = (3, 11)
SQLITE_WAL = (3, 7, 0)
"""WAL mode, which the store needs, came with SQLite 3.7.0 (and the WAL-reset bug with it)."""
DRAWING_BYTES = 400_000
"""One stored drawing: a 512 px PNG and its share of the database, rounded up."""
EVENT_DRAWINGS = 12_000
"""Drawings in a big event: a two-day booth took 11,639 prompts (DESIGN.md)."""
EVENT_BYTES = DRAWING_BYTES * EVENT_DRAWINGS
DISK_FAIL_DRAWINGS = 1_000
"""Room for fewer drawings than this is a fail: under two hours of a busy booth."""
CLOCK_FLOOR = datetime(2026, 1, 1, tzinfo=UTC)
"""No sane clock reads earlier than this code's release."""
CLOCK_SLACK_S = 60.0
"""How far behind the newest stored row the clock may be (an NTP step, not a dead battery)."""
GIB = 1024**3
GPU_FAIL_FREE = 3 * GIB
"""Less free GPU memory than this cannot hold sd-turbo in fp16 and the judge."""
GPU_WARN_FREE = 6 * GIB
"""Less than this leaves little room for batches of drawings."""


@dataclass(frozen=True)
class CheckResult:
    """One line of the checklist: what was checked, how it went, what was seen, the fix."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def passed(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "pass", detail)


def warned(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, "warn", detail, fix)


def failed(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, "fail", detail, fix)


def exit_code(results: Sequence[CheckResult]) -> int:
    """0 when nothing failed (warnings allowed), 1 otherwise."""
    return 1 if any(r.status == "fail" for r in results) else 0


def report(results: Sequence[CheckResult]) -> dict[str, Any]:
    """The checklist as one JSON-ready object: the checks and a summary."""
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "warn", "fail")}
    return {
        "ok": exit_code(results) == 0,
        "summary": counts,
        "checks": [asdict(r) for r in results],
    }


def human_bytes(n: float) -> str:
    """Bytes in decimal units, as disks are sold: 4.8 GB, 400 KB."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            break
        n /= 1000
    return f"{n:.0f} {unit}" if unit == "B" or n == int(n) else f"{n:.1f} {unit}"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- the machine -------------------------------------------------------------------------


def check_python(version: Sequence[int] = tuple(sys.version_info[:3])) -> CheckResult:
    shown = ".".join(map(str, version))
    if tuple(version[:2]) < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        return failed(
            "python",
            f"Python {shown}; the kiosk needs {need} or newer",
            f"make clean install PYTHON=python{need} (a venv on a newer Python)",
        )
    return passed("python", f"Python {shown}")


def check_sqlite(version: str = sqlite3.sqlite_version) -> CheckResult:
    """The WAL-reset bug: SQLite 3.7.0 to 3.51.2 can corrupt a WAL database when a checkpoint
    races a write from another connection; fixed in 3.51.3, backported to 3.44.6 and 3.50.7
    (sqlite.org/wal.html#walresetbug). `schema.sqlite_warning` holds the versions."""
    try:
        found = tuple(int(x) for x in version.split(".")[:3])
    except ValueError:
        return warned(
            "sqlite",
            f"unrecognised SQLite version {version!r}: the WAL-reset bug cannot be ruled out",
            "use a Python whose sqlite3 has SQLite 3.51.3 or newer",
        )
    if found < SQLITE_WAL:
        return failed(
            "sqlite", f"SQLite {version} has no WAL mode", "use a Python built with SQLite 3.51.3+"
        )
    if sqlite_warning(version) is None:
        return passed("sqlite", f"SQLite {version} (no WAL-reset bug)")
    return warned(
        "sqlite",
        f"SQLite {version} has the WAL-reset bug (3.7.0 to 3.51.2): rarely, a checkpoint"
        " racing a write corrupts the database, and the kiosk's threads write on two connections",
        "use a Python whose sqlite3 has SQLite 3.51.3+ (or the 3.44.6 / 3.50.7 backports),"
        " e.g. a newer Python build; until then the data-dir lock keeps other writers out:"
        " back up the data dir daily",
    )


def load_torch() -> tuple[Any | None, str]:
    """torch, or None and why it does not import."""
    try:
        import torch
    except Exception as exc:  # a broken install raises more than ImportError
        return None, first_line(exc)
    return torch, ""


def check_torch(torch: Any | None, error: str = "") -> CheckResult:
    if torch is None:
        return failed("torch", f"torch does not import: {error}", "make install")
    version, cuda = torch.__version__, getattr(torch.version, "cuda", None)
    if not cuda:
        return warned(
            "torch",
            f"torch {version} is a CPU-only build",
            "install a CUDA build of torch that suits the driver (pytorch.org, Get started)",
        )
    return passed("torch", f"torch {version} (CUDA {cuda} build)")


@dataclass(frozen=True)
class CudaFacts:
    """What torch says about the first CUDA device (gathered by `cuda_facts`)."""

    available: bool
    why_not: str = ""
    name: str = ""
    free: int = 0
    total: int = 0
    fp16_error: str = ""
    """Why a small float16 matmul on the device failed; empty when it worked."""
    error: str = ""
    """The device failed while being asked (driver trouble); empty when it answered."""


def cuda_facts(torch: Any | None) -> CudaFacts:
    """Ask torch about CUDA: never raises, never loads a model."""
    if torch is None:
        return CudaFacts(False, why_not="torch does not import")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns of a missing driver: the line says it
        try:
            if not torch.cuda.is_available():
                build = getattr(torch.version, "cuda", None)
                why = f"torch (CUDA {build}) sees no NVIDIA device or driver" if build else ""
                return CudaFacts(False, why_not=why or "this torch is a CPU-only build")
            name = str(torch.cuda.get_device_name(0))
            free, total = torch.cuda.mem_get_info(0)
        except Exception as exc:
            return CudaFacts(False, error=first_line(exc))
        return CudaFacts(True, name=name, free=int(free), total=int(total), fp16_error=_fp16(torch))


def _fp16(torch: Any) -> str:
    """'' when a 64x64 float16 matmul on the device gives the right answer, else why not."""
    try:
        a = torch.full((64, 64), 0.5, device="cuda", dtype=torch.float16)
        product = a @ a
        torch.cuda.synchronize()
        value = float(product[0, 0])
    except Exception as exc:
        return first_line(exc)
    return "" if abs(value - 16.0) < 0.01 else f"wrong result ({value} for 16)"


def check_cuda(facts: CudaFacts, device: str = "auto") -> CheckResult:
    """`device` is `[generator] device`: asking for cuda without one is a fail."""
    if facts.error:
        return failed(
            "cuda", f"the CUDA device failed when asked: {facts.error}", "check `nvidia-smi`"
        )
    if not facts.available:
        if device == "mps":
            return passed("cuda", f'none ({facts.why_not}); [generator] device = "mps"')
        line = warned if device != "cuda" else failed
        return line(
            "cuda",
            f"no CUDA device: drawings run on the CPU, far too slow for a booth ({facts.why_not})",
            "run the booth on a machine with an NVIDIA GPU, its driver and a CUDA build of torch"
            " (`nvidia-smi` lists the GPU); --profile tiny is fine for a rehearsal",
        )
    seen = f"{facts.name}, {facts.free / GIB:.1f} GiB free of {facts.total / GIB:.1f} GiB"
    if facts.fp16_error:
        fix = 'set [generator] dtype = "float32" (slower), or update the NVIDIA driver'
        return failed("cuda", f"{seen}; a float16 matmul failed: {facts.fp16_error}", fix)
    free_fix = "stop the other programs on the GPU (`nvidia-smi` lists them)"
    if facts.free < GPU_FAIL_FREE:
        return failed("cuda", f"{seen}: too little free for the models", free_fix)
    if facts.free < GPU_WARN_FREE:
        return warned("cuda", f"{seen}: little room for batches", free_fix)
    if device == "cpu":
        return warned("cuda", f'{seen}, but [generator] device = "cpu"', 'set it to "auto"')
    return passed("cuda", f"{seen}; float16 works")


# -- the config and what it names ---------------------------------------------------------


def read_config_unchecked(
    path: str | os.PathLike[str] | None,
    data_dir: str | os.PathLike[str] | None,
    profile: Literal["real", "tiny"],
) -> Settings | None:
    """The settings as `load_settings` reads them minus its picture check, or None when the
    file is unreadable or invalid: so a missing picture is its own line, not the config's."""
    source = find_config(path).expanduser().resolve()
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    event = data.setdefault("event", {})
    if data_dir is not None and isinstance(event, dict):
        event["data_dir"] = str(Path(data_dir).expanduser().resolve())
    try:
        settings = Settings.model_validate({**data, "source": source, "profile": profile})
    except ValidationError:
        return None
    return with_tiny_models(settings) if profile == "tiny" else settings


def check_config(
    load: Callable[[], Settings], unchecked: Callable[[], Settings | None]
) -> tuple[CheckResult, Settings | None]:
    """The config line, and the settings the other checks read (None: they cannot run)."""
    try:
        settings = load()
    except ConfigError as exc:
        rough = unchecked()
        if rough is not None:  # only the pictures are wrong: `check_targets` says which
            return passed("config", f"{rough.source} (its pictures: see below)"), rough
        lines = [line.strip() for line in str(exc).splitlines()]
        return failed(
            "config",
            "; ".join(lines),
            "edit the file as the message says (`--config` picks another one)",
        ), None
    targets = len(settings.targets)
    return passed("config", f"{settings.source} ({targets} targets, {settings.profile})"), settings


def picture_problem(path: Path) -> str | None:
    """Why a target picture cannot be read, or None when it can."""
    if not path.is_file():
        return "file not found"
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.verify()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        return f"not a picture ({first_line(exc)})"
    return None


def check_targets(settings: Settings) -> CheckResult:
    problems = []
    for target in settings.targets:
        path = settings.target_image(target)
        if reason := picture_problem(path):
            problems.append(f"{target.id}: {reason}: {path}")
    if problems:
        return failed(
            "target pictures",
            "; ".join(problems),
            "put the picture there, or point that [[targets]] image at one",
        )
    ids = ", ".join(t.id for t in settings.targets)
    return passed("target pictures", f"{len(settings.targets)} readable ({ids})")


def _tree_bytes(path: Path) -> int:
    """Bytes in the files under `path` (each file once: the Hub's cache links snapshots to
    blobs); 0 when it is not there."""
    if path.is_file():
        return path.stat().st_size
    seen: dict[tuple[int, int], int] = {}
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:  # a dangling link: an interrupted download
                continue
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


def weight_bytes(settings: Settings, what: str) -> int:
    """Bytes on disk of the generator's, decoder's or judge's weights (local or cached)."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    from kiosk.ml.generate import decoder_source, is_local
    from kiosk.ml.hub import _judge_source  # the Hub repo `kiosk models check` looks in

    source: str | None
    if what == "generator":
        source = settings.generator.model
    elif what == "decoder":
        source = decoder_source(settings.generator.vae)
    elif settings.judge.model.startswith("local-dir:"):
        source = settings.judge.model.removeprefix("local-dir:")
    elif settings.judge.pretrained and Path(settings.judge.pretrained).expanduser().is_file():
        source = settings.judge.pretrained
    else:
        repo = _judge_source(settings)
        source = repo[0] if repo else None
    if source is None:
        return 0
    if is_local(source) or Path(source).expanduser().is_file():
        return _tree_bytes(Path(source).expanduser())
    folder = repo_folder_name(repo_id=source, repo_type="model")
    return _tree_bytes(Path(constants.HF_HUB_CACHE) / folder)


ModelCheck = tuple[str, str, bool, str]
"""(what, name, present offline, hint): a line of `kiosk models check`."""


def check_weights(
    settings: Settings,
    models: Callable[[Settings], list[ModelCheck]] | None = None,
    size: Callable[[Settings, str], int] = weight_bytes,
) -> CheckResult:
    """The configured weights, present for offline use, by `kiosk models check`'s code; never
    downloads, never loads them. `models` defaults to `kiosk.ml.hub.check_models`."""
    from kiosk.ml.hub import check_models
    from kiosk.ml.tiny import is_built

    if settings.tiny:
        built = is_built(settings.data_path / "tiny-models")
        return warned(
            "weights",
            "tiny random-weight models"
            + ("" if built else ", built at the first start")
            + ": the images are noise and the scores mean nothing",
            "for the event, run without --profile tiny",
        )
    try:
        found = (models or check_models)(settings)
    except Exception as exc:  # open_clip or the Hub cache in a state nobody expected
        return failed("weights", f"could not check: {first_line(exc)}", "kiosk models check")
    missing = [f"{what} {name} ({hint})" for what, name, ok, hint in found if not ok]
    if missing:
        return failed(
            "weights",
            "missing offline: " + "; ".join(missing),
            "kiosk models pull (needs internet), before the event",
        )
    sizes = [(what, name, size(settings, what)) for what, name, _, _ in found]
    total = sum(n for _, _, n in sizes)
    shown = ", ".join(f"{what} {name} {human_bytes(n)}" for what, name, n in sizes)
    return passed("weights", f"present offline, {human_bytes(total)}: {shown}")


# -- the data dir, the staff, the clock -------------------------------------------------


def _existing(path: Path) -> Path:
    """`path` or its nearest ancestor that exists."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(
    data_dir: Path, disk_usage: DiskUsage = shutil.disk_usage, need: int = EVENT_BYTES
) -> CheckResult:
    fail_below = need * DISK_FAIL_DRAWINGS // EVENT_DRAWINGS
    where = _existing(data_dir)
    try:
        _, _, free = disk_usage(where)
    except OSError as exc:
        return failed("disk", f"cannot read free space at {where}: {first_line(exc)}", "df -h")
    seen = (
        f"{human_bytes(free)} free at {where}; an event needs about {human_bytes(need)}"
        f" ({EVENT_DRAWINGS:,} drawings x {human_bytes(DRAWING_BYTES)})"
    )
    fix = "free space on that disk, or move --data-dir to a bigger one"
    if free < fail_below:
        return failed("disk", f"{seen}: nearly full", fix)
    if free < need:
        return warned("disk", f"{seen}: not enough for a long event", fix)
    return passed("disk", seen)


def check_data_dir(data_dir: Path) -> CheckResult:
    """Writable: a temporary file is created in it and deleted (in its nearest existing
    ancestor when it is not there yet; nothing else is created)."""
    where = _existing(data_dir)
    fix = "make it writable for this user, or use another --data-dir"
    if not where.is_dir():
        return failed("data dir", f"{where} is a file, not a folder", fix)
    try:
        fd, name = tempfile.mkstemp(dir=where, prefix=".kiosk-doctor-")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return failed("data dir", f"cannot write in {where}: {exc.strerror or exc}", fix)
    if where != data_dir:
        return passed("data dir", f"{data_dir} will be created (in writable {where})")
    return passed("data dir", f"{data_dir} is writable")


def check_lock(data_dir: Path, lock: Callable[[Path], DataDirLock] = DataDirLock) -> CheckResult:
    """Not held by another kiosk: the same lock the engine takes, taken and let go."""
    if not data_dir.is_dir():
        return passed("data dir lock", "no data dir yet: nobody holds it")
    held = lock(data_dir)
    try:
        held.acquire()
    except DataDirBusy as exc:
        said, _, fix = str(exc).partition("\n")
        return failed("data dir lock", said.strip(), fix.strip())
    except OSError as exc:
        return failed("data dir lock", f"cannot take the lock: {exc.strerror or exc}", "df -h")
    held.release()
    return passed("data dir lock", "free: no other kiosk uses this data dir")


def newest_row_time(data_dir: Path) -> float | None:
    """When the newest submission or audit row was written, read-only; None when there is
    no database or it cannot be read (the clock check then compares with the floor only)."""
    from kiosk.core.api import StoreError
    from kiosk.storage.store import Store

    db = data_dir / "kiosk.db"
    if not db.is_file():
        return None
    try:
        store = Store(db, readonly=True)
        try:
            times = [r.created_at for r in store.recent(1)] + [a.at for a in store.audit_log(1)]
        finally:
            store.close()
    except (StoreError, sqlite3.Error):
        return None
    return max(times, default=None)


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_clock(now: float, newest: float | None = None) -> CheckResult:
    """Not before the release floor, not behind the newest stored row: leaderboard ties go to
    whoever reached the score first, by this clock."""
    fix = "set the clock (timedatectl set-ntp true, or date -s) and check the RTC battery"
    if now < CLOCK_FLOOR.timestamp():
        return failed("clock", f"{_when(now)}: before {CLOCK_FLOOR:%Y-%m-%d}", fix)
    if newest is not None and now < newest - CLOCK_SLACK_S:
        return failed(
            "clock", f"{_when(now)}: behind the newest row in the database ({_when(newest)})", fix
        )
    return passed("clock", _when(now))


def check_staff_pin(pin_hash: str) -> CheckResult:
    from argon2 import extract_parameters
    from argon2.exceptions import InvalidHashError

    fix = "kiosk staff set-pin"
    if not pin_hash.strip():
        return warned(
            "staff pin",
            "no [staff] pin_hash: staff mode stays closed (no hiding, raffle or quitting"
            " at the booth keyboard)",
            fix,
        )
    try:
        params = extract_parameters(pin_hash)
    except (InvalidHashError, ValueError):
        return warned("staff pin", "[staff] pin_hash is not an argon2 hash: no PIN opens it", fix)
    kind = f"argon2{params.type.name.lower()}"
    return passed("staff pin", f"set ({kind}, t={params.time_cost}, m={params.memory_cost} KiB)")


def check_terminal(
    size: tuple[int, int] | None, mode: str | None, minimum: tuple[int, int]
) -> CheckResult:
    """`size` (columns, rows) is None off a terminal; `mode` is the graphics the booth would
    use (kitty, sixel, halfcell), found by the screen side."""
    if size is None:
        return warned(
            "terminal",
            "not a terminal (output redirected): its size and graphics are unknown",
            "run `kiosk doctor` in the booth's own terminal",
        )
    (cols, rows), (min_cols, min_rows) = size, minimum
    seen = f"{cols}x{rows}, pictures drawn with {mode}"
    if cols < min_cols or rows < min_rows:
        return warned(
            "terminal",
            f"{seen}: smaller than {min_cols}x{min_rows}, the booth asks to be resized",
            "enlarge the window or make the font smaller",
        )
    if mode == "halfcell":
        return warned(
            "terminal",
            f"{seen} (coloured half blocks: coarse pictures)",
            "a terminal with Kitty graphics (kitty 0.28+, WezTerm, Ghostty) or Sixel (foot,"
            " mlterm), outside tmux and screen",
        )
    return passed("terminal", seen)


def check_words(settings: Settings) -> CheckResult:
    """The blocklist loads (the booth's list and better-profanity's)."""
    from kiosk.core.blocklist import Blocklist, BlocklistError

    path = settings.blocklist_path
    try:
        words = Blocklist.load(path, profanity=settings.words.profanity)
    except BlocklistError as exc:
        return failed("words", str(exc), "fix [words] blocklist in the config, or leave it empty")
    return passed("words", f"{len(words)} blocked words and phrases ({path.name})")


def machine_checks() -> list[CheckResult]:
    """Python and SQLite: what holds whatever the config says."""
    return [check_python(), check_sqlite()]


def site_checks(
    settings: Settings, *, now: float, disk_usage: DiskUsage = shutil.disk_usage
) -> list[CheckResult]:
    """The data dir (room, writable, free of other kiosks), the staff PIN, the clock."""
    data = settings.data_path
    return [
        check_disk(data, disk_usage),
        check_data_dir(data),
        check_lock(data),
        check_staff_pin(settings.staff.pin_hash),
        check_clock(now, newest_row_time(data)),
        check_words(settings),
    ]


def quick_checks(
    settings: Settings, *, now: float, disk_usage: DiskUsage = shutil.disk_usage
) -> list[CheckResult]:
    """What `kiosk run` checks before the booth starts: no torch, no weights, well under a
    second (the terminal comes later, once the screen side has picked the graphics)."""
    return [*machine_checks(), *site_checks(settings, now=now, disk_usage=disk_usage)]


def model_checks(settings: Settings | None) -> list[CheckResult]:
    """torch, the CUDA device and the weights: seconds (torch imports), no model loads."""
    torch, error = load_torch()
    device = settings.generator.device if settings else "auto"
    checks = [check_torch(torch, error), check_cuda(cuda_facts(torch), device)]
    return [*checks, check_weights(settings)] if settings else checks
