"""Controlled generation measured: feature-space vs latent-space class edits, mapper errors, edit quality.

- `reference_set`: labelled (z, f, label) triples that define the class directions: for a VAE the
  encoder's posterior means of labelled real images (true labels); for a GAN (or a VAE without images)
  samples z ~ N(0, I) labelled by the evaluation classifier's argmax. f are classifier features.
- `class_edits`: start from generated images the classifier puts in class a; edit towards class b
  by the same arithmetic in two spaces, both scaled so strength 1 adds the full class-mean difference:
  latent  z' = z + s · (z̄_b − z̄_a);   feature  z' = M(C(G(z)) + s · (f̄_b − f̄_a)).
  **Edit success** = share of edited images the classifier predicts as b.
- `mapper_errors`: mapping error |M(f) − z|² and cycle consistency C(G(M(f))) vs f on fresh samples.
- `edit_quality`: for unit directions on a fixed batch, the slope of every attribute's mean change per
  unit strength, standardised by the attribute's spread on the batch; leakage = mean |standardised
  slope| of the other attributes over that of the target attribute (0: perfectly disentangled).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core import plots
from ..generate import labelled_latents
from ..models.classifier import predict
from ..models.mapper import map_features
from ..models.sampling import decode, first_layer, is_conditional, latent_size
from ..train.mapper import sample_pairs
from . import directions as latent
from .directions import ATTRIBUTES, Score, class_direction, edit, encode_latents, measure, unit

METHODS = ("latent", "feature")
EDIT_COLUMNS = ["source", "target", "method", "strength", "n", "success", "stayed", "pixel_change"]


@dataclass
class Reference:
    """Labelled latents that define class directions: z (N, D), features (N, F), labels (N,)."""
    z: torch.Tensor
    features: torch.Tensor
    labels: torch.Tensor
    source: str  # "encoder" (VAE posterior means of real images) or "classifier" (labelled samples)

    def directions(self, source: int, target: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(latent (D,), feature (F,)) class-mean differences target − source."""
        return (class_direction(self.z, self.labels, source, target),
                class_direction(self.features, self.labels, source, target))


@torch.no_grad()
def reference_set(model: nn.Module, classifier: nn.Module, *, images: torch.Tensor | None = None,
                  labels: torch.Tensor | None = None, n: int = 5000, seed: int = 0) -> Reference:
    """Class-direction reference: VAE encoder means of `images` (N, C, H, W) with `labels`, else n labelled samples."""
    if images is not None and callable(getattr(model, "encode", None)):
        z = encode_latents(model, images, labels)
        return Reference(z, predict(classifier, images, what="features"), labels.long(), "encoder")
    z, x, probs = labelled_latents(model, classifier, n, seed=seed)  # (n, D), (n, C, H, W), (n, K)
    return Reference(z, predict(classifier, x, what="features"), probs.argmax(1), "classifier")


def _num_classes(classifier: nn.Module, ref: Reference) -> int:
    return int(getattr(getattr(classifier, "cfg", None), "num_classes", 0) or int(ref.labels.max()) + 1)


@torch.no_grad()
def starting_points(model: nn.Module, classifier: nn.Module, n_per_class: int, num_classes: int, seed: int = 1,
                    max_draws: int = 20_000, classes: Iterable[int] | None = None) -> dict[int, torch.Tensor]:
    """Per class k (all, or `classes`), up to `n_per_class` latents (n_k, D) whose images the classifier labels k.

    Draws rounds of 2000 latents until every wanted class has enough or `max_draws` is reached (a class the
    model never generates gets an empty (0, D) tensor).
    """
    wanted = sorted(set(classes) if classes is not None else range(num_classes))
    g = torch.Generator().manual_seed(seed)
    found = {k: [torch.empty(0, latent_size(model))] for k in wanted}
    drawn = 0
    while drawn < max_draws and any(sum(len(t) for t in found[k]) < n_per_class for k in wanted):
        z, _, probs = labelled_latents(model, classifier, 2000, generator=g)  # (2000, D), ..., (2000, K)
        pred = probs.argmax(1)
        for k in wanted:
            found[k].append(z[pred == k])
        drawn += len(z)
    return {k: torch.cat(v)[:n_per_class] for k, v in found.items()}


