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
