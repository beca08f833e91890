# mypy: disallow-untyped-calls=False
"""GPU benchmark: generate + judge through the kiosk's own code, full-size sd-turbo, random weights.

Real weights cannot be downloaded on the GPU machine either; random weights do the same
compute. The architectures are the published configs written as data
(bench/sd_turbo_arch.py); the pipeline is built in a child process (so its memory is not
counted), saved, and loaded through the kiosk's Generator and Judge, so the kiosk code
path is what is measured:

  one call of the model thread (draw a batch, then judge it) at batch 1, 4 and 8, with
  the full decoder and with the tiny one, the judge's PIL path and its device path
  (pictures stay on the GPU): p50/p95 per call, images/s, and the generate / judge
  split; the engine's submit -> Done latency, one job at a time, and a burst, with the
  writer stage off (writers = 0) and on; load times, peak RSS and peak VRAM.

    .venv/bin/python bench/gpu.py [--iters 20] [--batches 1,4,8] [--vaes full,tiny]
                                  [--paths pil,device]
                                  [--cache DIR] [--out-json PATH]
    .venv/bin/python bench/gpu.py --tiny    # tiny architecture, 64 px, fp32: runs on CPU

One line per figure, then one SUMMARY line; --out-json is rewritten after each section,
so a run cut short keeps what it measured. Without CUDA and without --tiny it refuses
and exits 2. Not a test: nothing here asserts a time.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sd_turbo_arch import (
    bench_settings,
    cuda_sync,
    ensure_pipeline,
    ensure_taesd,
    full_arch,
    register_tiny_judge,
    tiny_arch,
    workdir,
)


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


# -- the model thread's call: draw, then judge ------------------------------------------------


def load_generator(settings: Any) -> tuple[Any, float]:
    """The kiosk's Generator, loaded as the engine loads it (its warm-up call included)."""
    from kiosk.ml.generate import Generator

    start = time.perf_counter()
    gen = Generator(settings.generator)
    gen.load()
    return gen, time.perf_counter() - start


def load_models(settings: Any) -> tuple[Any, Any, dict[str, float]]:
    """The kiosk's Generator and Judge, loaded the way the engine loads them, timed."""
    from scoring.judge import Judge

    with vram_peak() as vram:
        gen, gen_s = load_generator(settings)
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


def free(gen: Any) -> None:
    import gc

    import torch

    gen.pipe = None
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def draw_and_judge(
    gen: Any, judge: Any, target_id: str, batch: int, call: int
) -> tuple[float, float]:
    """One call of the model thread: draw a batch, then judge it; ms of each (device synced)."""
    prompts = [f"a duck and a swan on a pond, call {call} image {i}" for i in range(batch)]
    seeds = [(call * 64 + i) % 2**31 for i in range(batch)]
    start = time.perf_counter()
    images = gen.generate(prompts, seeds).images
    cuda_sync()
    drawn = time.perf_counter()
    judge.score(images, [target_id] * batch)
    cuda_sync()
    return (drawn - start) * 1000.0, (time.perf_counter() - drawn) * 1000.0


def time_batch(
    gen: Any, judge: Any, target_id: str, batch: int, args: argparse.Namespace
) -> dict[str, Any]:
    """`args.iters` calls at one batch size after `args.warmup` untimed ones."""
    for i in range(args.warmup):
        draw_and_judge(gen, judge, target_id, batch, -1 - i)
    with vram_peak() as vram:
        splits = [draw_and_judge(gen, judge, target_id, batch, i) for i in range(args.iters)]
    totals = [g + j for g, j in splits]
    return {
        "batch": batch,
        "p50_ms": statistics.median(totals),
        "p95_ms": pct(totals, 95),
        "images_per_s": batch * len(totals) * 1000.0 / sum(totals),
        "generate_ms": statistics.median(g for g, _ in splits),
        "judge_ms": statistics.median(j for _, j in splits),
        "peak_vram_mb": vram["mb"],
    }


