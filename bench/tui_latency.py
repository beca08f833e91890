# mypy: disallow-untyped-calls=False
"""Keystroke-to-screen latency in the real booth app while the engine draws on CPU.

The real app (kiosk.ui.app.make_app) on a real Engine, headless under App.run_test. The
generator is a mid-size random-weight Stable Diffusion pipeline, built like kiosk/ml/tiny.py
but bigger (a 71 M-parameter UNet, 512 px, several steps: seconds per drawing on a small
CPU), so the engine's worker thread is drawing the whole time; the judge stays tiny.

Keys are posted the way Pilot.press posts them (driver.send_message(Key)), but not timed
with Pilot.press: after each key it waits for the *process* to go idle
(textual._wait.wait_for_idle, up to 1 s, twice), which never happens while a drawing
runs, so it would time its own time-out (the script shows a few such presses). A key's
latency runs from posting it to the first frame the app composes after the prompt Input
holds it (App._display, wrapped here to also render that frame to terminal bytes, as a
real terminal needs). Frames come at most every 1/MAX_FPS s (16.7 ms at 60 fps).

    .venv/bin/python bench/tui_latency.py [--keys 100] [--gap-ms 40] [--steps 4]

Prints p50/p95/max while idle and while drawing, then a SUMMARY line (target: p95 < 50 ms
while drawing). The GIL is shared with the worker: torch releases it inside heavy ops,
diffusers' Python between them holds it; that is part of what is measured. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may touch the network
SIZE = (120, 40)
LETTERS = "abcdefghijklmnopqrstuvwxyz"

# A mid-size pipeline: about 0.5 s per UNet step and 0.6 s of VAE decode at 512 px on 2 cores.
MID_UNET: dict[str, Any] = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(128, 256, 512),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=256,
    attention_head_dim=8,
    norm_num_groups=32,
)
MID_VAE: dict[str, Any] = dict(
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    layers_per_block=1,
    block_out_channels=(32, 64, 128, 128),
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    norm_num_groups=32,
    sample_size=512,
)
MID_TEXT: dict[str, Any] = dict(
    vocab_size=49408,
    hidden_size=256,
    intermediate_size=1024,
    num_hidden_layers=4,
    num_attention_heads=4,
    max_position_embeddings=77,
    bos_token_id=49406,
    eos_token_id=49407,
    pad_token_id=49407,
)


def build_mid_pipeline(out: Path) -> Path:
    """A random-weight StableDiffusionPipeline saved in the diffusers layout."""
    import torch

    from kiosk.ml.tiny import save_sd_pipeline

    torch.manual_seed(0)
    save_sd_pipeline(out, unet=MID_UNET, vae=MID_VAE, text=MID_TEXT)
    return out


def settings_for(root: Path, steps: int) -> Any:
    """The repo's config, tiny profile (tiny judge), generator swapped for the mid-size one."""
    from kiosk.core.config import load_settings
    from kiosk.ml.tiny import with_tiny_models

    settings = with_tiny_models(load_settings(REPO / "kiosk.toml", data_dir=root / "data"))
    generator = settings.generator.model_copy(
        update={
            "model": str(build_mid_pipeline(root / "mid-sd")),
            "width": 512,
            "height": 512,
            "steps": steps,
            "batch": 1,  # one drawing per call: Started/Progress/Done keep the screen busy
        }
    )
    from common import engine_only

    return engine_only(settings.model_copy(update={"generator": generator}))


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class Drawings:
    """Which drawings are in progress, from the engine's events (called in its thread)."""

    running: set[int] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)  # ever in progress while `watching`
    done: int = 0
    gen_ms: list[float] = field(default_factory=list)  # each finished drawing's model time
    watching: bool = False
    started: threading.Event = field(default_factory=threading.Event)

    def __call__(self, event: Any) -> None:
        from kiosk.core.events import Done, Failed, Started

        if isinstance(event, Started):
            self.running.add(event.job_id)
            self.started.set()
            if self.watching:
                self.seen.add(event.job_id)
        elif isinstance(event, Done | Failed) and event.job_id is not None:
            self.running.discard(event.job_id)
            self.done += 1
            if isinstance(event, Done):
                self.gen_ms.append(event.gen_ms)

    def watch(self) -> None:
        self.watching = True
        self.seen |= self.running

    def stop(self) -> None:
        self.watching = False


class FrameProbe:
    """Wraps App._display: notes the first frame composed once the Input holds `want` chars."""

    def __init__(self, app: Any, input_widget: Any) -> None:
        self.app = app
        self.input = input_widget
        self.want = -1
        self.at = 0.0
        self.verified = 0  # frames whose terminal bytes hold the last three letters typed
        self.shown = asyncio.Event()
        self._display = app._display
        app._display = self.display

    def arm(self, want: int) -> None:
        self.want, self.at = want, 0.0
        self.shown.clear()

    def display(self, screen: Any, renderable: Any) -> None:
        from textual._compositor import CompositorUpdate

        self._display(screen, renderable)
        sent = ""
        if isinstance(renderable, CompositorUpdate) and self.app.is_headless:
            sent = renderable.render_segments(self.app.console)  # what a terminal is sent
        if self.want >= 0 and len(self.input.value) >= self.want and screen is self.app.screen:
            self.at = time.perf_counter()
            self.want = -1
            self.verified += self.input.value[-3:] in sent  # the frame shows the new text
            self.shown.set()


