# mypy: disallow-untyped-calls=False
"""GPU benchmark: the full-size sd-turbo architecture and the ViT-B-32 judge, random weights.

Real weights cannot be downloaded on the GPU machine either; random weights do the same
compute. The architectures are the published configs written as data (sd-turbo = the
SD 2.1-base UNet, the SD VAE and the OpenCLIP-H text encoder, Euler with trailing
timesteps). The pipeline is built in a child process (so its memory is not counted),
saved with save_pretrained, and loaded through the kiosk's own Generator and Judge, so
the kiosk code path is what is measured:

  generator p50/p95 per call and images/s at each batch, eager or compiled UNet,
  contiguous or channels_last; judge images/s; engine submit -> Done latency and a
  burst through the engine; load times, peak RSS and peak VRAM.

    .venv/bin/python bench/gpu.py [--iters 20] [--batches 1,2,4,8] [--no-compile]
                                  [--cache DIR] [--out-json PATH]
    .venv/bin/python bench/gpu.py --tiny    # tiny architecture, 64 px, fp32: runs on CPU
    # each batch size and layout is a fresh compile (tens of seconds): split a short lease
    python bench/gpu.py --no-compile --cache /tmp/sd --out-json eager.json
    python bench/gpu.py --compiled-only --layouts channels_last --cache /tmp/sd
    (add --compile-mode reduce-overhead for CUDA graphs)

One line per configuration, then one SUMMARY line. Without CUDA and without --tiny it
refuses and exits 2. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sd_turbo_arch import (
    Arch,
    bench_settings,
    cuda_sync,
    ensure_pipeline,
    ensure_taesd,
    full_arch,
    register_tiny_judge,
    tiny_arch,
    workdir,
)
from stages import StageTimer


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


@contextmanager
def vram_peak() -> Iterator[dict[str, float]]:
    """Peak VRAM (MiB, torch.cuda.max_memory_allocated) inside the block; 0 without CUDA."""
    import torch

    box = {"mb": 0.0}
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    yield box
    if torch.cuda.is_available():
        box["mb"] = torch.cuda.max_memory_allocated() / 2**20


def timed_calls(fn: Callable[[int], object], iters: int, warmup: int) -> tuple[list[float], float]:
    """Milliseconds per call over `iters` calls, after `warmup` calls (their seconds too)."""
    start = time.perf_counter()
    for i in range(warmup):
        fn(-1 - i)
    cuda_sync()
    warm_s = time.perf_counter() - start
    times = []
    for i in range(iters):
        t0 = time.perf_counter()
        fn(i)
        cuda_sync()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times, warm_s


def figures(times: list[float], batch: int) -> dict[str, float]:
    total_s = sum(times) / 1000.0
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": pct(times, 95),
        "images_per_s": batch * len(times) / total_s if total_s else 0.0,
    }


@dataclass
class Report:
    """All figures, rewritten to --out-json after each section (a run cut short keeps some)."""

    path: Path | None
    data: dict[str, Any] = field(default_factory=dict)

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.data, indent=2, default=str))


def say(line: str) -> None:
    print(line, flush=True)


# -- the kiosk's models ----------------------------------------------------------------------


class Preloaded:
    """A loaded model handed to the engine; load() does nothing, so it is not loaded twice."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.device: str = getattr(inner, "device", "cpu")

    def load(self) -> None:
        pass

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)


def kiosk_settings(data_dir: Path, model: Path, args: argparse.Namespace, arch: Arch) -> Any:
    """The repo's config with this benchmark's pipeline, size, device and precision."""
    return bench_settings(
        data_dir, model, arch, device=args.device, half=args.half, batch=max(args.batches)
    )


def load_models(settings: Any) -> tuple[Any, Any, dict[str, float]]:
    """The kiosk's Generator and Judge, loaded the way the engine loads them, timed."""
    from kiosk.ml.generate import Generator
    from scoring.judge import Judge

    with vram_peak() as vram:
        start = time.perf_counter()
        gen = Generator(settings.generator)
        gen.load()  # includes the Generator's own warm-up call
        gen_s = time.perf_counter() - start
        start = time.perf_counter()
        judge = Judge(settings.judge.model, settings.judge.pretrained, gen.device)
        judge.load()
        target = settings.active_target
        judge.add_target(target.id, settings.target_image(target))
        judge_s = time.perf_counter() - start
    load = {
        "generator_load_s": gen_s,
        "judge_load_s": judge_s,
        "rss_after_load_mb": peak_rss_mb(),
        "vram_after_load_mb": vram["mb"],
    }
    return gen, judge, load


