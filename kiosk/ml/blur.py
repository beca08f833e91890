"""The blurred stand-in for a flagged drawing: what the booth, attract mode and the wall
show until staff approve the drawing (the worker writes it beside the drawing, with
kiosk.storage.images.write_image).

Pixelated to about 12 cells on its longer side, then a Gaussian blur one cell wide, so
only soft blobs of colour remain: no shape, word or face of the drawing survives. It is
kept small (SCALE pixels a cell, 96 px on the longer side): every screen and the phone
page enlarge it to the drawing's box, and a soft picture loses nothing by that, while
encoding it costs a twentieth of a full-size one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

CELLS = 12
"""Cells on the longer side of the pixelated picture."""
SCALE = 8
"""Pixels a cell while blurring."""


def blurred(image: Image) -> Image:
    """The drawing pixelated to CELLS cells and blurred one cell wide, at SCALE pixels a
    cell (the same proportions, 96 px on the longer side), RGB."""
    from PIL import Image as PILImage
    from PIL import ImageFilter

    rgb = image.convert("RGB")
    width, height = rgb.size
    cell = max(width, height) / CELLS
    columns, rows = max(1, round(width / cell)), max(1, round(height / cell))
    small = rgb.resize((columns, rows), PILImage.Resampling.BOX)  # the mean of each cell
    # a blur one cell wide melts the cell edges, which would otherwise outline shapes
    mid = small.resize((columns * SCALE, rows * SCALE), PILImage.Resampling.NEAREST)
    return mid.filter(ImageFilter.GaussianBlur(radius=SCALE))
