"""k-NN manifold metrics: improved precision/recall (Kynkäänniemi et al. 2019), density/coverage (Naeem et al. 2020).

Distances are computed block by block and never stored in full, so 50k × 50k sets fit in a few hundred MB.
Same definitions as the `prdc` package: a sample's radius is the distance to its k-th nearest neighbour
in its own set (itself excluded), and "inside" means strictly closer than the radius.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._arrays import feature_pair
from ._order import canonical_rows

DEFAULT_BLOCK_BYTES = 128 * 2**20  # memory of one block of distances


def _block_rows(n_cols: int, itemsize: int, block_bytes: int) -> int:
    return max(1, block_bytes // max(1, n_cols * itemsize))


def _sq_distances(a: torch.Tensor, b: torch.Tensor, a_sq: torch.Tensor, b_sq: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances (m, n) from rows a (m, D) to rows b (n, D), clamped at 0."""
    d = torch.addmm(b_sq[None, :], a, b.T, alpha=-2)  # (m, n): one allocation, updated in place
    return d.add_(a_sq[:, None]).clamp_(min=0)


def _kth_smallest(d: torch.Tensor, k: int) -> torch.Tensor:
    """(b,) the k-th smallest other entry of each row of d (b, N) that holds its own row's self-distance."""
    return d.topk(k + 1, dim=1, largest=False).values[:, -1]  # self is among the k + 1


def knn_radii(x: torch.Tensor, k: int, block_bytes: int = DEFAULT_BLOCK_BYTES) -> torch.Tensor:
    """Squared distance of each row of x (N, D) to its k-th nearest other row, (N,)."""
    if k < 1:
        raise ValueError(f"k (neighbours per radius) must be a positive integer; got {k!r}")
    if k + 1 > len(x):
        raise ValueError(f"k={k} needs more than {k} samples per set; got {len(x)}")
    sq = (x * x).sum(1)  # (N,)
    rows = _block_rows(len(x), x.element_size(), block_bytes)
    return torch.cat([_kth_smallest(_sq_distances(x[i:i + rows], x, sq[i:i + rows], sq), k)
                      for i in range(0, len(x), rows)])


@dataclass(frozen=True)
class PRDCSamples:
    """The per-sample facts behind precision, recall, density and coverage (each set in its canonical order).

    Args:
        in_real_balls: (N_f,) how many real k-NN balls contain each fake.
        recalled: (N_r,) whether each real lies inside some fake's k-NN ball.
        covered: (N_r,) whether each real's k-NN ball contains some fake.
        k: the neighbours of the radii.
    """

    in_real_balls: np.ndarray
    recalled: np.ndarray
    covered: np.ndarray
    k: int

    def summary(self) -> dict[str, float]:
        """The four metrics: means of the per-sample facts (density divides by k)."""
        return {"precision": float((self.in_real_balls > 0).mean()), "recall": float(self.recalled.mean()),
                "density": float(self.in_real_balls.mean() / self.k), "coverage": float(self.covered.mean())}


def prdc(real, fake, k: int = 5, block_bytes: int = DEFAULT_BLOCK_BYTES) -> dict[str, float]:
    """Precision, recall, density and coverage of fake (N_f, D) against real (N_r, D) features.

    Args:
        real: features of real images (N_r, D), N_r > k.
        fake: features of generated images (N_f, D), N_f > k.
        k: neighbours defining each sample's radius (5 as in Naeem et al.).
        block_bytes: memory of one block of distances; peak memory is a small multiple of it.

    Returns:
        dict with `precision` (share of fakes inside some real ball), `recall` (share of reals inside some
        fake ball), `density` (mean count of real balls containing a fake, / k) and `coverage` (share of
        reals whose ball contains a fake). Identical sets give precision = recall = density = coverage = 1
        exactly. Computed in the inputs' float precision, after centring on the real mean (distances
        unchanged), on the rows in canonical order: any permutation of either set gives the same numbers.
    """
    return prdc_per_sample(real, fake, k, block_bytes).summary()


def prdc_per_sample(real, fake, k: int = 5, block_bytes: int = DEFAULT_BLOCK_BYTES) -> PRDCSamples:
    """The per-sample facts of `prdc` (for bootstrap intervals: resample fakes for precision and density,
    reals for recall and coverage)."""
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k (neighbours per radius) must be a positive integer; got {k!r}")
    real, fake = feature_pair(real, fake, min_rows=k + 1)
    real, fake = canonical_rows(real), canonical_rows(fake)
    centre = torch.from_numpy(real.mean(0, dtype=np.float64).astype(real.dtype))
    # Both sets in fresh torch buffers, alike in alignment, so equal rows give bit-equal distances
    real_t = torch.from_numpy(real) - centre  # (N_r, D)
    fake_t = torch.from_numpy(fake) - centre  # (N_f, D)
    r_fake = knn_radii(fake_t, k, block_bytes)  # (N_f,)
    real_sq, fake_sq = (real_t * real_t).sum(1), (fake_t * fake_t).sum(1)
    n_real = len(real_t)
    in_real_balls = torch.zeros(len(fake_t), dtype=torch.int64)  # per fake: real balls containing it
    real_recalled = torch.zeros(n_real, dtype=torch.bool)  # per real: inside some fake ball
    covered = torch.zeros(n_real, dtype=torch.bool)  # per real: its ball contains some fake
    rows = _block_rows(max(n_real, len(fake_t)), real_t.element_size(), block_bytes)
    for i in range(0, n_real, rows):
        a, a_sq = real_t[i:i + rows], real_sq[i:i + rows]  # (b, D), (b,)
        r_real = _kth_smallest(_sq_distances(a, real_t, a_sq, real_sq), k)  # (b,) these reals' radii
        # Real-to-fake distances with the arithmetic of the radii just taken (same rows, same operand order),
        # so a fake equal to a real point's k-th neighbour lies on its ball's boundary, not inside.
        d = _sq_distances(a, fake_t, a_sq, fake_sq)  # (b, N_f)
        in_real_balls += (d < r_real[:, None]).sum(0, dtype=torch.int32)
        real_recalled[i:i + rows] = (d < r_fake[None, :]).any(1)
        covered[i:i + rows] = torch.amin(d, 1) < r_real  # amin (values only) is ~20x faster than min on the CPU
    return PRDCSamples(in_real_balls.numpy(), real_recalled.numpy(), covered.numpy(), int(k))