def prompts_for(batch: int, call: int) -> tuple[list[str], list[int]]:
    prompts = [f"a duck and a swan on a pond, call {call} image {i}" for i in range(batch)]
    return prompts, [(call * 64 + i) % 2**31 for i in range(batch)]


def draw(gen: Any, batch: int, call: int) -> object:
    return gen.generate(*prompts_for(batch, call))


def score(judge: Any, images: list[Any], target_id: str, call: int) -> object:
    return judge.score(images, [target_id] * len(images))


def speed_settings(settings: Any, compiled: bool, channels_last: bool, mode: str) -> Any:
    """The kiosk's settings with one speed configuration of [generator]."""
    generator = settings.generator.model_copy(
        update={
            "compile": mode if compiled else "off",
            "channels_last": "on" if channels_last else "off",
        }
    )
    return settings.model_copy(update={"generator": generator})


def config_name(compiled: bool, channels_last: bool) -> str:
    layout = "channels_last" if channels_last else "contiguous"
    return f"{'compiled' if compiled else 'eager':8} {layout:13}"


def load_generator(settings: Any) -> tuple[Any, float]:
    """A Generator loaded as the engine loads it (compile of every batch size included)."""
    import torch

    from kiosk.ml.generate import Generator

    if settings.generator.compile != "off":
        torch._dynamo.reset()  # each configuration compiles from scratch, within limits
    start = time.perf_counter()
    gen = Generator(settings.generator, stage=lambda text: say(f"          {text}"))
    gen.load()
    return gen, time.perf_counter() - start


