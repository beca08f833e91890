"""Phones at a crowd's scale, with the booth in the same process as the phone server:
many devices on loopback play at a person's pace while someone types at the booth.

    .venv/bin/python bench/phones.py [--devices 200] [--duration 60] [--think 20:60]

The booth is the real app (kiosk.ui.app.make_app on a real Engine, the tiny models),
headless under App.run_test at 120x40, with phones on: the phone server starts on the
app's own event loop, as in `kiosk run --phones`. The devices run in a second process
(`bench/phones.py --crowd JOIN_URL ...`, the URL the booth shows as its QR code), so their
client work does not share the booth's GIL. Each device joins, holds its event stream
open, thinks (types) for a while, sends a prompt, and again, until the time is up.

Measured in the booth: keystroke-to-frame latency typed into the prompt field, as
bench/tui_latency.py measures it (its FrameProbe and type_keys), first idle, then for as
long as the crowd plays while the tiny engine draws the phones' prompts. Measured on the
devices: prompt -> `202 queued` (the POST's answer) and prompt -> the `queued` event on
the device's own stream; prompts queued, refused, failed; drawings back before the end.
Bounded: every device stops at --duration, the crowd at --duration + 30 s. Prints figures
and a SUMMARY line with the goals (keystroke p95 < 50 ms, prompt -> queued p95 < 100 ms,
no errors). Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
KEY_GOAL_MS = 50.0
QUEUED_GOAL_MS = 100.0
ROUND = 50
"""Keys typed into the prompt before it is cleared (it holds at most 300 characters)."""
JOINING_S = 8.0
"""The crowd's first seconds: its process starts and the devices join (over 5 s)."""


@dataclass
class Figures:
    """What the devices saw."""

    answered_ms: list[float] = field(default_factory=list)
    """prompt -> the POST's 202."""
    streamed_ms: list[float] = field(default_factory=list)
    """prompt -> the `queued` event on the device's stream."""
    refused: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    done: int = 0
    joined: int = 0


async def device(
    n: int, join_url: str, deadline: float, think: tuple[float, float], rng: random.Random,
    figures: Figures,
) -> None:  # fmt: skip
    base = join_url.split("/j/")[0]
    jar = aiohttp.CookieJar(unsafe=True)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as s:
        await asyncio.sleep(rng.uniform(0, 5))  # phones scan the code over a few seconds
        async with s.get(join_url, allow_redirects=False) as r:
            if r.status != 303:
                figures.errors += 1
                return
        figures.joined += 1
        sent: dict[int, float] = {}
        waiting: dict[int, asyncio.Future[float]] = {}
        stream = asyncio.create_task(listen(s, base, waiting, figures))
        try:
            k = 0
            while True:
                pause = rng.uniform(*think)
                if time.monotonic() + pause > deadline:
                    await asyncio.sleep(max(0.0, deadline - time.monotonic()))  # still listens
                    break
                await asyncio.sleep(pause)
                k += 1
                body = {"nickname": f"phone{n}", "prompt": f"a duck and a swan, take {n}-{k}"}
                start = time.monotonic()
                async with s.post(f"{base}/api/prompt", json=body, headers={"Origin": base}) as r:
                    data = await r.json(content_type=None)
                    answered = time.monotonic()
                if r.status == 202:
                    figures.answered_ms.append((answered - start) * 1000)
                    job = int(data["job"])
                    sent[job] = start
                    fut = waiting.setdefault(job, asyncio.get_running_loop().create_future())
                    try:
                        seen = await asyncio.wait_for(asyncio.shield(fut), 10)
                        figures.streamed_ms.append((max(seen, start) - start) * 1000)
                    except TimeoutError:
                        figures.errors += 1
                elif r.status == 200:
                    figures.answered_ms.append((answered - start) * 1000)
                else:
                    kind = str(data.get("kind", r.status))
                    figures.refused[kind] = figures.refused.get(kind, 0) + 1
        finally:
            stream.cancel()


