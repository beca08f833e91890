"""The booth's screens: booth (play), loading, missing models, attract."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import Screen

T = TypeVar("T")


def dismiss_once(screen: Screen[T], result: T | None = None) -> None:
    """Close `screen` with `result`, if it is still the one on top. Keys that pile up
    while the loop is busy reach a screen after its first one closed it: a second close
    would answer twice and pop the screen under it (the booth itself: a crash)."""
    if screen.is_current:
        screen.dismiss(result)
