"""Pure render functions behind the slider UIs: latents + slider values -> images -> PNG bytes.

Nothing here knows about widgets, so the same calls serve the headless notebook runs, the tests and
the latency benchmark (`benchmarks/bench_sliders.py`).
"""
from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn as nn

from ..models.classifier import predict
from ..models.mapper import map_features
from ..models.sampling import decode


def combine(z: torch.Tensor, directions: dict[str, torch.Tensor], values: dict[str, float]) -> torch.Tensor:
    """z + Σ_k values[k] · directions[k]: z (N, D), directions name -> (D,) -> (N, D)."""
    out = z.clone()
    for name, v in values.items():
        if v:
            out = out + float(v) * directions[name].to(z.dtype)
    return out


@torch.no_grad()
def render_latent(model: nn.Module, z: torch.Tensor, directions: dict[str, torch.Tensor], values: dict[str, float],
                  labels: torch.Tensor | None = None) -> torch.Tensor:
    """Images (N, C, H, W) in [0, 1] of z (N, D) moved by the slider `values` along `directions`."""
    return decode(model, combine(z, directions, values), labels)


@torch.no_grad()
def render_comparison(model: nn.Module, classifier: nn.Module, mapper: nn.Module, z: torch.Tensor,
                      d_z: torch.Tensor, d_f: torch.Tensor, strength: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The same class edit done on z and in feature space: (latent-edit images, feature-edit images), each (N, C, H, W).

    Args:
        z: (N, D) starting latents; d_z: (D,) latent and d_f: (F,) feature class-mean differences.
    """
    latent = decode(model, z + strength * d_z)
    f = predict(classifier, decode(model, z), what="features")  # (N, F)
    feature = decode(model, map_features(mapper, f + strength * d_f))
    return latent, feature


def to_png(images: torch.Tensor, nrow: int | None = None, scale: int = 4, pad: int = 1) -> bytes:
    """PNG bytes of images (N, C, H, W) in [0, 1] tiled `nrow` per row, each pixel a `scale`×`scale` block."""
    from PIL import Image

    n, c, h, w = images.shape
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / nrow))
    canvas = torch.ones(c, rows * (h + pad) - pad, nrow * (w + pad) - pad)  # (C, H', W'), white gaps
    for i, img in enumerate(images.detach().float().cpu().clamp(0, 1)):
        r, q = divmod(i, nrow)
        canvas[:, r * (h + pad):r * (h + pad) + h, q * (w + pad):q * (w + pad) + w] = img
    arr = (canvas * 255).round().to(torch.uint8).numpy()
    arr = arr.repeat(scale, axis=1).repeat(scale, axis=2)
    pil = Image.fromarray(arr[0] if c == 1 else arr.transpose(1, 2, 0))
    buf = io.BytesIO()
    pil.save(buf, format="PNG", compress_level=1)  # speed over size: redraws must stay well under 100 ms
    return buf.getvalue()
