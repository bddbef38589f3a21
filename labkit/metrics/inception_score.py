"""Inception Score (Salimans et al. 2016) from class probabilities of any classifier."""
from __future__ import annotations

import numpy as np

from ._arrays import as_features


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))), computed on `splits` consecutive parts; mean and std over parts.

    Args:
        probs: (N, K) class probabilities (rows sum to 1), e.g. the evaluation classifier's softmax
            or Inception's 1008-way softmax. N >= splits.
        splits: number of parts (10 in the original protocol); std is the population std over them.

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
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(0, keepdims=True)  # (1, K)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0).sum(1)  # (n,)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
