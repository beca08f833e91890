"""The blurred stand-in for a flagged drawing: what the booth, attract mode and the wall
show until staff approve the drawing (the worker writes it beside the drawing, with
kiosk.storage.images.write_image).

Pixelated to about 12 cells on its longer side, then a Gaussian blur one cell wide, so
only soft blobs of colour remain: no shape, word or face of the drawing survives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

CELLS = 12
"""Cells on the longer side of the pixelated picture."""


def blurred(image: Image) -> Image:
    """The drawing pixelated to CELLS cells and blurred; same size, RGB."""
    from PIL import Image as PILImage
    from PIL import ImageFilter

    rgb = image.convert("RGB")
    width, height = rgb.size
    cell = max(width, height) / CELLS
    small = rgb.resize(
        (max(1, round(width / cell)), max(1, round(height / cell))),
        PILImage.Resampling.BOX,  # the mean of each cell: nothing finer is kept
    )
    big = small.resize((width, height), PILImage.Resampling.NEAREST)
    # a blur one cell wide melts the cell edges, which would otherwise outline shapes
    return big.filter(ImageFilter.GaussianBlur(radius=cell))
