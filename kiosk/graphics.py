"""Terminal graphics: pick how images are drawn, before the Textual app starts.

textual-image probes the terminal (Sixel, Kitty graphics) when its renderable
package is first imported and caches the cell size in pixels; both read answers
from stdin, which Textual owns once it runs. So `detect` runs first, in the CLI.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Literal, cast

from textual.widget import Widget

log = logging.getLogger(__name__)

Mode = Literal["kitty", "sixel", "halfcell"]
CHOICES: tuple[str, ...] = ("auto", "kitty", "sixel", "halfcell")


def in_multiplexer(env: Mapping[str, str]) -> bool:
    """True inside tmux or screen, which pass neither Kitty graphics nor Sixel reliably."""
    return bool(env.get("TMUX")) or env.get("TERM", "").startswith(("screen", "tmux"))


def detect(requested: str = "auto", env: Mapping[str, str] | None = None) -> Mode:
    """The graphics mode to use: the one requested, else what the terminal supports.

    Always warms textual-image's terminal caches, so call it before `App.run`.
    """
    env = os.environ if env is None else env
    probed = _probe()
    if requested in ("kitty", "sixel", "halfcell"):
        return cast(Mode, requested)
    if requested != "auto":
        raise ValueError(f"unknown graphics mode {requested!r}; choose one of {CHOICES}")
    if in_multiplexer(env):
        return "halfcell"
    return probed


def _probe() -> Mode:
    """What textual-image found on import (halfcell when it found nothing or failed)."""
    try:
        from textual_image import renderable
        from textual_image import widget as _widget  # noqa: F401  (caches the cell size)
    except Exception:  # no usable stdout/stdin: draw with coloured half cells
        log.debug("terminal graphics probe failed", exc_info=True)
        return "halfcell"
    if renderable.Image is renderable.TGPImage:
        return "kitty"
    if renderable.Image is renderable.SixelImage:
        return "sixel"
    return "halfcell"


def image_class(mode: Mode) -> type[Widget]:
    """The textual-image widget class that draws images in `mode`."""
    from textual_image.widget import HalfcellImage, SixelImage, TGPImage

    classes: dict[str, type[Widget]] = {
        "kitty": TGPImage,
        "sixel": SixelImage,
        "halfcell": HalfcellImage,
    }
    return classes[mode]
