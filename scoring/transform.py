"""open_clip's eval transform in torch ops, for pictures that are already on the device.

The drawing model hands over a float batch (N, 3, H, W) in [0, 1] on its device; this
does what open_clip's PIL transform does (resize with antialiasing, centre crop,
normalise) without a trip to the host. Sizes, interpolation, mean and std come from the
model's own preprocess config, so it follows whatever judge is loaded. PIL's transform
stays the reference: bench/preprocess.py measures how far apart the two are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DeviceTransform:
    """Resize (shortest side, or squash), centre crop and normalise a tensor batch."""

    size: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> DeviceTransform:
        """From open_clip's preprocess config (`open_clip.get_model_preprocess_cfg`)."""
        size = cfg["size"]
        height, width = (size, size) if isinstance(size, int) else tuple(size)
        mode = cfg.get("resize_mode", "shortest")
        interpolation = cfg.get("interpolation", "bicubic")
        # shortest side on a square crop, or squash: what open_clip's models use
        if not (mode == "squash" or (mode == "shortest" and height == width)):
            raise ValueError(
                f"the device path cannot resize like this judge ({mode}, {height}x{width});"
                ' set [judge] preprocess = "pil"'
            )
        if interpolation not in ("bicubic", "bilinear"):
            raise ValueError(
                f'the device path has no {interpolation} resize; set [judge] preprocess = "pil"'
            )
        return cls(
            size=(int(height), int(width)),
            mean=_triple(cfg["mean"]),
            std=_triple(cfg["std"]),
            interpolation=interpolation,
            resize_mode=mode,
        )

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1], any float dtype -> the model's float32 input, same device."""
        import torch
        from torch.nn.functional import interpolate

        x = images.float()
        out_h, out_w = self.size
        if self.resize_mode == "shortest":
            height, width = x.shape[-2:]
            # torchvision's rule for an int size: the short side becomes `size`
            short, long = sorted((height, width))
            new_long = int(out_h * long / short)
            resized = (out_h, new_long) if height <= width else (new_long, out_h)
        else:
            resized = (out_h, out_w)
        if tuple(x.shape[-2:]) != resized:
            x = interpolate(
                x, size=resized, mode=self.interpolation, antialias=True, align_corners=False
            )
            x = x.clamp(0.0, 1.0)  # like PIL, whose bicubic overshoot is clipped to 0-255
        top = round((x.shape[-2] - out_h) / 2.0)
        left = round((x.shape[-1] - out_w) / 2.0)
        x = x[..., top : top + out_h, left : left + out_w]
        mean = torch.tensor(self.mean, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std


def _triple(values: Sequence[float]) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c
