"""Did a GAN run diverge or fail to converge? Four defined checks on a finished run.

Divergence (the `diverged` flag):

- **nan**: a loss became NaN or infinite (the fit loop stopped with `TrainingDivergedError`).
- **exploding critic**: over the last `window` of logged steps, the mean critic gap
  |E D(real) - E D(fake)| exceeds `max_critic_gap`, or exceeds `max_growth` times the run's median gap
  (and 1.0). For a 1-Lipschitz critic on 28×28 images in [-1, 1] the gap is a Wasserstein-1 estimate and
  cannot exceed the image-space diameter (2·28 = 56), hence the default 50.
- **collapsed samples**: the mean pairwise L2 distance between generated images is below
  `min_diversity` times that between real images (most samples nearly identical).
Failure to converge (the `converged` flag is 0 when diverged or when this fires):
- **no structure**: samples lie far from every real image: the mean distance from a sample to its
  nearest real image exceeds `max_nn_ratio` times the same distance for held-out real images.
  Noise-like samples of an unconverged generator score about 1.7-1.9 on Fashion-MNIST (uniform noise
  2.5), class-recognisable ones 1.2-1.5; pixel distances are crude, so treat values near the bound
  with care and look at the sample grids.
- **dropped classes** (with the evaluation classifier's histogram of the samples): some class gets under
  `min_class_fraction` of its fair share 1/K, i.e. is practically absent (for 10 classes: under 0.1%,
  fewer than 10 of 10k samples). Pixel-space diversity misses this: a generator drawing 86% shirts still
  has a diversity ratio of 0.8.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch

from ..core.record import MetricRecord
from ..core.runtime import atomic_write_json
from ..data.dataset import check_images


@dataclass(frozen=True)
class ConvergenceChecks:
    max_critic_gap: float = 50.0   # absolute bound on the recent mean critic gap
    max_growth: float = 10.0       # bound on the recent gap relative to the run's median gap
    min_diversity: float = 0.25    # bound on (sample pairwise distance) / (real pairwise distance)
    window: float = 0.2            # last fraction of the logged steps used for the recent gap
    max_nn_ratio: float = 1.6      # bound on (sample -> nearest real) / (real -> nearest other real) distance
    min_class_fraction: float = 0.01  # a class under this fraction of its fair share 1/K counts as dropped


def mean_pairwise_distance(images: torch.Tensor) -> float:
    """Mean L2 distance over all pairs of distinct images (N, C, H, W) in [0, 1]."""
    x = check_images(images).flatten(1).double()  # (N, D)
    if len(x) < 2:
        raise ValueError("need at least two images for pairwise distances")
    d = torch.cdist(x, x)  # (N, N)
    return float(d.sum() / (len(x) * (len(x) - 1)))


def diversity_ratio(samples: torch.Tensor, real: torch.Tensor) -> float:
    """Mean pairwise distance of samples over that of real images: about 1 for a healthy generator, 0 when collapsed."""
    return mean_pairwise_distance(samples) / mean_pairwise_distance(real)


def nearest_real_ratio(samples: torch.Tensor, real: torch.Tensor) -> float:
    """Mean L2 distance from a sample to its nearest image of the first half of `real`, over that from the
    second half of `real` to the first half: about 1 for samples like the real data, large for noise."""
    ref, held = real[: len(real) // 2].flatten(1), real[len(real) // 2:].flatten(1)  # (M/2, D) each
    if len(ref) == 0 or len(held) == 0:
        raise ValueError("need at least two real images")
    nn_real = torch.cdist(held.double(), ref.double()).min(1).values.mean()
    nn_fake = torch.cdist(check_images(samples).flatten(1).double(), ref.double()).min(1).values.mean()
    return float(nn_fake / nn_real)


def critic_gaps(steps: pd.DataFrame, window: float = 0.2) -> tuple[float, float]:
    """(recent, median) absolute critic gap from a step log with a `critic_gap` column."""
    if steps is None or len(steps) == 0 or "critic_gap" not in steps:
        return float("nan"), float("nan")
    gap = steps["critic_gap"].abs().to_numpy(dtype=float)
    recent = gap[-max(1, int(round(len(gap) * window))):]
    return float(np.mean(recent)), float(np.median(gap))


def verdict(steps: pd.DataFrame | None, samples: torch.Tensor | None, real: torch.Tensor, *,
            error: str | None = None, class_shares: np.ndarray | None = None,
            checks: ConvergenceChecks = ConvergenceChecks()) -> dict:
    """The convergence record of one run.

    Args:
        steps: the fit loop's step log (`FitResult.steps`, with `critic_gap`); None when training failed.
        samples: generated images (N, C, H, W) in [0, 1]; None when training failed.
        real: real images (M, C, H, W) in [0, 1], the diversity reference.
        error: the divergence message of a run stopped by a NaN/inf loss.
        class_shares: (K,) shares of the samples per class (`class_histogram`); None skips the class check.
    Returns a dict: diverged (0/1), converged (0/1), reason ("" or the failed checks joined by "; "),
    nan, exploding_critic, collapsed and no_structure (0/1 each), dropped_classes (a count),
    critic_gap_recent, critic_gap_median, diversity_ratio, nn_ratio.
    """
    nan = int(error is not None)
    recent, median = critic_gaps(steps, checks.window)
    exploding = int(np.isfinite(recent) and (recent > checks.max_critic_gap
                                             or (recent > 1.0 and recent > checks.max_growth * median)))
    div = nn_ratio = float("nan")
    if samples is not None and torch.isfinite(samples).all():
        div = diversity_ratio(samples, real)
        nn_ratio = nearest_real_ratio(samples, real)
    collapsed = int(np.isfinite(div) and div < checks.min_diversity)
    no_structure = int(np.isfinite(nn_ratio) and nn_ratio > checks.max_nn_ratio)
    reasons = []
    if nan:
        reasons.append(f"nan: {error.split(';')[0]}")
    if exploding:
        reasons.append(f"exploding critic: recent gap {recent:.3g} (median {median:.3g})")
    if collapsed:
        reasons.append(f"collapsed samples: diversity ratio {div:.3g} < {checks.min_diversity}")
    diverged = int(bool(reasons))
    if no_structure:
        reasons.append(f"no structure: nearest-real distance ratio {nn_ratio:.3g} > {checks.max_nn_ratio}")
    dropped = 0
    if class_shares is not None:
        shares = np.asarray(class_shares, dtype=float)  # (K,)
        dropped = int((shares < checks.min_class_fraction / len(shares)).sum())
        if dropped:
            reasons.append(f"dropped classes: {dropped} of {len(shares)} under "
                           f"{checks.min_class_fraction / len(shares):.2%} of the samples")
    converged = int(not diverged and not no_structure and not dropped)
    return {"diverged": diverged, "converged": converged, "reason": "; ".join(reasons),
            "nan": nan, "exploding_critic": exploding, "collapsed": collapsed, "no_structure": no_structure,
            "dropped_classes": dropped,
            "critic_gap_recent": recent, "critic_gap_median": median, "diversity_ratio": div, "nn_ratio": nn_ratio,
            "checks": asdict(checks)}


def summarise_verdicts(results: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The JSON-safe part of `labkit.train.gan.assess` results that the table shows, per variant."""
    keep = ("diverged", "converged", "reason", "min_class_share", "gan_test", "diversity_ratio", "nn_ratio", "wall_s")
    out = {}
    for variant, a in results.items():
        row = {k: a.get(k) for k in keep}
        out[variant] = {k: v if v is None or isinstance(v, str) else int(v) if k in ("diverged", "converged")
                        else float(v) for k, v in row.items()}
    return out


