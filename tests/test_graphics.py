"""Choosing the terminal graphics, and the Sixel widget's cursor fix.

The terminal's answers (textual-image's probe, kitty's XTVERSION reply) are the
boundary here: they are replaced by what real terminals were seen to answer under
Xvfb (xterm 379 -ti vt340, mlterm 3.9.0, kitty 0.26.5; README, "The booth screen").
"""

from __future__ import annotations

import re

import pytest
from builders import REPO
from PIL import Image
from textual.app import App, ComposeResult
from textual.geometry import Size

from kiosk.ui import graphics
from kiosk.ui.widgets.picture import Picture

KITTY_0_26 = "\x1bP>|kitty(0.26.5)\x1b\\"  # what Debian 12's kitty answers
KITTY_0_35 = "\x1bP>|kitty(0.35.2)\x1b\\"


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The terminal's answers: the graphics probe and the XTVERSION reply (counted)."""
    box: dict[str, object] = {"probe": "kitty", "xtversion": None, "asked": 0}

    def xtversion() -> object:
        box["asked"] = int(box["asked"]) + 1  # type: ignore[call-overload]
        return box["xtversion"]

    monkeypatch.setattr(graphics, "_probe", lambda: box["probe"])
    monkeypatch.setattr(graphics, "_query_xtversion", xtversion)
    return box


def test_an_explicit_mode_is_honoured(answers: dict[str, object]) -> None:
    answers["xtversion"] = KITTY_0_26
    for mode in ("kitty", "sixel", "halfcell"):
        assert graphics.detect(mode, {"TERM": "xterm-kitty"}) == mode
    with pytest.raises(ValueError, match="unknown graphics mode 'png'"):
        graphics.detect("png", {})


def test_multiplexers_get_half_cells(answers: dict[str, object]) -> None:
    assert graphics.detect("auto", {"TMUX": "/tmp/tmux-0/default,1,0"}) == "halfcell"
    assert graphics.detect("auto", {"TERM": "screen-256color"}) == "halfcell"
    answers["probe"] = "sixel"
    assert graphics.detect("auto", {"TERM": "xterm"}) == "sixel"


def test_kitty_older_than_0_28_gets_half_cells(answers: dict[str, object]) -> None:
    answers["xtversion"] = KITTY_0_26
    assert graphics.detect("auto", {"TERM": "xterm-kitty"}) == "halfcell"
    answers["xtversion"] = KITTY_0_35
    assert graphics.detect("auto", {"KITTY_WINDOW_ID": "1"}) == "kitty"
    answers["xtversion"] = None  # no answer in time: trust the probe
    assert graphics.detect("auto", {"TERM": "xterm-kitty"}) == "kitty"


def test_other_kitty_protocol_terminals_are_not_asked(answers: dict[str, object]) -> None:
    assert graphics.detect("auto", {"TERM": "xterm-ghostty"}) == "kitty"
    assert answers["asked"] == 0


def test_kitty_version_reads_the_xtversion_answer() -> None:
    assert graphics.kitty_version(KITTY_0_26) == (0, 26, 5)
    assert graphics.kitty_version("\x1bP>|XTerm(379)\x1b\\") is None
    assert graphics.kitty_version(None) is None
    assert graphics.is_kitty({"TERM": "xterm-kitty"})
    assert not graphics.is_kitty({"TERM": "xterm-256color"})


class OnePicture(App[None]):
    CSS = "#pic, #pic > .picture--image { width: 24; height: 10; }"

    def compose(self) -> ComposeResult:
        yield Picture(graphics.image_class("sixel"), REPO / "assets" / "duck.png", id="pic")


async def test_sixel_leaves_the_cursor_on_the_pictures_last_row() -> None:
    """textual-image 0.12 moves the cursor one row below a Sixel picture, so Textual wrote
    the rest of that row one row too low (a blank stripe through the borders, seen in
    xterm and mlterm). The kiosk's Sixel widget ends on the last row, right of it."""
    from textual_image.widget.sixel import _ImageSixelImpl

    app = OnePicture()
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        impl = app.query_one(_ImageSixelImpl)
        region = app.screen.find_widget(impl).visible_region
        assert region.height > 1
        lines = impl.render_lines(impl.content_region.reset_offset)
        assert len(lines) == region.height
        tail = list(lines[-1])
        assert tail[1].text.startswith("\x1bP")  # the Sixel data itself
        # rich's move_to(x, y) writes ESC[{y+1};{x+1}H
        row, column = map(int, re.fullmatch(r"\x1b\[(\d+);(\d+)H", tail[-1].text).groups())  # type: ignore[union-attr]
        assert (row - 1, column - 1) == (region.bottom - 1, region.right)


@pytest.mark.parametrize("mode", ["halfcell", "kitty", "sixel"])
def test_a_picture_is_sized_from_the_width_being_laid_out(mode: graphics.Mode) -> None:
    """textual-image sizes a picture from the previous layout's width: one shown in a
    widget laid out while hidden (width 0) got 0 rows when no second layout followed,
    and the wall's podium lost its pictures now and then (a flaky snapshot in CI, seen
    under load). The kiosk's classes size it from the width being laid out."""
    image = graphics.image_class(mode)()
    image.image = REPO / "assets" / "duck.png"  # type: ignore[attr-defined]
    image.styles.width = "100%"
    image.styles.height = "auto"  # as Picture lays it out
    assert image.content_size.width == 0  # never laid out, or laid out while hidden
    rows = image.get_content_height(Size(22, 0), Size(60, 30), 22)
    with Image.open(REPO / "assets" / "duck.png") as duck:
        ratio = duck.height / duck.width
    # textual-image's default cell is 10 x 20 pixels when the terminal says nothing
    assert rows == pytest.approx(22 * ratio / 2, abs=1)
