"""The benchmarks run (their figures are not asserted: tests never assert times)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


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
    # every configuration asked for was measured through the kiosk's generator and judge
    assert sorted({row["batch"] for row in figures["generator"]}) == [1, 2]
    assert all(row["images_per_s"] > 0 for row in figures["generator"] + figures["judge"])
    assert figures["memory"] and figures["engine"]
    # both layouts, each a Generator loaded from its [generator] settings; the fastest is
    # recommended as settings the kiosk reads (no compile asked for: "off")
    configs = {(row["compile"], row["channels_last"]) for row in figures["generator"]}
    assert configs == {(False, False), (False, True)}
    assert figures["recommended"]["compile"] == "off"
    assert figures["recommended"]["channels_last"] in ("on", "off")
    assert 'RECOMMEND [generator] compile = "off"' in proc.stdout
    # the full and the tiny decoder side by side, each stage timed
    decoders = {(row["vae"], row["batch"]) for row in figures["decoders"]}
    assert decoders == {("full", 1), ("full", 2), ("tiny", 1), ("tiny", 2)}
    assert all(row["stages_ms"]["decoder"] > 0 for row in figures["decoders"])
    assert "tiny decoder batch-1 p50" in proc.stdout.strip().splitlines()[-1]


def test_flops_counts_each_stage_of_both_decoders(env: dict[str, str]) -> None:
    """The full-size sd-turbo architecture on the meta device: no weights, no memory."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "flops.py"), "--peak-tflops", "989"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {
        line[:34].strip(): float(line[34:48])
        for line in proc.stdout.splitlines()
        if line[:34].strip() and line[34:48].strip().replace(".", "").isdigit()
    }
    # FlopCounterMode's counts for these published architectures (2 FLOPs a multiply-add)
    expected = {
        "unet (1 step)": 804.3,
        "decoder: full (AutoencoderKL)": 2514.5,
        "decoder: tiny (AutoencoderTiny)": 141.4,
        "text encoder": 45.1,
    }
    for stage, gflop in expected.items():
        assert abs(rows[stage] - gflop) < 0.2, (stage, rows[stage])
    assert proc.stdout.strip().splitlines()[-1].startswith("SUMMARY flops:")


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
