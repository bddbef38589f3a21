"""Precision and recall for distributions (Sajjadi et al., NeurIPS 2018): PRD curves over k-means histograms."""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np

from ._arrays import feature_pair
from ._order import canonical_rows


@dataclass(frozen=True)
class PRDCurve:
    """A PRD curve and its summaries.

    Args:
        precision: (num_angles,) α(λ), how much of the fake distribution the real one explains.
        recall: (num_angles,) β(λ), how much of the real distribution the fake one covers.
        f_beta: max F_8 over the curve (recall-like).
        f_beta_inv: max F_1/8 over the curve (precision-like).
    """

    precision: np.ndarray
    recall: np.ndarray
    f_beta: float
    f_beta_inv: float


def prd_from_histograms(real_hist, fake_hist, num_angles: int = 1001,
                        epsilon: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """PRD curve of discrete distributions: α(λ) = Σ min(λ P, Q), β(λ) = α(λ) / λ on equiangular λ = tan θ.

    Args:
        real_hist: (K,) reference distribution P (normalised here).
        fake_hist: (K,) evaluated distribution Q.
        num_angles: number of angles θ in [ε, π/2 − ε].
    """
    if not 3 <= num_angles <= 1e6:
        raise ValueError(f"num_angles must be in [3, 1e6]; got {num_angles}")
    p = np.asarray(real_hist, dtype=np.float64)
    q = np.asarray(fake_hist, dtype=np.float64)
    for what, h in (("real_hist", p), ("fake_hist", q)):
        if h.ndim != 1 or len(h) == 0 or not np.isfinite(h).all() or (h < 0).any() or h.sum() <= 0:
            raise ValueError(f"{what} must be a non-empty 1-D histogram of non-negative counts with a positive sum; "
                             f"got shape {h.shape}, sum {h.sum() if h.size else 0:g}")
    if p.shape != q.shape:
        raise ValueError(f"real_hist and fake_hist need the same number of bins; got {len(p)} and {len(q)}")
    p, q = p / p.sum(), q / q.sum()
    slopes = np.tan(np.linspace(epsilon, np.pi / 2 - epsilon, num_angles))  # (A,)
    precision = np.minimum(p[None, :] * slopes[:, None], q[None, :]).sum(1)  # (A,)
    recall = precision / slopes  # (A,)
    return np.clip(precision, 0.0, 1.0), np.clip(recall, 0.0, 1.0)


def f_beta_score(precision: np.ndarray, recall: np.ndarray, beta: float, epsilon: float = 1e-10) -> np.ndarray:
    """F_β = (1 + β²) p r / (β² p + r), elementwise; β > 1 weighs recall more."""
    return (1 + beta ** 2) * precision * recall / (beta ** 2 * precision + recall + epsilon)


def max_f_beta_pair(precision: np.ndarray, recall: np.ndarray, beta: float = 8) -> tuple[float, float]:
    """(max F_β, max F_1/β) over a curve: recall-like and precision-like summaries."""
    return float(f_beta_score(precision, recall, beta).max()), float(f_beta_score(precision, recall, 1 / beta).max())


def _cluster_shares(data: np.ndarray, n_fake: int, num_clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded mini-batch k-means of `data` (fake rows first, then real); per-cluster shares (real, fake)."""
    from sklearn.cluster import MiniBatchKMeans

    labels = MiniBatchKMeans(n_clusters=num_clusters, n_init=10, random_state=seed).fit(data).labels_
    fake_hist = np.bincount(labels[:n_fake], minlength=num_clusters) / n_fake
    real_hist = np.bincount(labels[n_fake:], minlength=num_clusters) / (len(data) - n_fake)
    return real_hist, fake_hist


def _stacked(real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    """(N_f + N_r, D) float64, fake first as in the reference code; float64 is faster in sklearn's k-means."""
    data = np.empty((len(fake) + len(real), real.shape[1]), dtype=np.float64)
    data[:len(fake)], data[len(fake):] = fake, real
    return data


def cluster_histograms(real: np.ndarray, fake: np.ndarray, num_clusters: int, seed: int,
                       threads: int | None = 1) -> tuple[np.ndarray, np.ndarray]:
    """Seeded mini-batch k-means on real ∪ fake; per-cluster shares of each set, (K,) and (K,).

    `threads` caps the OpenMP/BLAS threads of the clustering (None: library defaults). One thread is the
    default: mini-batch k-means works on small batches, and on a busy 2-core machine its thread
    synchronisation cost 5-20x the single-threaded time in our measurements.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads) if threads is not None else contextlib.nullcontext():
        return _cluster_shares(_stacked(real, fake), len(fake), num_clusters, seed)


def prd(real, fake, num_clusters: int = 20, num_angles: int = 1001, num_runs: int = 10, seed: int = 0,
        beta: float = 8, threads: int | None = 1) -> PRDCurve:
    """PRD curve of fake vs real features, averaged over `num_runs` seeded clusterings, with F_8 / F_1/8.

    Args:
        real: (N_r, D) features of real images.
        fake: (N_f, D) features of generated images. Unequal sizes bias the clustering, so the larger
            set is subsampled (seeded, with a warning) to the size of the smaller.
        num_clusters: k-means clusters (20 in the paper).
        num_angles: points on the curve.
        num_runs: clusterings averaged (10 in the paper); run r uses seed `seed + r`.
        seed: base seed of subsampling and k-means.
        beta: β of the summaries (8).
        threads: thread cap of the k-means (see `cluster_histograms`).
    """
    for what, v in (("num_clusters", num_clusters), ("num_runs", num_runs)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"PRD {what} must be a positive integer; got {v!r}")
    real, fake = feature_pair(real, fake, min_rows=2)
    real, fake = canonical_rows(real), canonical_rows(fake)  # k-means and subsets see the sets, not their order
    n = min(len(real), len(fake))
    if n < num_clusters:
        raise ValueError(f"PRD needs at least num_clusters={num_clusters} samples per set; got {n}")
    if len(real) != len(fake):
        warnings.warn(f"PRD on unequal sets ({len(real)} real, {len(fake)} fake): subsampling both to {n}",
                      stacklevel=2)
        rng = np.random.default_rng(seed)
        real = real[np.sort(rng.choice(len(real), n, replace=False))]
        fake = fake[np.sort(rng.choice(len(fake), n, replace=False))]
    from threadpoolctl import threadpool_limits

    data = _stacked(real, fake)  # (2n, D), built once for all runs
    with threadpool_limits(threads) if threads is not None else contextlib.nullcontext():  # entering: tens of ms
        curves = [prd_from_histograms(*_cluster_shares(data, len(fake), num_clusters, seed + r), num_angles)
                  for r in range(num_runs)]
    precision = np.mean([c[0] for c in curves], axis=0)  # (A,)
    recall = np.mean([c[1] for c in curves], axis=0)  # (A,)
    return PRDCurve(precision, recall, *max_f_beta_pair(precision, recall, beta))
