"""The numbers behind a diagnosis, for one set of images against the real sets, in one feature space.

Two steps: `facts` runs the networks once per image (features, class probabilities, sharpness, nearest
training image and its cell); `summarise` turns a set's facts into its numbers. Real sets of the calibration
are index subsets of the held-out half's facts, computed once in `Space.build`, so a resplit costs no network
pass. The same two functions measure the models and the calibration sets, so a verdict compares like with like.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import binom
import torch.nn.functional as F
from torch import nn

from ..data.dataset import ImageDataset
from ..features import ClassifierFeatures, extract
from ..features.cache import cached_features
from ..metrics.copying import CopyingBaseline
from ..metrics.fid import GaussianStats, feature_statistics, frechet_distance_from_stats
from ..metrics.inception_score import inception_score
from ..metrics.knn import prdc_per_sample
from ..metrics.sharpness import laplacian_variance
from ..models.classifier import predict
from .reference import RealSets

K = 5  # neighbours of the k-NN metrics (Naeem et al.)


@dataclass(frozen=True)
class Facts:
    """Per-image facts of a set (rows in the set's order)."""

    features: np.ndarray     # (N, D) in the evaluation's feature space
    probs: np.ndarray        # (N, K) the domain classifier's class probabilities
    lap: np.ndarray          # (N,) sharpness (variance of the Laplacian)
    nn_distance: np.ndarray  # (N,) to the nearest training image
    nn_index: np.ndarray     # (N,) which training image that is
    cell: np.ndarray         # (N,) the copying test's cell

    def take(self, idx) -> Facts:
        return Facts(*(a[idx] for a in (self.features, self.probs, self.lap, self.nn_distance, self.nn_index,
                                         self.cell)))

    @staticmethod
    def concat(parts: list[Facts]) -> Facts:
        return Facts(*(np.concatenate(a) for a in zip(*((p.features, p.probs, p.lap, p.nn_distance, p.nn_index,
                                                          p.cell) for p in parts))))

    def __len__(self) -> int:
        return len(self.lap)


@dataclass
class Space:
    """What a diagnosis computes once: features and statistics of the real sets.

    Args:
        real: the real sets. classifier: the domain classifier (labels, confidence, class shares).
        extractor: the feature space of the k-NN metrics, FD and the copying test.
        compare / train: their features (N, D); compare_stats: the compare half's mean and covariance (FD).
        held_out: the held-out half's facts (the calibration's real sets are subsets of it).
        class_lap: (K,) mean sharpness of the held-out images of each class (by the classifier's label): sharpness
            depends on the class (a sandal has more edges than a coat), so a set is compared with real images of
            its own class mix.
        reference_shares: class shares of the held-out half by the classifier's labels.
        copying: the training set's cells and the held-out distances of the copying test.
    """

    real: RealSets
    classifier: nn.Module
    extractor: nn.Module
    compare: np.ndarray
    compare_stats: GaussianStats
    train: np.ndarray
    held_out: Facts
    class_lap: np.ndarray
    reference_shares: np.ndarray
    copying: CopyingBaseline
    device: str | torch.device = "cpu"

    @classmethod
    def build(cls, real: RealSets, classifier: nn.Module, extractor: nn.Module, *, device="cpu",
              progress: bool | None = None, seed: int = 0, cache_dir=None, cells: int = 20) -> Space:
        ex = dict(device=device, progress=progress, cache_dir=cache_dir)
        feats = {k: cached_features(getattr(real, k), extractor, **ex) for k in ("compare", "held_out", "train")}
        copying = CopyingBaseline.fit(feats["train"], feats["held_out"], cells=cells, seed=seed)
        space = cls(real, classifier, extractor, feats["compare"], feature_statistics(feats["compare"]),
                    feats["train"], None, None, None, copying, device)
        space.held_out = facts(real.held_out, space, features=feats["held_out"])
        # the classifier's view of real images, so samples and reals are labelled by the same hand: a class the
        # classifier rarely predicts even for real images is not counted missing in a model
        labels, lap, k = space.held_out.probs.argmax(1), space.held_out.lap, real.held_out.num_classes
        space.reference_shares = class_shares(labels, k)
        space.class_lap = np.array([lap[labels == c].mean() if (labels == c).any() else lap.mean() for c in range(k)])
        return space

    def probs(self, x: torch.Tensor, features: np.ndarray) -> np.ndarray:
        """Class probabilities; from the features when they are this classifier's own (one network pass)."""
        if isinstance(self.extractor, ClassifierFeatures) and self.extractor.model is self.classifier:
            with torch.no_grad():
                return F.softmax(self.classifier.head(torch.from_numpy(features).to(self.device)), 1).cpu().numpy()
        return predict(self.classifier, x, what="probs").numpy()


def facts(images: ImageDataset, space: Space, *, features: np.ndarray | None = None) -> Facts:
    """Per-image facts of a set (uint8 dataset of the reference's geometry)."""
    x = images.float()  # (N, C, H, W)
    feats = extract(space.extractor, x, device=space.device) if features is None else features  # (N, D)
    d, nearest, cells = space.copying.place(feats)
    return Facts(feats, space.probs(x, feats), laplacian_variance(x), d, nearest, cells)


@dataclass
class Measured:
    """A set's numbers (`values`) and the per-sample facts behind them (for bootstrap intervals and figures)."""

    values: dict[str, float]
    facts: Facts
    in_real_balls: np.ndarray  # (N,) real k-NN balls containing each image (canonical order)
    recalled: np.ndarray       # (N_compare,) reals inside some sample's ball
    covered: np.ndarray        # (N_compare,) reals whose ball holds a sample
    predicted: np.ndarray      # (N,) the classifier's label per image
    shares: np.ndarray         # (K,) class shares by the classifier
    labels: np.ndarray | None = None  # (N,) the source's own labels (GAN-test), if it had them

    @property
    def features(self) -> np.ndarray:
        return self.facts.features


def class_shares(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.bincount(labels, minlength=num_classes)[:num_classes] / max(len(labels), 1)


def missing_classes(predicted: np.ndarray, expected: np.ndarray, alpha: float = 1e-3) -> int:
    """Classes (almost) never drawn: under a tenth of their reference share, and so few that a set of this size
    drawn from the reference would hold that few with probability below `alpha` (binomial tail): at 100
    samples a class of 2% drawn 0 times is chance (13%), one of 10% is not (0.003%)."""
    n = len(predicted)
    counts = np.bincount(predicted, minlength=len(expected))[:len(expected)]
    rare = (counts < 0.1 * expected * n) & (binom.cdf(counts, n, expected) < alpha)
    return int(rare.sum())


def expected_lap(shares: np.ndarray, space: Space) -> float:
    """Mean sharpness of real held-out images in the given class mix (the classifier's view of the set)."""
    return max(float(shares @ space.class_lap), 1e-12)


def summarise(f: Facts, space: Space, *, seed: int = 0, labels: np.ndarray | None = None) -> Measured:
    """Every number of the diagnosis from a set's facts; `labels`: the source's own (GAN-test)."""
    knn = prdc_per_sample(space.compare, f.features, k=K)
    copy = space.copying.score(f.nn_distance, f.cell)
    held = np.percentile(copy.held_out_distances, 1)
    predicted = f.probs.argmax(1)
    shares = class_shares(predicted, f.probs.shape[1])
    expected = space.reference_shares
    real_lap = expected_lap(shares, space)
    values = {
        "n": len(f),
        "lap": float(f.lap.mean()), "lap_real": real_lap, "lap_ratio": float(f.lap.mean() / real_lap),
        **knn.summary(),
        "fd": frechet_distance_from_stats(space.compare_stats, feature_statistics(f.features)),
        "is_classifier": inception_score(f.probs, splits=min(10, len(f)), seed=seed)[0],
        "confidence": float(f.probs.max(1).mean()),
        "ct": copy.ct,
        "nn_share_close": float((f.nn_distance < held).mean()),
        "nn_median_ratio": float(np.median(f.nn_distance) / max(np.median(copy.held_out_distances), 1e-12)),
        "classes_missing": missing_classes(predicted, expected),
        "class_share_min_ratio": float((shares / np.maximum(expected, 1e-12)).min()),
    }
    if labels is not None:
        values["gan_test"] = float((predicted == labels).mean())
    return Measured(values, f, knn.in_real_balls, knn.recalled, knn.covered, predicted, shares, labels)


def measure(images: ImageDataset, space: Space, *, seed: int = 0, labelled: bool = False) -> Measured:
    """Every number of the diagnosis for one set of images (uint8 dataset of the reference's geometry)."""
    f = facts(images, space)
    with warnings.catch_warnings():
        if len(f) < f.features.shape[1]:  # said once here, not again for every bootstrap round
            warnings.warn(f"only {len(f)} samples for {f.features.shape[1]}-dimensional features: the Fréchet "
                          "distance (fd) is biased upwards; judge more samples", stacklevel=2)
            warnings.simplefilter("ignore", UserWarning)
        return summarise(f, space, seed=seed, labels=images.labels.numpy() if labelled else None)


def per_class(m: Measured, space: Space) -> list[dict]:
    """Per class (the classifier's label for samples, the true label for the compare half's reals): the sample
    share beside the reference's (both by the classifier's labels), and k-NN precision / recall of the class's samples against the class's reals (NaN below k+1)."""
    real_labels = space.real.compare.labels.numpy()
    rows = []
    for k, name in enumerate(space.real.compare.class_names):
        fake, real = m.features[m.predicted == k], space.compare[real_labels == k]
        row = {"class": name, "n": int(len(fake)), "share": float(m.shares[k]),
               "reference_share": float(space.reference_shares[k]), "precision": float("nan"), "recall": float("nan")}
        if len(fake) > K and len(real) > K:
            row.update({m_: v for m_, v in prdc_per_sample(real, fake, k=K).summary().items()
                        if m_ in ("precision", "recall")})
        rows.append(row)
    return rows


def bootstrap_intervals(m: Measured, space: Space, *, rounds: int = 200, level: float = 0.95, seed: int = 0
                        ) -> dict[str, list[float]]:
    """Percentile intervals of the headline numbers by resampling what they average: the images for sharpness,
    confidence, precision, density, the copying shares and GAN-test; the compare half's reals for recall and
    coverage; the images again for C_T and IS (a fifth of the rounds) and FD (a twentieth: each needs matrix
    square roots)."""
    rng = np.random.default_rng(seed)
    f = m.facts
    n, n_real = len(f), len(m.recalled)
    confidence = f.probs.max(1)
    close = f.nn_distance < np.percentile(space.copying.held_out_distances, 1)
    hits = (m.predicted == m.labels) if m.labels is not None else None
    draws = {name: [] for name in ("lap_ratio", "confidence", "precision", "density", "recall", "coverage", "fd",
                                   "ct", "is_classifier", "nn_share_close", "gan_test")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # too few samples for FD: `measure` said so once
        for r in range(rounds):
            i, j = rng.integers(0, n, n), rng.integers(0, n_real, n_real)
            draws["lap_ratio"].append(f.lap[i].mean() / m.values["lap_real"])
            draws["confidence"].append(confidence[i].mean())
            draws["precision"].append((m.in_real_balls[i] > 0).mean())
            draws["density"].append(m.in_real_balls[i].mean() / K)
            draws["recall"].append(m.recalled[j].mean())
            draws["coverage"].append(m.covered[j].mean())
            draws["nn_share_close"].append(close[i].mean())
            if hits is not None:
                draws["gan_test"].append(hits[i].mean())
            if r % 5 == 0:
                draws["ct"].append(space.copying.score(f.nn_distance[i], f.cell[i]).ct)
                draws["is_classifier"].append(inception_score(f.probs[i], splits=min(10, n), seed=seed)[0])
            if r % 20 == 0:
                draws["fd"].append(frechet_distance_from_stats(space.compare_stats, feature_statistics(f.features[i])))
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    return {k: [float(np.nanpercentile(v, lo)), float(np.nanpercentile(v, hi))] for k, v in draws.items()
            if v and not np.isnan(v).all()}
