"""Effective size: how many real images per class a generated pool is worth, read off two saturation curves.

The real curve (accuracy against real images per class) is made non-decreasing and inverted at the generated
curve's plateau; a band comes from the seed spread. `labkit.experiments.saturation` computes the curves.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class EffectiveSize:
    """How many real images per class a generated pool is worth (see `effective_size` for the estimator).

    Args:
        curve: the generated curve.
        plateau, plateau_std: its plateau accuracy and the std of that over seeds.
        n_effective: real images per class with the plateau's accuracy; NaN when undefined.
        low, high: the same at plateau ∓ band (NaN: below the real curve; inf: above it).
        status: `ok`, `above_real_range` (better than every real point) or `below_real_range`.
        saturation_n: smallest generated size whose mean accuracy is within `tol` of the plateau.
        saturated: whether the last two generated sizes differ by at most `tol` (else the plateau is a lower bound).
        tol: the tolerance used.
        real_min, real_max: the real curve's smallest and largest size (the range an effective size can take).
        band: the accuracy half-width of [low, high]; band_from: whose seed spread it is (`generated`, or `real`
            when the generated curve has one seed, `none` when neither has two).
    """

    curve: str
    plateau: float
    plateau_std: float
    n_effective: float
    low: float
    high: float
    status: str
    saturation_n: int
    saturated: bool
    tol: float
    real_min: float = float("nan")
    real_max: float = float("nan")
    band: float = 0.0
    band_from: str = "generated"

    def _size(self, n: float) -> str:
        if n != n:
            return f"< {self.real_min:g}"  # below the real curve's first point: worth fewer real images than that
        if n == float("inf"):
            return f"> {self.real_max:g}"
        return f"{n:.3g}"

    @property
    def text(self) -> str:
        """The effective size with its band as a reader wants it: "120 [80, 200]", "< 1" below the whole real
        range, "> 3000" above it."""
        if self.status == "below_real_range":
            return self._size(float("nan"))
        if self.status == "above_real_range":
            return self._size(float("inf"))
        return f"{self._size(self.n_effective)} [{self._size(self.low)}, {self._size(self.high)}]"


def monotone_fit(n_per_class: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Non-decreasing least-squares fit (isotonic regression) of accuracy (S,) on sizes (S,), sorted by size."""
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(increasing=True).fit_transform(np.log(n_per_class), accuracy)


def invert_curve(n_per_class: np.ndarray, fitted: np.ndarray, value: float) -> float:
    """The size at which a non-decreasing curve reaches `value`, linear in log n between grid points.

    NaN below the curve's first value, inf above its last; on a flat stretch, its smallest size.
    """
    if value > fitted[-1] + 1e-12:
        return float("inf")
    if value < fitted[0] - 1e-12:
        return float("nan")
    i = int(np.argmax(fitted >= value - 1e-12))
    if i == 0:
        return float(n_per_class[0])
    lo, hi = np.log(n_per_class[i - 1]), np.log(n_per_class[i])
    t = (value - fitted[i - 1]) / (fitted[i] - fitted[i - 1])
    return float(np.exp(lo + t * (hi - lo)))


def effective_size(records: pd.DataFrame, curve: str, *, real: str = "real", plateau_points: int = 2,
                   min_tol: float = 0.005) -> EffectiveSize:
    """Effective size of a generated curve against the real curve of the same records.

    The estimator:
    1. Real curve: mean accuracy over seeds per size, made non-decreasing in log n by isotonic
       regression (more real data never hurts in expectation; this removes seed noise).
    2. Plateau: for each seed, the mean accuracy over the generated curve's `plateau_points` largest
       sizes; `plateau` is the mean over seeds, `plateau_std` their std (ddof 1).
    3. `n_effective`: the real size whose fitted accuracy equals the plateau, interpolating linearly in
       log n between grid points. `low`/`high`: the same at plateau ∓ band, the band being plateau_std, or,
       when the generated curve has a single seed, the real curve's seed std pooled over its sizes.
    4. Undefined (NaN, `status` says why) when the plateau lies above the fitted real curve's maximum
       (the samples beat every real size tried: extend the real grid) or below its minimum.
    5. `saturation_n`: the smallest generated size whose mean accuracy is at least plateau − tol,
       tol = max(plateau_std, min_tol); `saturated` is false when the last two sizes still differ by more
       than tol (then the plateau, and the effective size, are lower bounds).

    Args:
        records: rows of `saturation_curves` (columns curve, n_per_class, seed, accuracy).
        curve: the generated curve's name; real: the real curve's name.
    """
    r = records[records["curve"] == real].groupby("n_per_class")["accuracy"].mean().sort_index()
    g = records[records["curve"] == curve]
    if r.empty or g.empty:
        raise ValueError(f"records need both curves {real!r} and {curve!r}; have {sorted(records['curve'].unique())}")
    sizes = np.sort(g["n_per_class"].unique())
    last = sizes[-plateau_points:]
    per_seed = g[g["n_per_class"].isin(last)].groupby("seed")["accuracy"].mean()
    plateau = float(per_seed.mean())
    std = float(per_seed.std(ddof=1)) if len(per_seed) > 1 else float("nan")
    n_real = r.index.to_numpy(dtype=float)
    fitted = monotone_fit(n_real, r.to_numpy())
    n_eff = invert_curve(n_real, fitted, plateau)
    status = "ok" if np.isfinite(n_eff) else ("above_real_range" if n_eff == np.inf else "below_real_range")
    s, band_from = std, "generated"
    if np.isnan(s):
        real_std = records[records["curve"] == real].groupby("n_per_class")["accuracy"].std(ddof=1).dropna()
        s, band_from = (float(np.sqrt((real_std ** 2).mean())), "real") if len(real_std) else (0.0, "none")
    low, high = invert_curve(n_real, fitted, plateau - s), invert_curve(n_real, fitted, plateau + s)
    means = g.groupby("n_per_class")["accuracy"].mean().sort_index()
    tol = max(s, min_tol)
    saturation_n = int(means.index[np.argmax(means.to_numpy() >= plateau - tol)])
    saturated = bool(len(means) < 2 or abs(means.iloc[-1] - means.iloc[-2]) <= tol)
    return EffectiveSize(curve, plateau, std, n_eff if status == "ok" else float("nan"), low, high, status,
                         saturation_n, saturated, tol, float(n_real[0]), float(n_real[-1]), s, band_from)
