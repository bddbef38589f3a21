"""Perceptual path length (Karras et al. 2019, StyleGAN): how abruptly images change along latent paths.

For each path: z0, z1 ~ N(0, I), t ~ U(0, 1) ("full") or t = 0 ("end"),
    PPL_i = d(G(interp(z0, z1, t)), G(interp(z0, z1, t + ε))) / ε²,
with d a perceptual distance (`labkit.metrics.lpips`: LPIPS-AlexNet/VGG with local weights, or the
offline `lpips-classifier`). The reported value is the mean over paths after StyleGAN's trim: paths
below the 1st percentile ("lower") or above the 99th ("higher") are dropped. Lower = smoother.

The model is anything `labkit.models.sampling.as_decoder` turns into a map from latents (B, latent_dim)
to images (B, C, H, W) in [0, 1]: a labkit generator (its `decode`), or a foreign decoder, generator or
callable (with `latent_dim=` and `value_range=` where it does not say them). Conditional models (`cfg.num_classes > 0`, or `num_classes=` given) get one random class per path,
the same at both ends, passed as `labels=`.

Slerp: StyleGAN interpolates unit vectors because its mapping network normalises z anyway; our
decoders see z as is, so `slerp` interpolates the direction on the sphere and the radius linearly
(end points are reproduced exactly). `interpolation="lerp"` is the straight line.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from ..core.runtime import progress_bar
from ..data.dataset import check_images
from ..models.sampling import INTERPOLATIONS, Decoder, as_decoder
from .lpips import distance_name


def _model_place(model) -> tuple[torch.device, torch.dtype]:
    """Device and floating dtype of the model's first parameter (CPU float32 when it has none)."""
    p = next(model.parameters(), None) if isinstance(model, nn.Module) else None
    if p is not None and p.is_floating_point():
        return p.device, p.dtype
    return torch.device("cpu"), torch.float32


