"""The sd-turbo architecture as data (published configs) and its random-weight build.

Used by bench/gpu.py: SD 2.1-base UNet, SD VAE, OpenCLIP-H text encoder, Euler with
trailing timesteps; and a tiny variant of the same shapes for CPU checks.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may touch the network

# -- architectures as data ----------------------------------------------------------------

# stabilityai/sd-turbo unet/config.json (= SD 2.1-base): 865 M parameters.
SD21_UNET: dict[str, Any] = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=(
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D",
    ),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=1024,
    attention_head_dim=(5, 10, 20, 20),
    use_linear_projection=True,
    upcast_attention=False,
    act_fn="silu",
    norm_num_groups=32,
    norm_eps=1e-5,
    flip_sin_to_cos=True,
    freq_shift=0,
    downsample_padding=1,
    mid_block_scale_factor=1,
    center_input_sample=False,
)
# The SD VAE (vae/config.json): 84 M parameters, 8x down-sampling.
SD_VAE: dict[str, Any] = dict(
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    layers_per_block=2,
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    act_fn="silu",
    norm_num_groups=32,
    sample_size=512,
    scaling_factor=0.18215,
)
# OpenCLIP ViT-H/14's text tower as a transformers CLIPTextModel (text_encoder/config.json).
OPENCLIP_H_TEXT: dict[str, Any] = dict(
    vocab_size=49408,
    hidden_size=1024,
    intermediate_size=4096,
    num_hidden_layers=23,
    num_attention_heads=16,
    max_position_embeddings=77,
    hidden_act="gelu",
    layer_norm_eps=1e-5,
    projection_dim=1024,
    bos_token_id=49406,
    eos_token_id=49407,
    pad_token_id=49407,
)
# madebyollin/taesd (config.json) is AutoencoderTiny's default architecture: 1.2 M
# parameters per half, 64 channels, 3x 2x upsampling; made for SD 1.x/2.x latents.
TAESD_DEFAULTS: dict[str, Any] = {}
# sd-turbo's scheduler: Euler with trailing timesteps, so one step works.
TINY_JUDGE = "kiosk-tiny-clip"
READY = "READY"


@dataclass(frozen=True)
class Arch:
    """What to build and how to run it."""

    unet: dict[str, Any]
    vae: dict[str, Any]
    text: dict[str, Any]
    size: int
    judge: str  # an open_clip model name; created with pretrained=None (random weights)
    taesd: dict[str, Any]  # the tiny decoder (AutoencoderTiny) for these latents


def full_arch() -> Arch:
    return Arch(SD21_UNET, SD_VAE, OPENCLIP_H_TEXT, 512, "ViT-B-32", TAESD_DEFAULTS)


def tiny_arch() -> Arch:
    from kiosk.ml import tiny

    return Arch(tiny.UNET, tiny.VAE, tiny.TEXT, tiny.TINY_SIZE, TINY_JUDGE, tiny.TAESD)


def ensure_taesd(out: Path, arch: Arch) -> Path:
    """A random-weight AutoencoderTiny of the arch's shape, saved like madebyollin/taesd."""
    if not (out / "config.json").is_file():
        import torch
        from diffusers import AutoencoderTiny

        torch.manual_seed(0)
        model: Any = AutoencoderTiny(**arch.taesd)
        model.save_pretrained(out)
    return out


# -- building the pipeline (in a child process) --------------------------------------------


def build_pipeline(out: Path, arch: Arch, half: bool) -> None:
    """Random-weight StableDiffusionPipeline saved in the diffusers layout under `out`."""
    import torch

    from kiosk.ml.models import quiet_libraries
    from kiosk.ml.tiny import save_sd_pipeline

    quiet_libraries()  # this runs in a fresh child process
    torch.manual_seed(0)
    save_sd_pipeline(out, unet=arch.unet, vae=arch.vae, text=arch.text, half=half)
    (out / READY).write_text("random weights: outputs are meaningless\n")


def ensure_pipeline(out: Path, arch: Arch, half: bool) -> float:
    """Build into `out` unless it is built already; seconds spent (0 when reused)."""
    if (out / READY).is_file():
        return 0.0
    start = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=build_pipeline, args=(out, arch, half))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"bench/gpu.py: building the pipeline failed (exit {child.exitcode})")
    return time.perf_counter() - start


def register_tiny_judge(folder: Path) -> None:
    """Make the tiny judge architecture known to open_clip (as kiosk/ml/tiny.py does)."""
    import open_clip

    from kiosk.ml import tiny

    cfg = folder / f"{TINY_JUDGE}.json"
    cfg.write_text(json.dumps(tiny.CLIP_CFG))
    open_clip.add_model_config(cfg)


# -- what bench/gpu.py measures with ------------------------------------------------------


@contextmanager
def workdir(cache: Path | None, prefix: str = "kiosk-bench-") -> Iterator[Path]:
    """--cache (kept, so a rerun skips the build), or a temp folder removed afterwards."""
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        yield cache.resolve()
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as td:
        yield Path(td)


def cuda_sync() -> None:
    """Wait for the GPU (nothing on CPU), so a timer measures the device's work."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def bench_settings(
    data_dir: Path,
    model: Path,
    arch: Arch,
    *,
    device: str,
    half: bool,
    batch: int,
    vae: str = "full",
) -> Any:
    """The repo's config with a benchmark's pipeline, decoder, size, device and precision."""
    from kiosk.core.config import JudgeSettings, load_settings

    settings = load_settings(REPO / "kiosk.toml", data_dir=data_dir)
    generator = settings.generator.model_copy(
        update={
            "model": str(model),
            "vae": vae,
            "steps": 1,
            "guidance": 0.0,
            "width": arch.size,
            "height": arch.size,
            "batch": batch,
            "device": device,
            "dtype": "float16" if half else "float32",
        }
    )
    # Random weights on purpose (a benchmark of the architecture, no weights to download):
    # the config refuses an empty `pretrained` for a booth, so build the section unchecked.
    judge = JudgeSettings.model_construct(model=arch.judge, pretrained="")
    from common import engine_only

    return engine_only(settings.model_copy(update={"generator": generator, "judge": judge}))
