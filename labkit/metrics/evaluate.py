"""`evaluate`: the metric suite for one or more models, as records that each carry their own protocol.

An evaluation is resolved once into an `EvalSpace` (the classifier, the feature space of FID and friends,
the softmax network of IS, CMMD's extractor, the perceptual distance) and an `EvalSettings` protocol
(sizes, repeats, seeds). `evaluate` draws one generated set per repeat for each model, runs every asked
metric of `labkit.metrics.suite` on it, and returns `MetricRecord`s: the mean ± std over repeats (LAP: over
images) with the protocol of that metric alone. `labkit.core.record.records_table` shows them as a table.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Union

import numpy as np
import torch
import torch.nn as nn

from ..core.record import MetricRecord
from ..data.dataset import ImageDataset
from ..features import ClassifierFeatures, WeightsNotFoundError, get_extractor
from ..features.cache import cached_features
from ..generate import GenerationBudgetError, SamplingError, sample_labelled
from ..train.classifier import ClassifierTraining
from . import names
from ._order import canonical_dataset
from .classifier import GAN_TRAIN_SETTINGS
from .lpips import make_distance
from .suite import SUITE, Repeat, space_fields

Source = Union[ImageDataset, nn.Module, Callable[[int], ImageDataset]]
ALL_METRICS = ("lap", "is", "fid", "fid_small", "kid", "prd", "prdc", "cmmd", "gan_train", "gan_test")  # the
# default suite; `lpips_to_real`, `lpips_diversity` and `swd` need a distance or image sizes, so they are asked by name


@dataclass(frozen=True)
class EvalSettings:
    """The sizes and seeds of an evaluation: everything but the networks."""

    n_fake: int | None = 10_000    # generated images per repeat (datasets larger than this are subsampled, seeded)
    repeats: int = 3               # fresh generated sets, seeds seed, seed + 1, ...
    seed: int = 0
    n_small: int = 5000            # FID on n_small real vs n_small generated random images (FID-5k)
    kid_subset_size: int = 1000    # KID subset size (clamped to the smaller set)
    kid_subsets: int = 100         # KID subsets
    prd_runs: int = 10             # PRD k-means runs averaged
    k: int = 5                     # neighbours of the k-NN metrics
    gan_train: ClassifierTraining = GAN_TRAIN_SETTINGS  # the one GAN-train recipe
    gan_train_widths: tuple[int, ...] | None = None  # conv widths of GAN-train's classifier; None: C1's default
    gan_test_mode: bool | None = None  # None: GAN-test unless the labels are the classifier's own
    n_pairs: int = 1000            # random pairs of LPIPS to real and pair-diversity
    swd_images: int = 1000         # real and generated images of SWD (28×28 and up), when "swd" is asked
    swd_kwargs: dict = field(default_factory=dict)  # further `labkit.metrics.swd` arguments

    def __post_init__(self):
        for what in ("repeats", "n_fake", "n_small", "k", "prd_runs", "kid_subsets", "n_pairs"):
            v = getattr(self, what)
            if v is not None and (not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1):
                raise ValueError(f"evaluate: {what} must be a positive integer; got {v!r}")


@dataclass
class EvalSpace:
    """The networks of an evaluation, resolved once.

    Args:
        classifier: the real-trained evaluation classifier C1 (GAN-test, labels of unconditional samples).
        features: the feature space of FID, KID, PRD and the k-NN metrics.
        probs: the softmax network of IS (the feature network when it has one, else C1).
        cmmd: CMMD's extractor, or None (no CMMD).
        distance: the perceptual distance of LPIPS to real and pair-diversity, or None.
        cmmd_missing: why CMMD has no extractor (its weights are absent); `evaluate` says it when CMMD is asked.
    """

    classifier: nn.Module
    features: nn.Module
    probs: nn.Module
    cmmd: nn.Module | None = None
    distance: nn.Module | None = None
    device: str | torch.device = "auto"
    cache: bool = True
    progress: bool | None = None
    cmmd_missing: str = ""

    @classmethod
    def resolve(cls, classifier: nn.Module, *, extractor: str | nn.Module = "classifier", cmmd: Any = None,
                cmmd_fallback: bool = False, distance: str | nn.Module | None = None,
                device: str | torch.device = "auto", cache: bool = True, progress: bool | None = None) -> "EvalSpace":
        """Build the space from names: `extractor` ("classifier", "inception", "pixels" or a module); `cmmd`
        ("clip", {"name": "clip", "weights_path": ...}, another extractor, or None): skipped with a warning when
        its weights are absent, or with `cmmd_fallback` measured on C1's features instead (a surrogate, named
        so); `distance` ("classifier", "alex", "vgg", "pixel", "auto" or a module)."""
        c1 = ClassifierFeatures(model=classifier)
        features = c1 if extractor == "classifier" else get_extractor(extractor)
        cm, missing = _cmmd_extractor(cmmd, c1, cmmd_fallback)
        return cls(classifier, features, features if hasattr(features, "probs") else c1, cm,
                   _distance(distance, classifier, device), device, cache, progress, missing)


def _cmmd_extractor(spec: Any, c1: nn.Module, fallback: bool) -> tuple[nn.Module | None, str]:
    """CMMD's extractor and, when there is none, why."""
    if spec is None:
        return None, ""
    if spec == "classifier":
        return c1, ""
    try:
        return (get_extractor(spec) if isinstance(spec, (str, nn.Module)) else get_extractor(**spec)), ""
    except (WeightsNotFoundError, ImportError) as e:
        return (c1, "") if fallback else (None, str(e))


