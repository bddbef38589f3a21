"""Feature extractors: images in [0, 1] (N, C, H, W) -> (N, D) arrays, batched, on any device.

Registered extractors: `classifier` (the evaluation classifier's penultimate features and softmax; the
default), `inception` (FID's Inception-v3 pool3 and softmax), `clip` (CLIP image embeddings, for CMMD)
and `pixels` (flattened pixels). Each extractor carries an `identity` dict (name, weights sha256,
preprocessing) that keys the feature cache and goes into every record's protocol.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from ..core.runtime import pick_device, progress_bar
from ..data.dataset import check_images
from ..models.checkpoint import load_model
from ..models.classifier import INFERENCE_BATCH, Classifier
from ..models.fold import folded_for_inference
from .weights import WeightsMismatchError, WeightsNotFoundError, resolve_weights, sha256_file

FEATURES: dict[str, Callable[..., nn.Module]] = {}


def register_extractor(name: str):
    """Decorator: register a factory `(**kwargs) -> extractor module` under `name`."""
    def wrap(factory):
        FEATURES[name] = factory
        return factory
    return wrap


class PixelFeatures(nn.Module):
    """Flattened pixels (B, C·H·W): a sanity baseline, and the fastest."""

    name = "pixels"

    def __init__(self):
        super().__init__()
        self.identity = {"extractor": "pixels", "preprocessing": "flatten"}

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)  # (B, C·H·W)


def state_dict_sha256(module: nn.Module) -> str:
    """sha256 over a module's parameters and buffers (names, shapes, bytes): identifies in-memory weights."""
    h = hashlib.sha256()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(str(tuple(v.shape)).encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class ClassifierFeatures(nn.Module):
    """The evaluation classifier's penultimate features (B, feature_dim) and softmax (B, K)."""

    name = "classifier"

    def __init__(self, model: nn.Module | None = None, path: str | Path | None = None):
        super().__init__()
        if (model is None) == (path is None):
            raise ValueError("give the classifier extractor exactly one of model= or path= (a checkpoint)")
        if model is None:
            model = load_model(path, kind=Classifier)
            digest = sha256_file(path)
        else:
            digest = state_dict_sha256(model)
        if not (callable(getattr(model, "features", None)) and callable(getattr(model, "probs", None))):
            raise TypeError(f"the classifier extractor needs a classifier with features() and probs(); "
                            f"got a {type(model).__name__}")
        self.model = model.eval()
        self.dim = model.cfg.feature_dim
        self.identity = {"extractor": "classifier", "weights_sha256": digest, "preprocessing": "none (penultimate)"}

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.features(images)  # (B, feature_dim)

    def probs(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.probs(images)  # (B, K)


@register_extractor("pixels")
def _pixels() -> nn.Module:
    return PixelFeatures()


@register_extractor("classifier")
def _classifier(model: nn.Module | None = None, path: str | Path | None = None) -> nn.Module:
    return ClassifierFeatures(model, path)


@register_extractor("inception")
def _inception(weights_path: str | Path | None = None, arch: str = "fid", sha256: str | None = None) -> nn.Module:
    from .inception import InceptionFeatures
    return InceptionFeatures(weights_path, arch, sha256)


@register_extractor("clip")
def _clip(weights_path: str | Path | None = None, sha256: str | None = None) -> nn.Module:
    from .clip import ClipFeatures
    return ClipFeatures(weights_path, sha256)


def get_extractor(name: str | nn.Module = "classifier", **kwargs) -> nn.Module:
    """An extractor by registry name (with its arguments), or the module itself if one is given."""
    if isinstance(name, nn.Module):
        return name
    if name not in FEATURES:
        raise KeyError(f"unknown feature extractor {name!r}; registered: {sorted(FEATURES)}")
    return FEATURES[name](**kwargs)


@torch.no_grad()
def extract(extractor: nn.Module, images: torch.Tensor, *, what: str = "features", batch_size: int = INFERENCE_BATCH,
            device: str | torch.device = "auto", progress: bool | None = None) -> np.ndarray:
    """Run an extractor over images in batches; returns float32 (N, D) (`features`) or (N, K) (`probs`).

    Args:
        extractor: a registered extractor module (see `get_extractor`).
        images: float (N, C, H, W) in [0, 1] on any device; batches are moved to `device`.
        what: `features` or `probs` (classifier and inception only).
        batch_size: images per forward pass.
        device: `"auto"`, `"cpu"`, `"cuda"`, ...
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    images = check_images(images)
    if not hasattr(extractor, what):
        raise ValueError(f"extractor {getattr(extractor, 'name', extractor)!r} has no {what!r} output")
    device = pick_device(device)
    extractor = extractor.to(device).eval()
    fn = getattr(folded_for_inference(extractor), what)  # the classifier's batch norms folded into its convs
    out = [fn(images[i:i + batch_size].to(device)).float().cpu()
           for i in progress_bar(range(0, len(images), batch_size), progress=progress, desc=f"{extractor.name} {what}")]
    return torch.cat(out).numpy()


__all__ = ["FEATURES", "register_extractor", "get_extractor", "extract", "PixelFeatures", "ClassifierFeatures",
           "state_dict_sha256", "resolve_weights", "sha256_file", "WeightsNotFoundError", "WeightsMismatchError"]
