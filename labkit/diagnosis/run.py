"""`evaluate_models`: any models or sample sets judged against a real set, the one function behind
`labkit evaluate`, notebook 09 and the study's diagnosis of the models it trained.

Steps: read the real sets (reference halves and training set) -> the domain classifier (trained once, cached)
-> the feature space and the copying baseline (features cached) -> the calibration bands at the judged size
(cached) -> per model: samples, numbers, bootstrap intervals, per-class breakdown and the four verdicts.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.runs import versions
from ..core.runtime import pick_device
from ..features import get_extractor, state_dict_sha256
from ..features.cache import images_sha256
from ..generate import SamplingError
from .calibration import ANCHORS, Band, calibrate
from .inputs import Samples, default_name, describe, read_samples, split_name, subsample
from .measures import K, Measured, Space, bootstrap_intervals, measure, per_class
from .reference import domain_classifier, given_classifier, load_real, train_subset
from .verdicts import VERDICTS, Verdict, diagnose

EXTRACTORS = ("classifier", "inception", "clip", "pixels")


@dataclass(frozen=True)
class EvaluateSettings:
    """How `evaluate_models` judges; the command line's options.

    Args:
        reference: the real set, `NAME[:SPLIT]` (`fashion-mnist:test`, `folder:PATH:test`).
        train: what samples must not copy and the domain classifier learns (default: the reference's `train`).
        extractor: feature space of the k-NN metrics, FID and the copying test: `classifier` (the domain
            classifier's penultimate layer), `inception` or `clip` (local weights, `extractor_weights`), `pixels`.
        classifier: a classifier checkpoint to use instead of training the domain classifier.
        n: samples judged per model (generators draw this many; larger sets are subsampled; the judged size is
            the smallest set's, at most half the reference).
        seed: latents, subsampling, halves, k-means and bootstrap.
        bootstrap: resampling rounds of the confidence intervals (0: none).
        n_train: training images used (a class-balanced seeded subset; None: all).
    """

    reference: str = "fashion-mnist:test"
    train: str | None = None
    extractor: str = "classifier"
    extractor_weights: str | None = None
    classifier: str | None = None
    n: int = 2000
    seed: int = 0
    bootstrap: int = 200
    n_train: int | None = None
    device: str = "auto"
    cache_dir: str | None = None
    progress: bool | None = None

    @classmethod
    def from_params(cls, p) -> EvaluateSettings:
        """From notebook 09's parameters (the CLI's options; empty strings and 0 mean "not given")."""
        return cls(reference=p.reference, train=p.train or None, extractor=p.extractor,
                   extractor_weights=p.extractor_weights or None, classifier=p.classifier_path or None, n=p.n,
                   n_train=p.n_train or None, bootstrap=p.bootstrap, seed=p.seed, device=p.device)

    def __post_init__(self):
        if self.extractor not in EXTRACTORS:
            raise ValueError(f"unknown extractor {self.extractor!r}; choose one of {EXTRACTORS}")
        for name in ("n", "bootstrap", "seed"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < (1 if name == "n" else 0):
                raise ValueError(f"{name} must be a {'positive' if name == 'n' else 'non-negative'} integer; got {v!r}")
        if self.n_train is not None and (not isinstance(self.n_train, (int, np.integer)) or self.n_train < 2):
            raise ValueError(f"n_train must be an integer >= 2 or None (all); got {self.n_train!r}")


@dataclass
class ModelResult:
    """One model's evaluation: its samples, numbers, intervals, per-class breakdown and verdicts."""

    samples: Samples
    measured: Measured
    intervals: dict[str, list[float]]
    classes: list[dict]
    diagnosis: dict[str, Verdict]

    def as_dict(self) -> dict[str, Any]:
        return {"n": len(self.samples.images), "samples": describe(self.samples), "metrics": self.measured.values,
                "intervals": self.intervals, "per_class": self.classes,
                "diagnosis": {k: v.as_dict() for k, v in self.diagnosis.items()}}


@dataclass
class Evaluation:
    """Every model's result, the calibration and the protocol: what `report.write_report` shows."""

    models: dict[str, ModelResult]
    bands: dict[str, Band]
    protocol: dict[str, Any]
    space: Space = field(repr=False)
    failed: dict[str, str] = field(default_factory=dict)  # model -> why it drew no usable images

    def as_dict(self) -> dict[str, Any]:
        return {"models": {name: r.as_dict() for name, r in self.models.items()}, "failed": self.failed,
                "calibration": {k: asdict(b) for k, b in self.bands.items()}, "protocol": self.protocol}

    def verdicts(self) -> dict[str, dict[str, str]]:
        """Model -> verdict kind -> yes / no / unclear."""
        return {name: {k: v.verdict for k, v in r.diagnosis.items()} for name, r in self.models.items()}

    def ranking(self) -> dict[str, list[str]]:
        """Per verdict, the models from best to worst by its deciding statistic (higher is better for all four;
        sharpness above the real images' is not better than theirs, so it ranks by closeness to 1 there)."""
        out = {}
        for kind in VERDICTS:
            stat = self.bands[kind].statistic
            score = {name: r.measured.values[stat] for name, r in self.models.items()}

            def key(m, stat=stat, score=score):
                v = score[m]
                if np.isnan(v):
                    return (np.inf, 0.0)
                if stat == "lap_ratio":
                    return (-min(v, 1.0), abs(np.log(max(v, 1e-12))))
                return (-v, 0.0)
            out[kind] = sorted(score, key=key)
        return out


def copying_cells(n: int) -> int:
    """Cells of the copying test for judged sets of `n`: about 50 samples per cell, 2 to 20 cells (Meehan et al.
    use 20 at their sizes; with fewer samples per cell each cell's test has no power)."""
    return int(np.clip(n // 50, 2, 20))


def _as_specs(samples: Sequence[str | Samples] | Mapping[str, str] | str) -> list[str | Samples]:
    if isinstance(samples, (str, Path)):
        return [str(samples)]
    if isinstance(samples, Mapping):
        return [f"{name}={path}" for name, path in samples.items()]
    return list(samples)


def evaluate_models(samples: Sequence[str | Samples] | Mapping[str, str] | str,
                    settings: EvaluateSettings = EvaluateSettings()) -> Evaluation:
    """Judge every model or sample set against the reference: numbers, intervals, per-class breakdown, and
    the four verdicts (blurry, unrealistic, short of diversity, copying its training set).

    Args:
        samples: specs (`[name=]folder | file.npy | file.npz | checkpoint.pt | package.module:factory`, see
            `inputs`), a mapping name -> path, or `Samples` already read.
        settings: see `EvaluateSettings`.
    """
    s = settings
    specs = _as_specs(samples)
    if not specs:
        raise ValueError("nothing to evaluate: give at least one sample folder, array, checkpoint or factory")
    t0 = time.perf_counter()
    device = pick_device(s.device)
    real, _ = train_subset(load_real(s.reference, s.train, seed=s.seed), s.n_train, s.seed)
    if s.classifier:
        classifier, clf_info = given_classifier(s.classifier, real, device=device)
    else:
        classifier, clf_info = domain_classifier(real.train, seed=s.seed, device=device, cache_dir=s.cache_dir,
                                                 progress=s.progress)
    if s.extractor == "classifier":
        extractor = get_extractor("classifier", model=classifier)
    elif s.extractor in ("inception", "clip"):
        extractor = get_extractor(s.extractor, weights_path=s.extractor_weights)
    else:
        extractor = get_extractor("pixels")
    read, failed = [], {}
    for sp in specs:
        try:
            read.append(sp if isinstance(sp, Samples) else
                        read_samples(sp, real.compare, n=s.n, seed=s.seed, classifier=classifier, device=device))
        except SamplingError as e:  # a finding about that model (NaN or out-of-range pixels), not a bad input
            name, path = split_name(sp)
            failed[name or default_name(path)] = str(e)
    if not read:
        raise SamplingError(f"no model drew usable images: {failed}")
    names = [r.name for r in read]
    if len(set(names)) != len(names):
        raise ValueError(f"two sample sets share a name ({names}); name them with name=PATH")
    n = min(s.n, len(real.held_out) // 2, *(len(r.images) for r in read))
    if n <= K:
        raise ValueError(f"a diagnosis needs more than {K} samples per model; the smallest set has {n}")
    read = [subsample(r, n, s.seed) for r in read]
    space = Space.build(real, classifier, extractor, device=device, progress=s.progress, seed=s.seed,
                        cache_dir=s.cache_dir, cells=copying_cells(n))
    identity = {"reference": images_sha256(real.compare.images), "held_out": images_sha256(real.held_out.images),
                "train": images_sha256(real.train.images), "classifier": state_dict_sha256(classifier),
                "extractor": getattr(extractor, "identity", None) or s.extractor}
    bands = calibrate(space, n, seed=s.seed, cache_dir=s.cache_dir, identity=identity)
    models = {}
    for r in read:
        m = measure(r.images, space, seed=s.seed, labelled=r.labelled)
        intervals = bootstrap_intervals(m, space, rounds=s.bootstrap, seed=s.seed) if s.bootstrap else {}
        models[r.name] = ModelResult(r, m, intervals, per_class(m, space), diagnose(m.values, bands))
    protocol = {
        "reference": real.reference_spec, "train": real.train_spec, "n": n,
        "reference_halves": {"compare": len(real.compare), "held_out": len(real.held_out)},
        "n_train": len(real.train), "extractor": s.extractor, "classifier": clf_info,
        "classifier_held_out_accuracy": float((space.held_out.probs.argmax(1) == real.held_out.labels.numpy()).mean()),
        "k": K, "copying_cells": space.copying.kmeans.n_clusters, "seed": s.seed,
        "bootstrap_rounds": s.bootstrap, "anchors": [asdict(a) for a in ANCHORS], "device": str(device),
        "seconds": round(time.perf_counter() - t0, 1), "versions": versions(),
    }
    return Evaluation(models, bands, protocol, space, failed)

