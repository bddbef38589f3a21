"""Whether a VAE's KL term rose during training (seed 003 notes that it does, where one expects it to fall).

Rule: the logged KL values (per step, nats per image) are cut into `windows` consecutive windows of equal
length; the KL *rises* when the last window's mean exceeds the smallest window mean by more than `margin`
(relative). Window means, not single steps, so one noisy batch neither raises nor hides the flag.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core import plots
from ..core.record import MetricRecord, tagged


def kl_trend(steps: pd.DataFrame, *, windows: int = 10, margin: float = 0.05, column: str = "kl") -> dict:
    """The KL rule on a training log (`FitResult.steps`: a `step` and a `kl` column, one row per logged step).

    Returns: `rises` (bool), `rise` (last window mean / smallest window mean − 1), `first`, `lowest` and `last`
    (window means), `lowest_step` (the last step of the lowest window), `windows` (as used: at most the
    number of logged steps), `margin`.
    """
    if column not in steps or len(steps) == 0:
        raise ValueError(f"the training log has no {column!r} values; a VAE's FitResult.steps has one per logged step")
    if windows < 1 or margin < 0:
        raise ValueError(f"windows must be ≥ 1 and margin ≥ 0; got windows={windows}, margin={margin}")
    kl = steps[column].to_numpy(dtype=float)
    if not np.isfinite(kl).all():
        raise ValueError(f"the logged {column!r} values hold NaN or inf; the training diverged")
    step = steps["step"].to_numpy() if "step" in steps else np.arange(len(kl))
    parts = np.array_split(np.arange(len(kl)), min(windows, len(kl)))
    means = np.array([kl[p].mean() for p in parts])
    low = int(means.argmin())
    rise = float(means[-1] / means[low] - 1) if means[low] > 0 else float("inf") if means[-1] > 0 else 0.0
    return {"rises": bool(rise > margin), "rise": rise, "first": float(means[0]), "lowest": float(means[low]),
            "last": float(means[-1]), "lowest_step": int(step[parts[low][-1]]), "windows": len(parts),
            "margin": margin}


def kl_trend_text(trend: dict) -> str:
    """One line for the notebook: the flag and the numbers behind it."""
    verdict = "ROSE" if trend["rises"] else "did not rise"
    return (f"KL {verdict} during training: last window {trend['last']:.3g} nats/image vs lowest {trend['lowest']:.3g} "
            f"(at step {trend['lowest_step']}; first {trend['first']:.3g}), {trend['rise']:+.1%} against a "
            f"{trend['margin']:.0%} margin over {trend['windows']} windows")


def kl_trend_records(trend: dict) -> list[MetricRecord]:
    """`kl_rise` (relative rise of the last window over the lowest) with the flag and window means as protocol."""
    fields = {k: trend[k] for k in ("rises", "first", "lowest", "last", "lowest_step", "windows", "margin")}
    return tagged([MetricRecord("kl_rise", trend["rise"], protocol={**fields, "unit": "relative"})], "kl_trend")


def loss_figure(steps: pd.DataFrame, trend: dict):
    """The reconstruction and KL terms against the step, side by side; a dotted line at the KL's lowest window."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    plots.curves(steps, "step", ["reconstruction"], title="reconstruction (nats / image)", ax=axes[0])
    plots.curves(steps, "step", ["kl"], title="KL (nats / image)", ax=axes[1])
    axes[1].axhline(trend["lowest"], ls=":", color="grey")
    return fig
