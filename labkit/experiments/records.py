"""Records of the metric-validation experiments (notebook 06), named and tagged for the report.

Each experiment's numbers keep the name prefix the report has always shown (`degradation_fid`,
`class_subset_recall`, `truncation_precision`) and carry `experiment=` in their protocol, which is how the
report finds them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from ..core import runs
from ..core.record import MetricRecord, tagged
from .memorisation import MemorisationReport

FIGURES = ("degradation_heatmap", "class_subset", "equal_fid_prd", "equal_fid_classes", "truncation",
           "nn_pairs_closest", "nn_pairs_random", "nn_distances", "tsne")


def prefixed(records: Iterable[MetricRecord], experiment: str, **fields: Any) -> list[MetricRecord]:
    """`<experiment>_<metric>` records tagged `experiment`, with `fields` added (errors keep their name)."""
    out = [MetricRecord(r.metric if r.metric == "error" else f"{experiment}_{r.metric}", r.value, r.std, r.values,
                        r.protocol) for r in records]
    return tagged(out, experiment, **fields)


def augmentation_records(table: pd.DataFrame, **fields: Any) -> list[MetricRecord]:
    """`augmentation_accuracy`: mean ± std over seeds per training set (rows of `augmentation`)."""
    return tagged([MetricRecord("augmentation_accuracy", float(g["accuracy"].mean()), float(g["accuracy"].std()),
                                tuple(g["accuracy"]), {"training_set": name})
                   for name, g in table.groupby("training_set")], "augmentation", **fields)


def memorisation_records(report: MemorisationReport, **fields: Any) -> list[MetricRecord]:
    """The scalars of `MemorisationReport.summary` (nn_share_close, nn_median_ratio, ...)."""
    return tagged([MetricRecord(m, v) for m, v in report.summary().items()], "memorisation", **fields)


def record_figures(run: str | Path, names: Sequence[str] = FIGURES) -> None:
    """Name `<run>/<name>.png` as artefact `name` for each figure that exists (skipped experiments have none)."""
    run = Path(run)
    for f in names:
        if (run / f"{f}.png").exists():
            runs.record_artifact(run, f, run / f"{f}.png")