def draw_rows(
    settings: dict[str, Any], gen: Any, judge: Any, args: argparse.Namespace, report: Report
) -> list[dict[str, Any]]:
    """Every batch size with each decoder (`settings` by name: "full" is the one loaded); a
    failure (out of memory at batch 8, say) is a line, and that decoder's larger sizes go."""
    target_id = settings["full"].active_target.id
    rows: list[dict[str, Any]] = []
    for vae in args.vaes:
        current, load_s = (gen, 0.0) if vae == "full" else load_generator(settings[vae])
        if load_s:
            say(f"load      {vae} decoder generator {load_s:6.2f} s (with its warm-up call)")
        for batch, path in [(b, p) for b in args.batches for p in args.paths]:
            label = f"draw+judge {vae:4} decoder {path:6} batch {batch}:"
            current.output_type = "pt" if path == "device" else "pil"  # the judge follows
            try:
                row = {"vae": vae, "path": path}
                row |= time_batch(current, judge, target_id, batch, args)
            except Exception as exc:
                say(f"{label} FAILED: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
                break
            rows.append(row)
            report.put("draws", rows)
            say(
                f"{label} p50 {row['p50_ms']:8.2f} ms  p95 {row['p95_ms']:8.2f} ms  "
                f"{row['images_per_s']:7.2f} img/s  (generate {row['generate_ms']:8.2f}, "
                f"judge {row['judge_ms']:7.2f} ms)  vram {row['peak_vram_mb']:7.0f} MiB"
            )
        if current is not gen:
            free(current)
    return rows


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


def engine_rows(settings: Any, gen: Any, judge: Any, args: argparse.Namespace) -> list[Any]:
    """The engine with the writer stage off (writers = 0: saving on the model thread) and
    on (the config's default), each on the loaded models."""
    rows = []
    for writers in (0, settings.generator.writers):
        generator = settings.generator.model_copy(update={"writers": writers})
        one = settings.model_copy(update={"generator": generator})
        rows.append({"writers": writers, **engine_figures(one, gen, judge, args)})
    return rows


def engine_figures(settings: Any, gen: Any, judge: Any, args: argparse.Namespace) -> dict[str, Any]:
    """submit -> Done one job at a time (p50/p95), then a burst of jobs from many players;
    the engine is handed the loaded models (their load() does nothing the second time)."""
    from kiosk.engine.engine import Engine

    take = f"writers {settings.generator.writers}"  # new prompts: drawn, never a dedup hit
    engine = Engine(settings, generator=gen, judge=judge)
    events: queue.Queue[Any] = queue.Queue()
    engine.subscribe(events.put)
    engine.start()
    try:
        if not engine.wait_ready(600):
            raise SystemExit(f"bench/gpu.py: the engine did not start: {engine.load_error}")
        times = []
        for i in range(args.warmup + args.engine_jobs):
            start = time.perf_counter()
            wait_done(events, {submit(engine, "solo", f"a lone duck, take {i}, {take}")}, 600)
            if i >= args.warmup:
                times.append((time.perf_counter() - start) * 1000.0)
        start = time.perf_counter()
        ids = {submit(engine, f"player {i}", f"swans {i}, {take}") for i in range(args.burst)}
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
        f"engine    writers {settings.generator.writers}: submit -> Done, one at a time:"
        f" p50 {row['p50_ms']:8.2f} ms  p95 {row['p95_ms']:8.2f} ms  (n={row['jobs']})"
    )
    say(
        f"engine    burst of {args.burst} jobs, batch <= {row['burst_batch']}: "
        f"{row['burst_images_per_s']:7.2f} img/s"
    )
    return row


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tiny", action="store_true", help="tiny architecture, 64 px: a CPU check")
    p.add_argument("--iters", type=int, help="timed calls per figure (20; --tiny 3)")
    p.add_argument("--warmup", type=int, help="untimed calls before each figure (2; --tiny 1)")
    p.add_argument("--batches", help="batch sizes, comma-separated (1,4,8; --tiny 1,2)")
    p.add_argument("--vaes", default="full,tiny", help="decoders: full and/or tiny (both)")
    p.add_argument("--paths", default="pil,device", help="judge preprocessing: pil, device")
    p.add_argument("--engine-jobs", type=int, help="timed jobs one at a time (20; --tiny 4)")
    p.add_argument("--burst", type=int, help="jobs submitted at once (32; --tiny 8)")
    p.add_argument("--cache", type=Path, help="build the models here, or reuse them (temp)")
    p.add_argument("--out-json", type=Path, help="also write every figure as JSON")
    args = p.parse_args(argv)
    tiny = args.tiny
    args.iters = args.iters or (3 if tiny else 20)
    args.warmup = (1 if tiny else 2) if args.warmup is None else args.warmup
    args.engine_jobs = args.engine_jobs or (4 if tiny else 20)
    args.burst = args.burst or (8 if tiny else 32)
    batches = args.batches or ("1,2" if tiny else "1,4,8")
    args.batches = [int(b) for b in batches.split(",") if b.strip()]
    args.vaes = [v.strip() for v in args.vaes.split(",") if v.strip() in ("full", "tiny")]
    args.paths = [p.strip() for p in args.paths.split(",") if p.strip() in ("pil", "device")]
    return args


