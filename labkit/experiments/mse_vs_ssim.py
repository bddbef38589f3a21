"""MSE against SSIM as image similarity (seed 003, after Wang & Bovik 2009, "Mean squared error: love it or leave it?").

Each real image is distorted four ways, each distortion's strength found by bisection *per image* so that its
MSE to the original equals one target: a mean (brightness) shift, a contrast stretch, additive Gaussian noise
and a Gaussian blur. Equal MSE, yet SSIM (`labkit.metrics.reconstruction.ssim_per_image`) rates the shift
and stretch, which keep the image's structure, far above the noise and the blur, which destroy it, as people do.
Images for which some distortion cannot reach the target MSE (e.g. a nearly constant image cannot be
stretched that far) are left out of every row, so the rows compare the same images.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..core.record import MetricRecord, tagged
from ..data.dataset import check_images
from ..metrics.reconstruction import gaussian_ssim_per_image, mse_per_image, ssim_per_image

# name -> (distort(x (N, C, H, W), strength (N,), noise (N, C, H, W)) -> (N, C, H, W) in [0, 1], largest strength)
Distortion = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
BLUR_MAX_SIGMA = 6.0
PAPER_MSE = 144 / 255 ** 2  # the MSE of every distorted image in Wang & Bovik's figure (8-bit scale), in [0, 1] units


def _per_image(s: torch.Tensor) -> torch.Tensor:
    return s[:, None, None, None]


def mean_shift(x: torch.Tensor, s: torch.Tensor, _noise) -> torch.Tensor:
    """Every pixel moved by s towards the side with more room (up for a dark image), clipped to [0, 1]."""
    direction = torch.where(x.flatten(1).mean(1) < 0.5, 1.0, -1.0)
    return (x + _per_image(s * direction)).clamp(0, 1)


def contrast_stretch(x: torch.Tensor, s: torch.Tensor, _noise) -> torch.Tensor:
    """Deviations from the image's mean scaled by 1 + s, clipped to [0, 1]."""
    mu = x.mean((1, 2, 3), keepdim=True)
    return (mu + (x - mu) * _per_image(1 + s)).clamp(0, 1)


def gaussian_noise(x: torch.Tensor, s: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """x + s · ε with fixed standard-normal ε per image, clipped to [0, 1]."""
    return (x + _per_image(s) * noise).clamp(0, 1)


def gaussian_blur(x: torch.Tensor, s: torch.Tensor, _noise) -> torch.Tensor:
    """Separable Gaussian blur of standard deviation s pixels per image (edges replicated)."""
    n, c, h, w = x.shape
    half = math.ceil(3 * BLUR_MAX_SIGMA)
    t = torch.arange(-half, half + 1, dtype=x.dtype)  # (K,)
    sigma = s.to(x.dtype).clamp_min(1e-3)[:, None]  # (N, 1)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (N·C, K), one kernel per image and channel
    y = F.pad(x.reshape(1, n * c, h, w), (half, half, half, half), mode="replicate")
    y = F.conv2d(y, k[:, None, :, None], groups=n * c)  # along rows
    y = F.conv2d(y, k[:, None, None, :], groups=n * c)  # along columns
    return y.reshape(n, c, h, w).clamp(0, 1)


DISTORTIONS: dict[str, tuple[Distortion, float]] = {
    "mean shift": (mean_shift, 1.0),
    "contrast stretch": (contrast_stretch, 50.0),
    "gaussian noise": (gaussian_noise, 3.0),
    "blur": (gaussian_blur, BLUR_MAX_SIGMA),
}


def _mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).pow(2).flatten(1).mean(1)


