"""Terminal graphics: pick how images are drawn, before the Textual app starts.

textual-image probes the terminal (Sixel, Kitty graphics) when its renderable
package is first imported and caches the cell size in pixels; both read answers
from stdin, which Textual owns once it runs. So `detect` runs first, in the CLI.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Literal, cast

from textual.geometry import Size
from textual.widget import Widget

log = logging.getLogger(__name__)

Mode = Literal["kitty", "sixel", "halfcell"]
CHOICES: tuple[str, ...] = ("auto", "kitty", "sixel", "halfcell")
# textual-image draws Kitty images with Unicode placeholders, which kitty shows from 0.28.0 on;
# older kittys (Debian 12 ships 0.26.5) answer the graphics query but print the placeholders.
KITTY_PLACEHOLDERS = (0, 28, 0)


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
    if probed == "kitty" and is_kitty(env):
        version = kitty_version(_query_xtversion())
        if version is not None and version < KITTY_PLACEHOLDERS:
            log.warning("kitty %s cannot show textual-image pictures: using half cells", version)
            return "halfcell"
    return probed


def is_kitty(env: Mapping[str, str]) -> bool:
    """True in the kitty terminal itself (other terminals also speak its graphics protocol)."""
    return env.get("TERM") == "xterm-kitty" or bool(env.get("KITTY_WINDOW_ID"))


def kitty_version(xtversion: str | None) -> tuple[int, ...] | None:
    """kitty's version from its XTVERSION answer (`ESC P >| kitty(0.26.5) ESC \\`), else None."""
    match = re.search(r"kitty\((\d+)\.(\d+)\.(\d+)", xtversion or "")
    return tuple(int(part) for part in match.groups()) if match else None


def _query_xtversion() -> str | None:
    """The terminal's XTVERSION answer, or None when it gave none in time."""
    stdout = sys.__stdout__
    if stdout is None or not stdout.isatty():
        return None
    try:
        from textual_image._terminal import capture_terminal_response

        with capture_terminal_response("\x1bP>|", "\x1b\\", timeout=0.2) as response:
            stdout.write("\x1b[>0q")
            stdout.flush()
    except Exception:  # no answer, or no terminal: nothing known
        log.debug("XTVERSION query failed", exc_info=True)
        return None
    return str(response.sequence)


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
    if mode == "sixel":
        return _sized_now(_sixel_class())
    from textual_image.widget import HalfcellImage, TGPImage

    classes: dict[str, type[Widget]] = {"kitty": TGPImage, "halfcell": HalfcellImage}
    return _sized_now(classes[mode])


@functools.cache
def _sized_now(base: type[Widget]) -> type[Widget]:
    """`base`, its height worked out from the width Textual is laying it out at.

    textual-image (0.12) takes a picture's width from its `content_size`, which is the
    size of the *previous* layout. A picture shown in a widget that was hidden (size 0)
    until then is laid out 0 rows high, and nothing lays it out again: the wall's podium
    lost its pictures that way now and then. Here the width of the layout under way is
    used; textual-image's own class where its private pieces have moved.
    """
    if not hasattr(base, "_get_styled_size"):
        return base

    class SizedNow(base, Renderable=base._Renderable):  # type: ignore[valid-type,misc,call-arg,attr-defined]
        _laying_out: int | None = None

        def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
            self._laying_out = width
            try:
                return cast(int, super().get_content_height(container, viewport, width))
            finally:
                self._laying_out = None

        def _get_styled_size(self) -> tuple[object, object]:
            styled_width, styled_height = super()._get_styled_size()
            if self._laying_out is not None and isinstance(styled_width, int):
                styled_width = self._laying_out
            return styled_width, styled_height

    SizedNow.__name__ = SizedNow.__qualname__ = base.__name__
    return cast(type[Widget], SizedNow)


@functools.cache
def _sixel_class() -> type[Widget]:
    """textual-image's Sixel widget, with the cursor put back on the picture's last row.

    textual-image (0.12) leaves the cursor one row *below* a Sixel picture; on a full
    repaint (start, closing a modal) the rest of that row then lands on the next one, so
    a blank stripe cuts every border right of the picture's last row. Fixed here while
    textual-image keeps the private pieces this needs; its own class otherwise.
    """
    from textual_image.widget import sixel

    impl = getattr(sixel, "_ImageSixelImpl", None)
    if impl is None or not hasattr(impl, "_get_sixel_segments"):
        return sixel.Image
    return _row_safe_sixel_class(sixel.Image, impl)


def _row_safe_sixel_class(base: type[Widget], impl: type[Widget]) -> type[Widget]:
    """`base` composing a subclass of `impl` that ends its Sixel on the picture's last row."""
    from rich.control import Control
    from rich.segment import Segment
    from textual.app import ComposeResult

    class _RowSafeSixelImpl(impl):  # type: ignore[valid-type,misc]
        def _get_sixel_segments(self, sixel_data: str) -> Iterable[Segment]:
            segments = list(super()._get_sixel_segments(sixel_data))
            region = self.screen.find_widget(self).visible_region
            # Same row as the picture's last line, just right of it: where Textual goes on.
            segments[-1] = Segment(
                Control.move_to(region.right, region.bottom - 1).segment.text,
                style=segments[-1].style,
            )
            return segments

    class SixelImage(base, Renderable=base._Renderable):  # type: ignore[valid-type,misc,call-arg,attr-defined]
        """Sixel picture that leaves the cursor where Textual expects it."""

        def compose(self) -> ComposeResult:
            yield _RowSafeSixelImpl(self.image, self._sixel_options)

    return cast(type[Widget], SixelImage)