async def type_keys(app: Any, probe: FrameProbe, n: int, gap_s: float, busy: Drawings) -> Any:
    """Type n letters into the focused prompt; ms per key, and keys typed while drawing."""
    from textual import events

    driver = app._driver
    times: list[float] = []
    while_drawing = 0
    for i in range(n):
        key = events.Key(LETTERS[i % len(LETTERS)], LETTERS[i % len(LETTERS)])
        key.set_sender(app)
        probe.arm(len(probe.input.value) + 1)
        drawing = bool(busy.running)
        start = time.perf_counter()
        driver.send_message(key)
        await asyncio.wait_for(probe.shown.wait(), 10)
        times.append((probe.at - start) * 1000.0)
        while_drawing += drawing and bool(busy.running)
        await asyncio.sleep(gap_s)
    return times, while_drawing


async def post_enter(app: Any) -> None:
    """Enter, posted like a terminal sends it (no wait for the process to go idle)."""
    from textual import events

    key = events.Key("enter", "\r")
    key.set_sender(app)
    app._driver.send_message(key)
    await asyncio.sleep(0.05)


async def until(ready: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/tui_latency.py: timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def start_drawing(app: Any, pilot: Any, probe: FrameProbe, args: Any) -> dict[str, Any]:
    """Nickname, a baseline while idle, then the typed prompt and more players' jobs."""
    busy = Drawings()
    app.engine.subscribe(busy)
    await pilot.press(*"ann", "enter")  # nothing is drawing yet: Pilot.press is fine here
    idle, _ = await type_keys(app, probe, args.idle_keys, args.gap_ms / 1000, busy)
    await post_enter(app)  # the letters typed so far are ann's prompt
    for i in range(args.jobs - 1):
        app.engine.submit(f"player {i}", f"a swan on a lake, number {i}")
    await until(lambda: bool(busy.running), 60, "a drawing to start")
    return {"busy": busy, "idle": idle}


async def session(app: Any, args: Any) -> dict[str, Any]:
    """Run the booth, wait for its models, then type while the engine draws."""
    from textual.widgets import Input

    out: dict[str, Any] = {}
    start = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.models_ready, 180, "the models to load")
        out["ready_s"] = time.perf_counter() - start
        probe = FrameProbe(app, app.query_one("#prompt", Input))
        out.update(await start_drawing(app, pilot, probe, args))
        busy: Drawings = out["busy"]
        pressed = []
        for _ in range(args.pilot_keys):
            t0 = time.perf_counter()
            await pilot.press("z")
            pressed.append((time.perf_counter() - t0) * 1000.0)
        out["pilot"] = pressed
        busy.watch()
        done_before, probe.verified = busy.done, 0
        gap = args.gap_ms / 1000
        out["drawing"], out["while_drawing"] = await type_keys(app, probe, args.keys, gap, busy)
        busy.stop()
        out["finished"] = busy.done - done_before
        out["verified"] = probe.verified
    return out


def line(label: str, times: list[float]) -> str:
    if not times:
        return f"{label}: no keys"
    return (
        f"{label}: p50 {statistics.median(times):7.2f} ms  p95 {pct(times, 95):7.2f} ms  "
        f"max {max(times):7.2f} ms  (n={len(times)})"
    )


def report(out: dict[str, Any], args: Any, build_s: float) -> None:
    busy: Drawings = out["busy"]
    print(
        f"setup     build {build_s:5.1f} s  app ready (models loaded) {out['ready_s']:5.1f} s  "
        f"drawing 512 px, {args.steps} steps, batch 1, on CPU x{os.cpu_count()}",
        flush=True,
    )
    print(line(f"idle      {args.idle_keys} keys, nothing drawing", out["idle"]))
    if out["pilot"]:
        each = statistics.median(out["pilot"])
        print(
            f"pilot     {len(out['pilot'])} Pilot.press while drawing: {each:7.0f} ms each "
            "(waits for the process to go idle: not a latency)"
        )
    drawing = out["drawing"]
    print(line(f"drawing   {args.keys} keys while the engine draws", drawing))
    took = f"{statistics.median(busy.gen_ms) / 1000:.1f} s" if busy.gen_ms else "?"
    print(
        f"drawings  {took} each (model time, median of {len(busy.gen_ms)}); "
        f"{len(busy.seen)} in progress during the measurement, "
        f"{out['finished']} finished in it; {out['while_drawing']}/{len(drawing)} keys "
        "typed and shown while one was drawing; "
        f"{out['verified']}/{len(drawing)} frames checked to hold the typed text"
    )
    print(
        f"SUMMARY tui_latency: p95 {pct(drawing, 95):.1f} ms over {len(drawing)} keys "
        f"while generating ({len(busy.seen)} drawings in progress; target < 50 ms)",
        flush=True,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--keys", type=int, default=100, help="keys typed while drawing")
    p.add_argument("--idle-keys", type=int, default=30, help="keys typed first, while idle")
    p.add_argument("--pilot-keys", type=int, default=3, help="Pilot.press calls shown")
    p.add_argument("--gap-ms", type=float, default=40.0, help="pause between keys")
    p.add_argument("--steps", type=int, default=4, help="denoising steps per drawing")
    p.add_argument("--jobs", type=int, default=8, help="drawings queued (one per player)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from kiosk.engine.engine import Engine
    from kiosk.ml.models import quiet_libraries
    from kiosk.ui.app import make_app

    quiet_libraries()
    with tempfile.TemporaryDirectory(prefix="kiosk-tui-bench-") as td:
        start = time.perf_counter()
        settings = settings_for(Path(td), args.steps)
        build_s = time.perf_counter() - start
        app = make_app(settings, engine_factory=Engine, idle_timeout=0)
        try:
            out = asyncio.run(session(app, args))
        finally:
            app.stop_engine(60)
    report(out, args, build_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
