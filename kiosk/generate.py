"""Text-to-image backend on diffusers.

`AutoPipelineForText2Image.from_pretrained` on a Hub id or a local folder; offline
is honoured; several prompts go through one batched call; each prompt's seed
comes from its dedup key so a drawing can be reproduced.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.config import GeneratorSettings

if TYPE_CHECKING:
    import torch
    from PIL.Image import Image

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]


class ModelsMissingError(Exception):
    """The configured weights are not on this machine and we may not download them."""


def missing_message(what: str, name: str, detail: str = "") -> str:
    tail = f"\n  ({detail})" if detail else ""
    return (
        f"The {what} weights {name!r} are not on this machine, and the kiosk is offline."
        "\n  Fetch them before the event with:  kiosk models pull"
        "\n  Or try the kiosk now with tiny demo models:  --profile tiny"
        f"{tail}"
    )


def pick_device(wanted: str) -> str:
    """auto: CUDA when present, else Apple MPS, else CPU."""
    import torch

    if wanted != "auto":
        return wanted
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(wanted: str, device: str) -> torch.dtype:
    """auto: float16 on accelerators, float32 on CPU (half is slow or missing there)."""
    import torch

    if wanted == "auto":
        return torch.float16 if device in ("cuda", "mps") else torch.float32
    return {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}[wanted]


def is_local(model: str) -> bool:
    return Path(model).expanduser().is_dir()


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False")


@dataclass(frozen=True)
class Drawing:
    """Images of one batched call and how long it took."""

    images: list[Image]
    ms: float


class Generator:
    """One diffusers text-to-image pipeline, owned by the engine's worker thread."""

    def __init__(self, settings: GeneratorSettings) -> None:
        self.settings = settings
        self.name = settings.model
        self.device = "cpu"
        self.pipe: Any = None

    def load(self) -> None:
        """Load the pipeline onto its device and run one warm-up call (once: a loaded
        generator handed to an engine keeps its pipeline, compiled or not)."""
        if self.pipe is not None:
            return
        import torch
        from diffusers import AutoPipelineForText2Image
        from diffusers.utils import logging as dlog

        dlog.disable_progress_bar()
        self.device = pick_device(self.settings.device)
        dtype = pick_dtype(self.settings.dtype, self.device)
        source = str(Path(self.name).expanduser()) if is_local(self.name) else self.name
        try:
            pipe = AutoPipelineForText2Image.from_pretrained(
                source, torch_dtype=dtype, local_files_only=offline() or is_local(source)
            )
        except (OSError, ValueError) as exc:
            if offline() or is_local(source) or "connect" in str(exc).lower():
                raise ModelsMissingError(
                    missing_message("generator", self.name, str(exc).splitlines()[0])
                ) from exc
            raise
        pipe = pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        if self.device == "cuda":
            pipe.unet.to(memory_format=torch.channels_last)
        self.pipe = pipe
        self.generate(["warm-up"], [0])

    def generate(
        self, prompts: Sequence[str], seeds: Sequence[int], progress: ProgressFn | None = None
    ) -> Drawing:
        """Draw every prompt in one batched call; seeds make each drawing reproducible."""
        import torch

        if self.pipe is None:
            raise RuntimeError("generator not loaded")
        s = self.settings
        generators = [torch.Generator(device="cpu").manual_seed(seed) for seed in seeds]
        kwargs: dict[str, Any] = {}
        if progress is not None:

            def on_step(pipe: Any, step: int, timestep: Any, cbk: dict[str, Any]) -> Any:
                progress(step + 1, s.steps)
                return cbk

            kwargs["callback_on_step_end"] = on_step
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.pipe(
                prompt=list(prompts),
                num_inference_steps=s.steps,
                guidance_scale=s.guidance,
                width=s.width,
                height=s.height,
                generator=generators,
                output_type="pil",
                **kwargs,
            )
        ms = (time.perf_counter() - start) * 1000.0
        return Drawing(list(out.images), ms)
