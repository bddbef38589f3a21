"""Reconstruction quality per image: MSE and SSIM (scikit-image's implementation), and a model-level summary."""
from __future__ import annotations

import numpy as np
import torch
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
    ds = ds.subset(range(min(n, len(ds)))) if n else ds
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
