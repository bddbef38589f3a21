"""The one implementation of image grids, training curves and figure saving."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


def to_grid(images: torch.Tensor, nrow: int = 10, pad: int = 1) -> np.ndarray:
    """Tile float images (N, C, H, W) in [0, 1] into one (H', W') or (H', W', 3) array."""
    import torchvision.utils as vutils
    grid = vutils.make_grid(images.detach().float().cpu().clamp(0, 1), nrow=nrow, padding=pad, pad_value=1.0)
    arr = grid.permute(1, 2, 0).numpy()  # (H', W', 3); make_grid repeats grey to 3 channels
    return arr[..., 0] if images.shape[1] == 1 else arr


def image_grid(images: torch.Tensor, nrow: int = 10, title: str | None = None, ax=None, row_labels: Sequence[str] | None = None):
    """Show a grid of images on `ax` (a new figure if None); returns the figure."""
    arr = to_grid(images, nrow)
    if ax is None:
        rows = int(np.ceil(len(images) / nrow))
        _, ax = plt.subplots(figsize=(max(3, nrow * 0.6), max(2, rows * 0.6)))
    ax.imshow(arr, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if row_labels is not None:
        h = images.shape[2] + 1
        ax.set_yticks([h * (i + 0.5) for i in range(len(row_labels))], list(row_labels), fontsize=7)
    if title:
        ax.set_title(title)
    return ax.figure


def per_class_grid(images: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], n: int = 10, title=None):
    """The first `n` images of each class, one row per class."""
    rows = []
    for k in range(len(class_names)):
        members = images[labels == k][:n]
        if len(members) < n:  # pad missing images with white
            members = torch.cat([members, torch.ones(n - len(members), *images.shape[1:])])
        rows.append(members)
    return image_grid(torch.cat(rows), nrow=n, title=title, row_labels=class_names)


def curves(df, x: str, ys: Sequence[str], title: str | None = None, ax=None, logy: bool = False):
    """Line plot of columns `ys` of a DataFrame against `x` (training histories)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    for y in ys:
        if y in df:
            ax.plot(df[x], df[y], marker="o" if len(df) < 30 else None, label=y)
    ax.set_xlabel(x)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def save(fig, path: str | Path, dpi: int = 120) -> Path:
    """Save a figure (PNG by extension) and close it; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
