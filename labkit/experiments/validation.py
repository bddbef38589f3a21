"""Experiments that validate the metrics: which failure each metric sees and which it misses.

- `degradation_study`: "models" made by altering the real training set (subsampling, salt-and-pepper,
  Gaussian noise, blur) under the full metric suite (the GAN-train/-test paper's validation).
- `class_subset_experiment`: P = the first 5 classes, Q_i = the first i classes (the PRD paper).
- `truncation_sweep`: latent scale against precision, recall, F8/F1/8 and GAN-train.
- `augmentation`: test accuracy of real subsets alone and mixed with generated images.
The memorisation check (nearest real neighbours of generated images) is in `labkit.experiments.memorisation`.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import warnings
from dataclasses import replace
from functools import partial
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
import torch.nn as nn

from ..core.cluster import executor_for, run_all
from ..core.record import MetricRecord, records_table
from ..data.dataset import ImageDataset, balanced_indices, balanced_subset
from ..data.degrade import degrade
from ..features import ClassifierFeatures, extract
from ..generate import generate
from ..metrics import names
from ..metrics.evaluate import EvalSettings, EvalSpace, evaluate
from ..metrics.fid import frechet_distance
from ..metrics.inception_score import inception_score
from ..metrics.knn import prdc
from ..metrics.prd import PRDCurve, prd
from ..models.sampling import is_conditional
from .saturation import SaturationPoint, SaturationSettings, train_point

# (kind, level): the GAN paper's subsampling and 1-20 % salt-and-pepper, plus Gaussian noise and blur.
DEFAULT_DEGRADATIONS = (("subsample", 100), ("subsample", 500), ("subsample", 2500),
                        ("salt_pepper", 0.01), ("salt_pepper", 0.05), ("salt_pepper", 0.2),
                        ("gaussian_noise", 0.1), ("gaussian_noise", 0.3), ("blur", 1.0), ("blur", 2.0))
DEGRADATION_METRICS = ("lap", "fid", "kid", "prd", "prdc", "gan_train", "gan_test")  # the suite run on each set
TRUNCATION_METRICS = ("fid", "prd", "prdc", "gan_train", "gan_test")


def degradation_name(kind: str, level: float) -> str:
    """Row name of a degraded "model": `subsample 100/class`, `salt_pepper 5%`, `blur σ=1`."""
    if kind == "subsample":
        return f"subsample {int(level)}/class"
    if kind == "salt_pepper":
        return f"salt_pepper {level * 100:g}%"
    if kind == "blur":
        return f"blur σ={level:g}"
    return f"{kind} {level:g}"


def degradation_models(train: ImageDataset, specs: Sequence[tuple[str, float]] = DEFAULT_DEGRADATIONS, *,
                       n_per_class: int | None = 1000) -> dict[str, Callable[[int], ImageDataset]]:
    """Name -> function seed -> degraded dataset, with `clean` (no alteration) first.

    Args:
        train: the real training set.
        specs: (kind, level) pairs; `subsample` keeps `level` images per class of `train`.
        n_per_class: images per class of the clean and noise-degraded sets (a seeded balanced subset of
            `train` per seed; None: all of it).
    """
    models = {"clean": partial(_degraded, train, "clean", 0.0, n_per_class)}
    for kind, level in specs:
        models[degradation_name(kind, level)] = partial(_degraded, train, kind, level, n_per_class)
    return models


def _degraded(train: ImageDataset, kind: str, level: float, n_per_class: int | None, seed: int) -> ImageDataset:
    """One degraded set (top-level, so that a process pool or a cluster can receive its factory)."""
    if kind == "subsample":
        return degrade(train, "subsample", level, seed)
    base = train if n_per_class is None else balanced_subset(train, n_per_class, seed)
    return base if kind == "clean" else degrade(base, kind, level, seed)


def degradation_study(train: ImageDataset, test: ImageDataset, space: EvalSpace, settings: EvalSettings, *,
                      specs: Sequence[tuple[str, float]] = DEFAULT_DEGRADATIONS, n_per_class: int | None = 1000,
                      metrics: tuple[str, ...] = DEGRADATION_METRICS, executor: cf.Executor | None = None,
                      scheduler: str = "") -> list[MetricRecord]:
    """The metric suite on degraded copies of the real training set; records per degradation (`model` field).

    GAN-test is the real-trained classifier's accuracy on the degraded images with their true labels;
    GAN-train trains a fresh classifier on them (`settings.gan_train`, as everywhere) and tests on `test`.
    Repeat r uses seed `settings.seed + r` for the subset, the noise and the classifier.

    The degraded sets are independent points: each is evaluated as one task on `executor`, else on the Dask
    cluster `scheduler` names (`tcp://HOST:PORT` or `local:N`, see `labkit.core.cluster`), else all here; the
    records, and their order, are the same wherever they run.
    """
    models = degradation_models(train, specs, n_per_class=n_per_class)
    settings = replace(settings, n_fake=None, gan_test_mode=True)
    with executor_for(scheduler) if executor is None else contextlib.nullcontext(executor) as ex:
        if ex is None:
            return evaluate(models, test, space, settings, metrics)
        calls = (({name: make}, test, space, settings, metrics) for name, make in models.items())
        per_set = dict(run_all(_evaluate_set, calls, ex))
    for i in range(len(models)):  # a worker's warnings are shown here, as a serial run shows them
        for message, category in per_set[i][1]:
            warnings.warn(message, category, stacklevel=2)
    return [r for i in range(len(models)) for r in per_set[i][0]]


def _evaluate_set(*args) -> tuple[list[MetricRecord], list[tuple[str, type]]]:
    """`evaluate` as one task: its records, and the warnings it raised (which would stay in a worker's log)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = evaluate(*args)
    return records, [(str(w.message), w.category) for w in caught]


def relative_change(table: pd.DataFrame, metrics: Sequence[str], baseline: str = "clean") -> pd.DataFrame:
    """Per metric, the change from the baseline row oriented so that negative = worse (direction from
    `labkit.metrics.names`), divided by the largest absolute change of that metric (each column in [-1, 1])."""
    metrics = [m for m in metrics if m in table.columns]
    delta = table[metrics] - table.loc[baseline, metrics]
    signed = delta * np.array([-1.0 if names.metric_name(m).better == "lower" else 1.0 for m in metrics])
    scale = signed.abs().max().replace(0, 1.0)
    return (signed / scale).drop(index=baseline)


def plot_degradation_heatmap(records: Sequence[MetricRecord], metrics: Sequence[str], baseline: str = "clean",
                             ax=None):
    """Heat-map of `relative_change` (red: worse than clean, blue: better), annotated with the raw values."""
    table = records_table(records)
    rel = relative_change(table, metrics, baseline)
    raw = table.loc[rel.index, rel.columns]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 * len(rel.columns) + 2, 0.45 * len(rel) + 1.5))
    sns.heatmap(rel, annot=raw.map(lambda v: f"{v:.3g}"), fmt="", cmap="RdBu", vmin=-1, vmax=1, center=0,
                cbar_kws={"label": "change vs clean (scaled per metric; negative = worse)"}, ax=ax)
    ax.set_title("which metric moves for which failure")
    ax.figure.tight_layout()
    return ax.figure


