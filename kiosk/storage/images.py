"""Image files beside the database, written atomically (temp file + fsync + rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image


def image_relpath(key: str) -> str:
    """Where the drawing of a dedup key lives, relative to the data dir."""
    return f"images/{key[:2]}/{key}.png"


def blurred_relpath(rel: str) -> str:
    """Where the blurred stand-in of a held drawing lives, beside the drawing."""
    return rel.removesuffix(".png") + ".blur.png"


def write_png(image: Image, path: Path) -> None:
    """Write a PNG so that the final path either holds the whole file or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            # Fast zlib level: the file is written before the commit, on the latency path.
            image.save(fh, format="PNG", compress_level=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def to_pil(image: Any) -> Image:
    """A drawing as a PIL image: a PIL image as it is, or one row (3, H, W) of a float
    tensor batch in [0, 1] on the host (rounded as diffusers' own PIL output is). Duck
    typed, so storage never imports torch."""
    from PIL import Image as PILImage

    if isinstance(image, PILImage.Image):
        return image
    import numpy as np

    array = image.detach().permute(1, 2, 0).float().numpy()
    return PILImage.fromarray((np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8))


def clean_temp_files(root: Path) -> int:
    """Remove temp files a killed process left behind; return how many."""
    count = 0
    for tmp in root.glob("images/*/.tmp-*"):
        tmp.unlink(missing_ok=True)
        count += 1
    return count
