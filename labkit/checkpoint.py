"""Checkpoints: configs + weights + optimiser + RNG state + position, written atomically; no pickled code."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .models.registry import from_spec, model_spec
from .runtime import atomic_save

CHECKPOINT_VERSION = 1


def save_models(path: str | Path, modules: dict[str, nn.Module], **extra: Any) -> Path:
    """Save registered models (spec + weights) and any plain extra fields atomically."""
    payload = {
        "version": CHECKPOINT_VERSION,
        "specs": {k: model_spec(m) for k, m in modules.items()},
        "state": {k: m.state_dict() for k, m in modules.items()},
        **extra,
    }
    return atomic_save(payload, path)


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint dict; a clear error for a missing, foreign or damaged file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # torch raises several types for damaged zip archives
        raise ValueError(f"checkpoint {path} is damaged or not a torch file ({e})") from e
    if not isinstance(ckpt, dict) or ckpt.get("version") != CHECKPOINT_VERSION or "specs" not in ckpt:
        raise ValueError(f"{path} is not a labkit checkpoint (version {CHECKPOINT_VERSION})")
    return ckpt


def load_models(path: str | Path, device: str | torch.device = "cpu") -> dict[str, nn.Module]:
    """Rebuild every model stored in a checkpoint, weights loaded, in eval mode on `device`."""
    ckpt = read_checkpoint(path)
    out = {}
    for k, spec in ckpt["specs"].items():
        m = from_spec(spec)
        m.load_state_dict(ckpt["state"][k])
        out[k] = m.to(device).eval()
    return out


def load_model(path: str | Path, key: str | None = None, device: str | torch.device = "cpu") -> nn.Module:
    """One model of a checkpoint: `key`, or the only/first one stored ('model' or 'generator' preferred)."""
    models = load_models(path, device)
    if key is None:
        key = next((k for k in ("model", "generator") if k in models), next(iter(models)))
    if key not in models:
        raise KeyError(f"{path} holds models {sorted(models)}, not {key!r}")
    return models[key]
