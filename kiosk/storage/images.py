"""Image files beside the database, written atomically (temp file + fsync + rename).

New drawings are lossless WebP at its fastest method (bench/formats.py: 7-13 ms to encode
a 512 px drawing against PNG level 1's 30-45, a few per cent smaller), so the file holds
exactly the pixels that were judged. Rows written earlier keep their .png path; every
reader goes through Pillow, which reads both.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image


def image_relpath(key: str) -> str:
    """Where the drawing of a dedup key lives, relative to the data dir."""
    return f"images/{key[:2]}/{key}.webp"


def blurred_relpath(rel: str) -> str:
    """Where the blurred stand-in of a held drawing lives, beside it, in its format."""
    path = Path(rel)
    return path.with_name(f"{path.stem}.blur{path.suffix}").as_posix()


def write_image(image: Image, path: Path) -> None:
    """Write a picture in the format its suffix names (.webp, .png as old rows have, or
    .jpg) so that the final path either holds the whole file or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            suffix = path.suffix.lower()
            if suffix == ".webp":  # method 0: the fastest; lossless ignores quality's size
                image.save(fh, format="WEBP", lossless=True, quality=0, method=0)
            elif suffix == ".png":  # fast zlib level: it is on the latency path
                image.save(fh, format="PNG", compress_level=1)
            else:
                image.convert("RGB").save(fh, format="JPEG", quality=95, subsampling=0)
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
    """A drawing as a PIL image: a PIL image as it is, or one row (3, H, W) of a tensor
    batch on the host, 8-bit pixels, or floats in [0, 1] (rounded as diffusers' own PIL
    output is). Duck typed, so storage never imports torch."""
    from PIL import Image as PILImage

    if isinstance(image, PILImage.Image):
        return image
    import numpy as np

    array = image.detach().permute(1, 2, 0).numpy()
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float32), 0.0, 1.0) * 255).round().astype(np.uint8)
    return PILImage.fromarray(np.ascontiguousarray(array))


def clean_temp_files(root: Path) -> int:
    """Remove temp files a killed process left behind; return how many."""
    count = 0
    for tmp in root.glob("images/*/.tmp-*"):
        tmp.unlink(missing_ok=True)
        count += 1
    return count
