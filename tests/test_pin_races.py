"""The PIN lockout under a burst of tries: through the real PIN screen, with the real
argon2id cost and the real SQLite audit, every try counts towards the lock, in the order
typed, and every try has its audit row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import SIZE, showing, wait_for
from builders import tiny_settings_in
from textual import events
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Static

from kiosk.core.pin import hash_pin
from kiosk.engine.engine import Engine
from kiosk.ui.app import KioskApp, make_app
from kiosk.ui.staff.pin import PinScreen
from kiosk.ui.staff.screen import StaffScreen

PIN = "482193"
WRONG = "000000"
pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")


@pytest.fixture
async def booth(tmp_path: Path, tiny_models: Path) -> AsyncIterator[tuple[KioskApp, Engine]]:
    """The booth on the real engine, its PIN hashed at the kiosk's own (slow) cost, so a
    check takes long enough for tries to pile up behind it."""
    settings = tiny_settings_in(tmp_path / "data", tiny_models)
    staff = settings.staff.model_copy(update={"pin_hash": hash_pin(PIN)})
    settings = settings.model_copy(update={"staff": staff})
    engine = Engine(settings)
    app = make_app(settings, engine=engine)
    try:
        yield app, engine
    finally:
        app.stop_engine(10)


def record(submitted: list[Input.Submitted]) -> Callable[[Message], None]:
    """A message hook that keeps the PIN field's submissions."""

    def hook(message: Message) -> None:  # called at each node the message bubbles to
        if isinstance(message, Input.Submitted) and all(m is not message for m in submitted):
            submitted.append(message)

    return hook


def pin_outcomes(engine: Engine) -> list[str]:
    """The audited PIN tries, oldest first."""
    return [r.subject for r in reversed(engine.store.moderation.audit_log()) if r.action == "pin"]


async def fire(app: KioskApp, submitted: list[Input.Submitted], tries: list[str]) -> None:
    """Type the tries as a terminal sends a burst: each try's keys all at once, the next try
    as soon as the prompt has taken the last one (its field cleared), never waiting for a
    check. (Pilot.press waits for the app to go idle after each key: a check keeps it busy.)"""
    field = app.screen.query_one("#pin", Input)
    for n, pin in enumerate(tries, 1):
        for key, char in [*zip(pin, pin, strict=True), ("enter", "\r")]:
            app.post_message(events.Key(key, char))

        def taken(n: int = n) -> bool:
            return len(submitted) >= n and not field.value

        await until(taken, f"try {n} taken")


async def until(ready: Callable[[], object], what: str, steps: int = 4000) -> None:
    """Let the app run until `ready()`, looking every 5 ms (a check takes a quarter second)."""
    for _ in range(steps):
        if ready():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"gave up waiting for {what}")


async def open_prompt(app: KioskApp, pilot: Pilot[Any]) -> None:
    await wait_for(pilot, lambda: app.models_ready, 60, "models")
    await pilot.press("f12")
    await wait_for(pilot, lambda: showing(app, PinScreen), what="the PIN prompt")


async def test_a_burst_of_tries_locks_at_the_limit_and_audits_every_try(
    booth: tuple[KioskApp, Engine],
) -> None:
    """30 tries, the right PIN seventh: five wrong ones lock the gate, so the right one
    and all after it are refused unchecked; 30 tries, 30 audit rows, in order."""
    app, engine = booth
    tries = [WRONG] * 6 + [PIN] + [WRONG] * 23
    submitted: list[Input.Submitted] = []
    async with app.run_test(size=SIZE, message_hook=record(submitted)) as pilot:
        await open_prompt(app, pilot)
        await fire(app, submitted, tries)
        await until(lambda: len(pin_outcomes(engine)) >= 30, "30 audit rows")
        await pilot.pause(0.2)
        assert pin_outcomes(engine) == ["wrong"] * 5 + ["locked"] * 25
        assert not any(isinstance(s, StaffScreen) for s in app.screen_stack)
        message = app.screen.query_one("#pin-message", Static)
        assert "try again in" in str(message.render())
    assert PIN not in str(engine.store.moderation.audit_log())


async def test_the_right_pin_in_a_burst_opens_staff_mode_and_later_tries_still_count(
    booth: tuple[KioskApp, Engine],
) -> None:
    """Before the limit the right PIN opens staff mode; the tries typed after it are
    checked and audited too, each in its turn."""
    app, engine = booth
    tries = [WRONG] * 4 + [PIN] + [WRONG] * 3
    submitted: list[Input.Submitted] = []
    async with app.run_test(size=SIZE, message_hook=record(submitted)) as pilot:
        await open_prompt(app, pilot)
        await fire(app, submitted, tries)
        await until(lambda: len(pin_outcomes(engine)) >= 8, "8 audit rows")
        await until(lambda: showing(app, StaffScreen), "staff mode")
        await pilot.pause(0.2)
        assert pin_outcomes(engine) == ["wrong"] * 4 + ["ok"] + ["wrong"] * 3
