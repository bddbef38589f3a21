"""Where each verdict's line is drawn: measured, not guessed, on real images and degraded copies of them.

For every verdict, one statistic decides (sharpness ratio, density, coverage, the C_T copying score;
low is bad for all four). Its **real band** is the range real images reach: mean ± 3 standard deviations over
`resplits` random sets of held-out real images, each the size of the judged sets (subsets of the held-out
half's facts, so a resplit runs no network). The sets are drawn from one
pool without replacement, which shrinks their spread by the finite-population factor sqrt(1 − n/N); the
standard deviation is divided by it, so the band is that of independent sets (what a model's samples are). Its **anchor** is the value
of the same statistic on held-out real images damaged in the way the verdict names, at a level that plainly
counts as that failure (`ANCHORS`). A judged set inside the real band is `no`; at or beyond the anchor `yes`;
in between `unclear`. Both are measured with `measures.summarise`, at the judged sets' size, in the same space,
and cached by a hash of everything that determines them.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..core import paths
from ..core.runtime import atomic_write_json
from ..data.degrade import degrade
from ..features.cache import cache_key
from .measures import Facts, Space, facts, summarise

CALIBRATION_VERSION = 7


@dataclass(frozen=True)
class Anchor:
    """The damage that plainly counts as a verdict's failure, and the statistic that decides it."""

    verdict: str     # blurry, unrealistic, low_diversity, copying
    statistic: str   # the deciding number (low is bad)
    damage: str      # what is done to held-out real images
    why: str         # why that level plainly counts


ANCHORS = (
    Anchor("blurry", "lap_ratio", "blur σ=0.5 px (per 28 px of image side)",
           "sharpness falls to about a third of the real images', the range the VAE paper reports for the VAEs it "
           "calls blurry (LAP 0.04-0.08 against the real 0.184)"),
    Anchor("unrealistic", "density", "Gaussian noise σ=0.25",
           "grain over a quarter of the pixel range hides the object's texture: no real image looks like it. "
           "Density, not precision: precision counts a sample inside any real neighbourhood, however large an "
           "outlier's, so collapsed or off-manifold samples can score 1 (Naeem et al. 2020)"),
    Anchor("low_diversity", "coverage", "half of the classes only",
           "a model that draws half of the classes covers at most about half of the real neighbourhoods. Coverage, "
           "not recall: recall counts reals inside a sample's neighbourhood, which one outlying sample inflates "
           "(Naeem et al. 2020)"),
    Anchor("copying", "ct", "10% of the images replaced by training images (at least 50, at most half)",
           "one sample in ten a verbatim copy of a training image is memorisation by any reading; below 500 "
           "samples, 50 copies, since fewer move no cell's rank test beyond the spread of real sets"),
)


@dataclass(frozen=True)
class Band:
    """A verdict's calibration: the real band of its statistic and the value at its anchor."""

    verdict: str
    statistic: str
    real_mean: float
    real_std: float
    real_low: float
    anchor: float
    damage: str
    why: str
    anchor_effects: dict = field(default_factory=dict)  # the damaged set's value of every deciding statistic

    @property
    def separates(self) -> bool:
        """Whether the anchor lies below the real band (else the statistic cannot tell the failure apart)."""
        return self.anchor < self.real_low


def _pick(n_all: int, n: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n_all, min(n, n_all), replace=False))


def copy_count(n: int) -> int:
    """Training images in the copying anchor's set of `n`: a tenth, at least 50, at most half."""
    return int(min(max(n // 10, 50), n // 2))


def _damaged(anchor: Anchor, space: Space, n: int, seed: int) -> Facts:
    """Facts of `n` held-out real images damaged the way `anchor` says."""
    held = space.real.held_out
    idx = _pick(len(held), n, seed)
    if anchor.verdict == "blurry":
        return facts(degrade(held.subset(idx), "blur", 0.5 * held.shape[1] / 28, seed), space)
    if anchor.verdict == "unrealistic":
        return facts(degrade(held.subset(idx), "gaussian_noise", 0.25, seed), space)
    if anchor.verdict == "low_diversity":
        keep = np.random.default_rng(seed).choice(held.num_classes, held.num_classes // 2, replace=False)
        members = np.flatnonzero(np.isin(held.labels.numpy(), keep))
        return space.held_out.take(members[_pick(len(members), n, seed)])
    if anchor.verdict == "copying":
        copies = copy_count(n)
        t = _pick(len(space.real.train), copies, seed)
        train = facts(space.real.train.subset(t), space, features=space.train[t])
        return Facts.concat([train, space.held_out.take(_pick(len(held), n - copies, seed + 1))])
    raise ValueError(f"no damage defined for verdict {anchor.verdict!r}")


def calibrate(space: Space, n: int, *, resplits: int = 8, seed: int = 0, cache_dir: str | Path | None = None,
              identity: dict | None = None) -> dict[str, Band]:
    """Every verdict's band for judged sets of `n` images, read from the cache when it has them.

    Args:
        space: the diagnosis's real sets and networks. n: the size of the judged sets (at most the held-out half).
        resplits: random held-out sets behind the real band. identity: what identifies the space (the caller's
            content hashes of data, classifier and extractor); without it nothing is cached.
    """
    pool = len(space.real.held_out)
    if 2 * n > pool:
        raise ValueError(f"calibration draws sets of {n} from {pool} held-out real images and needs at least twice "
                         f"as many: judge at most {pool // 2} samples per model")
    path = None
    if identity is not None:
        key = cache_key({"version": CALIBRATION_VERSION, "n": n, "resplits": resplits, "seed": seed,
                         "anchors": [asdict(a) for a in ANCHORS], **identity})
        path = Path(cache_dir or paths.cache_dir()) / "diagnosis" / f"calibration-{key[:32]}.json"
        if path.is_file():
            try:
                return {v: Band(**b) for v, b in json.loads(path.read_text()).items()}
            except (ValueError, TypeError):
                path.unlink(missing_ok=True)  # a damaged entry is measured again
    real = [summarise(space.held_out.take(_pick(pool, n, seed + 100 + r)), space, seed=seed).values
            for r in range(resplits)]
    fpc = np.sqrt(1 - n / pool)
    bands = {}
    statistics = [a.statistic for a in ANCHORS] + ["precision", "recall"]
    for a in ANCHORS:
        values = np.array([v[a.statistic] for v in real])
        mean, std = float(values.mean()), float(values.std(ddof=1)) / fpc if len(values) > 1 else 0.0
        damaged = summarise(_damaged(a, space, n, seed + 200), space, seed=seed).values
        bands[a.verdict] = Band(a.verdict, a.statistic, mean, std, mean - 3 * std, float(damaged[a.statistic]),
                                a.damage, a.why, {k: float(damaged[k]) for k in statistics})
    if path is not None:
        atomic_write_json({v: asdict(b) for v, b in bands.items()}, path)
    return bands
