"""Records for reading in a notebook: a table of `mean ± std` cells and a bar figure, columns under the labels of
`labkit.metrics.names` (the feature space a record names is in its label: `FID (C1)`)."""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd

from ..core.record import MetricRecord, format_mean_std, records_table
from ..metrics import names


def column_labels(records: Iterable[MetricRecord], renames: Mapping[str, str] | None = None) -> dict[str, str]:
    """Metric -> column label carrying the space its records name; `renames` replaces bare names (VAE-train)."""
    renames = renames or {}
    out = {}
    for rec in records:
        field = names.metric_name(rec.metric).space_field
        out[rec.metric] = names.label(rec.metric, rec.protocol.get(field) if field else None, renames.get(rec.metric))
    return out


def metric_order(records: Iterable[MetricRecord]) -> list[str]:
    """The metrics of `records` (errors aside) in display order (`names.order_key`)."""
    return sorted({r.metric for r in records if r.metric != "error"}, key=names.order_key)


def shown(records: Sequence[MetricRecord], row: str = "model", metrics: Sequence[str] | None = None,
          renames: Mapping[str, str] | None = None, digits: int = 4) -> pd.DataFrame:
    """`mean ± std` cells per row and metric (all, or `metrics`, in display order), under their labels.

    A row that was not evaluated shows empty cells and its reason in a `not evaluated` column.
    """
    table = records_table(records, row)
    labels = column_labels(records, renames)
    columns = [m for m in (metrics or metric_order(records)) if m in table]
    out = pd.DataFrame({labels[m]: [format_mean_std(v, s, digits) for v, s in zip(table[m], table[f"{m}_std"])]
                        for m in columns}, index=table.index)
    if "error" in table and table["error"].notna().any():
        out[names.label("error")] = table["error"].fillna("")
    return out


def bar_figure(records: Sequence[MetricRecord], metrics: Sequence[str], title: str, row: str = "model",
               renames: Mapping[str, str] | None = None):
    """One horizontal bar panel per metric (titled by its label), rows as bars, ± as error bars; returns the figure."""
    table = records_table(records, row)
    labels = column_labels(records, renames)
    columns = [m for m in metrics if m in table] or metric_order(records)[:1]
    fig, axes = plt.subplots(1, len(columns), figsize=(2.6 * len(columns), 0.4 * len(table) + 2), sharey=True,
                             squeeze=False)
    for ax, c in zip(axes[0], columns):
        ax.barh(range(len(table)), table[c], xerr=table[f"{c}_std"].fillna(0), color="tab:blue")
        ax.set_title(labels.get(c, c), fontsize=9)
    axes[0, 0].set_yticks(range(len(table)), table.index, fontsize=8)
    axes[0, 0].invert_yaxis()
    fig.suptitle(title)
    fig.tight_layout()
    return fig