@torch.no_grad()
def edited_latents(method: str, z: torch.Tensor, d_z: torch.Tensor, d_f: torch.Tensor, strength: float,
                   model: nn.Module, classifier: nn.Module, mapper: nn.Module | None,
                   features: torch.Tensor | None = None) -> torch.Tensor:
    """Latents (N, D) after a class edit of z (N, D) by `method` "latent" or "feature" (then needs `mapper`)."""
    if method == "latent":
        return edit(z, d_z, strength)
    if method != "feature":
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if mapper is None:
        raise ValueError("feature-space edits need a trained mapper")
    f = features if features is not None else predict(classifier, decode(model, z), what="features")  # (N, F)
    return map_features(mapper, edit(f, d_f, strength))


@torch.no_grad()
def class_edits(model: nn.Module, classifier: nn.Module, mapper: nn.Module | None, ref: Reference,
                pairs: Iterable[tuple[int, int]], strengths: Iterable[float], n_per_class: int = 50,
                seed: int = 1, methods: Iterable[str] = METHODS) -> pd.DataFrame:
    """Edit success per (source, target, method, strength): one row each, with the number of edits.

    Also `stayed`: share still predicted as the source class, and `pixel_change`: mean |x' − x| per pixel.
    """
    if is_conditional(model):
        raise ValueError("class edits of a conditional model are label changes; use an unconditional model")
    pairs, strengths, methods = list(pairs), [float(s) for s in strengths], list(methods)
    sources = sorted({a for a, _ in pairs})
    starts = starting_points(model, classifier, n_per_class, _num_classes(classifier, ref), seed, classes=sources)
    rows = []
    for a in sources:
        z0 = starts[a]
        if len(z0) == 0:
            continue
        x0 = decode(model, z0)
        f0 = predict(classifier, x0, what="features")
        combos = [(b, method, s) for b in [b for s_, b in pairs if s_ == a] for method in methods for s in strengths]
        zs = []
        for b, method, s in combos:  # all edits of this source in one decode / classify pass
            d_z, d_f = ref.directions(a, b)
            zs.append(edited_latents(method, z0, d_z, d_f, s, model, classifier, mapper, f0))
        x = decode(model, torch.cat(zs)).view(len(combos), len(z0), *x0.shape[1:])  # (combos, n, C, H, W)
        pred = predict(classifier, x.flatten(0, 1)).argmax(1).view(len(combos), len(z0))  # (combos, n)
        for (b, method, s), p, xi in zip(combos, pred, x):
            rows.append({"source": a, "target": b, "method": method, "strength": s, "n": len(z0),
                         "success": float((p == b).float().mean()), "stayed": float((p == a).float().mean()),
                         "pixel_change": float((xi - x0).abs().mean())})
    return pd.DataFrame(rows, columns=EDIT_COLUMNS)


def success_table(edits: pd.DataFrame) -> pd.DataFrame:
    """Mean edit success (over pairs, weighted by edits) per strength (rows) and method (columns)."""
    w = edits.assign(hits=edits["success"] * edits["n"])
    g = w.groupby(["strength", "method"])[["hits", "n"]].sum()
    return (g["hits"] / g["n"]).unstack("method")


