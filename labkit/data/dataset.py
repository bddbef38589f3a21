"""The in-memory image dataset every part of labkit passes around, and checks on image tensors."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import torch


@dataclass(frozen=True)
class ImageDataset:
    """Images with labels, all in memory.

    Args:
        images: uint8 (N, C, H, W). Generated images are quantised to uint8 like saved PNGs.
        labels: int64 (N,) class indices.
        class_names: one name per class.
        name: dataset name (`"fashion-mnist"`, `"generated:vae"`, ...), recorded in protocols.
        split: `"train"`, `"test"`, `"val"`, `"fit"` or a free description.
        soft_labels: optional float32 (N, K) probability vectors (generated data with soft labels).
        attributes: optional (N, A) binary attributes (CelebA), with `attribute_names`.
    """

    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    name: str = "unnamed"
    split: str = "train"
    soft_labels: torch.Tensor | None = None
    attributes: torch.Tensor | None = None
    attribute_names: tuple[str, ...] = ()
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"ImageDataset.images must be uint8 (N, C, H, W); got {self.images.dtype} "
                f"{tuple(self.images.shape)}. Use ImageDataset.from_float for float images in [0, 1]."
            )
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"labels must have shape ({len(self.images)},); got {tuple(self.labels.shape)}")
        if self.soft_labels is not None and self.soft_labels.shape != (len(self.images), self.num_classes):
            raise ValueError(
                f"soft_labels must have shape ({len(self.images)}, {self.num_classes}); "
                f"got {tuple(self.soft_labels.shape)}"
            )

    @classmethod
    def from_float(cls, images: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], **kw) -> "ImageDataset":
        """Build from float images in [0, 1] (checked), rounding to uint8."""
        images = check_images(images)
        quantised = (images.detach().cpu() * 255).round().to(torch.uint8)
        return cls(quantised, labels.detach().cpu().long(), tuple(class_names), **kw)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])

    def float(self) -> torch.Tensor:
        """Images as float32 in [0, 1], (N, C, H, W)."""
        return self.images.float().div_(255)

    def targets(self) -> torch.Tensor:
        """Soft labels (N, K) when present, else one-hot of the hard labels."""
        if self.soft_labels is not None:
            return self.soft_labels
        return torch.nn.functional.one_hot(self.labels, self.num_classes).float()

    def class_counts(self) -> np.ndarray:
        """Images per class, (K,)."""
        return np.bincount(self.labels.numpy(), minlength=self.num_classes)

    def head(self, n: int) -> "ImageDataset":
        """The first `n` images (all of them when `n` is 0 or at least the set's size)."""
        return self.subset(range(min(n, len(self)))) if n else self

    def subset(self, index: torch.Tensor | np.ndarray | Sequence[int], split: str | None = None) -> "ImageDataset":
        """The images at `index`, with labels and extras carried along."""
        index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        outside = index[(index >= len(self)) | (index < -len(self))]
        if len(outside):
            raise IndexError(f"{self.name} ({self.split}) has {len(self)} images; index {int(outside[0])} is out of "
                             "range. Ask for at most that many (`head(n)` takes the first n, or all if fewer)")
        pick = lambda t: None if t is None else t[index]  # noqa: E731
        return replace(
            self,
            images=self.images[index],
            labels=self.labels[index],
            soft_labels=pick(self.soft_labels),
            attributes=pick(self.attributes),
            split=split or self.split,
            info=dict(self.info),
        )

    def describe(self) -> dict:
        """Protocol fields for records."""
        return {"dataset": self.name, "split": self.split, "n": len(self), **self.info}


def balanced_indices(labels: torch.Tensor, n_per_class: int, num_classes: int, seed: int = 0) -> np.ndarray:
    """Seeded choice of `n_per_class` indices per class (sorted); errors if a class has too few."""
    if not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer; got {n_per_class!r}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for k in range(num_classes):
        members = np.flatnonzero(labels == k)
        if len(members) < n_per_class:
            raise ValueError(
                f"class {k} has {len(members)} images, fewer than n_per_class={n_per_class}; "
                f"ask for at most {len(members)} per class"
            )
        chosen.append(rng.choice(members, size=n_per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def balanced_subset(ds: ImageDataset, n_per_class: int, seed: int = 0) -> ImageDataset:
    """Class-balanced seeded subset with `n_per_class` images of each class."""
    idx = balanced_indices(ds.labels, n_per_class, ds.num_classes, seed)
    out = ds.subset(idx)
    return replace(out, info={**out.info, "n_per_class": n_per_class, "subset_seed": seed})


def check_images(images: torch.Tensor, *, channels: int | None = None, size: tuple[int, int] | None = None,
                 what: str = "images") -> torch.Tensor:
    """Raise a clear error unless `images` is float (N, C, H, W) in [0, 1] without NaN; return it."""
    if not isinstance(images, torch.Tensor):
        images = torch.as_tensor(np.asarray(images))
    if images.ndim != 4:
        raise ValueError(f"{what} must be a (N, C, H, W) tensor; got shape {tuple(images.shape)}. "
                         "Add a channel axis with images.unsqueeze(1) for grey images.")
    if not images.is_floating_point():
        raise ValueError(f"{what} must be float in [0, 1]; got {images.dtype}. Convert uint8 with images.float() / 255.")
    if len(images) == 0:
        raise ValueError(f"{what} is empty: need at least one image")
    if not torch.isfinite(images).all():
        raise ValueError(f"{what} contain NaN or inf values")
    lo, hi = float(images.detach().min()), float(images.detach().max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"{what} must lie in [0, 1]; got values in [{lo:.3g}, {hi:.3g}]. "
                         "Map [-1, 1] outputs with (x + 1) / 2, or 0..255 values with x / 255.")
    if channels is not None and images.shape[1] != channels:
        raise ValueError(f"{what} have {images.shape[1]} channels; this model expects {channels}")
    if size is not None and tuple(images.shape[2:]) != tuple(size):
        raise ValueError(f"{what} are {tuple(images.shape[2:])} pixels; this model expects {tuple(size)}")
    return images
