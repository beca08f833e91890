"""The benchmarks run (their figures are not asserted: tests never assert times)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from builders import REPO


def test_gpu_bench_runs_tiny_on_cpu(tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "gpu.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "gpu.py"),
            "--tiny",
            "--iters",
            "2",
            "--batches",
            "1,2",
            "--out-json",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("SUMMARY gpu:")
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
    summary = proc.stdout.strip().splitlines()[-1]
    assert "full decoder device batch-1 p50" in summary and "tiny decoder pil batch-1" in summary


def test_gpu_bench_refuses_cpu_without_tiny(env: dict[str, str]) -> None:
    import pytest
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: gpu.py runs for real here")
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "gpu.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 2 and "no CUDA GPU here" in proc.stdout + proc.stderr


def test_store_scale_bench_runs_tiny_on_both_backends(env: dict[str, str], pg_url: str) -> None:
    """SQLite and PostgreSQL (the test's empty database, `--url`) side by side."""
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "store_scale.py"),
            "--submissions",
            "3000",
            "--players",
            "200",
            "--inserts",
            "5",
            "--reads",
            "5",
            "--url",
            pg_url,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("SUMMARY store_scale: 3,000 submissions")
    assert "sqlite: board p99" in summary and "postgresql: board p99" in summary


def test_store_copy_bench_runs_tiny(env: dict[str, str], pg_url: str) -> None:
    """An SQLite event copied into the test's empty database (`--url`), boards compared."""
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "store_copy.py"),
            "--submissions",
            "2000",
            "--players",
            "100",
            "--url",
            pg_url,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("SUMMARY store_copy: 2,000 submissions") and "boards equal" in summary