@torch.no_grad()
def mapper_errors(model: nn.Module, classifier: nn.Module, mapper: nn.Module, n: int = 2000, seed: int = 12345
                  ) -> dict[str, float]:
    """Mapping and cycle errors of `mapper` on n fresh samples (seed distinct from training).

    Returns latent_mse (mean over dims of (M(f) − z)²), latent_r2 (1 − mse / var z), latent_cosine,
    cycle_relative (|C(G(M(f))) − f| / |f|), cycle_cosine, and class_kept (argmax of C on G(M(f)) equals
    that on G(z)).
    """
    z, f = sample_pairs(model, classifier, n, seed)
    z_hat = map_features(mapper, f)  # (n, D)
    x_hat = decode(model, z_hat)
    f_hat = predict(classifier, x_hat, what="features")  # (n, F)
    mse = float((z_hat - z).pow(2).mean())
    same = predict(classifier, x_hat).argmax(1) == predict(classifier, decode(model, z)).argmax(1)
    return {"latent_mse": mse, "latent_r2": 1.0 - mse / float(z.var(0).mean()),
            "latent_cosine": float(F.cosine_similarity(z_hat, z).mean()),
            "cycle_relative": float(((f_hat - f).norm(dim=1) / f.norm(dim=1).clamp_min(1e-8)).mean()),
            "cycle_cosine": float(F.cosine_similarity(f_hat, f).mean()),
            "class_kept": float(same.float().mean())}


# -- edit quality ----------------------------------------------------------------------------------------
def _scores_with_classes(images: torch.Tensor, scores: dict[str, Score], classifier: nn.Module | None,
                         class_names: tuple[str, ...] | None) -> dict[str, torch.Tensor]:
    out = measure(images, scores)
    if classifier is not None:
        probs = predict(classifier, images)  # (N, K)
        names = class_names or tuple(str(i) for i in range(probs.shape[1]))
        out.update({f"p_{n}": probs[:, i] for i, n in enumerate(names)})
    return out


@torch.no_grad()
def edit_quality(model: nn.Module, z: torch.Tensor, directions: dict[str, torch.Tensor], *,
                 targets: dict[str, str] | None = None, scores: dict[str, Score] | None = None,
                 classifier: nn.Module | None = None, class_names: tuple[str, ...] | None = None,
                 strengths: Iterable[float] = (-2, -1, 0, 1, 2), labels: torch.Tensor | None = None) -> pd.DataFrame:
    """Per direction (made unit length): target attribute, its change per unit strength, and leakage.

    Args:
        z: (N, D) fixed batch; labels: (N,) for a conditional model.
        directions: name -> (D,) vector; targets: name -> attribute it is meant to move (default: the
            attribute it moves most, in standardised units).
        scores: attributes measured (default `ATTRIBUTES`); with `classifier`, also p_<class> probabilities.
    Returns:
        one row per direction: target, effect (raw slope), effect_std (slope / attribute std), leakage,
        and a column `std_slope:<attribute>` per attribute. An attribute constant on the batch (e.g. ink of a
        model that draws blank images) has no std: its std_slope is NaN, it is never a default target nor
        counted in leakage, and a direction aimed at it gets NaN effect_std and leakage (not a division by ~0).
    """
    scores = scores if scores is not None else ATTRIBUTES
    strengths = np.array([float(s) for s in strengths])
    base = _scores_with_classes(decode(model, z, labels), scores, classifier, class_names)
    spread = {k: float(v.std()) for k, v in base.items()}
    # a score constant on the batch has no standardised slope; a list in `base`'s order, so sums never depend on
    # string hashing (a set's order changes between processes, and with it the last digit of the leakage)
    varies = [k for k, sd in spread.items() if sd > 1e-6]
    rows = []
    for name, d in directions.items():
        u = unit(d.to(z.dtype))
        zs = torch.cat([edit(z, u, s) for s in strengths])  # (S·N, D), one decode / score pass
        lab = None if labels is None else labels.repeat(len(strengths))
        m = _scores_with_classes(decode(model, zs, lab), scores, classifier, class_names)
        means = {k: (m[k].view(len(strengths), -1) - base[k]).mean(1).tolist() for k in base}
        slope = {k: float(np.polyfit(strengths, v, 1)[0]) for k, v in means.items()}
        std_slope = {k: slope[k] / spread[k] if k in varies else float("nan") for k in base}
        target = (targets or {}).get(name) or max(varies or base, key=lambda k: abs(np.nan_to_num(std_slope[k])))
        others = [abs(std_slope[k]) for k in varies if k != target]
        leak = float("nan") if target not in varies else (
            float(np.mean(others) / max(abs(std_slope[target]), 1e-12)) if others else 0.0)
        rows.append({"direction": name, "target": target, "effect": slope[target], "effect_std": std_slope[target],
                     "leakage": leak, **{f"std_slope:{k}": v for k, v in std_slope.items()}})
    return pd.DataFrame(rows)