def save_verdicts(results: Mapping[str, Mapping[str, Any]], path: str | Path) -> Path:
    """Write `summarise_verdicts(results)` to a JSON file atomically (notebook 03's `convergence` artefact)."""
    return atomic_write_json(summarise_verdicts(results), path)


def load_verdicts(paths: str | Path | Mapping[str, str | Path] | None) -> dict[str, dict[str, Any]]:
    """Verdicts written by `save_verdicts`: one file, or several (e.g. {variant: file}, one per training run)
    merged; an empty dict for none."""
    if not paths:
        return {}
    files = paths.values() if isinstance(paths, Mapping) else [paths]
    return {variant: v for f in files for variant, v in json.loads(Path(f).read_text()).items()}


VERDICT_RECORDS = ("diverged", "converged", "nan", "exploding_critic", "collapsed", "no_structure", "dropped_classes",
                   "critic_gap_recent", "diversity_ratio", "nn_ratio", "wall_s", "gan_test", "min_class_share",
                   "class_histogram")


def verdict_records(results: Mapping[str, Mapping[str, Any]], steps: Mapping[str, int] | None = None,
                    **protocol: Any) -> list[MetricRecord]:
    """Every number of `assess` results as records, per variant: `variant`, its `steps` and `n_samples` in the
    protocol beside the shared `protocol` fields; `diverged` carries the reason."""
    out = []
    for variant, a in results.items():
        fields = {**protocol, "variant": variant, "steps": (steps or {}).get(variant), "n_samples": a.get("n_samples")}
        for m in VERDICT_RECORDS:
            if m in a:
                out.append(MetricRecord(m, a[m], protocol={**fields, **({"reason": a["reason"]} if m == "diverged"
                                                                         else {})}))
    return out
