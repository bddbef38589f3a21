"""A metric value with its ± and the protocol that produced it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
        """Append to `<run>/metrics.json` through `labkit.runs.record`."""
        from ..runs import record
        return record(run, self.metric, self.value, std=self.std, **self.protocol)
