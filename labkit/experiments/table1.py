"""The VAE paper's Table 1 as `metrics.evaluate` records: its rows' sources and the row-by-row evaluation.

Table 1 (Leontev et al.) has the real-images row and five VAE rows: VAE + hard labels, + soft labels,
conditional VAE, perceptual loss (soft labels), and soft labels with confidence ≥ 0.9. Each row is a
source `seed -> ImageDataset`, so every repeat draws a fresh class-balanced generated set.
"""
from __future__ import annotations

import warnings
from typing import Callable, Mapping

import torch
import torch.nn as nn

from .. import data, generate
from ..core.record import MetricRecord, tagged
from ..data.dataset import ImageDataset
from ..metrics import names
from ..metrics.evaluate import ALL_METRICS, EvalSettings, EvalSpace, evaluate

Source = Callable[[int], ImageDataset]

FIGURE_METRICS = ("lap", "is", "fid", "prd_f8", "prd_f1_8", "recall", "gan_train", "gan_test")  # the figure's panels
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


def table1(rows: Mapping[str, Source], reference: ImageDataset, space: EvalSpace,
           settings: EvalSettings = EvalSettings(), metrics: tuple[str, ...] = ALL_METRICS
           ) -> tuple[list[MetricRecord], list[str]]:
    """`metrics.evaluate` row by row, each record tagged `experiment="table1"`, with the warnings raised.

    Args:
        rows: name -> source (`table1_sources`, or any source `metrics.evaluate` takes).
        reference: the real test set. space, settings, metrics: as for `metrics.evaluate`.
    Returns:
        (records, the distinct warning messages, e.g. CMMD skipped or a model that cannot produce some class).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = [rec for name, src in rows.items() for rec in evaluate({name: src}, reference, space, settings,
                                                                          metrics)]
    return tagged(records, "table1"), list(dict.fromkeys(str(w.message) for w in caught))
