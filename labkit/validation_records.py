"""Records of the metric-validation experiments (notebook 06): each result table as `metrics.json` rows.

One function per experiment of `labkit.validation` and `labkit.memorisation`; every row carries the
protocol fields given as keywords (dataset, seed, sizes, generator, ...) besides its own key (the
degraded model, i, the latent scale, the training set).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from . import runs
from .memorisation import MemorisationReport

CLASS_SUBSET_METRICS = ("is", "fid", "prd_f8", "prd_f1_8", "precision", "recall", "density", "coverage")
TRUNCATION_METRICS = ("fid", "prd_f8", "prd_f1_8", "precision", "recall", "gan_train", "gan_test")
FIGURES = ("degradation_heatmap", "class_subset", "truncation", "nn_pairs_closest", "nn_pairs_random",
           "nn_distances")


def record_degradations(run: str | Path, table: pd.DataFrame, metrics: Sequence[str], **protocol: Any) -> None:
    """`degradation_<metric>` per degraded model (row of `degradation_study`), with its `<metric>_std`; missing
    values are skipped."""
    for name, row in table.iterrows():
        for m in metrics:
            if m in row and pd.notna(row[m]):
                runs.record(run, f"degradation_{m}", row[m], std=row.get(f"{m}_std"), model=name, **protocol)


def record_class_subsets(run: str | Path, table: pd.DataFrame, metrics: Sequence[str] = CLASS_SUBSET_METRICS,
                         **protocol: Any) -> None:
    """`class_subset_<metric>` per i (row of `class_subset_experiment`)."""
    for i, row in table.iterrows():
        for m in metrics:
            runs.record(run, f"class_subset_{m}", row[m], i=i, **protocol)


def record_truncation(run: str | Path, table: pd.DataFrame, metrics: Sequence[str] = TRUNCATION_METRICS,
                      **protocol: Any) -> None:
    """`truncation_<metric>` per latent scale (row of `truncation_sweep`); missing values are skipped."""
    for _, row in table.iterrows():
        for m in metrics:
            if m in row and pd.notna(row[m]):
                runs.record(run, f"truncation_{m}", row[m], truncation=row["truncation"], **protocol)


def record_augmentation(run: str | Path, table: pd.DataFrame, **protocol: Any) -> None:
    """`augmentation_accuracy`: mean ± std over seeds per training set (rows of `augmentation`)."""
    for name, g in table.groupby("training_set"):
        runs.record(run, "augmentation_accuracy", g["accuracy"].mean(), std=g["accuracy"].std(), training_set=name,
                    **protocol)


def record_memorisation(run: str | Path, report: MemorisationReport, **protocol: Any) -> None:
    """The scalars of `MemorisationReport.summary` (nn_share_close, nn_median_ratio, ...)."""
    for m, v in report.summary().items():
        runs.record(run, m, v, **protocol)


def record_figures(run: str | Path, names: Iterable[str] = FIGURES) -> None:
    """Name `<run>/<name>.png` as artefact `name` for each figure that exists (skipped experiments have none)."""
    run = Path(run)
    for f in names:
        if (run / f"{f}.png").exists():
            runs.record_artifact(run, f, run / f"{f}.png")
