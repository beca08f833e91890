"""The benchmarks run (their figures are not asserted: tests never assert times)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TypeAlias

from builders import REPO

Run: TypeAlias = subprocess.CompletedProcess[str]


def bench(script: str, *args: str, env: dict[str, str], timeout: float = 300) -> Run:
    """`python bench/SCRIPT ARGS` from the repository, its output captured."""
    return subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
    )


def summary(proc: Run) -> str:
    """The bench's last line (its SUMMARY), once it ended well."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_gpu_bench_runs_tiny_on_cpu(tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "gpu.json"
    proc = bench(
        "gpu.py", "--tiny", "--iters", "2", "--batches", "1,2", "--out-json", str(out), env=env
    )
    assert summary(proc).startswith("SUMMARY gpu:")
    figures = json.loads(out.read_text())
    # the engine with the writer stage off and on
    assert figures["memory"] and [e["writers"] for e in figures["engine"]] == [0, 2]
    assert all(e["p50_ms"] > 0 and e["burst_images_per_s"] > 0 for e in figures["engine"])
    # one call of the model thread (draw, then judge) at each batch size, with the full and
    # the tiny decoder, the judge's PIL and device paths, through the kiosk's own code
    draws = {(row["vae"], row["path"], row["batch"]) for row in figures["draws"]}
    assert draws == {
        (vae, path, batch)
        for vae in ("full", "tiny")
        for path in ("pil", "device")
        for batch in (1, 2)
    }
    assert all(
        row["images_per_s"] > 0 and row["generate_ms"] > 0 and row["judge_ms"] > 0
        for row in figures["draws"]
    )
    last = summary(proc)
    assert "full decoder device batch-1 p50" in last and "tiny decoder pil batch-1" in last


def test_gpu_bench_refuses_cpu_without_tiny(env: dict[str, str]) -> None:
    import pytest
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: gpu.py runs for real here")
    proc = bench("gpu.py", env=env, timeout=120)
    assert proc.returncode == 2 and "no CUDA GPU here" in proc.stdout + proc.stderr


def test_store_scale_bench_runs_tiny_on_both_backends(env: dict[str, str], pg_url: str) -> None:
    """SQLite and PostgreSQL (the test's empty database, `--url`) side by side."""
    sizes = ("--submissions", "3000", "--players", "200", "--inserts", "5", "--reads", "5")
    last = summary(bench("store_scale.py", *sizes, "--url", pg_url, env=env))
    assert last.startswith("SUMMARY store_scale: 3,000 submissions")
    assert "sqlite: board p99" in last and "postgresql: board p99" in last


def test_store_copy_bench_runs_tiny(env: dict[str, str], pg_url: str) -> None:
    """An SQLite event copied into the test's empty database (`--url`), boards compared."""
    sizes = ("--submissions", "2000", "--players", "100")
    last = summary(bench("store_copy.py", *sizes, "--url", pg_url, env=env))
    assert last.startswith("SUMMARY store_copy: 2,000 submissions") and "boards equal" in last
