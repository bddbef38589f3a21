"""`evaluate`: every metric of the papers for one or more models, one row each, with its protocol."""
from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any, Callable, Mapping, Union

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from ..cache import cached_features
from ..classify import ClassifierTraining
from ..data.dataset import ImageDataset
from ..generate import GenerationBudgetError
from ..features import ClassifierFeatures, WeightsNotFoundError, extract, get_extractor
from ..models.classifier import predict
from ._order import canonical_dataset
from .classifier import GAN_TRAIN_SETTINGS, gan_test, gan_train
from .cmmd import cmmd
from .fid import frechet_distance
from .inception_score import inception_score
from .kid import kid
from .knn import prdc
from .prd import prd
from .record import MetricRecord
from .sharpness import laplacian_variance

Source = Union[ImageDataset, nn.Module, Callable[[int], ImageDataset]]
ALL_METRICS = ("lap", "is", "fid", "fid_small", "kid", "prd", "prdc", "cmmd", "gan_train", "gan_test")


class SamplingError(RuntimeError):
    """A model's samples cannot be evaluated (NaN, inf or out-of-range pixels): a finding about the model."""


def sample_labelled(model: nn.Module, classifier: nn.Module, n: int, seed: int, batch_size: int = 1000) -> ImageDataset:
    """n generated images labelled by their conditioning class (balanced) or by the classifier's argmax.

    A minimal sampler so the metrics need no generation module; `labkit.generate` offers soft labels,
    class balancing and confidence filtering, and its datasets can be passed to `evaluate` directly.
    """
    g = torch.Generator().manual_seed(seed)
    conditional = bool(getattr(model, "conditional", False))
    k = classifier.cfg.num_classes
    labels = torch.arange(n) % k  # (n,)
    model.eval()
    with torch.no_grad():
        parts = [model.sample(len(labels[i:i + batch_size]), generator=g,
                              **({"labels": labels[i:i + batch_size]} if conditional else {})).float().cpu()
                 for i in range(0, n, batch_size)]
    images = torch.cat(parts)  # (n, C, H, W)
    if not torch.isfinite(images).all() or images.min() < -1e-6 or images.max() > 1 + 1e-6:
        bad = int((~torch.isfinite(images.flatten(1))).any(1).sum())
        raise SamplingError(f"{type(model).__name__} drew {bad} of {n} images with NaN or inf pixels" if bad else
                            f"{type(model).__name__} drew pixels outside [0, 1]")
    if not conditional:
        labels = predict(classifier, images, what="probs").argmax(1)
    names = tuple(str(i) for i in range(k))
    return ImageDataset.from_float(images, labels, names, name=f"generated:{type(model).__name__}", split="generated",
                                   info={"labelled_by": "conditioning" if conditional else "classifier", "seed": seed})


def _draw(source: Source, classifier: nn.Module, n_fake: int | None, seed: int) -> ImageDataset:
    """The generated set of one repeat, in canonical order: a dataset (seeded subset when larger than n_fake),
    a factory or a model. Every metric then sees the set, whatever order its images were drawn in."""
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


def _space(extractor: nn.Module) -> dict[str, str]:
    """The protocol fields naming a feature space: extractor name and weights digest."""
    identity = extractor.identity
    return {"extractor": identity["extractor"], "extractor_sha256": identity.get("weights_sha256", "")}


def _cmmd_extractor(spec: Any) -> nn.Module | None:
    if spec is None:
        return None
    try:
        return get_extractor(spec) if isinstance(spec, (str, nn.Module)) else get_extractor(**spec)
    except (WeightsNotFoundError, ImportError) as e:
        warnings.warn(f"CMMD skipped: {e}", stacklevel=3)
        return None


