"""Sharpness: variance of the Laplacian (LAP, Pertuz et al. 2013), higher = sharper."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..data.dataset import check_images

# ITU-R BT.601 luma weights, as OpenCV's cvtColor(RGB2GRAY).
GREY_WEIGHTS = (0.299, 0.587, 0.114)
# OpenCV's Laplacian with ksize=1: the 4-neighbour kernel.
LAPLACIAN_KERNEL = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))


def to_grey(images: torch.Tensor) -> torch.Tensor:
    """Grey images (N, 1, H, W) from grey or RGB images (N, C, H, W) in [0, 1]."""
    if images.shape[1] == 1:
        return images
    if images.shape[1] != 3:
        raise ValueError(f"images must have 1 or 3 channels; got {images.shape[1]}")
    w = torch.tensor(GREY_WEIGHTS, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images * w).sum(1, keepdim=True)  # (N, 1, H, W)


def laplacian(images: torch.Tensor) -> torch.Tensor:
    """4-neighbour Laplacian with reflect-101 border, in float64, (N, 1, H, W) -> (N, 1, H, W)."""
    x = images.double()
    # torch's "reflect" mirrors without repeating the edge pixel: OpenCV's BORDER_REFLECT_101 (its default).
    x = F.pad(x, (1, 1, 1, 1), mode="reflect") if min(x.shape[2:]) > 1 else F.pad(x, (1, 1, 1, 1), mode="replicate")
    k = torch.tensor(LAPLACIAN_KERNEL, dtype=torch.float64, device=x.device).view(1, 1, 3, 3)
    return F.conv2d(x, k)  # (N, 1, H, W)


@torch.no_grad()
def laplacian_variance(images: torch.Tensor, batch_size: int = 4096) -> np.ndarray:
    """Per-image variance of the Laplacian, what `cv2.Laplacian(img, cv2.CV_64F).var()` gives.

    Args:
        images: float (N, C, H, W) in [0, 1]; RGB is converted to grey first (BT.601 weights).
        batch_size: images per convolution.

    Returns:
        (N,) float64 array; the paper reports its mean ± std over images (0.184 ± 0.079 on
        the Fashion-MNIST test images).
    """
    images = check_images(torch.as_tensor(images))
    out = []
    for i in range(0, len(images), batch_size):
        lap = laplacian(to_grey(images[i:i + batch_size].double()))  # (B, 1, H, W)
        out.append(lap.flatten(1).var(dim=1, unbiased=False))  # (B,)
    return torch.cat(out).cpu().numpy()
