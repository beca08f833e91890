"""Embeddings kept on disk, so a restart does not run the text tower (safety concepts) or
the image tower (target pictures) again.

One small file per embedding, named by a hash of the judge's identity and the key (the
concept's text, or a target picture's content hash); the file holds both again and is
only used when they match. Writes are atomic (a temp file renamed into place); a file
that cannot be read or does not match is ignored and rewritten. A cache that cannot be
written is not an error: the booth still starts, it just computes again next time.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


def file_key(path: str | os.PathLike[str]) -> str:
    """The cache key of a picture: its content's hash, so an edited file is embedded again."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"image:{digest}"


def text_key(text: str) -> str:
    return f"text:{text}"


class EmbeddingCache:
    """One judge's embeddings in a folder; `get` and `put` one 1-D tensor by key."""

    def __init__(self, folder: Path, judge: str) -> None:
        self.folder = Path(folder)
        self.judge = judge
        """The judge's identity: embeddings of another model are never used."""

    def _path(self, key: str) -> Path:
        name = hashlib.sha256(f"{self.judge}\0{key}".encode()).hexdigest()
        return self.folder / f"{name}.pt"

    def get(self, key: str) -> torch.Tensor | None:
        """The stored embedding (float32, on the CPU), or None when there is no good one."""
        import torch

        path = self._path(key)
        try:
            entry = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            return None
        except Exception:  # truncated, not a torch file, unpicklable: all mean "recompute"
            log.warning("embedding cache: ignoring unreadable %s", path.name)
            return None
        ok = (
            isinstance(entry, dict)
            and entry.get("judge") == self.judge
            and entry.get("key") == key
            and isinstance(entry.get("embedding"), torch.Tensor)
            and entry["embedding"].ndim == 1
        )
        if not ok:
            log.warning("embedding cache: ignoring mismatched %s", path.name)
            return None
        embedding: torch.Tensor = entry["embedding"].float()
        return embedding

    def put(self, key: str, embedding: torch.Tensor) -> None:
        """Store one embedding atomically; a failure is logged, never raised."""
        import torch

        buffer = io.BytesIO()
        entry = {"judge": self.judge, "key": key, "embedding": embedding.detach().float().cpu()}
        torch.save(entry, buffer)
        path = self._path(key)
        tmp = ""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".emb-", suffix=".tmp", dir=self.folder)
            with os.fdopen(fd, "wb") as fh:
                fh.write(buffer.getvalue())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("embedding cache: cannot write %s: %s", path, exc)
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
