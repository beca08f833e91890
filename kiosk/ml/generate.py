"""Text-to-image backend on diffusers.

`AutoPipelineForText2Image.from_pretrained` on a Hub id or a local folder; offline
is honoured; several prompts go through one batched call; each prompt's seed
comes from its dedup key so a drawing can be reproduced.

Speed settings (`generator.compile`, `generator.channels_last`) apply to the
denoiser and the VAE decoder. A compiled pipeline is compiled for a few batch sizes
while loading (1, 2, 4, ... up to `batch`) and every call is padded up to one of
them, so a visitor never waits on a recompile.

Where the pictures go follows `[judge] preprocess`: PIL images on the host, or (the
device path) one float tensor on the model's device that the judge preprocesses there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kiosk.core.config import GeneratorSettings, Preprocess
from kiosk.ml.offline import hub_offline

if TYPE_CHECKING:
    import torch
    from PIL.Image import Image

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], object]
StageFn = Callable[[str], object]


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


def pick_preprocess(wanted: str, device: str) -> Literal["device", "pil"]:
    """`[judge] preprocess` for a device; auto: the device path on CUDA only (on a CPU
    both paths run on the same processor, and PIL's is the reference)."""
    if wanted == "auto":
        return "device" if device == "cuda" else "pil"
    return "device" if wanted == "device" else "pil"


def wants_channels_last(setting: str, device: str) -> bool:
    """auto: channels_last on CUDA only (CPU keeps the default layout)."""
    return setting == "on" or (setting == "auto" and device == "cuda")


def compiled_sizes(batch: int) -> tuple[int, ...]:
    """Batch sizes a compiled pipeline is compiled for: powers of two below `batch`, then
    `batch` (4 -> 1, 2, 4; 6 -> 1, 2, 4, 6). Fewer compiles than one per size."""
    sizes = []
    size = 1
    while size < batch:
        sizes.append(size)
        size *= 2
    return (*sizes, batch)


def padded_size(n: int, sizes: Sequence[int]) -> int:
    """The smallest compiled size that holds `n` prompts (n itself when none does)."""
    return min((size for size in sizes if size >= n), default=n)


def is_local(model: str) -> bool:
    return Path(model).expanduser().is_dir()


# The tiny decoder (the TAESD design) trained for SD 1.x/2.x latents, which sd-turbo uses.
TAESD = "madebyollin/taesd"
# What AutoencoderTiny/AutoencoderKL.from_pretrained reads from a decoder repo.
DECODER_FILES = ["config.json", "diffusion_pytorch_model.safetensors"]


def decoder_source(vae: str) -> str | None:
    """The `[generator] vae` setting as a Hub id or folder; None for the pipeline's own."""
    if vae == "full":
        return None
    return TAESD if vae == "tiny" else vae


def describe_decoder(vae: str) -> str:
    """The decoder in words, for the loading screen, the demo and the doctor."""
    source = decoder_source(vae)
    if source is None:
        return "full decoder (the pipeline's own VAE)"
    return f"tiny decoder {source}" if vae == "tiny" else f"decoder {source}"


@contextmanager
def _missing_as(what: str, name: str, source: str) -> Iterator[None]:
    """Weights that cannot be found (offline, a bad folder) become ModelsMissingError."""
    try:
        yield
    except (OSError, ValueError) as exc:
        if hub_offline() or is_local(source) or "connect" in str(exc).lower():
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelsMissingError(missing_message(what, name, detail)) from exc
        raise


def load_decoder(source: str, dtype: Any) -> Any:
    """An AutoencoderTiny or AutoencoderKL (as its config.json says) from a Hub id or a
    local folder, to replace a pipeline's VAE."""
    from diffusers import AutoencoderKL, AutoencoderTiny

    local = is_local(source)
    path = str(Path(source).expanduser()) if local else source
    only_local = hub_offline() or local
    with _missing_as("decoder", source, path):
        config = AutoencoderTiny.load_config(path, local_files_only=only_local)
        kind = AutoencoderTiny if config.get("_class_name") == "AutoencoderTiny" else AutoencoderKL
        return kind.from_pretrained(path, torch_dtype=dtype, local_files_only=only_local)


@dataclass(frozen=True, kw_only=True)
class Rendered:
    """Images of one batched call and how long it took."""

    images: list[Image] | torch.Tensor
    """A list of PIL images (the PIL path), or on the device path one float tensor
    (N, 3, H, W) in [0, 1] on the model's device, in the pipeline's dtype."""
    ms: float


class Generator:
    """One diffusers text-to-image pipeline, owned by the engine's worker thread."""

    def __init__(
        self,
        settings: GeneratorSettings,
        stage: StageFn | None = None,
        preprocess: Preprocess = "pil",
    ) -> None:
        self.settings = settings
        self.name = settings.model
        self.device = "cpu"
        self.preprocess = preprocess
        """The judge's `preprocess` setting: "device" hands over tensors (see Rendered)."""
        self.output_type: Literal["pil", "pt"] = "pil"
        """What the pipeline returns, fixed at load from `preprocess` and the device."""
        self.pipe: Any = None
        self.compile_error: str | None = None
        """Why torch.compile was given up (the pipeline then draws eagerly), else None."""
        self._stage = stage
        self._sizes: tuple[int, ...] = ()  # compiled batch sizes; calls are padded to one

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
        on_device = pick_preprocess(self.preprocess, self.device) == "device"
        self.output_type = "pt" if on_device else "pil"
        dtype = pick_dtype(self.settings.dtype, self.device)
        source = str(Path(self.name).expanduser()) if is_local(self.name) else self.name
        with _missing_as("generator", self.name, source):
            pipe = AutoPipelineForText2Image.from_pretrained(
                source, torch_dtype=dtype, local_files_only=hub_offline() or is_local(source)
            )
        decoder = decoder_source(self.settings.vae)
        if decoder is not None:
            pipe.vae = load_decoder(decoder, dtype)
        pipe = pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        if wants_channels_last(self.settings.channels_last, self.device):
            for module in _speed_targets(pipe).values():
                module.to(memory_format=torch.channels_last)
        self.pipe = pipe
        self.generate(["warm-up"], [0])
        if self.settings.compile != "off":
            self._compile()

    @property
    def decoder(self) -> str:
        """Which decoder draws the pictures, in words."""
        return describe_decoder(self.settings.vae)

    @property
    def compiled(self) -> bool:
        return bool(self._sizes)

    def _compile(self) -> None:
        """torch.compile the denoiser and VAE decoder, then draw once at every compiled
        batch size; any failure puts the eager modules back and is kept in compile_error."""
        import torch

        eager = _speed_targets(self.pipe)
        sizes = compiled_sizes(self.settings.batch)
        try:
            for path, module in eager.items():
                _set_module(
                    self.pipe,
                    path,
                    torch.compile(module, mode=self.settings.compile, dynamic=False),
                )
            self._sizes = sizes
            for i, size in enumerate(sizes, start=1):
                if self._stage is not None:
                    self._stage(
                        f"compiling the drawing model for {size} at once ({i} of {len(sizes)})"
                    )
                self.generate(["warm-up"] * size, list(range(size)))
        except Exception as exc:  # no compiler, an unsupported op, out of memory...
            log.warning("torch.compile failed; drawing without it", exc_info=True)
            for path, module in eager.items():
                _set_module(self.pipe, path, module)
            self._sizes = ()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            self.compile_error = f"{type(exc).__name__}: {first}"[:300]

    def generate(
        self, prompts: Sequence[str], seeds: Sequence[int], progress: ProgressFn | None = None
    ) -> Rendered:
        """Draw every prompt in one batched call; seeds make each drawing reproducible."""
        import torch

        if self.pipe is None:
            raise RuntimeError("generator not loaded")
        s = self.settings
        n = len(prompts)
        pad = padded_size(n, self._sizes) - n if n else 0  # compiled: up to a compiled size
        texts = [*prompts, *[prompts[-1]] * pad]
        generators = [
            torch.Generator(device="cpu").manual_seed(seed) for seed in [*seeds, *[seeds[-1]] * pad]
        ]
        kwargs: dict[str, Any] = {}
        if progress is not None:

            def on_step(pipe: Any, step: int, timestep: Any, cbk: dict[str, Any]) -> Any:
                progress(step + 1, s.steps)
                return cbk

            kwargs["callback_on_step_end"] = on_step
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.pipe(
                prompt=texts,
                num_inference_steps=s.steps,
                guidance_scale=s.guidance,
                width=s.width,
                height=s.height,
                generator=generators,
                output_type=self.output_type,
                **kwargs,
            )
        ms = (time.perf_counter() - start) * 1000.0
        images = out.images[:n] if self.output_type == "pt" else list(out.images)[:n]
        return Rendered(images=images, ms=ms)


def _speed_targets(pipe: Any) -> dict[str, Any]:
    """The modules the speed settings apply to, by attribute path: the denoiser (a UNet or
    a transformer) and the VAE decoder, where the pipeline has them."""
    targets: dict[str, Any] = {}
    for name in ("unet", "transformer"):
        if getattr(pipe, name, None) is not None:
            targets[name] = getattr(pipe, name)
            break
    vae = getattr(pipe, "vae", None)
    if vae is not None and getattr(vae, "decoder", None) is not None:
        targets["vae.decoder"] = vae.decoder
    return targets


def _set_module(pipe: Any, path: str, module: Any) -> None:
    owner_path, _, attr = path.rpartition(".")
    owner = pipe
    for part in filter(None, owner_path.split(".")):
        owner = getattr(owner, part)
    setattr(owner, attr, module)