async def listen(
    s: aiohttp.ClientSession, base: str, waiting: dict[int, asyncio.Future[float]],
    figures: Figures,
) -> None:  # fmt: skip
    """The device's event stream: note when each of its jobs was said to be queued."""
    async with s.get(f"{base}/api/events") as r:
        name = ""
        async for raw in r.content:
            line = raw.decode().strip()
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name in ("queued", "done"):
                data = json.loads(line[6:])
                if name == "done":
                    figures.done += 1
                    continue
                fut = waiting.setdefault(
                    int(data["job"]), asyncio.get_running_loop().create_future()
                )
                if not fut.done():
                    fut.set_result(time.monotonic())


# -- the crowd (its own process) -----------------------------------------------------------


async def crowd(join_url: str, args: argparse.Namespace, figures: Figures) -> None:
    deadline = time.monotonic() + args.duration
    low, high = (float(x) for x in args.think.split(":"))
    rng = random.Random(args.seed)
    seeds = [random.Random(rng.random()) for _ in range(args.devices)]
    tasks = [
        asyncio.create_task(device(n, join_url, deadline, (low, high), seeds[n], figures))
        for n in range(args.devices)
    ]
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), args.duration + 30)


def play(args: argparse.Namespace) -> int:
    """`--crowd JOIN_URL`: the devices, in this process; their figures to --json."""
    figures = Figures()
    began = time.monotonic()
    try:
        asyncio.run(crowd(args.crowd, args, figures))
    finally:
        out = asdict(figures) | {"took_s": time.monotonic() - began}
        Path(args.json).write_text(json.dumps(out), encoding="utf-8")
    return 0


def crowd_command(join_url: str, args: argparse.Namespace, out: Path) -> list[str]:
    return [
        sys.executable, __file__, "--crowd", join_url, "--json", str(out),
        "--devices", str(args.devices), "--duration", str(args.duration),
        "--think", args.think, "--seed", str(args.seed),
    ]  # fmt: skip


# -- the booth (this process) -------------------------------------------------------------


def booth_settings(data_dir: Path) -> Any:
    """The tiny models (bench/common.py), phones on, listening on a free loopback port."""
    from common import free_port, tiny_settings

    settings = tiny_settings(data_dir)
    update = {"enabled": True, "host": "127.0.0.1", "port": free_port(), "public_url": ""}
    return settings.model_copy(update={"phones": settings.phones.model_copy(update=update)})


def booth(settings: Any) -> Any:
    """The booth as `kiosk run --phones` builds it; every device comes from 127.0.0.1
    here, so no cap on new devices per address."""
    from functools import partial

    from kiosk.engine.engine import Engine
    from kiosk.ui.app import make_app
    from kiosk.web.server import Caps, PhoneServer

    phones = partial(PhoneServer, caps=Caps(joins_per_address=1_000_000))
    return make_app(settings, engine_factory=Engine, idle_timeout=0, phones=phones)


async def keys_while(proc: asyncio.subprocess.Process, limit: float, app: Any, probe: Any,
                     gap: float, busy: Any) -> tuple[list[float], list[float], int]:  # fmt: skip
    """Type into the prompt in rounds (cleared between them) until the crowd is done;
    all the keys, and those of the rounds begun while the devices join."""
    from tui_latency import type_keys

    times: list[float] = []
    joining: list[float] = []
    drawing = 0
    began = time.monotonic()
    while proc.returncode is None and time.monotonic() - began < limit:
        probe.input.value = ""
        await asyncio.sleep(gap)
        at = time.monotonic() - began
        more, during = await type_keys(app, probe, ROUND, gap, busy)
        times += more
        if at < JOINING_S:
            joining += more
        drawing += during
    return times, joining, drawing


async def session(app: Any, args: argparse.Namespace, out_json: Path) -> dict[str, Any]:
    """Wait for the models and the phone server, type idle, then type while the crowd plays."""
    from textual.widgets import Input
    from tui_latency import SIZE, Drawings, FrameProbe, type_keys, until

    out: dict[str, Any] = {}
    start = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.models_ready and app.join_code, 180, "models and phones")
        out["ready_s"] = time.perf_counter() - start
        probe = FrameProbe(app, app.query_one("#prompt", Input))
        busy = Drawings()
        app.engine.subscribe(busy)
        await pilot.press(*"ann", "enter")  # nothing is drawing yet: Pilot.press is fine
        gap = args.gap_ms / 1000
        out["idle"], _ = await type_keys(app, probe, args.idle_keys, gap, busy)
        command = crowd_command(app.join_code.url(), args, out_json)
        proc = await asyncio.create_subprocess_exec(*command)
        busy.watch()
        done_before = busy.done
        typed = await keys_while(proc, args.duration + 45, app, probe, gap, busy)
        if proc.returncode is None:  # the crowd bounds itself; this is in case it hangs
            proc.kill()
        out["crowd"], out["joining"], out["while_drawing"] = typed
        busy.stop()
        out["finished"] = busy.done - done_before
        out["rc"] = await proc.wait()
        out["busy"] = busy
    return out


