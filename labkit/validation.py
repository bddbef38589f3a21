"""Experiments that validate the metrics: which failure each metric sees and which it misses.

- `degradation_study`: "models" made by altering the real training set (subsampling, salt-and-pepper,
  Gaussian noise, blur) under the full metric suite (the GAN-train/-test paper's validation).
- `class_subset_experiment`: P = the first 5 classes, Q_i = the first i classes (the PRD paper).
- `truncation_sweep`: latent scale against precision, recall, F8/F1/8 and GAN-train.
- `augmentation`: test accuracy of real subsets alone and mixed with generated images.
The memorisation check (nearest real neighbours of generated images) is in `labkit.memorisation`.
"""
from __future__ import annotations

import inspect
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from .data.dataset import ImageDataset, balanced_indices, balanced_subset
from .degrade import degrade
from .features import ClassifierFeatures, extract
from .generate import generate
from .metrics.evaluate import evaluate
from .metrics.fid import frechet_distance
from .metrics.inception_score import inception_score
from .metrics.knn import prdc
from .metrics.prd import PRDCurve, prd
from .metrics.saturation import SaturationPoint, SaturationSettings, train_point

# (kind, level): the GAN paper's subsampling and 1-20 % salt-and-pepper, plus Gaussian noise and blur.
DEFAULT_DEGRADATIONS = (("subsample", 100), ("subsample", 500), ("subsample", 2500),
                        ("salt_pepper", 0.01), ("salt_pepper", 0.05), ("salt_pepper", 0.2),
                        ("gaussian_noise", 0.1), ("gaussian_noise", 0.3), ("blur", 1.0), ("blur", 2.0))
# Metric columns of `evaluate` and whether higher is better (for the heat-map's direction).
HIGHER_IS_BETTER = {"gan_train": True, "gan_test": True, "fid": False, "kid": False, "prd_f8": True,
                    "prd_f1_8": True, "precision": True, "recall": True, "density": True, "coverage": True,
                    "lap": True, "is": True}


def gan_train_accuracy(ds: ImageDataset, test: ImageDataset, settings: SaturationSettings, seed: int) -> float:
    """GAN-train under the saturation protocol: a fresh classifier trained on all of `ds`, accuracy on `test`."""
    point = SaturationPoint(ds.name, len(ds) // ds.num_classes, seed)
    return train_point(point, ds.images, ds.targets(), test.images, test.labels, settings)["accuracy"]


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
    def base(seed: int) -> ImageDataset:
        return train if n_per_class is None else balanced_subset(train, n_per_class, seed)

    models = {"clean": base}
    for kind, level in specs:
        if kind == "subsample":
            models[degradation_name(kind, level)] = lambda s, lv=level: degrade(train, "subsample", lv, s)
        else:
            models[degradation_name(kind, level)] = lambda s, k=kind, lv=level: degrade(base(s), k, lv, s)
    return models


def degradation_study(train: ImageDataset, test: ImageDataset, classifier: nn.Module, *,
                      specs: Sequence[tuple[str, float]] = DEFAULT_DEGRADATIONS, n_per_class: int | None = 1000,
                      repeats: int = 1, seed: int = 0,
                      metrics: tuple[str, ...] = ("lap", "fid", "kid", "prd", "prdc", "gan_train", "gan_test"),
                      gan_train_settings: SaturationSettings = SaturationSettings(),
                      **evaluate_kwargs) -> pd.DataFrame:
    """The metric suite on degraded copies of the real training set; one row per degradation.

    GAN-test is the real-trained classifier's accuracy on the degraded images with their true labels;
    GAN-train trains a fresh classifier on them (protocol `gan_train_settings`, as for the saturation
    curves) and tests on `test`. Repeat r uses seed `seed + r` for the subset, the noise and the
    classifier. `evaluate_kwargs` go to `labkit.metrics.evaluate` (device, prd_runs, ...).
    """
    models = degradation_models(train, specs, n_per_class=n_per_class)
    evaluate_kwargs.setdefault("cmmd_extractor", None)
    suite = tuple(m for m in metrics if m != "gan_train")
    table = evaluate(models, test, classifier=classifier, n_fake=None, repeats=repeats, seed=seed, metrics=suite,
                     gan_test_mode=True, **evaluate_kwargs)
    if "gan_train" in metrics:
        values = {name: [gan_train_accuracy(make(seed + r), test, gan_train_settings, seed + r) for r in range(repeats)]
                  for name, make in models.items()}
        table["gan_train"] = [float(np.mean(values[m])) for m in table.index]
        table["gan_train_std"] = [float(np.std(values[m], ddof=1)) if repeats > 1 else float("nan")
                                  for m in table.index]
    return table


def relative_change(table: pd.DataFrame, metrics: Sequence[str] | None = None, baseline: str = "clean") -> pd.DataFrame:
    """Per metric, the change from the baseline row oriented so that negative = worse, divided by the
    largest absolute change of that metric (each column in [-1, 1]; 0 where nothing moves)."""
    metrics = [m for m in (metrics or HIGHER_IS_BETTER) if m in table.columns]
    delta = table[metrics] - table.loc[baseline, metrics]
    signed = delta * np.array([1.0 if HIGHER_IS_BETTER.get(m, True) else -1.0 for m in metrics])
    scale = signed.abs().max().replace(0, 1.0)
    return (signed / scale).drop(index=baseline)


def plot_degradation_heatmap(table: pd.DataFrame, metrics: Sequence[str] | None = None, baseline: str = "clean",
                             ax=None):
    """Heat-map of `relative_change` (red: worse than clean, blue: better), annotated with the raw values."""
    import matplotlib.pyplot as plt
    import seaborn as sns

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
                            ) -> tuple[pd.DataFrame, dict[int, PRDCurve]]:
    """P = `n` real images of the first `p_classes` classes; Q_i = `n` real images of the first i classes.

    Args:
        p_source: where P is drawn from (e.g. the test split); q_source: where the Q_i are drawn from
            (e.g. the training split, so P and Q_i never share an image).
        classifier: the evaluation classifier (features for FID/PRD/k-NN, probabilities for IS).
        n: images in P and in each Q_i (equal sizes, equal shares of their classes).

    Returns:
        a DataFrame indexed by i (is, fid, prd_f8, prd_f1_8, precision, recall, density, coverage) and the
        PRD curve of every i.
    """
    feat = ClassifierFeatures(model=classifier)
    p_ds = take_classes(p_source, range(p_classes), n, seed)
    p = extract(feat, p_ds.float(), device=device)  # (n, D)
    rows, curves = [], {}
    for i in range(1, q_source.num_classes + 1):
        q_ds = take_classes(q_source, range(i), n, seed + i)
        images = q_ds.float()  # (n, C, H, W)
        q = extract(feat, images, device=device)  # (n, D)
        probs = extract(feat, images, what="probs", device=device)  # (n, K)
        curve = prd(p, q, num_clusters=num_clusters, num_runs=prd_runs, seed=seed)
        curves[i] = curve
        rows.append({"i": i, "is": inception_score(probs, splits=10)[0], "fid": frechet_distance(p, q),
                     "prd_f8": curve.f_beta, "prd_f1_8": curve.f_beta_inv, **prdc(p, q, k=k)})
    return pd.DataFrame(rows).set_index("i"), curves