def free(gen: Any) -> None:
    import gc

    import torch

    gen.pipe = None
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_config(
    gen: Any, args: argparse.Namespace, compiled: bool, cl: bool, load_s: float
) -> list[dict[str, Any]]:
    """Every batch size in one speed configuration; a failure is a line, not a crash."""
    rows: list[dict[str, Any]] = []
    for batch in args.batches:
        label = f"generator {args.dtype_name} {config_name(compiled, cl)} batch {batch}:"
        try:
            with vram_peak() as vram:
                times, warm_s = timed_calls(partial(draw, gen, batch), args.iters, args.warmup)
        except Exception as exc:
            say(f"{label} FAILED: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
            return rows
        row = {
            "compile": compiled,
            "channels_last": cl,
            "batch": batch,
            "load_s": load_s,
            "warmup_s": warm_s,
        }
        row.update(figures(times, batch), peak_vram_mb=vram["mb"])
        rows.append(row)
        say(
            f"{label} p50 {row['p50_ms']:8.2f} ms  p95 {row['p95_ms']:8.2f} ms  "
            f"{row['images_per_s']:7.2f} img/s  load {load_s:6.1f} s  "
            f"vram {row['peak_vram_mb']:7.0f} MiB"
        )
    return rows


def generator_matrix(
    settings: Any, loaded: Any, loaded_s: float, args: argparse.Namespace, report: Report
) -> list[dict[str, Any]]:
    """Eager, then compiled (generator.compile = --compile-mode); each contiguous and
    channels_last as the flags allow. Each configuration is a Generator loaded from its
    settings, so `load` is the booth's start-up cost (compiling every batch size)."""
    layouts = {"both": (False, True), "channels_last": (True,), "contiguous": (False,)}
    modes = [m for m in (False, True) if (m and args.compile) or (not m and not args.compiled_only)]
    as_loaded = (False, loaded.device == "cuda")  # the kiosk's defaults: eager, auto layout
    rows: list[dict[str, Any]] = []
    for compiled in modes:
        for cl in layouts[args.layouts]:
            if (compiled, cl) == as_loaded:
                gen, load_s = loaded, loaded_s
            else:
                gen, load_s = load_generator(
                    speed_settings(settings, compiled, cl, args.compile_mode)
                )
            if compiled and not gen.compiled:
                say(f"generator {config_name(compiled, cl)} FAILED to compile: {gen.compile_error}")
            else:
                rows.extend(run_config(gen, args, compiled, cl, load_s))
            report.put("generator", rows)  # a run cut short keeps what it measured
            if gen is not loaded:
                free(gen)
    return rows


def recommendation(rows: list[dict[str, Any]], mode: str) -> dict[str, Any] | None:
    """The [generator] speed settings with the lowest batch-1 p50 (a visitor waits for one
    drawing), and how they compare with the shipped defaults (eager, channels_last auto)."""
    ones = [r for r in rows if r["batch"] == 1]
    if not ones:
        return None
    best = min(ones, key=lambda r: r["p50_ms"])
    return {
        "compile": mode if best["compile"] else "off",
        "channels_last": "on" if best["channels_last"] else "off",
        "batch1_p50_ms": best["p50_ms"],
        "load_s": best["load_s"],
        "best_images_per_s": max(
            r["images_per_s"]
            for r in rows
            if (r["compile"], r["channels_last"]) == (best["compile"], best["channels_last"])
        ),
    }


def judge_rows(judge: Any, target_id: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The judge's images/s on drawings of the generator's size (preprocessing included)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for batch in (1, 8):
        images = [
            Image.fromarray(rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8))
            for _ in range(batch)
        ]
        with vram_peak() as vram:
            times, _ = timed_calls(
                partial(score, judge, images, target_id),
                args.iters,
                args.warmup,
            )
        row = {"batch": batch, **figures(times, batch), "peak_vram_mb": vram["mb"]}
        rows.append(row)
        say(
            f"judge     {judge.name} batch {batch}: p50 {row['p50_ms']:8.2f} ms  "
            f"p95 {row['p95_ms']:8.2f} ms  {row['images_per_s']:7.2f} img/s"
        )
    return rows


def decoder_rows(
    settings: Any, loaded: Any, taesd: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The pipeline with its full decoder (as loaded) and with the tiny one ([generator]
    vae = a folder of the madebyollin/taesd architecture), eager: each batch size's call
    time and the time of each stage in it."""
    rows: list[dict[str, Any]] = []
    for vae in args.vaes:
        gen = loaded if vae == "full" else load_generator(with_vae(settings, str(taesd)))[0]
        timer = StageTimer(gen.pipe, cuda_sync)
        for batch in args.batches:
            timer.take()
            times, _ = timed_calls(partial(draw, gen, batch), args.iters, args.warmup)
            calls = args.iters + args.warmup
            stages = {k: v / calls for k, v in timer.take().items()}  # per call
            row = {"vae": vae, "batch": batch, **figures(times, batch), "stages_ms": stages}
            rows.append(row)
            parts = "  ".join(f"{k} {v:8.2f}" for k, v in stages.items())
            say(
                f"decoder   {vae:4} batch {batch}: p50 {row['p50_ms']:8.2f} ms  "
                f"{row['images_per_s']:7.2f} img/s  per call: {parts} ms"
            )
        timer.remove()
        if gen is not loaded:
            free(gen)
    return rows


def with_vae(settings: Any, vae: str) -> Any:
    return settings.model_copy(
        update={"generator": settings.generator.model_copy(update={"vae": vae})}
    )


# -- through the engine ----------------------------------------------------------------------


def wait_done(events: queue.Queue[Any], job_ids: set[int], timeout: float) -> None:
    """Block until every job in `job_ids` is Done; a Failed job stops the benchmark."""
    from kiosk.core.events import Done, Failed

    deadline = time.monotonic() + timeout
    while job_ids:
        event = events.get(timeout=max(0.001, deadline - time.monotonic()))
        if isinstance(event, Failed):
            raise SystemExit(f"bench/gpu.py: job {event.job_id} failed: {event.reason}")
        if isinstance(event, Done) and event.job_id in job_ids:
            job_ids.discard(event.job_id)


def submit(engine: Any, nickname: str, prompt: str) -> int:
    from kiosk.core.events import Queued

    result = engine.submit(nickname, prompt)
    if not isinstance(result, Queued):
        raise SystemExit(f"bench/gpu.py: {prompt!r} was not queued (a dedup hit?)")
    return int(result.job_id)


def engine_figures(
    settings: Any, gen: Any, judge: Any, args: argparse.Namespace, label: str = "engine"
) -> dict[str, Any]:
    """submit -> Done one job at a time (p50/p95), then a burst of jobs from many players.

    Prompts carry `label`, so a second run on the same store draws rather than dedups."""
    from kiosk.engine.engine import Engine

    engine = Engine(settings, generator=Preloaded(gen), judge=Preloaded(judge))
    events: queue.Queue[Any] = queue.Queue()
    engine.subscribe(events.put)
    engine.start()
    try:
        if not engine.wait_ready(600):
            raise SystemExit(f"bench/gpu.py: the engine did not start: {engine.load_error}")
        times = []
        for i in range(args.warmup + args.engine_jobs):
            start = time.perf_counter()
            wait_done(events, {submit(engine, "solo", f"a lone duck, {label} take {i}")}, 600)
            if i >= args.warmup:
                times.append((time.perf_counter() - start) * 1000.0)
        start = time.perf_counter()
        ids = {
            submit(engine, f"player {i}", f"a crowd of swans, {label} {i}")
            for i in range(args.burst)
        }
        wait_done(events, ids, 600)
        burst_s = time.perf_counter() - start
    finally:
        engine.stop(60)
    row = {
        "jobs": len(times),
        "p50_ms": statistics.median(times),
        "p95_ms": pct(times, 95),
        "burst_jobs": args.burst,
        "burst_batch": settings.generator.batch,
        "burst_images_per_s": args.burst / burst_s,
    }
    say(
        f"{label:9} submit -> Done, one at a time: p50 {row['p50_ms']:8.2f} ms  "
        f"p95 {row['p95_ms']:8.2f} ms  (n={row['jobs']})"
    )
    say(
        f"{label:9} burst of {args.burst} jobs, batch <= {row['burst_batch']}: "
        f"{row['burst_images_per_s']:7.2f} img/s"
    )
    return row


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tiny", action="store_true", help="tiny architecture, 64 px: a CPU check")
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    p.add_argument("--iters", type=int, help="timed calls per figure (20; --tiny 3)")
    p.add_argument("--warmup", type=int, help="untimed calls before each figure (2; --tiny 1)")
    p.add_argument(
        "--batches", help="generator batch sizes, comma-separated (1,2,4,8; --tiny 1,2,4)"
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        help="also time a torch.compile'd UNet (default: on, except with --tiny)",
    )
    p.add_argument(
        "--compiled-only",
        action="store_true",
        help="only the compiled pipeline's figures (no eager, engine-as-shipped or judge)",
    )
    p.add_argument(
        "--compile-mode", default="default", help="torch.compile mode, e.g. reduce-overhead"
    )
    p.add_argument("--layouts", choices=("both", "channels_last", "contiguous"), default="both")
    p.add_argument("--engine-jobs", type=int, help="timed jobs one at a time (20; --tiny 4)")
    p.add_argument("--burst", type=int, help="jobs submitted at once (32; --tiny 8)")
    p.add_argument("--cudnn-benchmark", action="store_true", help="torch.backends.cudnn.benchmark")
    p.add_argument(
        "--vaes",
        default="full,tiny",
        help="decoders timed side by side, eager: full and/or tiny (default both; '' none)",
    )
    p.add_argument(
        "--cache", type=Path, help="build the models here, or reuse them (default: temp)"
    )
    p.add_argument("--out-json", type=Path, help="also write every figure as JSON")
    p.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="only combine earlier --out-json files: recommendation and SUMMARY",
    )
    args = p.parse_args(argv)
    tiny = args.tiny
    args.iters = args.iters or (3 if tiny else 20)
    args.warmup = 1 if tiny and args.warmup is None else (2 if args.warmup is None else args.warmup)
    args.engine_jobs = args.engine_jobs or (4 if tiny else 20)
    args.burst = args.burst or (8 if tiny else 32)
    args.compile = args.compiled_only or ((not tiny) if args.compile is None else args.compile)
    batches = args.batches or ("1,2,4" if tiny else "1,2,4,8")
    args.batches = [int(b) for b in batches.split(",") if b.strip()]
    args.vaes = [v.strip() for v in args.vaes.split(",") if v.strip() in ("full", "tiny")]
    return args


def pick_device(args: argparse.Namespace) -> str | None:
    """'cuda' or 'cpu', or None (after saying why) when this machine cannot run this."""
    import torch

    cuda = torch.cuda.is_available()
    if args.device == "cuda" and not cuda:
        say("bench/gpu.py: --device cuda, but torch sees no CUDA GPU here")
        return None
    device = "cuda" if cuda and args.device != "cpu" else "cpu"
    if device == "cpu" and not args.tiny:
        say("bench/gpu.py: no CUDA GPU here; run it on a CUDA machine, or use --tiny on CPU")
        return None
    return device


def device_name(device: str) -> str:
    import platform

    import torch

    if device == "cuda":
        return str(torch.cuda.get_device_name(0))
    return f"CPU {platform.processor() or platform.machine()} x{os.cpu_count()}"


def summary_line(data: dict[str, Any], device: str) -> str:
    """One line: the engine's latency, the best throughput and the memory peaks."""
    rows = data.get("generator", [])
    ones = [r for r in rows if r["batch"] == 1]
    best1 = min(ones, key=lambda r: r["p50_ms"]) if ones else None
    best = max(rows, key=lambda r: r["images_per_s"]) if rows else None

    def cfg(r: dict[str, Any]) -> str:
        layout = "channels_last" if r["channels_last"] else "contiguous"
        return f"{'compiled' if r['compile'] else 'eager'}, {layout}, batch {r['batch']}"

    machine = data.get("machine", {"device": "?", "size": "?", "tiny": False})
    parts = [f"SUMMARY gpu: {machine['device']} {machine['size']} px"]
    if "engine" in data:
        p50 = data["engine"]["p50_ms"]
        parts.append(f"engine p50 {p50:.1f} ms (target <= 60 ms on H100/H200)")
    if "recommended" in data:
        rec = data["recommended"]
        fast = data.get("engine_recommended")
        with_fast = f", engine p50 {fast['p50_ms']:.1f} ms" if fast else ""
        parts.append(
            f"recommended compile={rec['compile']} channels_last={rec['channels_last']}{with_fast}"
        )
    if best is not None:
        parts.append(f"best {best['images_per_s']:.1f} img/s ({cfg(best)}; target >= 40)")
    if best1 is not None:
        parts.append(f"batch-1 p50 {best1['p50_ms']:.1f} ms ({cfg(best1)})")
    one = {r["vae"]: r for r in data.get("decoders", []) if r["batch"] == 1}
    if {"full", "tiny"} <= one.keys():
        full, tiny = one["full"], one["tiny"]
        parts.append(
            f"tiny decoder batch-1 p50 {tiny['p50_ms']:.1f} vs full {full['p50_ms']:.1f} ms"
            f" (decoding {full['stages_ms']['decoder']:.1f} vs {tiny['stages_ms']['decoder']:.1f})"
        )
    if "load" in data:
        load = data["load"]
        parts.append(f"load {load['generator_load_s'] + load['judge_load_s']:.1f} s")
    if "memory" in data:
        parts.append(f"peak RSS {data['memory']['peak_rss_mb']:.0f} MiB")
        if device == "cuda":
            parts.append(f"peak VRAM {data['memory']['peak_vram_mb']:.0f} MiB")
    if machine["tiny"]:
        parts.append("TINY CPU CHECK: not comparable with the targets")
    return "; ".join(parts)


def say_recommendation(best: dict[str, Any]) -> None:
    """The recommended settings as kiosk.toml lines, with their figures."""
    say(
        f'RECOMMEND [generator] compile = "{best["compile"]}", '
        f'channels_last = "{best["channels_last"]}"  (batch-1 p50 '
        f"{best['batch1_p50_ms']:.2f} ms, up to {best['best_images_per_s']:.1f} img/s, "
        f"start-up {best['load_s']:.1f} s)"
    )


def merge(paths: list[Path]) -> int:
    """Several runs' JSON (e.g. the eager and the compiled phase of a lease) as one: the
    recommended [generator] settings over every configuration measured, one SUMMARY line.
    A missing or cut-short file contributes what it holds."""
    data: dict[str, Any] = {"generator": []}
    for path in paths:
        try:
            part = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            say(f"merge: skipped {path}: {exc}")
            continue
        data["generator"] += part.pop("generator", [])
        for key, value in part.items():
            data.setdefault(key, value)  # the first run's engine, load and memory
        if "engine_recommended" in part:
            data["engine_recommended"] = part["engine_recommended"]
        if mode := part.get("args", {}).get("compile_mode"):
            data.setdefault("compile_mode", mode)
    best = recommendation(data["generator"], data.get("compile_mode") or "default")
    if best is None:
        say("merge: no generator figures to compare")
        return 1
    data["recommended"] = best
    if best["compile"] == "off":
        data.pop("engine_recommended", None)
    say_recommendation(best)
    device = "cpu" if data.get("machine", {}).get("tiny") else "cuda"
    say(summary_line(data, device))
    return 0


def run(args: argparse.Namespace, device: str, report: Report) -> None:
    """Build, load, then every section in turn; the report is saved after each."""
    import torch

    arch = tiny_arch() if args.tiny else full_arch()
    args.device, args.half, args.size = device, device == "cuda", arch.size
    args.dtype_name = "fp16" if args.half else "fp32"
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    machine = {"device": device_name(device), "size": arch.size, "tiny": args.tiny}
    report.put("machine", {**machine, "torch": torch.__version__, "dtype": args.dtype_name})
    report.put("args", vars(args))
    with workdir(args.cache) as root, tempfile.TemporaryDirectory(prefix="data-", dir=root) as td:
        build_s = ensure_pipeline(root / "sd", arch, args.half)
        if args.tiny:
            register_tiny_judge(root)
        settings = kiosk_settings(Path(td), root / "sd", args, arch)
        gen, judge, load = load_models(settings)
        report.put("load", {"build_s": build_s, **load})
        say(
            f"load      build {build_s:6.1f} s{' (reused)' if not build_s else ''}  "
            f"generator {load['generator_load_s']:6.2f} s (with its warm-up call)  "
            f"judge {load['judge_load_s']:6.2f} s  RSS {load['rss_after_load_mb']:7.0f} MiB  "
            f"VRAM {load['vram_after_load_mb']:7.0f} MiB"
        )
        if not args.compiled_only:  # the eager pipeline's engine and judge figures
            report.put("engine", engine_figures(settings, gen, judge, args))
            report.put("judge", judge_rows(judge, settings.active_target.id, args))
            if args.vaes:
                taesd = ensure_taesd(root / "taesd", arch)
                report.put("decoders", decoder_rows(settings, gen, taesd, args))
        rows = generator_matrix(settings, gen, load["generator_load_s"], args, report)
        best = recommendation(rows, args.compile_mode)
        if best is not None:
            report.put("recommended", best)
            say_recommendation(best)
            if best["compile"] != "off":  # the engine on top of the compiled pipeline
                free(gen)
                fast, _ = load_generator(
                    speed_settings(settings, True, best["channels_last"] == "on", args.compile_mode)
                )
                report.put(
                    "engine_recommended",
                    engine_figures(settings, fast, judge, args, label="engine+"),
                )
    vram = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else 0.0
    report.put("memory", {"peak_rss_mb": peak_rss_mb(), "peak_vram_mb": vram})
    say(f"memory    peak RSS {peak_rss_mb():7.0f} MiB  peak VRAM {vram:7.0f} MiB (whole run)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.merge:
        return merge(args.merge)
    from kiosk.ml.models import quiet_libraries

    quiet_libraries()
    device = pick_device(args)
    if device is None:
        return 2
    report = Report(args.out_json)
    run(args, device, report)
    line = summary_line(report.data, device)
    report.put("summary", line)
    say(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
