"""The real side of a diagnosis: the reference set, the training set samples must not copy, and the domain
classifier whose features and labels every verdict reads.

The reference split is cut in two seeded, class-balanced halves: `compare` is what the samples are measured
against, `held_out` is real data the metrics never saw, from which the calibration draws its "real" and
degraded sets (so a real set is never measured against itself). The domain classifier is trained on the
training set and cached by a content hash of the data and the settings, so a second call reuses it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import data
from ..core import paths
from ..data.dataset import ImageDataset
from ..features.cache import cache_key, images_sha256
from ..models.checkpoint import load_model, save_models
from ..models.classifier import Classifier, ClassifierConfig
from ..train.classifier import ClassifierTraining, train_classifier

DEFAULT_TRAINING = ClassifierTraining(epochs=2, batch_size=256, lr=3e-3)  # about 90% on Fashion-MNIST, a minute


@dataclass(frozen=True)
class RealSets:
    """The real data of a diagnosis.

    Args:
        compare: the reference part the samples are measured against.
        held_out: the other part: real images the metrics never saw (calibration, the copying baseline).
        train: what the samples must not copy; the domain classifier is trained on it.
        reference_spec, train_spec: the specs they were read from.
    """

    compare: ImageDataset
    held_out: ImageDataset
    train: ImageDataset
    reference_spec: str
    train_spec: str


def parse_dataset(spec: str, default_split: str) -> tuple[str, str]:
    """`fashion-mnist:test` -> ("fashion-mnist", "test"); `folder:/data/x:train` -> ("folder:/data/x", "train");
    a spec without a split gets `default_split`."""
    name, _, split = spec.rpartition(":")
    if name and split in data.SPLITS and not (spec.startswith("folder:") and name == "folder"):
        return name, split
    return spec, default_split


def load_real(reference: str, train: str | None = None, *, seed: int = 0) -> RealSets:
    """Read the reference (`NAME[:SPLIT]`, split `test` by default) and the training set (default: the reference
    dataset's `train` split), and cut the reference into its `compare` and `held_out` halves."""
    ref_name, ref_split = parse_dataset(reference, "test")
    ref = data.load(ref_name, ref_split)
    train_spec = train or f"{ref_name}:train"
    tr_name, tr_split = parse_dataset(train_spec, "train")
    train_ds = data.load(tr_name, tr_split)
    if train_ds.shape != ref.shape or train_ds.class_names != ref.class_names:
        raise ValueError(f"training set {train_spec} ({train_ds.shape}, {train_ds.num_classes} classes) does not match "
                         f"the reference {reference} ({ref.shape}, {ref.num_classes} classes)")
    compare, held_out = halves(ref, seed)
    return RealSets(compare, held_out, train_ds, f"{ref_name}:{ref_split}", f"{tr_name}:{tr_split}")


def train_subset(real: RealSets, n_train: int | None, seed: int = 0) -> tuple[RealSets, np.ndarray]:
    """The real sets with a class-balanced seeded subset of `n_train` training images (all when None), and the
    indices of the training images kept (the rest are real images that neither classifier nor metrics see)."""
    n_all = len(real.train)
    if n_train is None or n_train >= n_all:
        return real, np.arange(n_all)
    labels = real.train.labels.numpy()
    rng = np.random.default_rng(seed + 104729)
    per = max(1, n_train // real.train.num_classes)
    idx = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == k))[:per]
                                  for k in range(real.train.num_classes)]))
    spec = f"{real.train_spec} ({len(idx)} of {n_all}, class-balanced, seeded)"
    return RealSets(real.compare, real.held_out, real.train.subset(idx), real.reference_spec, spec), idx


def halves(ds: ImageDataset, seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
    """Two disjoint halves, each with half of every class (seeded)."""
    rng = np.random.default_rng(seed + 7919)
    first = []
    for k in range(ds.num_classes):
        members = np.flatnonzero(ds.labels.numpy() == k)
        first.append(rng.choice(members, size=len(members) // 2, replace=False))
    first = np.sort(np.concatenate(first))
    second = np.setdiff1d(np.arange(len(ds)), first)
    if min(len(first), len(second)) < 20:
        raise ValueError(f"the reference {ds.name} has {len(ds)} images; a diagnosis needs at least 40")
    return ds.subset(first, split=f"{ds.split} (compare half)"), ds.subset(second, split=f"{ds.split} (held-out half)")


def domain_classifier(train: ImageDataset, *, settings: ClassifierTraining = DEFAULT_TRAINING, seed: int = 0,
                      device: str | torch.device = "auto", cache_dir: str | Path | None = None,
                      progress: bool | None = None) -> tuple[Classifier, dict]:
    """The classifier of the training set's domain: trained once, then read from a cache keyed by a content hash
    of the images, labels, architecture and settings. Returns it and its protocol (key, whether cached)."""
    cfg = ClassifierConfig(channels=train.shape[0], image_size=train.shape[1], num_classes=train.num_classes)
    key = cache_key({"what": "domain-classifier", "images": images_sha256(train.images),
                     "labels": images_sha256(train.labels), "cfg": vars(cfg), "settings": vars(settings),
                     "seed": seed, "torch": torch.__version__})
    path = Path(cache_dir or paths.cache_dir()) / "classifiers" / f"{key[:32]}.pt"
    if path.is_file():
        return load_model(path, device=device, kind=Classifier), {"classifier": "domain", "key": key[:32],
                                                                  "cached": True, "path": str(path)}
    model, _ = train_classifier(train, cfg=cfg, settings=settings, seed=seed, device=device, progress=progress)
    save_models(path, {"model": model}, key=key)
    return model.eval(), {"classifier": "domain", "key": key[:32], "cached": False, "path": str(path)}


def given_classifier(path: str | Path, real: RealSets, device: str | torch.device = "auto") -> tuple[nn.Module, dict]:
    """A classifier checkpoint the user trained (e.g. the study's C1), checked against the data's classes."""
    model = load_model(path, device=device, kind=Classifier)
    if model.cfg.num_classes != real.train.num_classes or (model.cfg.channels, model.cfg.image_size,
                                                           model.cfg.image_size) != real.train.shape:
        raise ValueError(f"classifier {path} expects {model.cfg.channels}×{model.cfg.image_size}² images of "
                         f"{model.cfg.num_classes} classes; the data has {real.train.shape}, {real.train.num_classes}")
    return model, {"classifier": "given", "path": str(path)}