def take_classes(ds: ImageDataset, classes: Sequence[int], n: int, seed: int = 0) -> ImageDataset:
    """`n` images drawn equally from `classes` (the first n mod |classes| classes get one more), seeded."""
    rng = np.random.default_rng(seed)
    labels = ds.labels.numpy()
    picks = []
    for j, c in enumerate(classes):
        members = np.flatnonzero(labels == c)
        want = n // len(classes) + (1 if j < n % len(classes) else 0)
        if want > len(members):
            raise ValueError(f"class {c} has {len(members)} images; {want} were asked for")
        picks.append(rng.choice(members, size=want, replace=False))
    return ds.subset(np.sort(np.concatenate(picks)))


def class_subset_experiment(p_source: ImageDataset, q_source: ImageDataset, classifier: nn.Module, *,
                            n: int = 5000, p_classes: int = 5, num_clusters: int = 20, prd_runs: int = 10,
                            k: int = 5, seed: int = 0, device: str | torch.device = "auto"
                            ) -> tuple[list[MetricRecord], dict[int, PRDCurve]]:
    """P = `n` real images of the first `p_classes` classes; Q_i = `n` real images of the first i classes.

    Args:
        p_source: where P is drawn from (e.g. the test split); q_source: where the Q_i are drawn from
            (e.g. the training split, so P and Q_i never share an image).
        classifier: the evaluation classifier (features for FID/PRD/k-NN, probabilities for IS).
        n: images in P and in each Q_i (equal sizes, equal shares of their classes).

    Returns:
        records per i (is, fid, prd_f8, prd_f1_8, precision, recall, density, coverage; the `i` field) and the
        PRD curve of every i.
    """
    feat = ClassifierFeatures(model=classifier)
    p_ds = take_classes(p_source, range(p_classes), n, seed)
    p = extract(feat, p_ds.float(), device=device)  # (n, D)
    records, curves = [], {}
    for i in range(1, q_source.num_classes + 1):
        q_ds = take_classes(q_source, range(i), n, seed + i)
        images = q_ds.float()  # (n, C, H, W)
        q = extract(feat, images, device=device)  # (n, D)
        probs = extract(feat, images, what="probs", device=device)  # (n, K)
        curve = prd(p, q, num_clusters=num_clusters, num_runs=prd_runs, seed=seed)
        curves[i] = curve
        values = {"is": inception_score(probs, splits=10)[0], "fid": frechet_distance(p, q), "prd_f8": curve.f_beta,
                  "prd_f1_8": curve.f_beta_inv, **prdc(p, q, k=k)}
        records += [MetricRecord(m, v, protocol={"i": i, "extractor": "classifier", "n": n})
                    for m, v in values.items()]
    return records, curves