@torch.no_grad()
def path_lengths(decode: Decoder, z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor, distance: Callable, *,
                 epsilon: float = 1e-4, interpolation: str = "slerp", labels: torch.Tensor | None = None,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Per-path PPL values d(G(p(t)), G(p(t + ε))) / ε² for given end points and positions.

    Args:
        decode: latents (B, D) -> images (B, C, H, W) in [0, 1] (see `as_decoder`).
        z0, z1: (B, D) path end points; t: (B,) positions in [0, 1].
        distance: `(a, b) -> (B,)` perceptual distance.
        interpolation: "slerp" or "lerp".
        labels: (B,) classes for conditional decoders, or None.
        device: where the decoder runs; latents are interpolated in float64 on the CPU, then moved.
        dtype: latent dtype the decoder receives (float64 decoders give exact finite differences).
    Returns:
        (B,) float64 path lengths on the CPU.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {sorted(INTERPOLATIONS)}; got {interpolation!r}")
    interp = INTERPOLATIONS[interpolation]
    z0, z1 = z0.double().cpu(), z1.double().cpu()
    t = t.double().cpu()[:, None]  # (B, 1)
    za = interp(z0, z1, t).to(device, dtype)  # (B, D)
    zb = interp(z0, z1, t + epsilon).to(device, dtype)  # (B, D)
    kw = {} if labels is None else {"labels": torch.cat([labels, labels]).to(device)}  # (2B,)
    images = decode(torch.cat([za, zb]), **kw)  # (2B, C, H, W)
    check_images(images, what="decoded images")
    a, b = images[: len(z0)], images[len(z0):]
    return distance(a, b).double().cpu() / epsilon**2


def trimmed_mean(values: np.ndarray, trim: tuple[float, float] | None = (1, 99)) -> tuple[float, np.ndarray]:
    """StyleGAN's outlier trim: keep values in [percentile lo ("lower"), percentile hi ("higher")]; mean, kept mask."""
    if trim is None:
        return float(values.mean()), np.ones(len(values), bool)
    lo = np.percentile(values, trim[0], method="lower")
    hi = np.percentile(values, trim[1], method="higher")
    keep = (values >= lo) & (values <= hi)
    return float(values[keep].mean()), keep


@dataclass(frozen=True)
class PPLProtocol:
    """How PPL is measured (StyleGAN's defaults but 1000 paths)."""

    n_paths: int = 1000           # latent paths
    epsilon: float = 1e-4         # finite-difference step
    interpolation: str = "slerp"  # slerp (StyleGAN's z space) or lerp
    sampling: str = "full"        # full (t ~ U(0, 1)) or end (t = 0)

    def kwargs(self) -> dict:
        """The `perceptual_path_length` arguments."""
        return asdict(self)


@dataclass(frozen=True)
class PPLResult:
    """Perceptual path length with its protocol; `lengths` holds every path's untrimmed value."""

    value: float                 # trimmed mean path length
    std: float                   # standard deviation of the kept paths
    n_paths: int                 # paths drawn
    n_kept: int                  # paths left after the trim
    epsilon: float               # finite-difference step
    interpolation: str           # slerp or lerp
    sampling: str                # full (t ~ U(0, 1)) or end (t = 0)
    trim: tuple[float, float] | None  # percentiles kept, None for no trim
    distance: str                # distance name, e.g. lpips-classifier
    seed: int                    # seed of the latent, label and position draws
    lengths: np.ndarray = field(repr=False, compare=False, default=None)  # (n_paths,) untrimmed values

    def protocol(self) -> dict:
        """Everything but value, std and lengths, for `labkit.core.runs.record(..., **protocol)`."""
        d = asdict(self)
        for k in ("value", "std", "lengths"):
            d.pop(k)
        d["trim"] = list(self.trim) if self.trim is not None else None
        return d


def perceptual_path_length(model, distance: Callable, *, n_paths: int = 10_000, epsilon: float = 1e-4,
                           interpolation: str = "slerp", sampling: str = "full",
                           trim: tuple[float, float] | None = (1, 99), batch_size: int = 250, seed: int = 0,
                           latent_dim: int | None = None, num_classes: int | None = None,
                           value_range: tuple[float, float] | None = None,
                           device: torch.device | str | None = None, progress: bool | None = None) -> PPLResult:
    """PPL of a generator or decoder over `n_paths` random latent paths (StyleGAN protocol).

    Args:
        model: VAE, GAN generator or callable (protocol in the module doc); put in eval mode while measured.
        distance: `(a, b) -> (B,)` distance on images in [0, 1], e.g. `ClassifierDistance(clf)`.
        n_paths: number of paths (StyleGAN: 100k; 10k is the usual cheaper setting).
        epsilon: step along the path (1e-4 in StyleGAN).
        interpolation: "slerp" (StyleGAN's z space) or "lerp" (its w space).
        sampling: "full" (t ~ U(0, 1)) or "end" (t = 0, paths' end points).
        trim: percentiles kept (StyleGAN: 1, 99), or None.
        seed: seeds a CPU generator drawing z0, z1 (N(0, I)), labels and t, in that order per batch.
        latent_dim: latent size when the model does not say it.
        num_classes: classes of a conditional model; default `model.cfg.num_classes` when > 0.
        value_range: range of the model's raw outputs, mapped to [0, 1] (default: see module doc).
        device: where the model runs; default where its parameters are. Latents get the parameters' dtype.
    """
    if sampling not in ("full", "end"):
        raise ValueError(f"sampling must be 'full' or 'end'; got {sampling!r}")
    decode, dim = as_decoder(model, latent_dim, value_range)
    if num_classes is None:
        num_classes = int(getattr(getattr(model, "cfg", None), "num_classes", 0) or 0)
    model_device, dtype = _model_place(model)
    device = torch.device(device) if device is not None else model_device
    was_training = model.training if isinstance(model, nn.Module) else None
    if was_training:
        model.eval()
    g = torch.Generator().manual_seed(seed)
    out = []
    try:
        for start in progress_bar(range(0, n_paths, batch_size), progress=progress, desc="PPL"):
            b = min(batch_size, n_paths - start)
            z0 = torch.randn(b, dim, generator=g)  # (b, D)
            z1 = torch.randn(b, dim, generator=g)  # (b, D)
            labels = torch.randint(num_classes, (b,), generator=g) if num_classes > 0 else None
            t = torch.rand(b, generator=g, dtype=torch.float64) * (1.0 if sampling == "full" else 0.0)  # (b,)
            out.append(path_lengths(decode, z0, z1, t, distance, epsilon=epsilon, interpolation=interpolation,
                                    labels=labels, device=device, dtype=dtype))
    finally:
        if was_training:
            model.train()
    lengths = torch.cat(out).numpy()
    value, keep = trimmed_mean(lengths, trim)
    kept = lengths[keep]
    return PPLResult(value, float(kept.std(ddof=1)) if len(kept) > 1 else 0.0, n_paths, int(keep.sum()), epsilon,
                     interpolation, sampling, tuple(trim) if trim is not None else None, distance_name(distance),
                     seed, lengths)


ppl = perceptual_path_length
