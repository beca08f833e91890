"""Tiny random-weight models, built offline, saved in the real on-disk formats.

`build_tiny_models(DIR)` writes:
  DIR/sd/         a diffusers StableDiffusionPipeline folder (model_index.json, unet/,
                  vae/, text_encoder/, tokenizer/, scheduler/), loaded by
                  AutoPipelineForText2Image.from_pretrained like any Hub model;
  DIR/open_clip/  open_clip_config.json + open_clip_model.safetensors, the layout of
                  open_clip's Hub repos, loaded with model name "local-dir:DIR/open_clip";
  DIR/taesd/      a tiny AutoencoderTiny (config.json + safetensors, the layout of
                  madebyollin/taesd), the decoder `[generator] vae = "tiny"` uses.
Images from these are noise and their scores mean nothing: they exist so the real
loading and inference code runs in tests and demos without any download.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kiosk.core.config import JudgeSettings, Settings

TINY_SIZE = 64
READY = "READY"

# Architectures are data: small enough to build and run in a second on a CPU.
UNET: dict[str, Any] = dict(
    sample_size=TINY_SIZE // 2,
    in_channels=4,
    out_channels=4,
    layers_per_block=1,
    block_out_channels=(32, 64),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    cross_attention_dim=32,
    attention_head_dim=8,
    norm_num_groups=8,
)
VAE: dict[str, Any] = dict(
    in_channels=3,
    out_channels=3,
    block_out_channels=(16, 32),
    down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
    up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
    latent_channels=4,
    norm_num_groups=8,
    sample_size=TINY_SIZE,
)
TEXT: dict[str, Any] = dict(
    vocab_size=49408,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    max_position_embeddings=77,
    bos_token_id=49406,
    eos_token_id=49407,
    pad_token_id=49407,
)
# sd-turbo's scheduler: Euler with trailing timesteps, so one step works.
TURBO_SCHEDULER: dict[str, Any] = dict(
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    timestep_spacing="trailing",
    steps_offset=1,
)
# A tiny AutoencoderTiny (the TAESD design) that decodes the tiny pipeline's latents:
# 4 channels, one 2x upsampling like the tiny VAE above.
TAESD: dict[str, Any] = dict(
    in_channels=3,
    out_channels=3,
    encoder_block_out_channels=(16, 16),
    decoder_block_out_channels=(16, 16),
    num_encoder_blocks=(1, 1),
    num_decoder_blocks=(1, 1),
    latent_channels=4,
    act_fn="relu",
    upsampling_scaling_factor=2,
    latent_magnitude=3,
    latent_shift=0.5,
    scaling_factor=1.0,
    force_upcast=False,
)
CLIP_CFG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 4, "layers": 2},
}


def sd_dir(root: Path) -> Path:
    return root / "sd"


def clip_dir(root: Path) -> Path:
    return root / "open_clip"


def taesd_dir(root: Path) -> Path:
    return root / "taesd"


def judge_name(root: Path) -> str:
    """The open_clip model name that loads the tiny judge."""
    return f"local-dir:{clip_dir(root)}"


def is_built(root: Path) -> bool:
    """Every tiny model is there (a folder built before the tiny decoder existed is not)."""
    return (root / READY).is_file() and (taesd_dir(root) / "config.json").is_file()


def build_tiny_models(root: Path, seed: int = 0) -> Path:
    """Build both tiny models into root, atomically (a temp folder renamed into place)."""
    import torch

    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    for stale in root.parent.glob(".tiny-*"):  # left by a build that was killed
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-", dir=root.parent))
    try:
        torch.manual_seed(seed)
        _build_sd(sd_dir(tmp))
        _build_clip(clip_dir(tmp))
        _build_taesd(taesd_dir(tmp))
        (tmp / READY).write_text("tiny random-weight models: outputs are meaningless\n")
        if root.exists():
            shutil.rmtree(root)
        tmp.rename(root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def _bpe_vocab() -> tuple[dict[str, int], list[str]]:
    """CLIP's BPE vocabulary and merges, from the file open_clip ships (no download)."""
    from open_clip.tokenizer import bytes_to_unicode, default_bpe

    with gzip.open(default_bpe(), "rt", encoding="utf-8") as fh:
        merges = fh.read().split("\n")[1 : 49152 - 256 - 2 + 1]
    units = list(bytes_to_unicode().values())
    tokens = units + [u + "</w>" for u in units] + ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(tokens)}, merges


