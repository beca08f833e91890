"""FLOPs of each stage of one drawing, counted on the meta device: no weights, no memory.

Builds the configured generator (text encoder, UNet, decoder) and judge architectures on
torch's meta device and counts each stage with torch.utils.flop_counter.FlopCounterMode
(a multiply-add is 2 FLOPs) for one image at the configured size, steps and guidance,
with the full decoder (the pipeline's VAE) and the tiny one (AutoencoderTiny, the TAESD
design). Then the time that total takes at a device's dense peak: the physical floor
the measured GPU figures are compared with.

Architectures: a local diffusers folder's own configs (e.g. --profile tiny); for a Hub
id (the default stabilityai/sd-turbo, which cannot be downloaded here) the published
sd-turbo configs in bench/sd_turbo_arch.py. The judge: the configured open_clip model.

    .venv/bin/python bench/flops.py [--config kiosk.toml] [--peak-tflops 989]
    .venv/bin/python bench/flops.py --profile tiny --data-dir data   # the tiny models

Not a test: it prints a table and one SUMMARY line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here touches the network
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sd_turbo_arch import OPENCLIP_H_TEXT, REPO, SD21_UNET, SD_VAE

H200_DENSE_FP16_TFLOPS = 989.0
TEXT_TOKENS = 77  # CLIP's context: every prompt is padded to it


@dataclass(frozen=True, kw_only=True)
class Configs:
    """The architectures to count, as diffusers/transformers config dicts."""

    source: str
    unet: dict[str, Any]
    vae: dict[str, Any]
    taesd: dict[str, Any]
    text: dict[str, Any]


def model_configs(settings: Any) -> Configs:
    """The configured pipeline's architectures (a local folder's configs, else sd-turbo's)."""
    from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel

    from kiosk.ml.generate import decoder_source, is_local

    model = settings.generator.model
    decoder = decoder_source(settings.generator.vae)
    taesd: dict[str, Any] = {}  # AutoencoderTiny's defaults are madebyollin/taesd's config
    if decoder is not None and is_local(decoder):
        config = dict(AutoencoderTiny.load_config(decoder))
        if config.get("_class_name") == "AutoencoderTiny":
            taesd = config
    if not is_local(model):
        return Configs(
            source=f"{model}: the published sd-turbo configs (bench/sd_turbo_arch.py)",
            unet=SD21_UNET,
            vae=SD_VAE,
            taesd=taesd,
            text=OPENCLIP_H_TEXT,
        )
    text = json.loads((Path(model) / "text_encoder" / "config.json").read_text())
    return Configs(
        source=f"{model}: its own configs",
        unet=dict(UNet2DConditionModel.load_config(model, subfolder="unet")),
        vae=dict(AutoencoderKL.load_config(model, subfolder="vae")),
        taesd=taesd,
        text=text,
    )


def clean(config: dict[str, Any]) -> dict[str, Any]:
    """A config dict without the bookkeeping keys diffusers writes (_class_name, ...)."""
    return {k: v for k, v in config.items() if not k.startswith("_")}


def judge_model(settings: Any) -> tuple[Any, int]:
    """The configured open_clip image tower on the meta device, and its input size."""
    import open_clip

    name = settings.judge.model
    if name.startswith("local-dir:"):
        folder = Path(name.removeprefix("local-dir:"))
        cfg = json.loads((folder / "open_clip_config.json").read_text())["model_cfg"]
        path = Path(os.environ.get("TMPDIR", "/tmp")) / "kiosk-flops-judge.json"
        path.write_text(json.dumps(cfg))
        open_clip.add_model_config(path)
        name = path.stem
    model = open_clip.create_model(name, device="meta")
    size = model.visual.image_size
    return model, int(size[0] if isinstance(size, tuple | list) else size)


def gflops(fn: Callable[[], object]) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        fn()
    return counter.get_total_flops() / 1e9


