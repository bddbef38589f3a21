"""The evidence behind the verdicts, as figures: samples by class, nearest training images, class shares,
PRD curves and where each model sits against the calibration."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..core.plots import image_grid, per_class_grid
from ..metrics.prd import prd
from .verdicts import LABELS, TITLES, VERDICTS

COLOURS = {"yes": "#c0392b", "unclear": "#e67e22", "no": "#27ae60"}


def sample_grid(result, per_class: int = 8):
    """Samples grouped by the classifier's label, one row per class (an empty row: a class never drawn)."""
    images = result.samples.images
    return per_class_grid(images.float(), torch.from_numpy(result.measured.predicted), images.class_names,
                          n=per_class, title=f"{result.samples.name}: samples by class")


def nearest_pairs(result, space, count: int = 10):
    """The samples closest to a training image (top row) above that training image (bottom row)."""
    d = result.measured.facts.nn_distance
    order = np.argsort(d, kind="stable")[:count]
    top = result.samples.images.float()[torch.from_numpy(order)]
    bottom = space.real.train.float()[torch.from_numpy(result.measured.facts.nn_index[order])]
    fig = image_grid(torch.cat([top, bottom]), nrow=len(order),
                     title=f"{result.samples.name}: closest samples (top) and their nearest training images")
    held = np.median(space.copying.held_out_distances)
    fig.axes[0].set_xlabel("distance ÷ held-out median: " + "  ".join(f"{x / held:.2f}" for x in d[order]),
                           fontsize=7)
    return fig


def class_histogram(evaluation):
    """Class shares of every model beside the reference's."""
    names = evaluation.space.real.compare.class_names
    series = {"reference": evaluation.space.reference_shares,
              **{m: r.measured.shares for m, r in evaluation.models.items()}}
    fig, ax = plt.subplots(figsize=(max(6, len(names) * 0.8), 3.2))
    width = 0.8 / len(series)
    for i, (label, shares) in enumerate(series.items()):
        ax.bar(np.arange(len(names)) + (i - (len(series) - 1) / 2) * width, shares, width, label=label,
               color="#888" if label == "reference" else None)
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("share of samples")
    ax.set_title("Class shares by the classifier's labels (reference: held-out real images)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def prd_curves(evaluation, seed: int = 0, runs: int = 5):
    """PRD curves (Sajjadi et al. 2018) of every model against the compare half, in the evaluation's space."""
    real = evaluation.space.compare
    fig, ax = plt.subplots(figsize=(4, 4))
    for name, r in evaluation.models.items():
        fake = r.measured.features
        n = min(len(real), len(fake))
        pick = np.random.default_rng(seed).choice(len(real), n, replace=False)
        curve = prd(real[np.sort(pick)], fake[:n], num_runs=runs, seed=seed)
        ax.plot(curve.recall, curve.precision, label=f"{name} (F8 {curve.f_beta:.2f}, F1/8 {curve.f_beta_inv:.2f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"PRD ({evaluation.protocol['extractor']} features)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def calibration_chart(evaluation):
    """Per verdict: the real band (green), the damaged anchor (red line) and each model's deciding statistic."""
    fig, axes = plt.subplots(len(VERDICTS), 1, figsize=(7, 1.3 * len(VERDICTS) + 0.4))
    for ax, kind in zip(axes, VERDICTS):
        band = evaluation.bands[kind]
        values = {m: r.measured.values[band.statistic] for m, r in evaluation.models.items()}
        finite = [v for v in values.values() if np.isfinite(v)] + [band.anchor, band.real_low, band.real_mean + 3 * band.real_std]
        lo, hi = min(finite), max(finite)
        pad = 0.1 * (hi - lo or 1)
        ax.axvspan(band.real_low, band.real_mean + 3 * band.real_std, color="#27ae60", alpha=0.25, label="real images")
        ax.axvline(band.anchor, color="#c0392b", lw=2, label=band.damage)
        for i, (m, v) in enumerate(values.items()):
            verdict = evaluation.models[m].diagnosis[kind].verdict
            ax.plot([v], [0.2 + 0.6 * i / max(len(values) - 1, 1)], "o", color=COLOURS[verdict])
            ax.annotate(m, (v, 0.2 + 0.6 * i / max(len(values) - 1, 1)), fontsize=7, xytext=(4, 0),
                        textcoords="offset points", va="center")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        ax.set_title(f"{TITLES[kind]}: {LABELS[band.statistic]}", fontsize=9, loc="left")
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig
