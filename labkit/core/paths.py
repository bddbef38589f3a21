"""Where labkit keeps data, runs and weights; each place can be moved by an environment variable."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """Writable data directory: `$LABKIT_DATA` if set, else `<project>/data`."""
    return Path(os.environ.get("LABKIT_DATA") or PROJECT_ROOT / "data")


def runs_dir() -> Path:
    """Root of run directories: `$LABKIT_RUNS` if set, else `<project>/runs`."""
    return Path(os.environ.get("LABKIT_RUNS") or PROJECT_ROOT / "runs")


def weights_dir() -> Path:
    """Where pretrained weight files (Inception, CLIP, LPIPS) are looked for: `$LABKIT_WEIGHTS`."""
    return Path(os.environ.get("LABKIT_WEIGHTS") or data_dir() / "weights")


def cache_dir() -> Path:
    """Feature caches: `$LABKIT_CACHE` if set, else `<data>/cache`."""
    return Path(os.environ.get("LABKIT_CACHE") or data_dir() / "cache")


def offline() -> bool:
    """True when downloads are forbidden (`LABKIT_OFFLINE=1`); tests set it."""
    return os.environ.get("LABKIT_OFFLINE", "") not in ("", "0", "false")
