"""Checkpoints: configs + weights + optimiser + RNG state + position, written atomically; no pickled code.

A checkpoint holds only tensors, numbers, strings, tuples, lists and dicts, and is read with torch's
`weights_only` unpickler, which refuses anything else: a file that would run code when loaded is rejected
before any of it runs. Checkpoints of labkit 0.1 stored NumPy's RNG state as an array; that one array
type is allowed on reading so they keep loading.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..core.runtime import atomic_save
from .registry import MODELS, from_spec, model_spec

CHECKPOINT_VERSION = 1

# NumPy arrays (the RNG state of labkit 0.1 checkpoints) are rebuilt from dtype, shape and bytes: no code runs.
_NUMPY_ARRAY_GLOBALS = [np.ndarray, np.dtype, np.zeros(1).__reduce__()[0], type(np.dtype(np.uint32))]


class UnsafeCheckpointError(ValueError):
    """A checkpoint needs more than tensors and plain data to load: it may contain code, so it is refused."""


def save_models(path: str | Path, modules: dict[str, nn.Module], **extra: Any) -> Path:
    """Save registered models (spec + weights) and any plain extra fields atomically."""
    payload = {
        "version": CHECKPOINT_VERSION,
        "specs": {k: model_spec(m) for k, m in modules.items()},
        "state": {k: m.state_dict() for k, m in modules.items()},
        **extra,
    }
    return atomic_save(payload, path)


def safe_load(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """`torch.load` with `weights_only=True`; a file that needs anything else raises `UnsafeCheckpointError`.

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the file references Python objects beyond tensors and plain data (it may contain code).
        ValueError: the file is damaged or not a torch file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with torch.serialization.safe_globals(_NUMPY_ARRAY_GLOBALS):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            culprit = next((ln.strip() for ln in str(e).splitlines() if "GLOBAL" in ln or "global" in ln), "")
            raise UnsafeCheckpointError(
                f"checkpoint {path} holds Python objects beyond tensors and plain data, so it may contain code; "
                f"labkit refuses to load it ({culprit[:160] or 'not loadable with weights_only=True'}). Only "
                "load files you trust; re-save a trusted model as a labkit checkpoint (labkit.save_models).") from None
        raise ValueError(f"checkpoint {path} is damaged or not a torch file ({e})") from e
    except Exception as e:  # torch raises several types for damaged zip archives
        raise ValueError(f"checkpoint {path} is damaged or not a torch file ({type(e).__name__}: {e})") from e


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint dict; a clear error for a missing, foreign, damaged or code-carrying file."""
    ckpt = safe_load(path, map_location)
    if not isinstance(ckpt, dict) or ckpt.get("version") != CHECKPOINT_VERSION or "specs" not in ckpt:
        raise ValueError(f"{path} is not a labkit checkpoint (version {CHECKPOINT_VERSION}): it has no model specs")
    return ckpt


def build_from_checkpoint(spec: dict, path: str | Path, key: str) -> nn.Module:
    """The model a checkpoint's spec describes; a KeyError naming the file when its kind is unknown."""
    try:
        return from_spec(spec)
    except KeyError:
        raise KeyError(f"checkpoint {path} stores model {key!r} of unknown kind {spec.get('name')!r}; this labkit "
                       f"knows {sorted(MODELS)}") from None
    except TypeError as e:
        raise ValueError(f"checkpoint {path}: the config of model {key!r} does not fit its kind ({e})") from None


def load_models(path: str | Path, device: str | torch.device = "cpu") -> dict[str, nn.Module]:
    """Rebuild every model stored in a checkpoint, weights loaded, in eval mode on `device`."""
    ckpt = read_checkpoint(path)
    out = {}
    for k, spec in ckpt["specs"].items():
        m = build_from_checkpoint(spec, path, k)
        try:
            m.load_state_dict(ckpt["state"][k])
        except (RuntimeError, KeyError) as e:
            raise ValueError(f"checkpoint {path}: the weights of {k!r} do not fit its config ({e})") from None
        out[k] = m.to(device).eval()
    return out


def load_model(path: str | Path, key: str | None = None, device: str | torch.device = "cpu",
               kind: type | tuple[type, ...] | None = None) -> nn.Module:
    """One model of a checkpoint: `key`, or the only/first one stored ('model' or 'generator' preferred).

    Args:
        kind: when given, the model must be an instance of it (else a ValueError naming the file and what it holds).
    """
    models = load_models(path, device)
    if key is None:
        key = next((k for k in ("model", "generator") if k in models), next(iter(models)))
    if key not in models:
        raise KeyError(f"{path} holds models {sorted(models)}, not {key!r}")
    model = models[key]
    if kind is not None and not isinstance(model, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ValueError(f"{path} holds a {type(model).__name__} ({getattr(model, 'registry_name', '?')}), "
                         f"not a {names}; give a checkpoint of the right model")
    return model
