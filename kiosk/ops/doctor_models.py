"""`kiosk doctor`'s checks of torch, the CUDA device and the model weights: seconds
(torch imports), never a download or a model load. The rest is in kiosk.ops.doctor."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.core.config import Settings
from kiosk.ops.checks import CheckResult, failed, first_line, human_bytes, passed, warned

GIB = 1024**3
GPU_FAIL_FREE = 3 * GIB
"""Less free GPU memory than this cannot hold sd-turbo in fp16 and the judge."""
GPU_WARN_FREE = 6 * GIB
"""Less than this leaves little room for batches of drawings."""


def load_torch() -> tuple[Any | None, str]:
    """torch, or None and why it does not import."""
    try:
        import torch
    except Exception as exc:  # a broken install raises more than ImportError
        return None, first_line(exc)
    return torch, ""


def check_torch(torch: Any | None, error: str = "") -> CheckResult:
    if torch is None:
        return failed("torch", f"torch does not import: {error}", "make install")
    version, cuda = torch.__version__, getattr(torch.version, "cuda", None)
    if not cuda:
        return warned(
            "torch",
            f"torch {version} is a CPU-only build",
            "install a CUDA build of torch that suits the driver (pytorch.org, Get started)",
        )
    return passed("torch", f"torch {version} (CUDA {cuda} build)")


@dataclass(frozen=True)
class CudaFacts:
    """What torch says about the first CUDA device (gathered by `cuda_facts`)."""

    available: bool
    why_not: str = ""
    name: str = ""
    free: int = 0
    total: int = 0
    fp16_error: str = ""
    """Why a small float16 matmul on the device failed; empty when it worked."""
    error: str = ""
    """The device failed while being asked (driver trouble); empty when it answered."""


def cuda_facts(torch: Any | None) -> CudaFacts:
    """Ask torch about CUDA: never raises, never loads a model."""
    if torch is None:
        return CudaFacts(False, why_not="torch does not import")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns of a missing driver: the line says it
        try:
            if not torch.cuda.is_available():
                build = getattr(torch.version, "cuda", None)
                why = f"torch (CUDA {build}) sees no NVIDIA device or driver" if build else ""
                return CudaFacts(False, why_not=why or "this torch is a CPU-only build")
            name = str(torch.cuda.get_device_name(0))
            free, total = torch.cuda.mem_get_info(0)
        except Exception as exc:
            return CudaFacts(False, error=first_line(exc))
        return CudaFacts(True, name=name, free=int(free), total=int(total), fp16_error=_fp16(torch))


def _fp16(torch: Any) -> str:
    """'' when a 64x64 float16 matmul on the device gives the right answer, else why not."""
    try:
        a = torch.full((64, 64), 0.5, device="cuda", dtype=torch.float16)
        product = a @ a
        torch.cuda.synchronize()
        value = float(product[0, 0])
    except Exception as exc:
        return first_line(exc)
    return "" if abs(value - 16.0) < 0.01 else f"wrong result ({value} for 16)"


def check_cuda(facts: CudaFacts, device: str = "auto") -> CheckResult:
    """`device` is `[generator] device`: asking for cuda without one is a fail."""
    if facts.error:
        return failed(
            "cuda", f"the CUDA device failed when asked: {facts.error}", "check `nvidia-smi`"
        )
    if not facts.available:
        if device == "mps":
            return passed("cuda", f'none ({facts.why_not}); [generator] device = "mps"')
        line = warned if device != "cuda" else failed
        return line(
            "cuda",
            f"no CUDA device: drawings run on the CPU, far too slow for a booth ({facts.why_not})",
            "run the booth on a machine with an NVIDIA GPU, its driver and a CUDA build of torch"
            " (`nvidia-smi` lists the GPU); --profile tiny is fine for a rehearsal",
        )
    seen = f"{facts.name}, {facts.free / GIB:.1f} GiB free of {facts.total / GIB:.1f} GiB"
    if facts.fp16_error:
        fix = 'set [generator] dtype = "float32" (slower), or update the NVIDIA driver'
        return failed("cuda", f"{seen}; a float16 matmul failed: {facts.fp16_error}", fix)
    free_fix = "stop the other programs on the GPU (`nvidia-smi` lists them)"
    if facts.free < GPU_FAIL_FREE:
        return failed("cuda", f"{seen}: too little free for the models", free_fix)
    if facts.free < GPU_WARN_FREE:
        return warned("cuda", f"{seen}: little room for batches", free_fix)
    if device == "cpu":
        return warned("cuda", f'{seen}, but [generator] device = "cpu"', 'set it to "auto"')
    return passed("cuda", f"{seen}; float16 works")


def _tree_bytes(path: Path) -> int:
    """Bytes in the files under `path` (each file once: the Hub's cache links snapshots to
    blobs); 0 when it is not there."""
    if path.is_file():
        return path.stat().st_size
    seen: dict[tuple[int, int], int] = {}
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:  # a dangling link: an interrupted download
                continue
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


def weight_bytes(settings: Settings, what: str) -> int:
    """Bytes on disk of the generator's, decoder's or judge's weights (local or cached)."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    from kiosk.ml.generate import decoder_source, is_local
    from kiosk.ml.hub import _judge_source  # the Hub repo `kiosk models check` looks in

    source: str | None
    if what == "generator":
        source = settings.generator.model
    elif what == "decoder":
        source = decoder_source(settings.generator.vae)
    elif settings.judge.model.startswith("local-dir:"):
        source = settings.judge.model.removeprefix("local-dir:")
    elif settings.judge.pretrained and Path(settings.judge.pretrained).expanduser().is_file():
        source = settings.judge.pretrained
    else:
        repo = _judge_source(settings.judge)
        source = repo[0] if repo else None
    if source is None:
        return 0
    if is_local(source) or Path(source).expanduser().is_file():
        return _tree_bytes(Path(source).expanduser())
    folder = repo_folder_name(repo_id=source, repo_type="model")
    return _tree_bytes(Path(constants.HF_HUB_CACHE) / folder)


