"""Datasets as in-memory tensors: `load(name, split)` and class-balanced subsets."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .dataset import ImageDataset, balanced_indices, balanced_subset, check_images
from .idx import CorruptDataError
from .sources import SOURCES, DatasetNotFoundError, load_folder

SPLITS = ("train", "test", "val", "fit")
VAL_FRACTION = 1 / 12  # 5000 of Fashion-MNIST's 60000 training images, class-balanced


def load(name: str = "fashion-mnist", split: str = "train", *, n_per_class: int | None = None, seed: int = 0,
         download: bool | None = None, size: int | None = None, channels: int | None = None) -> ImageDataset:
    """Load a dataset split into memory.

    Args:
        name: a name in `SOURCES` (`fashion-mnist`, `mnist`, `cifar10`, `celeba`, `digits`) or `folder:PATH`.
        split: `train` (all), `test`, `val` (a fixed class-balanced part of train) or `fit` (train minus val).
        n_per_class: if given, a seeded class-balanced subset of that size per class.
        seed: seed of that subset.
        download: allow torchvision downloads; default: allowed unless `LABKIT_OFFLINE=1`.
        size, channels: resize / convert (folders and CelebA).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    if n_per_class is not None and (not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1):
        raise ValueError(f"n_per_class must be a positive integer (or None for all images); got {n_per_class!r}")
    if size is not None and (not isinstance(size, (int, np.integer)) or size < 1):
        raise ValueError(f"size must be a positive number of pixels; got {size!r}")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB); got {channels!r}")
    base_split = "test" if split == "test" else "train"
    if name.startswith("folder:"):
        ds = load_folder(name[len("folder:"):], base_split, size=size, channels=channels)
    elif name in SOURCES:
        kwargs = {"size": size} if size else {}
        ds = SOURCES[name](base_split, download=download, **kwargs)
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(SOURCES)} or 'folder:PATH'")
    if split in ("val", "fit"):
        val_per_class = int(len(ds) * VAL_FRACTION / ds.num_classes)
        if val_per_class < 1 or ds.class_counts().min() <= val_per_class:
            raise ValueError(f"{name} has too few training images ({len(ds)}, fewest per class "
                             f"{ds.class_counts().min()}) to hold out a {split!r} split of {VAL_FRACTION:.3g} per class; "
                             "use split='train' and 'test', or give the folder more images")
        val = balanced_indices(ds.labels, val_per_class, ds.num_classes, seed=12345)
        if split == "val":
            ds = ds.subset(val, split="val")
        else:
            ds = ds.subset(np.setdiff1d(np.arange(len(ds)), val), split="fit")
    if n_per_class is not None:
        ds = balanced_subset(ds, n_per_class, seed)
    return replace(ds, split=split)


__all__ = ["ImageDataset", "load", "balanced_subset", "balanced_indices", "check_images", "SOURCES",
           "DatasetNotFoundError", "CorruptDataError", "SPLITS"]
