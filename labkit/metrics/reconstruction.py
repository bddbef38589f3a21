"""Reconstruction quality per image: MSE and SSIM (scikit-image's implementation; Wang et al.'s Gaussian-window SSIM
in torch), and a model-level summary."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from ..data.dataset import ImageDataset, check_images
from ..models.sampling import is_conditional


def mse_per_image(x: torch.Tensor, x_hat: torch.Tensor) -> np.ndarray:
    """Mean squared error per image, (N,), of float images (N, C, H, W) in [0, 1]."""
    x, x_hat = _pair(x, x_hat)
    return (x - x_hat).pow(2).flatten(1).mean(1).double().numpy()


def ssim_per_image(x: torch.Tensor, x_hat: torch.Tensor, win_size: int | None = None) -> np.ndarray:
    """Structural similarity per image, (N,), of float images (N, C, H, W) in [0, 1] (1 = identical).

    scikit-image's `structural_similarity` with `data_range=1`, its default 7×7 uniform window
    (or the largest odd window that fits images smaller than 7 pixels), channels averaged.
    """
    x, x_hat = _pair(x, x_hat)
    side = min(x.shape[2:])
    win = win_size or min(7, side if side % 2 else side - 1)
    a = x.permute(0, 2, 3, 1).double().numpy()  # (N, H, W, C)
    b = x_hat.permute(0, 2, 3, 1).double().numpy()
    return np.array([structural_similarity(a[i], b[i], data_range=1.0, channel_axis=2, win_size=win)
                     for i in range(len(a))])


def gaussian_ssim_per_image(x: torch.Tensor, x_hat: torch.Tensor, sigma: float = 1.5, radius: int = 5,
                            k1: float = 0.01, k2: float = 0.03) -> np.ndarray:
    """SSIM as Wang et al. (2004) define it, per image (N,), of float images (N, C, H, W) in [0, 1].

    An 11×11 Gaussian window (σ 1.5, `radius` 5), K1 0.01, K2 0.03, data range 1, population (co)variances;
    the SSIM map is averaged over the pixels whose window lies inside the image, then over channels
    (what scikit-image computes with `gaussian_weights=True, use_sample_covariance=False`).
    """
    x, x_hat = (t.double() for t in _pair(x, x_hat))
    n, c, h, w = x.shape
    size = 2 * radius + 1
    if min(h, w) < size:
        raise ValueError(f"images of {h}×{w} pixels are smaller than the {size}×{size} SSIM window")
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).expand(c, 1, size, size)  # one window per channel

    def local_mean(a: torch.Tensor) -> torch.Tensor:
        return F.conv2d(a, kernel, groups=c)  # "valid": windows inside the image only

    mx, my = local_mean(x), local_mean(x_hat)
    vx, vy = local_mean(x * x) - mx ** 2, local_mean(x_hat * x_hat) - my ** 2
    cov = local_mean(x * x_hat) - mx * my
    c1, c2 = k1 ** 2, k2 ** 2
    ssim_map = (2 * mx * my + c1) * (2 * cov + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return ssim_map.mean((1, 2, 3)).numpy()


def _pair(x: torch.Tensor, x_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = check_images(x.detach().float().cpu(), what="originals")
    x_hat = check_images(x_hat.detach().float().cpu(), what="reconstructions")
    if x.shape != x_hat.shape:
        raise ValueError(f"originals {tuple(x.shape)} and reconstructions {tuple(x_hat.shape)} differ in shape")
    return x, x_hat


@torch.no_grad()
def reconstruction_quality(model: torch.nn.Module, ds: ImageDataset, *, n: int | None = None,
                           batch_size: int = 500) -> dict[str, float]:
    """Mean and std of per-image MSE and SSIM of `model.reconstruct` on the first `n` images of `ds`.

    A conditional model gets the dataset's labels.
    """
    ds = ds.head(n)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        x = ds.float()  # (N, C, H, W)
        rec = []
        for i in range(0, len(x), batch_size):
            labels = ds.labels[i:i + batch_size].to(device) if is_conditional(model) else None
            rec.append(model.reconstruct(x[i:i + batch_size].to(device), labels).cpu())
    finally:
        model.train(was_training)
    x_hat = torch.cat(rec).clamp(0, 1)  # (N, C, H, W)
    mse, ssim = mse_per_image(x, x_hat), ssim_per_image(x, x_hat)
    return {"mse": float(mse.mean()), "mse_std": float(mse.std()), "ssim": float(ssim.mean()),
            "ssim_std": float(ssim.std()), "n": len(x)}
