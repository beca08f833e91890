"""Model weights in the Hugging Face cache: pull them before the event, check them offline."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from kiosk.core.config import GeneratorSettings, JudgeSettings
from kiosk.ml.generate import DECODER_FILES, decoder_source, is_local
from kiosk.ml.offline import hub_offline
from scoring.judge import judge_identity

# What AutoPipelineForText2Image.from_pretrained reads from a diffusers repo (no
# single-file checkpoints, no duplicate fp16 variants).
PIPELINE_FILES = ["model_index.json", "*/*.json", "*/*.txt", "*/*.safetensors"]
PIPELINE_SKIP = ["*.fp16.*", "*.bin", "*.ckpt", "*.onnx*"]
CLIP_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")

Check = tuple[str, str, bool, str]


def _judge_source(j: JudgeSettings) -> tuple[str, list[str]] | None:
    """(Hub repo, candidate filenames) of the configured open_clip weights, if on the Hub."""
    from open_clip.pretrained import get_pretrained_cfg

    if j.model.startswith("hf-hub:"):
        return j.model.removeprefix("hf-hub:"), list(CLIP_FILES)
    cfg = get_pretrained_cfg(j.model, j.pretrained) if j.pretrained else {}
    hub = cfg.get("hf_hub", "") if cfg else ""
    if not hub:
        return None
    repo, filename = os.path.split(hub)
    if not filename:
        return repo, list(CLIP_FILES)
    stem = filename.rsplit(".", 1)[0]
    return repo, [f"{stem}.safetensors", filename]


def check_models(gen: GeneratorSettings, judge: JudgeSettings) -> list[Check]:
    """(what, name, present offline, hint) for the generator, its decoder when it is not
    the pipeline's own, and the judge."""
    decoder = _check_decoder(gen)
    return [_check_generator(gen), *([decoder] if decoder else []), _check_judge(judge)]


def _check_decoder(gen: GeneratorSettings) -> Check | None:
    source = decoder_source(gen.vae)
    if source is None:
        return None
    if is_local(source):
        ok = all((Path(source).expanduser() / f).is_file() for f in DECODER_FILES)
        return ("decoder", source, ok, "config.json or its safetensors missing in that folder")
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(source, local_files_only=True, allow_patterns=DECODER_FILES)
        return ("decoder", source, True, "")
    except Exception:
        return ("decoder", source, False, "not in the Hugging Face cache")


def _check_generator(gen: GeneratorSettings) -> Check:
    model = gen.model
    if is_local(model):
        ok = (Path(model).expanduser() / "model_index.json").is_file()
        return ("generator", model, ok, "no model_index.json in that folder")
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(
            model,
            local_files_only=True,
            allow_patterns=PIPELINE_FILES,
            ignore_patterns=PIPELINE_SKIP,
        )
        return ("generator", model, True, "")
    except Exception:
        return ("generator", model, False, "not in the Hugging Face cache")


def _check_judge(j: JudgeSettings) -> Check:
    name = judge_identity(j.model, j.pretrained)
    if j.model.startswith("local-dir:"):
        folder = Path(j.model.removeprefix("local-dir:"))
        ok = (folder / "open_clip_config.json").is_file() and any(
            (folder / f).is_file() for f in CLIP_FILES
        )
        return ("judge", name, ok, "open_clip_config.json or weights missing in that folder")
    if j.pretrained and Path(j.pretrained).expanduser().is_file():
        return ("judge", name, True, "")
    source = _judge_source(j)
    if source is None:
        return ("judge", name, False, "open_clip knows no such model/pretrained tag")
    from huggingface_hub import try_to_load_from_cache

    repo, files = source
    ok = any(isinstance(try_to_load_from_cache(repo, f), str) for f in files)
    return ("judge", name, ok, "not in the Hugging Face cache")


def pull_models(
    gen: GeneratorSettings, judge: JudgeSettings, echo: Callable[[str], None] = print
) -> None:
    """Download the generator's, its decoder's and the judge's weights, with the Hub's
    progress bars."""
    if hub_offline():
        var = "HF_HUB_OFFLINE" if os.environ.get("HF_HUB_OFFLINE") else "TRANSFORMERS_OFFLINE"
        raise RuntimeError(f"{var} is set: unset it to download (needs internet)")
    from huggingface_hub import snapshot_download
    from open_clip.pretrained import download_pretrained_from_hf

    model = gen.model
    try:
        if is_local(model):
            echo(f"generator: local folder {model}, nothing to download")
        else:
            echo(f"generator: downloading {model} ...")
            path = snapshot_download(
                model, allow_patterns=PIPELINE_FILES, ignore_patterns=PIPELINE_SKIP
            )
            echo(f"generator: {path}")
        decoder = decoder_source(gen.vae)
        if decoder is not None and is_local(decoder):
            echo(f"decoder: local folder {decoder}, nothing to download")
        elif decoder is not None:
            echo(f"decoder: downloading {decoder} ...")
            echo(f"decoder: {snapshot_download(decoder, allow_patterns=DECODER_FILES)}")
        source = _judge_source(judge)
        if source is None:
            echo(f"judge: {judge.model} needs no download (local or unknown)")
        else:
            repo, files = source
            echo(f"judge: downloading {repo} ...")
            echo(f"judge: {download_pretrained_from_hf(repo, filename=files[-1])}")
    except Exception as exc:
        raise RuntimeError(
            f"download failed (is this machine online?): "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from exc
    echo("All weights are in the Hugging Face cache; the kiosk can now run offline.")
