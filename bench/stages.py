"""Wall time of each stage of one pipeline call (text encoder, UNet, decoder), by hooks.

Forward hooks on the pipeline's modules record when each stage starts and ends (with a
CUDA sync on a GPU, so the times are the device's). Shared by bench/decoder.py and
bench/gpu.py.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any

STAGES = ("text encoder", "unet", "decoder")


class StageTimer:
    """Milliseconds per stage, summed over the calls since the last `take()`."""

    def __init__(self, pipe: Any, sync: Callable[[], None] = lambda: None) -> None:
        self.sync = sync
        self.ms: dict[str, float] = defaultdict(float)
        self._started: dict[str, float] = {}
        modules = {"text encoder": pipe.text_encoder, "unet": pipe.unet, "decoder": pipe.vae}
        self._handles = []
        for name, module in modules.items():
            # the decoder: AutoencoderKL.decode and AutoencoderTiny.decode both call .decoder
            target = module.decoder if name == "decoder" else module
            self._handles.append(target.register_forward_pre_hook(partial(self._start, name)))
            self._handles.append(target.register_forward_hook(partial(self._stop, name)))

    def _start(self, name: str, *_: Any) -> None:
        self.sync()
        self._started[name] = time.perf_counter()

    def _stop(self, name: str, *_: Any) -> None:
        self.sync()
        self.ms[name] += (time.perf_counter() - self._started.pop(name)) * 1000.0

    def take(self) -> dict[str, float]:
        """The stage times so far, and start again."""
        out = {name: self.ms.get(name, 0.0) for name in STAGES}
        self.ms.clear()
        return out

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