def pick_device(tiny: bool) -> str | None:
    """'cuda' when there is one, 'cpu' with --tiny, else None (after saying why)."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if tiny:
        return "cpu"
    say("bench/gpu.py: no CUDA GPU here; run it on a CUDA machine, or use --tiny on CPU")
    return None


def device_name(device: str) -> str:
    import platform

    import torch

    if device == "cuda":
        return str(torch.cuda.get_device_name(0))
    return f"CPU {platform.processor() or platform.machine()} x{os.cpu_count()}"


def summary_line(data: dict[str, Any]) -> str:
    """One line: the engine's latency, each decoder's batch-1 call, the best throughput,
    the load time and the memory peaks."""
    machine = data["machine"]
    parts = [f"SUMMARY gpu: {machine['device']} {machine['size']} px"]
    for e in data.get("engine", []):
        parts.append(
            f"engine writers {e['writers']}: p50 {e['p50_ms']:.1f} ms (target <= 60 ms on"
            f" H100/H200), burst {e['burst_images_per_s']:.1f} img/s"
        )
    rows = data.get("draws", [])
    for r in rows:
        if r["batch"] == 1:
            parts.append(
                f"{r['vae']} decoder {r['path']} batch-1 p50 {r['p50_ms']:.1f} ms"
                f" (generate {r['generate_ms']:.1f}, judge {r['judge_ms']:.1f})"
            )
    if rows:
        best = max(rows, key=lambda r: r["images_per_s"])
        parts.append(
            f"best {best['images_per_s']:.1f} img/s ({best['vae']} decoder, {best['path']}, batch"
            f" {best['batch']}; target >= 40)"
        )
    if "load" in data:
        load = data["load"]
        parts.append(f"load {load['generator_load_s'] + load['judge_load_s']:.1f} s")
    if "memory" in data:
        parts.append(f"peak RSS {data['memory']['peak_rss_mb']:.0f} MiB")
        if not machine["tiny"]:
            parts.append(f"peak VRAM {data['memory']['peak_vram_mb']:.0f} MiB")
    if machine["tiny"]:
        parts.append("TINY CPU CHECK: not comparable with the targets")
    return "; ".join(parts)


def run(args: argparse.Namespace, device: str, report: Report) -> None:
    """Build, load, then every section in turn; the report is saved after each."""
    import torch

    arch = tiny_arch() if args.tiny else full_arch()
    half = device == "cuda"
    machine = {"device": device_name(device), "size": arch.size, "tiny": args.tiny}
    dtype = "fp16" if half else "fp32"
    report.put("machine", {**machine, "torch": torch.__version__, "dtype": dtype})
    report.put("args", vars(args))
    with workdir(args.cache) as root, tempfile.TemporaryDirectory(prefix="data-", dir=root) as td:
        build_s = ensure_pipeline(root / "sd", arch, half)
        if args.tiny:
            register_tiny_judge(root)
        size = {"device": device, "half": half, "batch": max(args.batches)}
        settings = {"full": bench_settings(Path(td), root / "sd", arch, **size)}
        if "tiny" in args.vaes:
            taesd = str(ensure_taesd(root / "taesd", arch))
            settings["tiny"] = bench_settings(Path(td), root / "sd", arch, **size, vae=taesd)
        gen, judge, load = load_models(settings["full"])
        report.put("load", {"build_s": build_s, **load})
        say(
            f"load      build {build_s:6.1f} s{' (reused)' if not build_s else ''}  "
            f"generator {load['generator_load_s']:6.2f} s (with its warm-up call)  "
            f"judge {load['judge_load_s']:6.2f} s  RSS {load['rss_after_load_mb']:7.0f} MiB  "
            f"VRAM {load['vram_after_load_mb']:7.0f} MiB"
        )
        report.put("engine", engine_rows(settings["full"], gen, judge, args))
        draw_rows(settings, gen, judge, args, report)
    vram = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else 0.0
    report.put("memory", {"peak_rss_mb": peak_rss_mb(), "peak_vram_mb": vram})
    say(f"memory    peak RSS {peak_rss_mb():7.0f} MiB  peak VRAM {vram:7.0f} MiB (whole run)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from kiosk.ml.models import quiet_libraries

    quiet_libraries()
    device = pick_device(args.tiny)
    if device is None:
        return 2
    report = Report(args.out_json)
    run(args, device, report)
    line = summary_line(report.data)
    report.put("summary", line)
    say(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
