"""Run directories and records: every number is stored with its protocol in `metrics.json`."""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy
import pandas as pd
import torch

from . import paths
from .runtime import atomic_write_json
from .version import __version__

METRICS_FILE = "metrics.json"


def versions() -> dict[str, str]:
    """Versions of the packages that determine a number."""
    return {"labkit": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def run_dir(path: str | Path | None = None, name: str = "run") -> Path:
    """The given directory, or a new timestamped one under `runs/`; created either way."""
    if path is None or str(path) == "":
        path = paths.runs_dir() / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read(run: Path) -> dict:
    f = run / METRICS_FILE
    if not f.exists():
        return {"records": [], "artifacts": {}}
    return json.loads(f.read_text())


def record(run: str | Path, metric: str, value: Any, *, std: float | None = None, **protocol: Any) -> dict:
    """Append one number (with its ± and protocol fields) to `<run>/metrics.json`, atomically.

    A record with the same metric and protocol replaces the old one, so re-running a cell is idempotent.
    """
    run = Path(run)
    doc = _read(run)
    entry = {"metric": metric, "value": _plain(value), "std": _plain(std), **{k: _plain(v) for k, v in protocol.items()}}
    doc["records"] = [r for r in doc["records"]
                      if {k: v for k, v in r.items() if k not in ("value", "std", "recorded_at")}
                      != {k: v for k, v in entry.items() if k not in ("value", "std")}]
    entry["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    doc["records"].append(entry)
    doc.setdefault("versions", versions())
    atomic_write_json(doc, run / METRICS_FILE)
    return entry


def record_all(run: str | Path, records, **common: Any) -> int:
    """Write every `MetricRecord` of `records` to `<run>/metrics.json` with the `common` protocol fields added
    (a record's own fields win); returns how many were written. One call per notebook."""
    n = 0
    for rec in records:
        record(run, rec.metric, rec.value, std=rec.std, **{**common, **rec.protocol})
        n += 1
    return n


def record_artifact(run: str | Path, key: str, path: str | Path) -> None:
    """Name a file the run produced (a checkpoint, a figure) so later notebooks can find it by key."""
    run = Path(run)
    doc = _read(run)
    doc.setdefault("artifacts", {})[key] = str(Path(path).resolve())
    doc.setdefault("versions", versions())
    atomic_write_json(doc, run / METRICS_FILE)


def artifacts(run: str | Path) -> dict[str, str]:
    """The artefacts a run recorded, key -> absolute path."""
    return _read(Path(run)).get("artifacts", {})


def load_records(root: str | Path | None = None) -> pd.DataFrame:
    """Every record of every `metrics.json` below `root` (default `runs/`), one row each, with its run."""
    root = Path(root) if root else paths.runs_dir()
    rows = []
    for f in sorted(root.rglob(METRICS_FILE)):
        doc = json.loads(f.read_text())
        for r in doc.get("records", []):
            rows.append({"run": str(f.parent.relative_to(root)) if f.parent != root else ".", **r})
    return pd.DataFrame(rows)


def _plain(v: Any) -> Any:
    """Numbers and arrays to JSON-safe Python values."""
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, tuple):
        return list(v)
    return v