def evaluate(model_or_images: Source | Mapping[str, Source], reference: ImageDataset, *, classifier: nn.Module,
             extractor: str | nn.Module = "classifier", n_fake: int | None = 10000, repeats: int = 3, seed: int = 0,
             metrics: tuple[str, ...] = ALL_METRICS, n_small: int = 5000, kid_subset_size: int = 1000,
             kid_subsets: int = 100, prd_runs: int = 10, k: int = 5, cmmd_extractor: Any = "clip",
             gan_train_settings: ClassifierTraining = GAN_TRAIN_SETTINGS, gan_test_mode: bool | None = None,
             device: str | torch.device = "auto", cache: bool = True, progress: bool | None = None) -> pd.DataFrame:
    """One row per model: LAP, IS, FID, FID-small, KID, PRD F8/F1/8, precision/recall/density/coverage, CMMD, GAN-train/-test.

    Args:
        model_or_images: a source or a mapping name -> source; a source is a labelled `ImageDataset` (e.g. from
            `labkit.generate`, or real images), a model with `sample(n, generator=, labels=None)`, or a
            function `seed -> ImageDataset` (one fresh generated set per repeat).
        reference: the real test set: FID/KID/PRD/k-NN/CMMD compare against it, GAN-train tests on it.
        classifier: the real-trained evaluation classifier (GAN-test, default features and IS probabilities).
        extractor: feature space of FID/KID/PRD/k-NN: `classifier` (default), `inception`, `pixels` or a module;
            IS uses its softmax when it has one (Inception's 1008 classes), else the classifier's.
        n_fake: generated images per repeat (datasets larger than this are subsampled, seeded).
        repeats: repeats with seeds `seed + r`; every column is mean ± std over them, except LAP whose
            ± is the std over images (as in the VAE paper).
        metrics: subset of `ALL_METRICS` to compute.
        n_small: size of "FID-small" (5k vs 5k: FID-5k); skipped when a set is smaller.
        cmmd_extractor: extractor for CMMD (`clip`); skipped with a warning when its weights are absent.
        gan_train_settings: step budget of GAN-train's classifier.
        gan_test_mode: None: GAN-test unless labels came from the classifier itself (then it is trivially ~1).

    Returns:
        DataFrame indexed by model name, columns `<metric>` and `<metric>_std`, plus protocol columns;
        `df.attrs["records"]` holds a `MetricRecord` per number. A model that cannot draw its set (a class
        it cannot produce, NaN samples) keeps its row, with the reason in `error` and in an `error` record.
        Every generated set and the reference are taken in canonical order, so no number depends on the
        order in which images arrive.
    """
    for what, v in (("repeats", repeats), ("n_fake", n_fake), ("n_small", n_small), ("k", k), ("prd_runs", prd_runs)):
        if v is not None and (not isinstance(v, (int, np.integer)) or v < 1):
            raise ValueError(f"evaluate: {what} must be a positive integer; got {v!r}")
    unknown = set(metrics) - set(ALL_METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {ALL_METRICS}")
    models = model_or_images
    if not isinstance(models, Mapping):
        models = {getattr(models, "name", None) or type(models).__name__: models}
    reference = canonical_dataset(reference)  # subsets and sums see the set, not its order
    c1 = ClassifierFeatures(model=classifier)
    feat = c1 if extractor == "classifier" else get_extractor(extractor)
    ex = dict(device=device, progress=progress)
    ref = cached_features(reference, feat, enabled=cache, **ex)  # (N_r, D)
    cm = _cmmd_extractor(cmmd_extractor) if "cmmd" in metrics else None
    ref_cm = cached_features(reference, cm, enabled=cache, **ex) if cm is not None else None
    protocol = dict(_space(feat), reference=reference.name, split=reference.split, n_real=len(reference), seed=seed)
    # IS reads the softmax of the feature network when it has one (Inception, C1), else C1's; CMMD its own extractor
    probs_model = feat if hasattr(feat, "probs") else c1
    own_space = {"is": _space(probs_model), "cmmd": _space(cm) if cm is not None else {}}
    rows, records = [], []
    for name, source in models.items():
        per: dict[str, list[float]] = {}
        lap_all = []
        n_seen = 0
        try:
            drawn = [_draw(source, classifier, n_fake, seed + r) for r in range(repeats)]
        except (GenerationBudgetError, SamplingError) as e:  # a model that fails: a finding, kept in the table
            warnings.warn(f"{name} not evaluated: {e}", stacklevel=2)
            rows.append({"model": name, "error": str(e), "repeats": repeats, **protocol})
            records.append(MetricRecord("error", str(e), protocol={"model": name, "repeats": repeats, **protocol}))
            continue
        for r, fake_ds in enumerate(drawn):
            n_seen = len(fake_ds)
            values = _one_repeat(fake_ds, reference, ref, ref_cm, classifier, probs_model, feat, cm, metrics, seed + r,
                                 n_small, kid_subset_size, kid_subsets, prd_runs, k, gan_train_settings, gan_test_mode, ex)
            lap_all.extend(values.pop("_lap_images", []))
            for key, v in values.items():
                per.setdefault(key, []).append(v)
        row = {"model": name}
        for key, vals in per.items():
            fields = {**protocol, **own_space.get(key, {}), "model": name, "n_fake": n_seen}
            rec = MetricRecord.from_values(key, vals, **fields)
            if key == "lap":  # the VAE paper's ± of LAP is over images
                rec = replace(rec, std=float(np.std(lap_all)), protocol={**rec.protocol, "std_over": "images"})
            row[key], row[f"{key}_std"] = rec.value, rec.std
            records.append(rec)
        rows.append({**row, "n_fake": n_seen, "repeats": repeats, **protocol})
    df = pd.DataFrame(rows).set_index("model")
    df.attrs["records"] = records
    return df


def _one_repeat(fake_ds, reference, ref, ref_cm, classifier, probs_model, feat, cm, metrics, seed, n_small,
                kid_subset_size, kid_subsets, prd_runs, k, gan_train_settings, gan_test_mode, ex) -> dict[str, Any]:
    out: dict[str, Any] = {}
    images = fake_ds.float()  # (N, C, H, W)
    if "lap" in metrics:
        lap = laplacian_variance(images)
        out["lap"], out["_lap_images"] = float(lap.mean()), lap.tolist()
    if "is" in metrics:
        probs = extract(probs_model, images, what="probs", **ex)  # (N, K)
        out["is"] = inception_score(probs, splits=min(10, len(images)), seed=seed)[0]
    fake = extract(feat, images, **ex) if set(metrics) & {"fid", "fid_small", "kid", "prd", "prdc"} else None
    if "fid" in metrics:
        out["fid"] = frechet_distance(ref, fake)
    if "fid_small" in metrics and min(len(ref), len(fake)) >= n_small:
        rng = np.random.default_rng(seed)  # random, not leading, rows: generated sets are grouped by class
        out[f"fid_{n_small // 1000}k" if n_small % 1000 == 0 else f"fid_{n_small}"] = frechet_distance(
            ref[rng.choice(len(ref), n_small, replace=False)], fake[rng.choice(len(fake), n_small, replace=False)])
    if "kid" in metrics:
        out["kid"] = kid(ref, fake, subset_size=min(kid_subset_size, len(ref), len(fake)), n_subsets=kid_subsets,
                         seed=seed)[0]
    if "prd" in metrics:
        n = min(len(ref), len(fake))
        rng = np.random.default_rng(seed)
        sub_r = ref[np.sort(rng.choice(len(ref), n, replace=False))]
        sub_f = fake[np.sort(rng.choice(len(fake), n, replace=False))]
        curve = prd(sub_r, sub_f, num_clusters=min(20, n), num_runs=prd_runs, seed=seed)
        out["prd_f8"], out["prd_f1_8"] = curve.f_beta, curve.f_beta_inv
    if "prdc" in metrics:
        out.update(prdc(ref, fake, k=k))
    if "cmmd" in metrics and cm is not None:
        out["cmmd"] = cmmd(ref_cm, extract(cm, images, **ex))
    if "gan_train" in metrics:
        out["gan_train"] = gan_train(fake_ds, reference, settings=gan_train_settings, seed=seed,
                                     device=ex["device"]).value
    do_test = gan_test_mode if gan_test_mode is not None else fake_ds.info.get("labelled_by") != "classifier"
    if "gan_test" in metrics and do_test:
        out["gan_test"] = gan_test(classifier, fake_ds)
    return out
