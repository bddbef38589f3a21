"""Equal FID, different failures (the PRD paper's MNIST example): a precise but narrow set and a broad but poor
one, built from real images so that their FID is about equal, told apart by PRD and per-class histograms.

- *precise, narrow*: clean real images of the first `narrow_classes` classes only;
- *broad, poor*: real images of every class, a share of them degraded beyond recognition (strong Gaussian noise
  by default), the share where their FID against the reference equals the narrow set's (found by bisection:
  FID grows with the share). A share rather than a uniform level: noise or blur on every image moves the whole
  set off the real one in C1's space, losing recall as well as precision, whereas the paper's broad model still
  covers every class and puts part of its mass where no real image is (PRD's precision α < 1, recall β ≈ 1).

Both sets, the reference and every metric live in the evaluation classifier's feature space (C1); the paper's
pair are two trained models on MNIST at FID 49 in Inception space, so only the shape compares.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn

from ..core.record import MetricRecord, tagged
from ..data.dataset import ImageDataset
from ..data.degrade import degrade
from ..features import ClassifierFeatures, extract
from ..metrics.fid import frechet_distance
from ..metrics.knn import prdc
from ..metrics.prd import PRDCurve, prd
from .validation import take_classes

# Level of the degraded images per kind: the class is hard to see (C1 labels most of them Shirt or Bag).
STRONG_LEVEL = {"gaussian_noise": 0.5, "salt_pepper": 0.3, "blur": 3.0}
NARROW, BROAD = "precise, narrow", "broad, poor"


@dataclass(frozen=True)
class EqualFID:
    """The pair's records (fields `model`, `experiment="equal_fid"`), PRD curves, and C1's probabilities."""

    records: list[MetricRecord]
    curves: dict[str, PRDCurve]           # set name -> PRD curve against the reference
    probs: dict[str, np.ndarray]          # set name -> (n, K) C1 probabilities of its images
    reference_labels: np.ndarray          # (n,) labels of the reference images
    share: float                          # share of the broad set's images degraded
    kind: str
    level: float                          # their degradation level


def broad_set(broad: ImageDataset, kind: str, level: float, share: float, seed: int = 0) -> torch.Tensor:
    """Float images of `broad` with a seeded `share` of them (rounded to whole images) degraded at `level`."""
    degraded = degrade(broad, kind, level, seed).float()
    hit = np.random.default_rng(seed).permutation(len(broad))[:round(share * len(broad))]
    hit = torch.as_tensor(np.sort(hit), dtype=torch.long)
    images = broad.float().clone()
    images[hit] = degraded[hit]
    return images


def matching_share(target: float, broad: ImageDataset, feat, ref: np.ndarray, *, kind: str, level: float,
                   seed: int = 0, steps: int = 12, device: str | torch.device = "auto") -> float:
    """The share of degraded images in `broad` whose FID against `ref` is closest to `target` (bisection).

    Raises ValueError when even a fully degraded set stays below the target.
    """
    def fid(share: float) -> float:
        return frechet_distance(ref, extract(feat, broad_set(broad, kind, level, share, seed), device=device))

    if fid(1.0) < target:
        raise ValueError(f"every image degraded ({kind} at {level}) still gives an FID below {target:.3g}; use "
                         "fewer narrow classes (a larger target) or a stronger level")
    lo, hi = 0.0, 1.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fid(mid) < target else (lo, mid)
    return (lo + hi) / 2


def equal_fid_pair(reference: ImageDataset, source: ImageDataset, classifier: nn.Module, *, n: int = 2000,
                   narrow_classes: int = 3, kind: str = "gaussian_noise", level: float | None = None, num_clusters: int = 20, prd_runs: int = 10,
                   k: int = 5, seed: int = 0, device: str | torch.device = "auto") -> EqualFID:
    """Build the pair and measure both against `reference`: FID, PRD F8 / F1/8, k-NN precision / recall /
    density / coverage, the number of classes C1 finds in each (≥ half their real share) and C1's mean confidence.

    Args:
        reference: real images of every class (e.g. the test split), `n` drawn class-balanced.
        source: where both sets are drawn from (e.g. the training split: no image shared with the reference).
        classifier: the evaluation classifier C1 (features, and the predictions of the histograms).
        n: images in the reference and in each set.
        narrow_classes: classes of the narrow set (the first ones).
        kind, level: degradation of the broad set's degraded share (`labkit.data.degrade`); level None:
            `STRONG_LEVEL[kind]`.
    """
    if not 1 <= narrow_classes < source.num_classes:
        raise ValueError(f"narrow_classes must be in [1, {source.num_classes - 1}]; got {narrow_classes}")
    feat = ClassifierFeatures(model=classifier)
    ref_ds = take_classes(reference, range(reference.num_classes), n, seed)
    ref = extract(feat, ref_ds.float(), device=device)  # (n, D)
    narrow = take_classes(source, range(narrow_classes), n, seed + 1)
    broad = take_classes(source, range(source.num_classes), n, seed + 2)
    target = frechet_distance(ref, extract(feat, narrow.float(), device=device))
    if level is None and kind not in STRONG_LEVEL:
        raise ValueError(f"give the level of {kind!r}: STRONG_LEVEL knows only {sorted(STRONG_LEVEL)}")
    level = STRONG_LEVEL[kind] if level is None else level
    share = matching_share(target, broad, feat, ref, kind=kind, level=level, seed=seed, device=device)
    sets = {NARROW: narrow.float(), BROAD: broad_set(broad, kind, level, share, seed)}
    records, curves, probs = [], {}, {}
    for name, images in sets.items():
        q = extract(feat, images, device=device)  # (n, D)
        probs[name] = extract(feat, images, what="probs", device=device)  # (n, K)
        curves[name] = curve = prd(ref, q, num_clusters=num_clusters, num_runs=prd_runs, seed=seed)
        shares = np.bincount(probs[name].argmax(1), minlength=source.num_classes) / len(q)
        values = {"fid": frechet_distance(ref, q), "prd_f8": curve.f_beta, "prd_f1_8": curve.f_beta_inv,
                  **prdc(ref, q, k=k), "classes_found": float((shares >= 0.5 / source.num_classes).sum()),
                  "mean_confidence": float(probs[name].max(1).mean())}
        protocol = {"model": name, "extractor": "classifier", "n": n, "narrow_classes": narrow_classes,
                    "degradation": f"{share:.0%} of images {kind} {level:g}" if name == BROAD else "none"}
        records += [MetricRecord(m, float(v), protocol=protocol) for m, v in values.items()]
    return EqualFID(tagged(records, "equal_fid"), curves, probs, ref_ds.labels.numpy(), share, kind, level)


def plot_prd_pair(pair: EqualFID):
    """The two PRD curves, each labelled with its FID, F8 and F1/8."""
    fid = {r.protocol["model"]: r.value for r in pair.records if r.metric == "fid"}
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    for name, c in pair.curves.items():
        ax.plot(c.recall, c.precision, label=f"{name}: FID {fid[name]:.3g}, F8 {c.f_beta:.2f}, F1/8 {c.f_beta_inv:.2f}")
    ax.set_xlabel("recall β")
    ax.set_ylabel("precision α")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("equal FID (C1), different PRD curves")
    fig.tight_layout()
    return fig
