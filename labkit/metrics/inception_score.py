"""Inception Score (Salimans et al. 2016) from class probabilities of any classifier."""
from __future__ import annotations

import numpy as np

from ._arrays import as_features
from ._order import canonical_rows


def inception_score(probs, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) on `splits` random parts of the set; mean and std over parts.

    The parts are random whatever order the rows arrive in: rows are put in canonical order, permuted
    with `np.random.RandomState(seed)` and cut at i·N // splits, as torch-fidelity does (torchmetrics
    permutes too). Consecutive parts of a class-sorted set would each hold one class and score about 1.
    The score depends only on the set of rows and the seed.

    Args:
        probs: (N, K) class probabilities (rows sum to 1), e.g. the evaluation classifier's softmax
            or Inception's 1008-way softmax. N >= splits.
        splits: number of parts (10 in the original protocol); std is the population std over them.
        seed: seed of the permutation.

    Returns:
        (mean, std). Ranges from 1 (one class for everything, or uniform predictions) to K.
    """
    p = as_features(probs, "probs", min_rows=1, dtype=np.float64)
    if (p < -1e-6).any() or not np.allclose(p.sum(1), 1.0, atol=1e-3):
        raise ValueError("probs must be probability vectors (non-negative rows summing to 1); pass softmax outputs, "
                         "not logits or features")
    if not 1 <= splits <= len(p):
        raise ValueError(f"splits must be between 1 and the number of samples ({len(p)}); got {splits}")
    p = np.clip(p, 0.0, None)
    p = canonical_rows(p)[np.random.RandomState(seed).permutation(len(p))]  # (N, K), a seeded random order
    scores = []
    for i in range(splits):
        part = p[i * len(p) // splits:(i + 1) * len(p) // splits]  # (n, K)
        marginal = part.mean(0, keepdims=True)  # (1, K)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0).sum(1)  # (n,)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