# -- figures ----------------------------------------------------------------------------------------------
@torch.no_grad()
def edit_figure(model: nn.Module, classifier: nn.Module, mapper: nn.Module | None, ref: Reference, source: int,
                target: int, strengths: Iterable[float], n: int = 4, seed: int = 1, class_names=None):
    """Grid: for n starting images of class `source`, one row per method, columns = strengths."""
    strengths = [float(s) for s in strengths]
    z0 = starting_points(model, classifier, n, _num_classes(classifier, ref), seed, classes=[source])[source]
    d_z, d_f = ref.directions(source, target)
    src = class_names[source] if class_names else source
    tgt = class_names[target] if class_names else target
    if len(z0) == 0:  # the model produced no starting image of that class: say so instead of drawing nothing
        fig, ax = plt.subplots(figsize=(5, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, f"no sample labelled {src} by the classifier: nothing to edit", ha="center", va="center")
        return fig
    methods = [m for m in METHODS if m == "latent" or mapper is not None]
    rows, names = [], []
    for i in range(len(z0)):
        for method in methods:
            zs = torch.cat([edited_latents(method, z0[i:i + 1], d_z, d_f, s, model, classifier, mapper)
                            for s in strengths])
            rows.append(decode(model, zs))
            names.append(f"{method} #{i}")
    title = f"{src} → {tgt}, strengths {', '.join(f'{s:g}' for s in strengths)}"
    return plots.image_grid(torch.cat(rows), nrow=len(strengths), title=title, row_labels=names)


@torch.no_grad()
def direction_set(model: nn.Module, classifier: nn.Module, ref: Reference, *, source: int, target: int,
                  k: int = 5, n: int = 2000, seed: int = 0, class_names: tuple[str, ...] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Unit directions of every kind for `model`, and the attribute each is meant to move.

    class (target − source, from `ref`), attribute (regression of each `ATTRIBUTES` score and of the
    classifier's p(target) on n seeded samples), SeFa and PCA (top k, from the model's `first_layer`).
    """
    names = class_names or tuple(str(i) for i in range(_num_classes(classifier, ref)))
    dirs = {f"class:{names[source]}->{names[target]}": unit(ref.directions(source, target)[0])}
    targets = {next(iter(dirs)): f"p_{names[target]}"}
    z, images, probs = labelled_latents(model, classifier, n, seed=seed)
    scores = {**measure(images, ATTRIBUTES), f"p_{names[target]}": probs[:, target]}
    for name, s in scores.items():
        dirs[f"attr:{name}"], targets[f"attr:{name}"] = latent.attribute_direction(z, s)[0], name
    weight, act = first_layer(model)
    for i, d in enumerate(latent.sefa_directions(weight, k)[0]):
        dirs[f"sefa:{i}"] = d
    for i, d in enumerate(latent.pca_directions(z, act(z.to(weight.device)).cpu(), k)[0]):
        dirs[f"pca:{i}"] = d
    return dirs, targets


@torch.no_grad()
def direction_grid(model: nn.Module, z: torch.Tensor, directions: dict[str, torch.Tensor], strengths: Iterable[float],
                   labels: torch.Tensor | None = None, title: str | None = None):
    """Grid: one row per direction, columns = strengths, all from the single latent z (1, D)."""
    strengths = [float(s) for s in strengths]
    rows = [decode(model, torch.cat([edit(z, unit(d), s) for s in strengths]),
                   None if labels is None else labels.expand(len(strengths))) for d in directions.values()]
    return plots.image_grid(torch.cat(rows), nrow=len(strengths), title=title, row_labels=list(directions))
