"""Input checks shared by the metrics: feature arrays are finite, non-empty (N, D) and pairs agree in D."""
from __future__ import annotations

import numpy as np
import torch


def as_features(x, what: str = "features", *, min_rows: int = 1, dtype=None) -> np.ndarray:
    """Return `x` as a finite 2-D float array (N, D), raising a clear error otherwise.

    Args:
        x: array-like or tensor (N, D); integer input is converted to float64.
        what: name used in error messages (`"real features"`).
        min_rows: the fewest rows the metric can work with.
        dtype: force a float dtype; default keeps float32/float64 and promotes anything else to float64.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (N, D) array; got shape {x.shape}. "
                         "Flatten images with x.reshape(len(x), -1) or extract features first.")
    if len(x) < min_rows:
        raise ValueError(f"{what} has {len(x)} rows; this metric needs at least {min_rows}")
    if x.shape[1] == 0:
        raise ValueError(f"{what} has zero feature dimensions")
    if dtype is None:
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    x = x.astype(dtype, copy=False)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).any(axis=1).sum())
        raise ValueError(f"{what} contains NaN or inf in {bad} of {len(x)} rows")
    return x


def feature_pair(real, fake, *, min_rows: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Check a (real, fake) pair: both valid, same D; computed in the wider of their float dtypes."""
    real = as_features(real, "real features", min_rows=min_rows)
    fake = as_features(fake, "fake features", min_rows=min_rows)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake features differ in dimension: {real.shape[1]} vs {fake.shape[1]}; "
                         "extract both with the same extractor")
    dtype = np.result_type(real.dtype, fake.dtype)
    return real.astype(dtype, copy=False), fake.astype(dtype, copy=False)
