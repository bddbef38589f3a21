"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with a cubic polynomial kernel, over subsets."""
from __future__ import annotations

import warnings

import numpy as np

from ._arrays import feature_pair
from ._order import canonical_rows


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x·y / D + 1)³ for rows x (m, D), y (n, D) -> (m, n), cubed in place (no pow temporaries).

    `x @ x.T` on the same array lets BLAS use its symmetric rank-k update (half the work of a general product).
    """
    k = x @ (x.T if y is x else y.T)  # (m, n)
    k /= x.shape[1]
    k += 1
    cube = k * k
    cube *= k
    return cube


def mmd2_unbiased(k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
    """Unbiased MMD² of one subset pair: diagonals of k_xx and k_yy dropped, k_xy in full; (m, m) each."""
    m = len(k_xx)
    sum_xx = float(k_xx.sum()) - float(np.trace(k_xx))
    sum_yy = float(k_yy.sum()) - float(np.trace(k_yy))
    return (sum_xx + sum_yy) / (m * (m - 1)) - 2 * float(k_xy.sum()) / (m * m)


def kid(real, fake, subset_size: int = 1000, n_subsets: int = 100, seed: int = 0) -> tuple[float, float]:
    """KID: mean and std of unbiased MMD² over `n_subsets` random subsets of `subset_size` per set.

    Subsets are drawn as torch-fidelity draws them (`np.random.RandomState(seed)`, real then fake, without
    replacement), from the rows in canonical order: the numbers depend only on the two sets and the seed, and
    agree with torch-fidelity given the same seed and the rows in that order. Computed in the inputs' float
    precision.

    Args:
        real: (N_r, D) features of real images.
        fake: (N_f, D) features of generated images, same D.
        subset_size: samples per subset; clamped (with a warning) to the smaller set.
        n_subsets: number of subsets.
        seed: subset sampling seed.

    Returns:
        (mean, std) of MMD² over subsets; ≈ 0 (and may be slightly negative) for equal distributions.
    """
    if not isinstance(subset_size, (int, np.integer)) or subset_size < 2:
        raise ValueError(f"KID subset_size must be an integer of at least 2 (the unbiased MMD² needs pairs); "
                         f"got {subset_size!r}")
    real, fake = feature_pair(real, fake, min_rows=2)
    real, fake = canonical_rows(real), canonical_rows(fake)
    size = min(subset_size, len(real), len(fake))
    if size < subset_size:
        warnings.warn(f"KID subset size {subset_size} clamped to {size}, the size of the smaller set", stacklevel=2)
    if n_subsets < 1:
        raise ValueError(f"n_subsets must be at least 1; got {n_subsets}")
    rng = np.random.RandomState(seed)
    mmd = np.empty(n_subsets)
    for i in range(n_subsets):
        x = real[rng.choice(len(real), size, replace=False)]  # (m, D)
        y = fake[rng.choice(len(fake), size, replace=False)]  # (m, D)
        mmd[i] = mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(x, y), polynomial_kernel(y, y))
    return float(mmd.mean()), float(mmd.std())