def plot_class_subset(table: pd.DataFrame, curves: Mapping[int, PRDCurve], show: Sequence[int] = (3, 5, 7),
                      p_classes: int = 5):
    """Three panels: IS and FID against i; F8, F1/8, k-NN precision and recall against i; PRD curves."""
    import matplotlib.pyplot as plt

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


class LatentScaled(nn.Module):
    """A decoder-style generator (`decode(z, labels)`, `cfg.latent_dim`) with a `truncation=` latent scale."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.cfg = model.cfg

    @property
    def conditional(self) -> bool:
        return bool(getattr(self.model, "conditional", False))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
               truncation: float = 1.0) -> torch.Tensor:
        """n images (n, C, H, W) in [0, 1] from z ~ truncation · N(0, I), drawn on the CPU generator."""
        device = next(self.model.parameters()).device
        z = torch.randn(n, self.cfg.latent_dim, generator=generator) * truncation  # (n, D)
        lab = None if labels is None else labels.to(device)
        return self.model.decode(z.to(device), lab)


def with_truncation(model: nn.Module) -> nn.Module:
    """The model itself when its `sample` takes `truncation=`, else a `LatentScaled` wrapper (VAEs)."""
    if "truncation" in inspect.signature(model.sample).parameters:
        return model
    if not hasattr(model, "decode"):
        raise TypeError(f"{type(model).__name__} has neither sample(truncation=) nor decode(z, labels)")
    return LatentScaled(model)


def truncation_sweep(model: nn.Module, test: ImageDataset, classifier: nn.Module, *,
                     scales: Sequence[float] = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5), n_per_class: int = 1000,
                     labels: str = "hard", seed: int = 0, repeats: int = 1,
                     metrics: tuple[str, ...] = ("fid", "prd", "prdc", "gan_train", "gan_test"),
                     gan_train_settings: SaturationSettings = SaturationSettings(),
                     **evaluate_kwargs) -> pd.DataFrame:
    """Metrics of a generator sampled at each latent scale z ~ s · N(0, I); one row per scale.

    Args:
        model: a generator (GAN with `truncation=`, or a VAE: wrapped by `with_truncation`).
        test: real test set (reference of the metrics, test set of GAN-train).
        classifier: labels unconditional samples (`labels` hard/soft) and extracts features.
        n_per_class: generated images per class at each scale (class-balanced via `labkit.generate`).
        gan_train_settings: GAN-train protocol (as for the saturation curves); repeats use seeds seed + r.
        evaluate_kwargs: to `labkit.metrics.evaluate` (device, prd_runs, ...).
    """
    gen = with_truncation(model)
    conditional = bool(getattr(gen, "conditional", False))
    sets = {f"{s:g}": generate(gen, n_per_class, classifier=classifier, labels="hard" if conditional else labels,
                               seed=seed, num_classes=test.num_classes, class_names=test.class_names, truncation=s)
            for s in scales}
    evaluate_kwargs.setdefault("cmmd_extractor", None)
    table = evaluate(sets, test, classifier=classifier, n_fake=None, repeats=repeats, seed=seed,
                     metrics=tuple(m for m in metrics if m != "gan_train"),
                     gan_test_mode=conditional, **evaluate_kwargs)
    table.insert(0, "truncation", [float(s) for s in table.index])
    if "gan_train" in metrics:
        values = [[gan_train_accuracy(sets[name], test, gan_train_settings, seed + r) for r in range(repeats)]
                  for name in table.index]
        table["gan_train"] = [float(np.mean(v)) for v in values]
        table["gan_train_std"] = [float(np.std(v, ddof=1)) if repeats > 1 else float("nan") for v in values]
    return table


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


def plot_truncation(table: pd.DataFrame, columns: Sequence[str] = ("precision", "recall", "prd_f8", "prd_f1_8",
                                                                    "gan_train", "gan_test")):
    """Metrics of `truncation_sweep` against the latent scale (accuracies and [0, 1] summaries on one axis)."""
    import matplotlib.pyplot as plt

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
