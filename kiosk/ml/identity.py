"""Models as the dedup key sees them: the same model gives the same key on every booth.

A Hub id is its own identity. A local folder is known by what it holds, not by where it
lies: booths of one event keep their model folders at different paths, and a prompt
drawn at one booth must be a dedup hit at the next. The fingerprint reads each file's
name, size, first and last 64 KiB: milliseconds for a multi-gigabyte model, and
different weights differ there. A folder inside the data dir (the tiny models, which
the kiosk builds there, the same at every booth, maybe after the first prompts are
taken) is known by its place in the data dir.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

LOCAL_DIR = "local-dir:"  # open_clip's prefix for a model folder
EDGE = 64 * 1024


def model_identity(name: str, data_dir: Path | None = None) -> str:
    """`name` (a Hub id, a local folder, or open_clip's `local-dir:FOLDER`) as the dedup
    key names it: a folder in `data_dir` by its path there; another local folder by its
    own name and a fingerprint of its files; anything else unchanged."""
    prefix = LOCAL_DIR if name.startswith(LOCAL_DIR) else ""
    folder = Path(name.removeprefix(prefix)).expanduser()
    if data_dir is not None and folder.is_absolute() and folder.is_relative_to(data_dir):
        return f"{prefix}data-dir/{folder.relative_to(data_dir).as_posix()}"
    if not folder.is_dir():
        return name
    return f"{prefix}{folder.name}#{_fingerprint(folder.resolve())}"


def _fingerprint(folder: Path) -> str:
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    stats = tuple((p.relative_to(folder).as_posix(), p.stat()) for p in files)
    return _digest(folder, tuple((rel, st.st_size, st.st_mtime_ns) for rel, st in stats))


@cache
def _digest(folder: Path, files: tuple[tuple[str, int, int], ...]) -> str:
    """The fingerprint, read once for each state of the folder's files."""
    digest = hashlib.sha256()
    for rel, size, _ in files:
        digest.update(f"{rel}\0{size}\0".encode())
        with (folder / rel).open("rb") as fh:
            digest.update(fh.read(EDGE))
            if size > EDGE:
                fh.seek(max(EDGE, size - EDGE))
                digest.update(fh.read(EDGE))
    return digest.hexdigest()[:16]
