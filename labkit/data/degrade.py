"""Degradations of a real dataset: "models" made by altering real images (the GAN-train/-test validation).

Each degradation is a pure, seeded function on float images (N, C, H, W) in [0, 1]; noise is drawn
on a CPU generator, so the same seed gives the same images on every machine. `degrade` applies one
by name to an `ImageDataset`; `subsample` keeps a class-balanced part of it instead.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

import torch
import torch.nn.functional as F

from .dataset import ImageDataset, balanced_subset, check_images

DEGRADATIONS: dict[str, Callable[..., torch.Tensor]] = {}


def register_degradation(name: str):
    """Decorator: add `fn(images, level, generator) -> images` to `DEGRADATIONS` under `name`."""
    def wrap(fn):
        if name in DEGRADATIONS:
            raise ValueError(f"degradation {name!r} is registered twice")
        DEGRADATIONS[name] = fn
        return fn
    return wrap


@register_degradation("salt_pepper")
def salt_and_pepper(images: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Set a `fraction` of the pixels (per image, all channels) to 0 or 1 with equal odds.

    Args:
        images: float (N, C, H, W) in [0, 1].
        fraction: share of pixels replaced, in [0, 1] (the GAN paper: 0.01 to 0.2).
        generator: CPU generator of the pixel choice.
    """
    x = check_images(images).detach().cpu()
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1]; got {fraction}")
    n, c, h, w = x.shape
    hit = torch.rand(n, 1, h, w, generator=generator) < fraction  # (N, 1, H, W)
    value = (torch.rand(n, 1, h, w, generator=generator) < 0.5).float()  # (N, 1, H, W): pepper 0, salt 1
    return torch.where(hit, value.expand(n, c, h, w), x)  # (N, C, H, W)


@register_degradation("gaussian_noise")
def gaussian_noise(images: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """Add N(0, std²) to every pixel, then clamp to [0, 1].

    Args:
        images: float (N, C, H, W) in [0, 1].
        std: noise standard deviation in pixel units (0.1 = a tenth of the range).
        generator: CPU generator of the noise.
    """
    x = check_images(images).detach().cpu()
    if std < 0:
        raise ValueError(f"std must be >= 0; got {std}")
    return (x + std * torch.randn(x.shape, generator=generator)).clamp_(0, 1)  # (N, C, H, W)


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian kernel of radius ceil(3 σ), (2r + 1,)."""
    r = max(1, math.ceil(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


@register_degradation("blur")
def blur(images: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Separable Gaussian blur with reflected borders (deterministic; `generator` is ignored).

    Args:
        images: float (N, C, H, W) in [0, 1].
        sigma: standard deviation of the kernel in pixels; 0 returns the images unchanged.
    """
    x = check_images(images).detach().cpu()
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0; got {sigma}")
    if sigma == 0:
        return x.clone()
    k = gaussian_kernel(sigma)
    r = len(k) // 2
    if r >= min(x.shape[2:]):
        raise ValueError(f"sigma {sigma} needs a kernel radius {r} smaller than the image side {min(x.shape[2:])}")
    n, c, h, w = x.shape
    y = x.reshape(n * c, 1, h, w)  # (N·C, 1, H, W): one channel at a time
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))  # rows
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))  # columns
    return y.reshape(n, c, h, w).clamp_(0, 1)  # (N, C, H, W)


def degrade(ds: ImageDataset, kind: str, level: float, seed: int = 0) -> ImageDataset:
    """A copy of `ds` with every image altered by the degradation `kind` at `level` (labels kept).

    Args:
        ds: real (uint8) dataset.
        kind: a name in `DEGRADATIONS` (`salt_pepper`, `gaussian_noise`, `blur`) or `subsample`
            (then `level` is the number of images kept per class).
        level: the degradation's parameter (fraction, std, sigma or images per class).
        seed: seed of the noise (or of the subset).
    """
    if kind == "subsample":
        return subsample(ds, int(level), seed)
    if kind not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {kind!r}; choose one of {sorted(DEGRADATIONS) + ['subsample']}")
    g = torch.Generator().manual_seed(seed)
    images = DEGRADATIONS[kind](ds.float(), level, g)  # (N, C, H, W)
    out = ImageDataset.from_float(images, ds.labels, ds.class_names, name=f"{ds.name}|{kind}={level:g}",
                                  split=ds.split, soft_labels=ds.soft_labels,
                                  info={**ds.info, "degradation": kind, "level": level, "degradation_seed": seed})
    return out


def subsample(ds: ImageDataset, n_per_class: int, seed: int = 0) -> ImageDataset:
    """A seeded class-balanced subset of `n_per_class` images per class: a model without diversity."""
    out = balanced_subset(ds, n_per_class, seed)
    return replace(out, name=f"{ds.name}|subsample={n_per_class}",
                   info={**out.info, "degradation": "subsample", "level": n_per_class, "degradation_seed": seed})