def plot_class_subset(records: Sequence[MetricRecord], curves: Mapping[int, PRDCurve],
                      show: Sequence[int] = (3, 5, 7), p_classes: int = 5):
    """Three panels: IS and FID against i; F8, F1/8, k-NN precision and recall against i; PRD curves."""
    table = records_table(records, row="i")
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 3.8))
    fid_line, = a.plot(table.index, table["fid"], "o-", label="FID")
    a.set_ylabel("FID")
    a2 = a.twinx()
    is_line, = a2.plot(table.index, table["is"], "s--", color="tab:orange", label="IS (right axis)")
    a2.set_ylabel("IS")
    a.legend(handles=[fid_line, is_line], fontsize=8, loc="upper center")
    a.set_title("IS rises with i; FID is U-shaped")
    for col, style in (("prd_f8", "o-"), ("prd_f1_8", "s-"), ("recall", "o:"), ("precision", "s:")):
        b.plot(table.index, table[col], style, label={"prd_f8": "F8 (recall-like)", "prd_f1_8": "F1/8 (precision-like)",
                                                       "recall": "k-NN recall", "precision": "k-NN precision"}[col])
    b.set_ylim(0, 1.05)
    b.legend(fontsize=8)
    b.set_title("PRD and k-NN summaries")
    for ax in (a, b):
        ax.axvline(p_classes, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("Q_i: first i classes")
    for i in show:
        if i in curves:
            c.plot(curves[i].recall, curves[i].precision, label=f"i = {i}")
    c.set_xlabel("recall β")
    c.set_ylabel("precision α")
    c.set_xlim(0, 1.02)
    c.set_ylim(0, 1.02)
    c.legend()
    c.set_title(f"PRD curves (P = first {p_classes} classes)")
    fig.tight_layout()
    return fig


def truncation_sweep(model: nn.Module, test: ImageDataset, space: EvalSpace, settings: EvalSettings, *,
                     scales: Sequence[float] = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5), n_per_class: int = 1000,
                     labels: str = "hard", metrics: tuple[str, ...] = TRUNCATION_METRICS) -> list[MetricRecord]:
    """Metrics of a generator sampled at each latent scale z ~ s · N(0, I); records with a `truncation` field.

    Args:
        model: a generator (its `sample` takes `truncation=`, as the generator protocol says).
        test: real test set (reference of the metrics, test set of GAN-train).
        space: the networks; its classifier labels unconditional samples (`labels` hard/soft).
        n_per_class: generated images per class at each scale (class-balanced via `labkit.generate`).
    """
    conditional = is_conditional(model)
    sets = {float(s): generate(model, n_per_class, classifier=space.classifier,
                               labels="hard" if conditional else labels, seed=settings.seed,
                               num_classes=test.num_classes, class_names=test.class_names, truncation=s)
            for s in scales}
    records = evaluate({f"{s:g}": ds for s, ds in sets.items()}, test, space,
                       replace(settings, n_fake=None, gan_test_mode=conditional), metrics)
    return [replace(r, protocol={**r.protocol, "truncation": float(r.protocol["model"])}) for r in records]


