"""The VAE paper's Table 1 as `metrics.evaluate` rows: its sources, the row-by-row evaluation, display and figure.

Table 1 (Leontev et al.) has the real-images row and five VAE rows: VAE + hard labels, + soft labels,
conditional VAE, perceptual loss (soft labels), and soft labels with confidence ≥ 0.9. Each row is a
source `seed -> ImageDataset`, so every repeat draws a fresh class-balanced generated set.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Mapping

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn as nn

from . import data, generate
from .data.dataset import ImageDataset
from .metrics import names
from .metrics.evaluate import evaluate

Source = Callable[[int], ImageDataset]

# Display order of the evaluate columns; FID-small is named by its size (`fid_5k`), added by `metric_columns`.
COLUMNS = ("lap", "is", "fid", "fid_small", "kid", "prd_f8", "prd_f1_8", "precision", "recall", "density", "coverage",
           "cmmd", "gan_train", "gan_test")
FIGURE_COLUMNS = ("lap", "is", "fid", "prd_f8", "prd_f1_8", "recall", "gan_train", "gan_test")
RENAMES = names.VAE_PAPER_NAMES  # Table 1 calls GAN-train / GAN-test VAE-train / VAE-test


def labelled_source(model: nn.Module, classifier: nn.Module, n_per_class: int, name: str,
                    min_confidence: float | None = None, **kw) -> Source:
    """A fresh class-balanced generated set per repeat seed; with `min_confidence`, only the confident images.

    The confidence filter is applied after balancing (to each generated set, as in the paper's row 5), so
    the kept set is no longer balanced; `kw` goes to `labkit.generate.generate` (e.g. `labels="soft"`).
    """
    def draw(seed: int) -> ImageDataset:
        ds = generate.generate(model, n_per_class, classifier=classifier, seed=seed, name=name, **kw)
        if min_confidence is not None:
            ds = ds.subset(torch.nonzero(ds.soft_labels.max(1).values >= min_confidence).flatten())
        return ds
    return draw


def table1_sources(vae: Mapping[str, nn.Module], classifier: nn.Module, *, dataset: str, n_per_class: int,
                   n_real_per_class: int, min_confidence: float = 0.9) -> dict[str, Source]:
    """The rows of Table 1 that the given VAEs allow, in the paper's order.

    Args:
        vae: variant ("plain", "conditional", "perceptual") -> trained VAE; missing variants drop their rows.
        classifier: labels unconditional samples (hard or soft).
        dataset: the real-images row draws `n_real_per_class` training images per class (seed 1000 + repeat seed).
        n_per_class: generated images per class per repeat.
        min_confidence: row 5's threshold on the classifier's top probability.
    """
    def src(model, name, **kw):
        return labelled_source(model, classifier, n_per_class, name, **kw)

    rows: dict[str, Source] = {"real images": lambda s: data.load(dataset, "train", n_per_class=n_real_per_class,
                                                                  seed=1000 + s)}
    if "plain" in vae:
        rows["1 VAE + hard labels"] = src(vae["plain"], "vae-hard", labels="hard")
        rows["2 VAE + soft labels"] = src(vae["plain"], "vae-soft", labels="soft")
    if "conditional" in vae:
        rows["3 conditional VAE"] = src(vae["conditional"], "cvae")
    if "perceptual" in vae:
        rows["4 VAE + soft labels + perceptual loss"] = src(vae["perceptual"], "vae-perceptual", labels="soft")
    if "plain" in vae:
        rows[f"5 VAE + soft labels + confidence ≥ {min_confidence}"] = src(
            vae["plain"], "vae-confident", labels="soft", min_confidence=min_confidence)
    return rows


def evaluate_rows(rows: Mapping[str, Any], reference: ImageDataset, **settings) -> tuple[pd.DataFrame, list[str]]:
    """`metrics.evaluate` row by row (each row's protocol in its records), concatenated, with the warnings raised.

    Args:
        rows: name -> source (see `metrics.evaluate`).
        reference: the real test set.
        settings: the other `metrics.evaluate` arguments (classifier=, n_fake=, repeats=, ...).
    Returns:
        (DataFrame with `attrs["records"]`, the distinct warning messages, e.g. CMMD skipped or a model that
        cannot produce some class).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parts = [evaluate({name: src}, reference, **settings) for name, src in rows.items()]
    df = pd.concat(parts) if parts else pd.DataFrame()
    df.attrs["records"] = [r for p in parts for r in p.attrs["records"]]
    return df, list(dict.fromkeys(str(w.message) for w in caught))


def metric_columns(df: pd.DataFrame, n_small: int | None = None) -> list[str]:
    """The metric columns present in an evaluate table, in display order (`fid_small` named by `n_small`)."""
    small = (f"fid_{n_small // 1000}k" if n_small % 1000 == 0 else f"fid_{n_small}") if n_small else ""
    return [small if c == "fid_small" else c for c in COLUMNS if (small if c == "fid_small" else c) in df]


def column_labels(df: pd.DataFrame, renames: Mapping[str, str] | None = None) -> dict[str, str]:
    """Metric -> column label carrying the feature space its records name (`FID (C1)`, `VAE-train`).

    Args:
        df: an evaluate table with `attrs["records"]`; metrics without records keep their own name.
        renames: metric -> bare name replacing the usual one (Table 1's `gan_train` is `VAE-train`).
    """
    renames = renames or {}
    out = {}
    for rec in df.attrs.get("records", []):
        field = names.metric_name(rec.metric).space_field
        out[rec.metric] = names.label(rec.metric, rec.protocol.get(field) if field else None, renames.get(rec.metric))
    return out


def shown(df: pd.DataFrame, columns: list[str], digits: int = 4, renames: Mapping[str, str] | None = None
          ) -> pd.DataFrame:
    """`mean ± std` strings for the given metric columns (mean alone when std is NaN), under their labels.

    A model that was not evaluated shows empty cells and its reason in a `not evaluated` column.
    """
    labels = column_labels(df, renames)
    cell = lambda m, s: "" if m != m else f"{m:.{digits}g} ± {s:.2g}" if s == s else f"{m:.{digits}g}"  # noqa: E731
    out = pd.DataFrame({labels.get(c, c): [cell(m, s) for m, s in zip(df[c], df[f"{c}_std"])] for c in columns},
                       index=df.index)
    if "error" in df and df["error"].notna().any():
        out[names.label("error")] = df["error"].fillna("")
    return out


def bar_figure(df: pd.DataFrame, columns: list[str], title: str, renames: Mapping[str, str] | None = None):
    """One horizontal bar panel per metric (titled by its label), rows as bars, ± as error bars; returns the figure."""
    columns = [c for c in columns if c in df] or [c for c in COLUMNS if c in df][:1]
    labels = column_labels(df, renames)
    fig, axes = plt.subplots(1, len(columns), figsize=(2.6 * len(columns), 0.4 * len(df) + 2), sharey=True,
                             squeeze=False)
    for ax, c in zip(axes[0], columns):
        std = df[f"{c}_std"].fillna(0) if f"{c}_std" in df else None
        ax.barh(range(len(df)), df[c], xerr=std, color="tab:blue")
        ax.set_title(labels.get(c, c), fontsize=9)
    axes[0, 0].set_yticks(range(len(df)), df.index, fontsize=8)
    axes[0, 0].invert_yaxis()
    fig.suptitle(title)
    fig.tight_layout()
    return fig
