"""Model registry and checkpoint-safe construction from stored configs (never pickled code)."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch.nn as nn

MODELS: dict[str, tuple[type, type]] = {}


def register_model(name: str, config_cls: type):
    """Class decorator: register `cls` under `name` with its frozen config dataclass."""
    def wrap(cls):
        MODELS[name] = (cls, config_cls)
        cls.registry_name = name
        return cls
    return wrap


def build_model(name: str, cfg: Any = None, **overrides) -> nn.Module:
    """Build a registered model from a config instance, a dict of fields, or overrides of the defaults."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {sorted(MODELS)}")
    cls, config_cls = MODELS[name]
    if cfg is None:
        cfg = config_cls(**overrides)
    elif isinstance(cfg, dict):
        cfg = config_cls(**{**cfg, **overrides})
    elif overrides:
        cfg = dataclasses.replace(cfg, **overrides)
    return cls(cfg)


def model_spec(model: nn.Module) -> dict:
    """What a checkpoint stores to rebuild `model`: its registry name and config fields."""
    return {"name": model.registry_name, "config": config_to_dict(model.cfg)}


def config_to_dict(cfg: Any) -> dict:
    """Dataclass config to plain dict (tuples become lists; JSON-safe)."""
    return dataclasses.asdict(cfg)


def from_spec(spec: dict) -> nn.Module:
    """Inverse of `model_spec` (lists are turned back into tuples for frozen configs)."""
    cls, config_cls = MODELS[spec["name"]]
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["config"].items() if k in fields}
    return build_model(spec["name"], cfg)


Builder = Callable[..., nn.Module]