def _distance(kind: str | nn.Module | None, classifier: nn.Module, device) -> nn.Module | None:
    """The perceptual distance: "auto" takes VGG when its weights load, else the offline C1 distance."""
    if kind is None or isinstance(kind, nn.Module):
        return kind
    if kind == "auto":
        try:
            return make_distance("vgg", device=device)
        except (WeightsNotFoundError, ImportError):
            kind = "classifier"
    return make_distance(kind, classifier=classifier, device=device)


def draw(source: Source, classifier: nn.Module, n_fake: int | None, seed: int) -> ImageDataset:
    """The generated set of one repeat, in canonical order: a dataset (seeded subset when larger than n_fake),
    a factory `seed -> dataset`, or a model (sampled in its own class mix, `labkit.generate.sample_labelled`)."""
    if isinstance(source, ImageDataset):
        source = canonical_dataset(source)
        if n_fake is None or len(source) <= n_fake:
            return source
        idx = np.sort(np.random.default_rng(seed).choice(len(source), n_fake, replace=False))
        return source.subset(idx)
    if isinstance(source, nn.Module):
        if n_fake is None:
            raise ValueError("evaluating a model needs n_fake (how many images to sample)")
        return canonical_dataset(sample_labelled(source, classifier, n_fake, seed))
    if callable(source):
        return canonical_dataset(source(seed))
    raise TypeError(f"cannot evaluate a {type(source).__name__}: give an ImageDataset, a model with sample(), "
                    "or a function seed -> ImageDataset")


def _spaces(space: EvalSpace) -> dict[str, dict[str, str]]:
    return {"features": space_fields(space.features), "probs": space_fields(space.probs),
            "cmmd": space_fields(space.cmmd), "distance": space_fields(space.distance),
            "classifier": space_fields(ClassifierFeatures(model=space.classifier)), "": {}}


def evaluate(sources: Source | Mapping[str, Source], reference: ImageDataset, space: EvalSpace,
             settings: EvalSettings = EvalSettings(), metrics: tuple[str, ...] = ALL_METRICS) -> list[MetricRecord]:
    """Records of every metric in `metrics` for every model: mean ± std over `settings.repeats` generated sets.

    Args:
        sources: a source or a mapping name -> source; a source is a labelled `ImageDataset`, a model with
            `sample(n, generator=, labels=None)`, or a function `seed -> ImageDataset`.
        reference: the real set FID, KID, PRD, k-NN, CMMD and LPIPS compare against; GAN-train tests on it.
        space: the networks (`EvalSpace.resolve`). settings: sizes and seeds. metrics: names in `SUITE`.

    Returns:
        `MetricRecord`s with the model name, sizes, reference and the metric's own feature space in their
        protocol. A model that cannot draw its set (a class it cannot produce, NaN samples) gets one `error`
        record with the reason, never a silent omission. Every set is taken in canonical order, so no number
        depends on the order in which images arrive.
    """
    unknown = set(metrics) - set(SUITE)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {sorted(SUITE)}")
    if "cmmd" in metrics and space.cmmd is None and space.cmmd_missing:
        warnings.warn(f"CMMD skipped: {space.cmmd_missing}", stacklevel=2)
    models = sources if isinstance(sources, Mapping) else {getattr(sources, "name", None) or type(sources).__name__:
                                                             sources}
    reference = canonical_dataset(reference)  # subsets and sums see the set, not its order
    ex = dict(device=space.device, progress=space.progress, enabled=space.cache)
    ref = cached_features(reference, space.features, **ex) if _needs(metrics, "features") else None  # (N_r, D)
    ref_cm = cached_features(reference, space.cmmd, **ex) if space.cmmd is not None and "cmmd" in metrics else None
    base = dict(reference=reference.name, split=reference.split, n_real=len(reference), seed=settings.seed,
                repeats=settings.repeats)
    spaces = _spaces(space)
    records: list[MetricRecord] = []
    for name, source in models.items():
        try:
            drawn = [draw(source, space.classifier, settings.n_fake, settings.seed + r) for r in range(settings.repeats)]
        except (GenerationBudgetError, SamplingError) as e:  # a model that fails: a finding, kept in the table
            warnings.warn(f"{name} not evaluated: {e}", stacklevel=2)
            records.append(MetricRecord("error", str(e), protocol={"model": name, **spaces["features"], **base}))
            continue
        values: dict[str, list] = {}
        protocol: dict[str, dict] = {}
        for r, fake in enumerate(drawn):
            rep = Repeat(fake, reference, settings.seed + r, space, settings, ref, ref_cm)
            for m in metrics:
                metric = SUITE[m]
                for key, v in metric.compute(rep).items():
                    values.setdefault(key, []).append(v)
                    protocol[key] = {**spaces[metric.space], **(metric.protocol(rep) if metric.protocol else {})}
        for key, vals in values.items():
            fields = {"model": name, "n_fake": len(drawn[-1]), **base, **protocol[key]}
            records.append(_aggregate(key, vals, fields))
    return records


def _needs(metrics, space: str) -> bool:
    return any(SUITE[m].space == space for m in metrics)


def _aggregate(key: str, vals: list, fields: dict) -> MetricRecord:
    """Mean ± std over repeats; a metric measured per image (LAP) is averaged per repeat, its ± over all images."""
    if names.metric_name(key).std_over == "images":
        per_image = np.concatenate([np.asarray(v, dtype=np.float64) for v in vals])
        rec = MetricRecord.from_values(key, [float(np.mean(v)) for v in vals], **fields, std_over="images")
        return MetricRecord(rec.metric, rec.value, float(np.std(per_image)), rec.values, rec.protocol)
    return MetricRecord.from_values(key, vals, **fields)
