"""The booth's Textual app: a thin layer over the engine.

The engine's worker thread owns the models. Its events reach the app as
`EngineEvent` messages (posted from that thread; `post_message` is thread-safe)
and are routed here: model events drive the loading and missing-models screens,
job and board events go to the booth screen. Starting the engine runs in a
thread worker, so the event loop never waits on SQLite or model loading.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from kiosk.core.api import EngineAPI
from kiosk.core.config import TINY_NOTICE, Settings, with_target
from kiosk.core.events import (
    Event,
    LeaderboardChanged,
    ModelsFailed,
    ModelsLoading,
    ModelsReady,
    Notice,
    TargetChanged,
)
from kiosk.core.join import JoinCode, PhoneService
from kiosk.core.pin import PinGate
from kiosk.ui.graphics import Mode, image_class
from kiosk.ui.messages import EngineEvent
from kiosk.ui.screens.attract import AttractScreen, Showcase
from kiosk.ui.screens.booth import BoothScreen
from kiosk.ui.screens.loading import LoadingScreen
from kiosk.ui.screens.missing import MissingModelsScreen
from kiosk.ui.staff.pin import PinScreen
from kiosk.ui.staff.screen import StaffScreen

log = logging.getLogger(__name__)

SHOWCASE_SIZE = 5
# What a visitor could use to leave the kiosk: quit, "press ^q to quit", suspend, palette.
LOCKED_ACTIONS = frozenset({"quit", "help_quit", "suspend_process", "command_palette"})
EngineFactory = Callable[[Settings], EngineAPI]  # the CLI's: kiosk.ui never imports the engine
PhonesFactory = Callable[[EngineAPI, Settings], PhoneService]  # the CLI's: kiosk.web's server


class KioskApp(App[None]):
    """The booth. Visitors cannot quit, suspend or open the palette unless unlocked."""

    CSS_PATH = "app.tcss"
    TITLE = "AI Drawing Judge"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # The one way into staff mode: a PIN prompt. Not shown to visitors.
        Binding("f12", "staff", "Staff", show=False, priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        engine: EngineAPI,
        *,
        engine_factory: EngineFactory | None = None,
        graphics: Mode = "halfcell",
        unlocked: bool = False,
        idle_timeout: float = 120.0,
        tiny_settings: Callable[[Settings], Settings] | None = None,
        phones: PhonesFactory | None = None,
    ) -> None:
        super().__init__()
        if engine.target_id != settings.active_target.id:  # staff switched it earlier
            settings = with_target(settings, engine.target_id)
        self.settings = settings
        self.engine = engine
        self._engine_factory = engine_factory
        """Builds the tiny models' engine (None: the tiny models are not offered)."""
        self._tiny_settings = tiny_settings
        """The tiny demo models' settings (None: the tiny models are not offered)."""
        self.gate = PinGate.from_config(settings.source, settings.staff.pin_hash)
        self.image_class = image_class(graphics)
        self.unlocked = unlocked
        self.idle_timeout = idle_timeout
        self.use_command_palette = unlocked
        self.title = settings.event.name
        self.models_ready = False
        self.lang: str = settings.event.languages[0]
        """The visitor's language: the booth's sitting sets it (screens read it)."""
        self.operator_notes: list[str] = []
        """Warnings for the operator (logged; shown in staff mode), never over a visitor."""
        self._phones = phones
        """Builds the phone server on an engine (None: no phones in this process)."""
        self.serves_phones = phones is not None
        self.join_code: JoinCode | None = None
        """Where phones join, once the phone server listens (the booth shows its QR)."""
        self._phone_server: PhoneService | None = None
        self.booth = BoothScreen(self)
        self.loading: LoadingScreen | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._last_activity = time.monotonic()
        if not unlocked:
            # Textual keeps the terminal's signal keys (^C, ^Z, ^\) only when this is set.
            os.environ.pop("TEXTUAL_ALLOW_SIGNALS", None)

    def get_default_screen(self) -> Screen[Any]:
        return self.booth

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Locked: the ways out are disabled (and hidden from the footer)."""
        return self.unlocked or action not in LOCKED_ACTIONS

    def on_mount(self) -> None:
        self._run_engine(self.engine)
        self._serve_phones(self.engine)
        self.set_interval(1.0, self._check_idle)
        if not self.settings.staff.pin_hash.strip():
            # For the operator (the log, `kiosk doctor`), never a toast over the visitor.
            log.warning("no staff PIN is set: staff mode stays closed (kiosk staff set-pin)")

    # -- staff mode ----------------------------------------------------------------------

    async def action_staff(self) -> None:
        """F12: the PIN prompt; in staff mode (a dialog over it too), back to the booth.
        The PIN's hash is reread from the config file (in a thread) each time."""
        staff = next((s for s in self.screen_stack if isinstance(s, StaffScreen)), None)
        if staff is not None:
            while self.screen is not staff:
                self.pop_screen()
            staff.action_close()
            return
        if isinstance(self.screen, PinScreen):
            return
        reading = self.run_worker(
            lambda: self.gate.has_pin, thread=True, group="pin-read", exit_on_error=False
        )
        if await reading.wait():
            self.push_screen(PinScreen(self.gate, self._note_pin), self._after_pin)
        else:
            log.warning("F12 pressed: no staff PIN is set (kiosk staff set-pin)")
            self.notify("Staff mode is not set up on this booth.", timeout=4)

    def _note_pin(self, outcome: str) -> None:
        """Called in the PIN check's thread: audit the outcome, never the PIN."""
        try:
            self.engine.note_staff("pin", outcome)
        except Exception:  # the audit must not keep staff out; the log says why
            log.exception("could not audit a PIN attempt")

    def _after_pin(self, ok: bool | None) -> None:
        if ok:
            self.push_screen(StaffScreen(self), lambda _: self.note_activity())

    # -- the engine ----------------------------------------------------------------------

    def _run_engine(self, engine: EngineAPI) -> None:
        """Subscribe to `engine`, show the loading screen and start it off the loop."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.engine = engine
        self.models_ready = False
        self._unsubscribe = engine.subscribe(self._forward)
        self.loading = LoadingScreen(self.settings.event.name, tiny=self.settings.tiny)
        self.push_screen(self.loading)
        self._start_engine(engine)

    def _forward(self, event: Event) -> None:
        """Engine subscriber, called in the engine's threads: hand the event to the loop."""
        self.post_message(EngineEvent(event))

    # -- phones --------------------------------------------------------------------------

    def _serve_phones(self, engine: EngineAPI) -> None:
        """Start the phone server on this app's event loop, for `engine`."""
        if self._phones is not None:
            self.run_worker(
                self._start_phones(engine), group="phones", exclusive=True, exit_on_error=False
            )

    async def _start_phones(self, engine: EngineAPI) -> None:
        await self._stop_phones()
        assert self._phones is not None
        server = self._phones(engine, self.settings)
        try:
            await server.start()
        except OSError as exc:  # the port is taken: the booth plays on without phones
            port = self.settings.phones.port
            note = f"phones: cannot listen on port {port}: {exc.strerror or exc}"
            log.error("%s", note)
            self.operator_notes.append(note)
            return
        self._phone_server = server
        self.join_code = server.join
        log.info("phones join at %s", server.join.url())

    async def _stop_phones(self) -> None:
        server, self._phone_server = self._phone_server, None
        self.join_code = None
        if server is not None:
            await server.stop()

    async def on_unmount(self) -> None:
        await self._stop_phones()

    @work(thread=True, group="engine", exit_on_error=False)
    def _start_engine(self, engine: EngineAPI) -> None:
        engine.start()  # SQLite work, then the engine's own thread loads the models

    @work(thread=True, group="engine-stop", exit_on_error=False)
    def _stop_in_thread(self, engine: EngineAPI) -> None:
        engine.stop(10)

    def stop_engine(self, timeout: float = 30.0) -> None:
        """Finish the running batch and stop the engine; call after `run` returns."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.engine.stop(timeout)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "engine" and event.state == WorkerState.ERROR:
            log.error("engine start failed", exc_info=event.worker.error)
            screen = MissingModelsScreen(
                str(event.worker.error), offer_tiny=False, title="The kiosk could not start"
            )
            self._close_loading()
            self.push_screen(screen)

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, ModelsLoading):
            if self.loading is not None:
                self.loading.show_stage(event)
        elif isinstance(event, ModelsReady):
            self._models_ready()
        elif isinstance(event, ModelsFailed):
            self._models_failed(event.reason)
        elif isinstance(event, Notice):
            self._notice(event)
        elif isinstance(event, TargetChanged):
            self.settings = with_target(self.settings, event.target)
            self.booth.retarget()
            if isinstance(self.screen, StaffScreen):
                self.screen.reload()
        else:
            self.booth.handle(event)
            if isinstance(self.screen, StaffScreen):
                self.screen.reload()  # the staff list follows live
            elif isinstance(self.screen, AttractScreen) and isinstance(event, LeaderboardChanged):
                self.screen.reload()  # a hidden drawing leaves the showcase at once

    def _notice(self, event: Notice) -> None:
        """Operator notices go to the log and staff mode, never over a visitor's screen
        (the tiny-models one is a banner already)."""
        if event.message != TINY_NOTICE:
            log.log(logging.ERROR if event.level == "error" else logging.WARNING, event.message)
            self.operator_notes.append(event.message)

    def _close_loading(self) -> None:
        """Close the loading screen; keys typed on it go to the booth (typing is never
        blocked: a visitor may start on their nickname while the models load)."""
        keys = self.loading.typed if self.loading is not None else []
        if self.loading is not None and self.screen is self.loading:
            self.pop_screen()
        self.loading = None
        if keys and self.screen is self.booth:
            self.booth.replay(keys)

    def _models_ready(self) -> None:
        self.models_ready = True
        self.booth.ready()
        self._close_loading()
        self.note_activity()

    def _models_failed(self, reason: str) -> None:
        self._close_loading()
        offer = self._engine_factory is not None and self._tiny_settings is not None
        screen = MissingModelsScreen(reason, offer_tiny=offer and not self.settings.tiny)
        self.push_screen(screen, self._after_missing)

    def _after_missing(self, use_tiny: bool | None) -> None:
        if use_tiny:
            self.use_tiny_models()

    def use_tiny_models(self) -> None:
        """Carry on with the tiny demo models (their own data folder, a banner on screen)."""
        assert self._engine_factory is not None and self._tiny_settings is not None
        self._stop_in_thread(self.engine)  # releases its data-dir lock; its loader is done
        self.settings = self._tiny_settings(self.settings)
        self.booth.reconfigure()
        self._run_engine(self._engine_factory(self.settings))
        self._serve_phones(self.engine)  # the tiny models' data dir has its own join code

    # -- attract mode --------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self.note_activity()
        await super().on_event(event)

    def note_activity(self) -> None:
        """Someone is at the booth (a key, a click, or their drawing just arrived)."""
        self._last_activity = time.monotonic()

    def _check_idle(self) -> None:
        """Every second: end a walked-away visitor's sitting; later, attract mode."""
        if not self.models_ready:
            return
        idle_s = self.settings.event.sitting_idle_s
        if self.booth.check_sitting(self._last_activity, idle_s):
            self.note_activity()  # attract mode comes idle_timeout after the sitting ended
        if self.idle_timeout <= 0 or self.screen is not self.booth:
            return
        if time.monotonic() - self._last_activity >= self.idle_timeout:
            self.show_attract()

    def show_attract(self) -> None:
        """Cycle the best drawings until someone presses a key."""
        target = self.settings.active_target
        screen = AttractScreen(
            self.image_class,
            self._showcase,
            title=self.settings.event.name,
            target=self.settings.target_image(target),
            tiny=self.settings.tiny,
            join=(lambda: self.join_code) if self.serves_phones else None,
        )
        self.push_screen(screen, self._after_attract)

    def _showcase(self) -> list[Showcase]:
        engine = self.engine
        return [
            Showcase(
                rank=r.rank,
                nickname=r.nickname,
                percent=r.percent,
                prompt=r.prompt,
                image=engine.image_path(r),
            )
            for r in engine.leaderboard(SHOWCASE_SIZE)
        ]

    def _after_attract(self, _: None) -> None:
        self.note_activity()
        self.booth.action_new_player()


def make_app(
    settings: Settings,
    engine: EngineAPI | None = None,
    *,
    engine_factory: EngineFactory | None = None,
    graphics: Mode = "halfcell",
    unlocked: bool = False,
    idle_timeout: float | None = None,
    tiny_settings: Callable[[Settings], Settings] | None = None,
    phones: PhonesFactory | None = None,
) -> KioskApp:
    """The booth app, shared by `kiosk run` and the tests. The caller hands in the engine
    (a test's fake) or how to build one (`kiosk run`); the app starts it."""
    if engine is None:
        if engine_factory is None:
            raise TypeError("make_app needs an engine or an engine_factory")
        engine = engine_factory(settings)
    return KioskApp(
        settings,
        engine,
        engine_factory=engine_factory,
        tiny_settings=tiny_settings,
        graphics=graphics,
        unlocked=unlocked,
        idle_timeout=settings.event.idle_timeout_s if idle_timeout is None else idle_timeout,
        phones=phones,
    )
