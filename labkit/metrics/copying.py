"""Data copying: does a model put its samples closer to its training images than new real images are?

The C_T test of Meehan, Chaudhuri & Dasgupta, "A Non-Parametric Test to Detect Data-Copying in Generative
Models" (AISTATS 2020). The training set's feature space is cut into cells by k-means. In each cell π, the
distances from generated samples to their nearest training image are compared with those of held-out real
images (never trained on) by a Mann-Whitney U test, as a z-score:

    Z_U(π) = (U − m·n/2) / sqrt(m·n·(m + n + 1) / 12),   U = #{(g, t): d(g) > d(t)} (+ ½ per tie),

negative when the samples sit closer to the training images than real held-out images do. C_T averages
Z_U(π) over the cells with at least `min_per_cell` samples of each kind, weighted by the held-out images'
share of each cell. C_T ≈ 0 for a model that generalises; the paper reads C_T ≪ 0 (below about −3) as data
copying and C_T ≫ 0 as underfitting (samples far from everything real).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import rankdata

from ._arrays import as_features
from ._order import canonical_order


@dataclass(frozen=True)
class CopyingTest:
    """The C_T statistic with what it was computed from.

    Args:
        ct: the weighted mean of the per-cell z-scores (negative: closer to the training set than real data).
        z: (cells,) per-cell Z_U, NaN for cells left out (too few samples of either kind).
        weights: (cells,) held-out share of each cell.
        generated_distances / held_out_distances: distance of each sample / held-out image to its nearest
            training image, in the order the rows were given.
        nearest_train: (N_g,) index of each sample's nearest training image, in the training rows as given.
        cells_used: cells entering C_T.
    """

    ct: float
    z: np.ndarray
    weights: np.ndarray
    generated_distances: np.ndarray
    held_out_distances: np.ndarray
    nearest_train: np.ndarray
    cells_used: int


def nearest_distances(query: np.ndarray, reference: np.ndarray, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance of each query row (N, D) to its nearest reference row (M, D), and that row's index."""
    q = torch.from_numpy(np.ascontiguousarray(query, dtype=np.float32))
    r = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
    r_sq = (r * r).sum(1)  # (M,)
    dist, idx = [], []
    for i in range(0, len(q), block):
        qb = q[i:i + block]  # (b, D)
        d = torch.addmm(r_sq[None, :], qb, r.T, alpha=-2).add_((qb * qb).sum(1)[:, None]).clamp_(min=0)  # (b, M)
        nearest = d.argmin(1)  # (b,)
        dist.append((qb - r[nearest]).norm(dim=1))  # exact for the chosen row: a verbatim copy gives 0, not ~1e-3
        idx.append(nearest)
    return torch.cat(dist).numpy(), torch.cat(idx).numpy()


def mann_whitney_z(x: np.ndarray, y: np.ndarray) -> float:
    """z-score of U = #{(x_i, y_j): x_i > y_j} (+ ½ per tie) against its null mean m·n/2 (no tie correction)."""
    m, n = len(x), len(y)
    ranks = rankdata(np.concatenate([x, y]))
    u = ranks[:m].sum() - m * (m + 1) / 2
    return float((u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12))


@dataclass
class CopyingBaseline:
    """What C_T needs of the real side, computed once: the training set's cells and the held-out distances."""

    train: np.ndarray
    train_order: np.ndarray  # canonical position -> row as given
    kmeans: object
    held_out_distances: np.ndarray
    held_out_cells: np.ndarray
    min_per_cell: int

    @classmethod
    def fit(cls, train, held_out, *, cells: int = 20, min_per_cell: int = 5, seed: int = 0) -> CopyingBaseline:
        """Cut the training features (N_t, D) into `cells` k-means cells (seeded; fewer for a small set) and place
        the held-out real features (N_h, D): their cells and distances to the nearest training image."""
        from sklearn.cluster import MiniBatchKMeans

        train = as_features(train, "train features", min_rows=2, dtype=np.float32)
        order = canonical_order(train)
        train = train[order]  # k-means sees the set, not its order
        held_out = as_features(held_out, "held-out features", min_rows=2, dtype=np.float32)
        if train.shape[1] != held_out.shape[1]:
            raise ValueError(f"features differ in dimension: train {train.shape[1]}, held-out {held_out.shape[1]}; "
                             "extract both with the same extractor")
        k = max(1, min(cells, len(train) // 50))
        km = MiniBatchKMeans(n_clusters=k, n_init=3, random_state=seed).fit(train)
        return cls(train, order, km, nearest_distances(held_out, train)[0], km.predict(held_out), min_per_cell)

    def place(self, generated) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each generated feature row's distance to its nearest training image, that image's index (in the
        training rows as given) and its cell; rows keep their order."""
        generated = as_features(generated, "generated features", min_rows=2, dtype=np.float32)
        if generated.shape[1] != self.train.shape[1]:
            raise ValueError(f"generated features have {generated.shape[1]} dimensions, the training features "
                             f"{self.train.shape[1]}; extract both with the same extractor")
        d_gen, nearest = nearest_distances(generated, self.train)
        return d_gen, self.train_order[nearest], self.kmeans.predict(generated)

    def score(self, d_gen: np.ndarray, cell_gen: np.ndarray, nearest: np.ndarray | None = None) -> CopyingTest:
        """C_T from placed samples (`place`): per-cell Mann-Whitney z against the held-out distances, weighted
        by the held-out share of each cell. Depends on the samples as a set, not on their order."""
        k = self.kmeans.n_clusters
        z, weights = np.full(k, np.nan), np.bincount(self.held_out_cells, minlength=k) / len(self.held_out_cells)
        for c in range(k):
            g, h = d_gen[cell_gen == c], self.held_out_distances[self.held_out_cells == c]
            if len(g) >= self.min_per_cell and len(h) >= self.min_per_cell:
                z[c] = mann_whitney_z(g, h)
        used = ~np.isnan(z)
        ct = float(np.sum(weights[used] * z[used]) / np.sum(weights[used])) if used.any() else float("nan")
        nearest = np.full(len(d_gen), -1) if nearest is None else nearest
        return CopyingTest(ct, z, weights, d_gen, self.held_out_distances, nearest, int(used.sum()))

    def test(self, generated) -> CopyingTest:
        """C_T of generated features (N_g, D); per-row facts keep the rows' order (C_T itself does not see it)."""
        d_gen, nearest, cells = self.place(generated)
        return self.score(d_gen, cells, nearest)


def copying_test(train, held_out, generated, *, cells: int = 20, min_per_cell: int = 5, seed: int = 0) -> CopyingTest:
    """C_T of `generated` (N_g, D) against `train` (N_t, D), with `held_out` (N_h, D) real images as the baseline.

    Args:
        train: features of the training images; held_out: of real images the model never saw; generated: of
            its samples. All in one feature space.
        cells: k-means cells on the training features (seeded); fewer when the training set is small.
        min_per_cell: the fewest generated and held-out samples a cell needs to enter C_T.
    """
    return CopyingBaseline.fit(train, held_out, cells=cells, min_per_cell=min_per_cell, seed=seed).test(generated)