def count(settings: Any) -> tuple[Configs, dict[str, float]]:
    """GFLOP per image of each stage, for the configured size, steps and guidance."""
    import torch
    from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    g = settings.generator
    configs = model_configs(settings)
    cfg_batch = 2 if g.guidance > 1.0 else 1  # classifier-free guidance: two passes
    with torch.device("meta"):
        unet = UNet2DConditionModel(**clean(configs.unet))
        vae = AutoencoderKL(**clean(configs.vae))
        taesd = AutoencoderTiny(**clean(configs.taesd))
        text = CLIPTextModel(CLIPTextConfig(**clean(configs.text)))
    judge, judge_size = judge_model(settings)
    scale = 2 ** (len(vae.config.block_out_channels) - 1)
    channels = unet.config.in_channels
    meta = torch.device("meta")
    latents = torch.empty(cfg_batch, channels, g.height // scale, g.width // scale, device=meta)
    tokens = torch.zeros(cfg_batch, TEXT_TOKENS, dtype=torch.long, device=meta)
    hidden = torch.empty(cfg_batch, TEXT_TOKENS, unet.config.cross_attention_dim, device=meta)
    step = torch.tensor([999], device=meta)
    one = latents[:1]
    picture = torch.empty(1, 3, judge_size, judge_size, device=meta)
    stages = {
        "text encoder": gflops(lambda: text(tokens)),
        "unet": gflops(lambda: unet(latents, step, hidden)) * g.steps,
        "decoder full": gflops(lambda: vae.decode(one)),
        "decoder tiny": gflops(lambda: taesd.decode(one)),
        "judge": gflops(lambda: judge.encode_image(picture)),
    }
    return configs, stages


def table(settings: Any, stages: dict[str, float], peak_tflops: float) -> list[str]:
    g = settings.generator
    lines = [
        f"{'stage':<34}{'GFLOP/image':>14}{'share full':>12}{'share tiny':>12}",
    ]
    totals = {
        kind: sum(v for k, v in stages.items() if k != f"decoder {other}")
        for kind, other in (("full", "tiny"), ("tiny", "full"))
    }
    names = {
        "text encoder": "text encoder" + (" (x2, guidance)" if g.guidance > 1.0 else ""),
        "unet": f"unet ({g.steps} step{'s' if g.steps > 1 else ''})",
        "decoder full": "decoder: full (AutoencoderKL)",
        "decoder tiny": "decoder: tiny (AutoencoderTiny)",
        "judge": f"judge ({settings.judge.model.rsplit('/', 1)[-1]})",
    }
    for key, value in stages.items():
        full = "" if key == "decoder tiny" else f"{100 * value / totals['full']:.1f}%"
        tiny = "" if key == "decoder full" else f"{100 * value / totals['tiny']:.1f}%"
        lines.append(f"{names[key]:<34}{value:>14.1f}{full:>12}{tiny:>12}")
    for kind in ("full", "tiny"):
        ms = totals[kind] / (peak_tflops * 1e3) * 1e3
        lines.append(
            f"{'total, ' + kind + ' decoder':<34}{totals[kind]:>14.1f}"
            f"   floor at {peak_tflops:g} TFLOP/s: {ms:.3f} ms/image"
        )
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(REPO / "kiosk.toml"))
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--profile", choices=["real", "tiny"], default="real")
    ap.add_argument(
        "--peak-tflops",
        type=float,
        default=H200_DENSE_FP16_TFLOPS,
        help="the device's dense peak (default: the H200's 989 fp16 TFLOP/s)",
    )
    args = ap.parse_args()
    from kiosk.core.config import load_settings
    from kiosk.ml.models import quiet_libraries
    from kiosk.ml.tiny import with_tiny_models

    quiet_libraries()
    settings = load_settings(args.config, data_dir=args.data_dir)
    if args.profile == "tiny":
        settings = with_tiny_models(settings)
    if settings.tiny:
        from kiosk.ml import tiny

        tiny.ensure_tiny_models(settings.data_path / "tiny-models")
    configs, stages = count(settings)
    g = settings.generator
    print(f"architecture: {configs.source}")
    print(
        f"one image: {g.width}x{g.height}, {g.steps} step(s), guidance {g.guidance:g};"
        f" judge {settings.judge.model}"
    )
    for line in table(settings, stages, args.peak_tflops):
        print(line)
    full = sum(v for k, v in stages.items() if k != "decoder tiny")
    tiny_total = sum(v for k, v in stages.items() if k != "decoder full")
    print(
        f"SUMMARY flops: {full:.0f} GFLOP/image with the full decoder"
        f" ({100 * stages['decoder full'] / full:.0f}% of it decoding), {tiny_total:.0f} with"
        f" the tiny one: {full / tiny_total:.2f}x less work; floor at {args.peak_tflops:g}"
        f" TFLOP/s {full / args.peak_tflops:.3f} vs {tiny_total / args.peak_tflops:.3f} ms/image"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
