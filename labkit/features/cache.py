"""On-disk cache of reference-set features, keyed by a hash of everything that determines them.

The key covers the image bytes themselves (so a changed subset, split, size or dataset version can
never hit an old entry), the dataset's description, the extractor's identity (name, weights sha256,
preprocessing) and what was extracted. Entries are written atomically and carry their key, which is
checked again on reading.
"""
from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core import paths
from ..core.runtime import atomic_write_bytes
from . import extract

CACHE_VERSION = 1


def images_sha256(images: torch.Tensor) -> str:
    """sha256 of an image tensor's dtype, shape and bytes."""
    t = images.detach().cpu().contiguous()
    h = hashlib.sha256(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.numpy().tobytes())
    return h.hexdigest()


def cache_key(fields: dict[str, Any]) -> str:
    """Hex sha256 of a JSON dict (sorted keys): the cache entry name."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _fields(dataset, extractor, what: str) -> dict[str, Any]:
    return {"version": CACHE_VERSION, "what": what, "extractor": getattr(extractor, "identity", None),
            "dataset": dataset.describe(), "images_sha256": images_sha256(dataset.images)}


def cached_features(dataset, extractor, *, what: str = "features", cache_dir: str | Path | None = None,
                    enabled: bool = True, **extract_kwargs) -> np.ndarray:
    """Features (N, D) of an `ImageDataset` through `extractor`, read from the cache or computed and stored.

    Args:
        dataset: the (real, reference) `ImageDataset`.
        extractor: a module from `labkit.features.get_extractor` (needs an `identity` dict).
        what: `features` or `probs`.
        cache_dir: default `$LABKIT_CACHE` (or `<data>/cache`).
        enabled: False skips the cache entirely.
        extract_kwargs: `batch_size`, `device`, `progress` for `labkit.features.extract`.
    """
    if not enabled or getattr(extractor, "identity", None) is None:
        return extract(extractor, dataset.float(), what=what, **extract_kwargs)
    fields = _fields(dataset, extractor, what)
    key = cache_key(fields)
    path = Path(cache_dir or paths.cache_dir()) / "features" / f"{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["key"]) == key and json.loads(str(z["fields"])) == json.loads(json.dumps(fields, default=str)):
                    return z["features"]
        except Exception as e:  # truncated, empty or flipped bytes: zipfile, zlib, EOF and value errors
            warnings.warn(f"feature cache entry {path} is damaged ({type(e).__name__}: {e}); deleted, recomputing",
                          stacklevel=2)
            path.unlink(missing_ok=True)
    feats = extract(extractor, dataset.float(), what=what, **extract_kwargs)
    buf = io.BytesIO()
    np.savez(buf, features=feats, key=np.array(key), fields=np.array(json.dumps(fields, sort_keys=True, default=str)))
    atomic_write_bytes(buf.getvalue(), path)
    return feats