def _build_tokenizer(out: Path) -> None:
    from transformers import CLIPTokenizer

    vocab, merges = _bpe_vocab()
    with tempfile.TemporaryDirectory() as td:
        vocab_file, merges_file = Path(td) / "vocab.json", Path(td) / "merges.txt"
        vocab_file.write_text(json.dumps(vocab), encoding="utf-8")
        merges_file.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
        tokenizer = CLIPTokenizer(
            vocab=str(vocab_file), merges=str(merges_file), model_max_length=77
        )
        tokenizer.save_pretrained(out)


def _build_sd(out: Path) -> None:
    save_sd_pipeline(out, unet=UNET, vae=VAE, text=TEXT)


def _build_taesd(out: Path) -> None:
    """A random-weight AutoencoderTiny in the layout of madebyollin/taesd."""
    from diffusers import AutoencoderTiny

    model: Any = AutoencoderTiny(**TAESD)
    model.save_pretrained(out)


def save_sd_pipeline(
    out: Path,
    *,
    unet: dict[str, Any],
    vae: dict[str, Any],
    text: dict[str, Any],
    half: bool = False,
) -> None:
    """A random-weight StableDiffusionPipeline of the given shapes, saved in the diffusers
    layout (the benchmarks build bigger ones the same way)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    tok_dir = out.parent / f".{out.name}-tokenizer"
    _build_tokenizer(tok_dir)
    pipe = StableDiffusionPipeline(
        vae=AutoencoderKL(**vae),
        text_encoder=CLIPTextModel(CLIPTextConfig(**text)),
        tokenizer=CLIPTokenizer.from_pretrained(tok_dir),
        unet=UNet2DConditionModel(**unet),
        scheduler=EulerDiscreteScheduler(**TURBO_SCHEDULER),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    shutil.rmtree(tok_dir)
    if half:
        pipe.to(torch.float16)  # type: ignore[attr-defined]
    pipe.save_pretrained(out)  # type: ignore[attr-defined]


def _build_clip(out: Path) -> None:
    import open_clip
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as td:
        cfg_file = Path(td) / "kiosk-tiny-clip.json"
        cfg_file.write_text(json.dumps(CLIP_CFG))
        open_clip.add_model_config(cfg_file)
    model = open_clip.create_model("kiosk-tiny-clip")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "open_clip_model.safetensors"))
    config = {
        "model_cfg": CLIP_CFG,
        "preprocess_cfg": {
            "mean": [0.48145466, 0.4578275, 0.40821073],
            "std": [0.26862954, 0.26130258, 0.27577711],
        },
    }
    (out / "open_clip_config.json").write_text(json.dumps(config, indent=2))


def with_tiny_models(settings: Settings) -> Settings:
    """The same settings with the tiny random-weight models (built in the data dir)."""
    root = settings.data_path / "tiny-models"
    generator = settings.generator.model_copy(
        update={
            "model": str(sd_dir(root)),
            "steps": 1,
            "guidance": 0.0,
            "width": TINY_SIZE,
            "height": TINY_SIZE,
            # the tiny decoder of the same shapes when a tiny one is asked for
            "vae": "full" if settings.generator.vae == "full" else str(taesd_dir(root)),
        }
    )
    judge = JudgeSettings(model=judge_name(root), pretrained="")
    return settings.model_copy(update={"generator": generator, "judge": judge, "profile": "tiny"})


def tiny_demo_settings(settings: Settings) -> Settings:
    """The tiny demo models, in their own data folder so noise never reaches the real board."""
    if settings.tiny:
        return settings
    event = settings.event.model_copy(update={"data_dir": str(settings.data_path / "tiny-demo")})
    return with_tiny_models(settings.model_copy(update={"event": event}))