ModelCheck = tuple[str, str, bool, str]
"""(what, name, present offline, hint): a line of `kiosk models check`."""


def check_weights(
    settings: Settings,
    models: Callable[[Settings], list[ModelCheck]] | None = None,
    size: Callable[[Settings, str], int] = weight_bytes,
) -> CheckResult:
    """The configured weights, present for offline use, by `kiosk models check`'s code; never
    downloads, never loads them. `models` defaults to `kiosk.ml.hub.check_models`."""
    from kiosk.ml.hub import check_models
    from kiosk.ml.tiny import is_built

    if settings.tiny:
        built = is_built(settings.data_path / "tiny-models")
        return warned(
            "weights",
            "tiny random-weight models"
            + ("" if built else ", built at the first start")
            + ": the images are noise and the scores mean nothing",
            "for the event, run without --profile tiny",
        )
    try:
        found = models(settings) if models else check_models(settings.generator, settings.judge)
    except Exception as exc:  # open_clip or the Hub cache in a state nobody expected
        return failed("weights", f"could not check: {first_line(exc)}", "kiosk models check")
    missing = [f"{what} {name} ({hint})" for what, name, ok, hint in found if not ok]
    if missing:
        return failed(
            "weights",
            "missing offline: " + "; ".join(missing),
            "kiosk models pull (needs internet), before the event",
        )
    sizes = [(what, name, size(settings, what)) for what, name, _, _ in found]
    total = sum(n for _, _, n in sizes)
    shown = ", ".join(f"{what} {name} {human_bytes(n)}" for what, name, n in sizes)
    return passed("weights", f"present offline, {human_bytes(total)}: {shown}")


def model_checks(settings: Settings | None) -> list[CheckResult]:
    """torch, the CUDA device and the weights: seconds (torch imports), no model loads."""
    torch, error = load_torch()
    device = settings.generator.device if settings else "auto"
    checks = [check_torch(torch, error), check_cuda(cuda_facts(torch), device)]
    return [*checks, check_weights(settings)] if settings else checks
