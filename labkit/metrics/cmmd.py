"""CMMD (Jayasumana et al., CVPR 2024): squared MMD with a Gaussian RBF kernel on CLIP embeddings."""
from __future__ import annotations

import numpy as np
import torch

from ._arrays import feature_pair
from ._order import canonical_rows

DEFAULT_BLOCK_BYTES = 256 * 2**20


def _mean_rbf(a: torch.Tensor, b: torch.Tensor, gamma: float, block_bytes: int) -> float:
    """Mean of exp(-γ ||a_i - b_j||²) over all pairs (diagonal included), block by block, float64 sum."""
    a_sq, b_sq = (a * a).sum(1), (b * b).sum(1)
    rows = max(1, block_bytes // max(1, len(b) * a.element_size()))
    total = 0.0
    for i in range(0, len(a), rows):
        d = torch.addmm(b_sq[None, :], a[i:i + rows], b.T, alpha=-2).add_(a_sq[i:i + rows, None])  # (r, N_b)
        total += float(d.clamp_(min=0).mul_(-gamma).exp_().sum(dtype=torch.float64))
    return total / (len(a) * len(b))


def cmmd(real, fake, sigma: float = 10.0, scale: float = 1000.0, block_bytes: int = DEFAULT_BLOCK_BYTES) -> float:
    """scale · (mean k(x, x') + mean k(y, y') − 2 mean k(x, y)), k = exp(−||·||² / (2σ²)), as the official code.

    Args:
        real: (N_r, D) embeddings of real images (CLIP, L2-normalised, in the paper).
        fake: (N_f, D) embeddings of generated images.
        sigma: kernel bandwidth (10 in the paper).
        scale: multiplier (1000 in the paper).
        block_bytes: memory of one block of kernel values; peak memory is a small multiple of it.

    Returns:
        The (biased, V-statistic) squared MMD × scale; never negative in exact arithmetic, exactly 0 for two
        copies of a set in any row order (rows are summed in canonical order, so the value depends only on
        the two sets).
    """
    real, fake = feature_pair(real, fake, min_rows=1)
    real, fake = canonical_rows(real), canonical_rows(fake)
    centre = torch.from_numpy(real.mean(0, dtype=np.float64).astype(real.dtype))
    x, y = torch.from_numpy(real) - centre, torch.from_numpy(fake) - centre  # fresh torch buffers, aligned alike
    gamma = 1.0 / (2 * sigma ** 2)
    value = _mean_rbf(x, x, gamma, block_bytes) + _mean_rbf(y, y, gamma, block_bytes) - 2 * _mean_rbf(x, y, gamma, block_bytes)
    return scale * value
