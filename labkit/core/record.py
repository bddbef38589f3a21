"""A metric value with its ± and the protocol that produced it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .runs import record


@dataclass(frozen=True)
class MetricRecord:
    """One number with its protocol.

    Args:
        metric: name that carries its protocol where it matters (`fid`, `fid_5k`, `gan_train`).
        value: the mean over `values` (or the single value); for an `error` record, why there is no value.
        std: ± (over repeats, or as the metric defines it); NaN when there is a single repeat.
        values: the individual repeats.
        protocol: extractor (+ weights id), n_real, n_fake, split, seed, repeats, ...
    """

    metric: str
    value: float | str
    std: float = float("nan")
    values: tuple[float, ...] = ()
    protocol: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_values(cls, metric: str, values, **protocol) -> "MetricRecord":
        """Mean and sample std (ddof 1; NaN for one value) of repeats."""
        v = np.asarray(list(values), dtype=np.float64)
        std = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
        return cls(metric, float(v.mean()), std, tuple(float(x) for x in v), {"repeats": len(v), **protocol})

    def record(self, run) -> dict:
        """Append to `<run>/metrics.json` through `labkit.core.runs.record`."""
        return record(run, self.metric, self.value, std=self.std, **self.protocol)


def records_table(records, row: str = "model") -> pd.DataFrame:
    """A view of records: one row per value of the protocol field `row`, columns `<metric>` and `<metric>_std`
    in the order the records come, and `error` holding the reason of a row that was not evaluated."""
    rows: dict[Any, dict[str, Any]] = {}
    for rec in records:
        key = rec.protocol.get(row)
        cells = rows.setdefault(key, {})
        if rec.metric == "error":
            cells["error"] = rec.value
        else:
            cells[rec.metric], cells[f"{rec.metric}_std"] = rec.value, rec.std
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = row
    return table


def format_mean_std(value: Any, std: Any = None, digits: int = 4) -> str:
    """'0.8421 ± 0.013': `digits` significant digits, the ± with two; the mean alone when std is NaN or None,
    plain text for non-numbers, '' for a missing value."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return "" if value is None else str(value)
    if value != value:
        return ""
    v = f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:.0f}"
    return f"{v} ± {std:.2g}" if std is not None and std == std else v


def tagged(records: Iterable[MetricRecord], experiment: str, **fields: Any) -> list[MetricRecord]:
    """The records with `experiment` (and `fields`) in their protocol: how the report finds an experiment's numbers."""
    return [MetricRecord(r.metric, r.value, r.std, r.values, {**r.protocol, "experiment": experiment, **fields})
            for r in records]