# -- figures --------------------------------------------------------------------------------


def line(label: str, values: list[float]) -> str:
    from common import pct

    if not values:
        return f"{label:28} none"
    return (
        f"{label:28} p50 {statistics.median(values):7.1f} ms  p95 {pct(values, 95):7.1f} ms"
        f"  max {max(values):7.1f} ms  (n={len(values)})"
    )


def report(args: argparse.Namespace, out: dict[str, Any], f: dict[str, Any]) -> None:
    from common import pct

    a, q, keys = f["answered_ms"], f["streamed_ms"], out["crowd"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"booth: 120x40 headless, tiny models, ready in {out['ready_s']:.1f} s; crowd: "
        f"{args.devices} devices in their own process, {f['took_s']:.0f} s, think {args.think}"
        f" s (exit {out['rc']}); load average {load} on {os.cpu_count()} CPUs"
    )
    print(line(f"keys idle ({args.gap_ms:.0f} ms apart)", out["idle"]))
    print(line("keys with the crowd (all)", keys))
    print(line(f"  of which while joining ({JOINING_S:.0f} s)", out["joining"]))
    print(line("  of which while playing", keys[len(out["joining"]) :]))
    print(
        f"  {out['while_drawing']}/{len(keys)} keys typed and shown while a drawing ran; "
        f"{len(out['busy'].seen)} drawings started, {out['finished']} finished meanwhile"
    )
    print(line("phone prompt -> 202", a))
    print(line("phone prompt -> queued event", q))
    print(
        f"joined {f['joined']}/{args.devices}  prompts {len(a)}  refused {f['refused'] or 0}"
        f"  errors {f['errors']}  drawings back {f['done']}"
    )
    key95 = pct(keys, 95) if keys else float("nan")
    q95 = pct(q, 95) if q else float("nan")
    goals = (
        (f"keystroke p95 {key95:.1f} ms < {KEY_GOAL_MS:.0f}", key95 < KEY_GOAL_MS),
        (f"prompt->queued p95 {q95:.1f} ms < {QUEUED_GOAL_MS:.0f}", q95 < QUEUED_GOAL_MS),
        (f"errors {f['errors']} == 0", f["errors"] == 0 and f["joined"] == args.devices),
    )
    said = "; ".join(f"{text} {'PASS' if ok else 'not met'}" for text, ok in goals)
    print(f"SUMMARY phones: {args.devices} devices, {len(a)} prompts, booth in process: {said}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--devices", type=int, default=200)
    p.add_argument("--duration", type=float, default=60.0, help="seconds the crowd plays")
    p.add_argument("--think", default="20:60", help="seconds between prompts, low:high")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--idle-keys", type=int, default=30, help="keys typed before the crowd")
    p.add_argument("--gap-ms", type=float, default=40.0, help="pause between keys")
    p.add_argument("--crowd", metavar="JOIN_URL", help="be the crowd (run by the booth side)")
    p.add_argument("--json", help="with --crowd: where the devices' figures go")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.crowd:
        return play(args)
    with tempfile.TemporaryDirectory(prefix="kiosk-phones-bench-") as td:
        app = booth(booth_settings(Path(td) / "data"))
        try:
            out = asyncio.run(session(app, args, Path(td) / "crowd.json"))
        finally:
            app.stop_engine(60)
        said = Path(td) / "crowd.json"
        if not said.exists():
            raise SystemExit(f"bench/phones.py: the crowd wrote no figures (exit {out['rc']})")
        figures = json.loads(said.read_text(encoding="utf-8"))
    report(args, out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