def calibrate(x: torch.Tensor, distort: Distortion, high: float, target: float, noise: torch.Tensor,
              iterations: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image strength (N,) whose distortion has MSE `target`, by bisection on [0, high]; and a mask (N,) of
    the images that reach the target at all (MSE at `high` ≥ target)."""
    lo, hi = torch.zeros(len(x), dtype=x.dtype), torch.full((len(x),), high, dtype=x.dtype)
    reachable = _mse(x, distort(x, hi, noise)) >= target
    for _ in range(iterations):
        mid = (lo + hi) / 2
        above = _mse(x, distort(x, mid, noise)) >= target
        hi, lo = torch.where(above, mid, hi), torch.where(above, lo, mid)
    return hi, reachable


@dataclass
class EqualMse:
    """Images distorted to one MSE: originals (N, C, H, W), per distortion the images, strengths (N,), MSE
    and SSIM per image (N,) (`ssim`: the house SSIM of notebook 02, `ssim_gaussian`: Wang et al.'s Gaussian
    window, None for images under 11 pixels), the target, and how many images were left out (target unreachable)."""
    originals: torch.Tensor
    distorted: dict[str, torch.Tensor]
    strength: dict[str, np.ndarray]
    mse: dict[str, np.ndarray]
    ssim: dict[str, np.ndarray]
    ssim_gaussian: dict[str, np.ndarray] | None
    target_mse: float
    dropped: int

    def table(self) -> pd.DataFrame:
        """One row per distortion: mean strength, MSE and SSIM mean and std over the images."""
        return pd.DataFrame([{"distortion": k, "strength": float(self.strength[k].mean()),
                              "mse": float(self.mse[k].mean()), "mse_std": float(self.mse[k].std()),
                              "ssim": float(self.ssim[k].mean()), "ssim_std": float(self.ssim[k].std()),
                              **({"ssim_gaussian": float(self.ssim_gaussian[k].mean()),
                                  "ssim_gaussian_std": float(self.ssim_gaussian[k].std())} if self.ssim_gaussian else {}),
                              "n": len(self.mse[k])} for k in self.distorted])

    def pair(self) -> tuple[str, str]:
        """The distortions SSIM rates most and least similar: the pair where MSE and SSIM disagree most."""
        means = {k: v.mean() for k, v in self.ssim.items()}
        return max(means, key=means.get), min(means, key=means.get)


def equal_mse_distortions(images: torch.Tensor, target_mse: float = PAPER_MSE, seed: int = 0,
                          kinds: tuple[str, ...] = tuple(DISTORTIONS)) -> EqualMse:
    """Distort every image of images (N, C, H, W) in [0, 1] by each of `kinds` to MSE `target_mse` (see module)."""
    x = check_images(images.detach().float().cpu(), what="images").double()
    if not 0 < target_mse < 0.25:
        raise ValueError(f"target_mse must lie in (0, 0.25) for images in [0, 1]; got {target_mse!r}")
    unknown = set(kinds) - set(DISTORTIONS)
    if unknown or not kinds:
        raise ValueError(f"unknown distortions {sorted(unknown)}; choose from {list(DISTORTIONS)}")
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)
    found = {k: calibrate(x, DISTORTIONS[k][0], DISTORTIONS[k][1], target_mse, noise) for k in kinds}
    keep = torch.stack([ok for _, ok in found.values()]).all(0)
    if not keep.any():
        raise ValueError(f"no image reaches MSE {target_mse} under every distortion; choose a smaller target_mse")
    x, noise = x[keep], noise[keep]
    strength = {k: s[keep] for k, (s, _) in found.items()}
    distorted = {k: DISTORTIONS[k][0](x, strength[k], noise).float() for k in kinds}
    x = x.float()
    gaussian = {k: gaussian_ssim_per_image(x, d) for k, d in distorted.items()} if min(x.shape[2:]) >= 11 else None
    return EqualMse(x, distorted, {k: s.numpy() for k, s in strength.items()},
                    {k: mse_per_image(x, d) for k, d in distorted.items()},
                    {k: ssim_per_image(x, d) for k, d in distorted.items()}, gaussian, target_mse, int((~keep).sum()))


def equal_mse_figure(result: EqualMse, n: int = 3):
    """Rows: the first `n` images; columns: the original and each distortion, titled with MSE and SSIM."""
    import matplotlib.pyplot as plt
    kinds = list(result.distorted)
    n = min(n, len(result.originals))
    fig, axes = plt.subplots(n, len(kinds) + 1, figsize=(1.9 * (len(kinds) + 1), 2.1 * n), squeeze=False)
    for i in range(n):
        shown = [("original", result.originals[i], "")] + [
            (k, result.distorted[k][i], f"MSE {result.mse[k][i]:.4f}\nSSIM {result.ssim[k][i]:.3f}") for k in kinds]
        for ax, (name, img, text) in zip(axes[i], shown):
            ax.imshow(img.permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(f"{name}\n{text}" if text else name, fontsize=8)
            ax.axis("off")
    fig.suptitle(f"Equal MSE ({result.target_mse:g}), different SSIM", fontsize=10)
    fig.tight_layout()
    return fig


def equal_mse_records(result: EqualMse, **protocol) -> list[MetricRecord]:
    """`distortion_mse`, `distortion_ssim` and `distortion_ssim_gaussian` (mean ± std over images) per distortion,
    and `ssim_gap` of the pair."""
    out = []
    for r in result.table().itertuples():
        fields = {"distortion": r.distortion, "strength": round(r.strength, 6), "n": r.n}
        out += [MetricRecord("distortion_mse", r.mse, r.mse_std, protocol=fields),
                MetricRecord("distortion_ssim", r.ssim, r.ssim_std, protocol=fields)]
        if result.ssim_gaussian:
            out.append(MetricRecord("distortion_ssim_gaussian", r.ssim_gaussian, r.ssim_gaussian_std, protocol=fields))
    high, low = result.pair()
    gap = float(result.ssim[high].mean() - result.ssim[low].mean())
    out.append(MetricRecord("ssim_gap", gap, protocol={"distortion": f"{high} − {low}", "n": len(result.originals)}))
    return tagged(out, "mse_vs_ssim", target_mse=result.target_mse, dropped=result.dropped, **protocol)
