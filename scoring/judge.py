"""The CLIP judge on open_clip.

Score = cosine of the L2-normalised image embeddings of a drawing and the target
picture; percent = 100 * max(cosine, 0). Target embeddings are computed once. With
`load_probes`, each verdict also carries the safety probes' results (scoring.probes),
made from the same image embeddings: no second image forward pass.

Drawings come as PIL images (open_clip's own transform on the host, the reference) or
as one tensor batch on the device (scoring.transform, no trip to the host). With a cache
folder, target and concept embeddings are kept on disk across restarts (scoring.cache).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scoring.cache import EmbeddingCache, file_key

if TYPE_CHECKING:
    import torch
    from PIL.Image import Image

    from scoring.probes import ProbeResult, Probes
    from scoring.transform import DeviceTransform

    # PIL images, or a float batch (N, 3, H, W) in [0, 1] on any device (the device path)
    Drawings = Sequence[Image] | torch.Tensor


class JudgeLoadError(Exception):
    """The judge model or a target picture could not be loaded; the message says which."""


def judge_identity(model: str, pretrained: str) -> str:
    """Name of a judge as stored with scores and used in dedup keys."""
    if model.startswith(("local-dir:", "hf-hub:")):
        return model
    return f"{model}/{pretrained}"


def cosine_to_percent(cosine: float) -> float:
    """100 * max(cosine, 0), at full precision."""
    return 100.0 * max(float(cosine), 0.0)


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """Cosines for a batch of drawings against their targets, and the time it took."""

    cosines: list[float]
    ms: float
    probes: list[ProbeResult] | None = None
    """The safety probes' result per drawing, in order; None when probes are not loaded."""


class Judge:
    """An open_clip image tower plus the embeddings of the target pictures."""

    def __init__(
        self,
        model: str,
        pretrained: str = "",
        device: str = "cpu",
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.model_name = model
        self.pretrained = pretrained
        self.device = device
        self.model: Any = None
        self.preprocess: Any = None
        """open_clip's eval transform for PIL images (the reference path)."""
        self.cache = EmbeddingCache(Path(cache_dir), self.name) if cache_dir else None
        """Target and concept embeddings on disk; None computes them at every load."""
        self._targets: dict[str, torch.Tensor] = {}
        self._device_transform: DeviceTransform | None = None
        self.probes: Probes | None = None

    @property
    def name(self) -> str:
        """Identity of the judge, part of the dedup key."""
        return judge_identity(self.model_name, self.pretrained)

    def load(self) -> None:
        """Create the model and its eval transform; weights from a tag or a local file."""
        if self.model is not None:
            return
        import open_clip

        pretrained: str | None = self.pretrained or None
        if self.model_name.startswith(("local-dir:", "hf-hub:")):
            pretrained = None
        elif pretrained and Path(pretrained).expanduser().is_file():
            pretrained = str(Path(pretrained).expanduser())
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.model_name, pretrained=pretrained, device=self.device
            )
        except Exception as exc:  # open_clip raises many kinds; all mean "cannot load"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise JudgeLoadError(f"judge model {self.name!r}: {first}") from exc
        model.eval()
        self.model, self.preprocess = model, preprocess

    def load_probes(
        self,
        unsafe: Sequence[str],
        neutral: Sequence[str],
        text_concepts: Sequence[str],
        margin: float,
        text_margin: float,
    ) -> Probes:
        """Embed the safety concepts once with this model's text tower; from now on every
        verdict carries `probes`. Call after `load`; calling again replaces the probes."""
        import open_clip

        from scoring.probes import Probes

        if self.model is None:
            raise RuntimeError("judge not loaded")

        def tokenize(texts: list[str]) -> torch.Tensor:
            """Made only when some concept is not cached (building it reads a vocabulary)."""
            try:
                # the model name picks the tokenizer; local-dir: and hf-hub: read their config
                tokenizer = open_clip.get_tokenizer(self.model_name)
            except Exception as exc:  # like load: every failure means "cannot load"
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                first = first or type(exc).__name__
                raise JudgeLoadError(f"judge model {self.name!r}: no tokenizer: {first}") from exc
            tokens: torch.Tensor = tokenizer(texts)
            return tokens

        self.probes = Probes(
            self.model,
            tokenize,
            unsafe=unsafe,
            neutral=neutral,
            text_concepts=text_concepts,
            margin=margin,
            text_margin=text_margin,
            device=self.device,
            cache=self.cache,
        )
        return self.probes

    def embed(self, images: Drawings) -> torch.Tensor:
        """L2-normalised image embeddings, one row per image, in one batched call."""
        import torch

        if self.model is None:
            raise RuntimeError("judge not loaded")
        if isinstance(images, torch.Tensor):
            batch = self.device_transform(images.to(self.device))
        else:
            batch = torch.stack([self.preprocess(im.convert("RGB")) for im in images])
        with torch.inference_mode():
            feats = self.model.encode_image(batch.to(self.device))
        return torch.nn.functional.normalize(feats.float(), dim=-1)

    @property
    def device_transform(self) -> DeviceTransform:
        """The device path's transform, made from the loaded model's preprocess config."""
        import open_clip

        from scoring.transform import DeviceTransform

        if self._device_transform is None:
            cfg = open_clip.get_model_preprocess_cfg(self.model)
            self._device_transform = DeviceTransform.from_config(cfg)
        return self._device_transform

    def add_target(self, target_id: str, path: str | os.PathLike[str]) -> None:
        """Embed a target picture once (read from the cache when it holds this picture);
        later scores reuse the embedding."""
        from PIL import Image, UnidentifiedImageError

        try:
            key = file_key(path)
            cached = self.cache.get(key) if self.cache is not None else None
            if cached is not None:
                self._targets[target_id] = cached.to(self.device)
                return
            with Image.open(path) as im:
                im.load()
                self._targets[target_id] = self.embed([im])[0]
        except (OSError, UnidentifiedImageError) as exc:
            raise JudgeLoadError(
                f"target {target_id!r}: cannot read picture {path}: {exc}"
            ) from exc
        if self.cache is not None:
            self.cache.put(key, self._targets[target_id])

    def score(self, images: Drawings, target_ids: Sequence[str]) -> Verdict:
        """Cosine of each drawing with its own target, at full precision, in one batch; the
        probes' results too when they are loaded (same embeddings, one matrix product)."""
        import torch

        start = time.perf_counter()
        emb = self.embed(images)
        targets = torch.stack([self._targets[t] for t in target_ids])
        cos = (emb * targets).sum(dim=-1).tolist()
        probes = self.probes.check(emb) if self.probes is not None else None
        return Verdict(
            cosines=[float(c) for c in cos],
            ms=(time.perf_counter() - start) * 1000.0,
            probes=probes,
        )