def augmentation(train: ImageDataset, test: ImageDataset, generated: ImageDataset, *,
                 real_sizes: Sequence[int] = (500, 2500), n_generated_per_class: int | None = None,
                 seeds: int | Sequence[int] = 3, settings: SaturationSettings = SaturationSettings()) -> pd.DataFrame:
    """Test accuracy of classifiers trained on real subsets alone, mixed with generated images, and on the
    generated images alone; one row per (training set, seed).

    Args:
        train: the real training set; real_sizes: real images per class of each subset (seeded by the seed).
        generated: labelled generated set (soft labels used when present); `n_generated_per_class` of it
            per class (seeded balanced subset; None: all).
        seeds: seeds of the real subset, the generated subset and the classifier.
        settings: the training protocol (fixed step budget, as for the saturation curves).
    """
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    rows = []
    for s in seeds:
        gen = generated if n_generated_per_class is None else balanced_subset(generated, n_generated_per_class, s)
        n_gen = len(gen) // gen.num_classes
        sets = {f"generated {n_gen}/class": (gen.images, gen.targets(), 0, n_gen)}
        for n in real_sizes:
            real = train.subset(balanced_indices(train.labels, n, train.num_classes, s))
            sets[f"real {n}/class"] = (real.images, real.targets(), n, 0)
            sets[f"real {n}/class + generated {n_gen}/class"] = (
                torch.cat([real.images, gen.images]), torch.cat([real.targets(), gen.targets()]), n, n_gen)
        for name, (images, targets, n_real, n_generated) in sets.items():
            point = SaturationPoint(name, n_real + n_generated, s)
            r = train_point(point, images, targets, test.images, test.labels, settings)
            rows.append({"training_set": name, "n_real_per_class": n_real, "n_generated_per_class": n_generated,
                         "seed": s, "accuracy": r["accuracy"], "wall_s": r["wall_s"]})
    return pd.DataFrame(rows)


def plot_truncation(records: Sequence[MetricRecord], columns: Sequence[str] = ("precision", "recall", "prd_f8",
                                                                           "prd_f1_8", "gan_train", "gan_test")):
    """Metrics of `truncation_sweep` against the latent scale (accuracies and [0, 1] summaries on one axis)."""
    table = records_table(records, row="truncation").sort_index().reset_index()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for col in columns:
        if col in table.columns and table[col].notna().any():
            ax.plot(table["truncation"], table[col], "o-", label=col)
    ax.set_xlabel("latent scale s (z ~ s · N(0, I))")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title("truncation: precision against recall")
    fig.tight_layout()
    return fig


def point_settings(train: ImageDataset, settings: EvalSettings, device: str | torch.device = "cpu"
                   ) -> SaturationSettings:
    """The fixed-budget training of `augmentation`'s classifiers: GAN-train's recipe (`settings.gan_train`,
    `gan_train_widths`) as a saturation point protocol."""
    s = settings.gan_train
    return SaturationSettings.for_data(train, steps=s.steps, batch_size=s.batch_size, widths=settings.gan_train_widths,
                                       device=str(device))
