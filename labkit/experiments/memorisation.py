"""Memorisation check: nearest real training images of generated images, in the classifier's feature space.

A model that copies its training set puts its samples much closer to training images than unseen real
images are: compare the distribution of generated -> train nearest-neighbour distances with the
real test -> train one (the reference for "as close as a new real image would be").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from ..core.plots import image_grid
from ..data.dataset import ImageDataset
from ..features import ClassifierFeatures, extract


def nearest_neighbours(query, reference, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance to, and index of, the nearest reference row for every query row.

    Args:
        query: (N, D) features; reference: (M, D) features.
        block: query rows per distance block (memory block × M floats).

    Returns:
        distances (N,) and indices (N,) into `reference`.
    """
    q = torch.as_tensor(np.asarray(query), dtype=torch.float32)
    r = torch.as_tensor(np.asarray(reference), dtype=torch.float32)
    if q.ndim != 2 or r.ndim != 2 or q.shape[1] != r.shape[1]:
        raise ValueError(f"need (N, D) and (M, D) features with the same D; got {tuple(q.shape)} and {tuple(r.shape)}")
    r_sq = (r * r).sum(1)  # (M,)
    dist, idx = [], []
    for i in range(0, len(q), block):
        qb = q[i:i + block]  # (b, D)
        d = ((qb * qb).sum(1)[:, None] + r_sq[None, :] - 2 * qb @ r.T).clamp_(min=0)  # (b, M) squared
        m = d.min(1)
        dist.append(m.values.sqrt())
        idx.append(m.indices)
    return torch.cat(dist).numpy(), torch.cat(idx).numpy()


@dataclass(frozen=True)
class MemorisationReport:
    """Nearest-training-image distances of generated and of real test images.

    Args:
        generated_distances: (N_g,) distance of each generated image to its nearest training image.
        generated_neighbours: (N_g,) index of that training image.
        test_distances: (N_t,) the same for real test images (the reference distribution).
        close_threshold: the `percentile`-th percentile of the test distances.
        share_close: share of generated images closer than `close_threshold` (≈ percentile / 100 when not copying).
        median_ratio: median generated distance / median test distance (< 1: closer than new real images).
    """

    generated_distances: np.ndarray
    generated_neighbours: np.ndarray
    test_distances: np.ndarray
    close_threshold: float
    share_close: float
    median_ratio: float
    percentile: float = 1.0

    def summary(self) -> dict[str, float]:
        """The scalar results, for records."""
        return {"nn_share_close": self.share_close, "nn_median_ratio": self.median_ratio,
                "nn_median_generated": float(np.median(self.generated_distances)),
                "nn_median_test": float(np.median(self.test_distances)), "nn_close_threshold": self.close_threshold}


def memorisation_check(generated: ImageDataset, train: ImageDataset, test: ImageDataset, classifier: nn.Module, *,
                       percentile: float = 1.0, device: str | torch.device = "auto") -> MemorisationReport:
    """Nearest training images (classifier features) of generated and of real test images.

    Args:
        generated: generated images; train: the real set the model was trained on; test: unseen real images.
        classifier: the evaluation classifier (its penultimate features are the space).
        percentile: the test-distance percentile that defines "suspiciously close".
    """
    feat = ClassifierFeatures(model=classifier)
    f_train = extract(feat, train.float(), device=device)  # (M, D)
    d_gen, i_gen = nearest_neighbours(extract(feat, generated.float(), device=device), f_train)
    d_test, _ = nearest_neighbours(extract(feat, test.float(), device=device), f_train)
    threshold = float(np.percentile(d_test, percentile))
    return MemorisationReport(d_gen, i_gen, d_test, threshold, float((d_gen < threshold).mean()),
                              float(np.median(d_gen) / max(np.median(d_test), 1e-12)), percentile)


def plot_nn_pairs(generated: ImageDataset, train: ImageDataset, report: MemorisationReport, n: int = 10,
                  which: str = "closest"):
    """Two rows: generated images (top) and their nearest training images (bottom); `closest` or `random` picks."""
    d = report.generated_distances
    if which == "closest":
        pick = np.argsort(d)[:n]
    else:
        pick = np.random.default_rng(0).choice(len(d), size=min(n, len(d)), replace=False)
    top = generated.float()[torch.as_tensor(pick)]  # (n, C, H, W)
    bottom = train.float()[torch.as_tensor(report.generated_neighbours[pick])]  # (n, C, H, W)
    fig = image_grid(torch.cat([top, bottom]), nrow=len(pick), row_labels=["generated", "nearest train"],
                     title=f"{which} generated images and their nearest training images (classifier features)")
    return fig


def plot_nn_distances(report: MemorisationReport, ax=None):
    """Histograms of nearest-training-image distances: generated vs real test images."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    bins = np.linspace(0, max(report.generated_distances.max(), report.test_distances.max()), 50)
    ax.hist(report.test_distances, bins=bins, density=True, alpha=0.6, label="real test → train")
    ax.hist(report.generated_distances, bins=bins, density=True, alpha=0.6, label="generated → train")
    ax.axvline(report.close_threshold, color="k", ls=":", lw=1, label=f"{report.percentile:g}th percentile of test")
    ax.set_xlabel("distance to the nearest training image")
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure
