"""Phones at a crowd's scale: many devices on loopback play at a person's pace against
the real phone server and a real engine on the tiny models.

    .venv/bin/python bench/phones.py [--devices 200] [--duration 60] [--think 20:60]

Each device joins through the join URL, keeps its event stream open, then plays: it
thinks (types) for a while, sends a prompt, and again, until the time is up. Measured:
prompt -> `202 queued` (the POST's answer) and prompt -> the `queued` event on the
device's own stream, p50/p95/max; how many prompts were queued, refused, failed; how many
drawings came back before the end. The server runs on an event loop of its own, in a
thread, as it does in `kiosk serve`. Bounded: every device stops at --duration, and the
whole run at --duration + 30 s. Prints figures and a SUMMARY line. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import pct, tiny_settings

from kiosk.core.config import Settings
from kiosk.engine.engine import Engine
from kiosk.web.server import Caps, PhoneServer


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


def serve(engine: Engine, settings: Settings) -> tuple[PhoneServer, asyncio.AbstractEventLoop]:
    """The phone server on a loop of its own, in a thread (as in `kiosk serve`)."""
    # Every device comes from 127.0.0.1 here: no cap on new devices per address.
    server = PhoneServer(engine, settings, caps=Caps(joins_per_address=1_000_000))
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="phones", daemon=True).start()
    asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop).result(30)
    return server, loop


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--think", default="20:60", help="seconds between prompts, low:high")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = tiny_settings(Path(tmp) / "data")
        engine = Engine(settings)
        engine.start()
        assert engine.wait_ready(300), engine.load_error
        server, loop = serve(engine, settings)
        figures = Figures()
        began = time.monotonic()
        try:
            asyncio.run(crowd(server.join.url(), args, figures))
        finally:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            engine.stop()
        report(args, figures, time.monotonic() - began)


def report(args: argparse.Namespace, f: Figures, took: float) -> None:
    a, q = f.answered_ms, f.streamed_ms
    print(f"{args.devices} devices, {f.joined} joined, {took:.0f} s, think {args.think} s")
    print(f"prompts answered: {len(a)}  refused: {f.refused or 0}  errors: {f.errors}")
    print(f"drawings back before the end: {f.done}")
    for name, values in (("prompt -> 202 queued", a), ("prompt -> queued event", q)):
        if values:
            print(
                f"{name:24} p50 {statistics.median(values):7.1f} ms  p95 {pct(values, 95):7.1f} ms"
                f"  max {max(values):7.1f} ms  (n={len(values)})"
            )
    p95 = pct(a, 95) if a else float("nan")
    p95s = pct(q, 95) if q else float("nan")
    print(
        f"SUMMARY phones: {args.devices} devices, {len(a)} prompts, prompt->queued p95"
        f" {p95:.0f} ms (answer) / {p95s:.0f} ms (event), errors {f.errors}"
    )


if __name__ == "__main__":
    main()
