"""Models as the dedup key sees them: the same model gives the same key on every booth.

A Hub id is its own identity. A local folder is known by what it holds, not by where it
lies: booths of one event keep their model folders at different paths (each data dir
builds its own tiny models), and a prompt drawn at one booth must be a dedup hit at the
next. The fingerprint reads each file's name, size, first and last 64 KiB: milliseconds
for a multi-gigabyte model, and different weights differ there.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

LOCAL_DIR = "local-dir:"  # open_clip's prefix for a model folder
EDGE = 64 * 1024


def model_identity(name: str) -> str:
    """`name` (a Hub id, a local folder, or open_clip's `local-dir:FOLDER`) as the dedup
    key names it: unchanged unless it is a local folder; then the folder's own name and
    a fingerprint of its files."""
    prefix = LOCAL_DIR if name.startswith(LOCAL_DIR) else ""
    folder = Path(name.removeprefix(prefix)).expanduser()
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
