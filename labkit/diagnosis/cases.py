"""Sets whose answer is known, to check the verdicts: real images nobody trained on, the same images blurred,
noisy, cut to three classes, and copies of training images.

The real images come from the training split's remainder: the images left out of the class-balanced training
subset (`EvaluateSettings.n_train`), so neither the classifier, the copying baseline nor the calibration saw
them. Blur and noise are stronger than the calibration's anchors, so their own verdict must be `yes`.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..data.dataset import ImageDataset
from ..data.degrade import degrade
from .inputs import Samples
from .reference import load_real, train_subset
from .run import EvaluateSettings

# name -> (what is done, the verdict that must say yes). Real unseen images must get no on all four; a damaged
# set may fail other verdicts too (heavy blur also makes images unrealistic), which the validation reports.
EXPECTED = {
    "real unseen": ("real images from outside every set the evaluation uses", ()),
    "blurred": ("the real unseen images blurred, σ=1.5 px per 28 px", ("blurry",)),
    "noisy": ("the real unseen images with Gaussian noise σ=0.4", ("unrealistic",)),
    "three classes": ("real unseen images of the first three classes only", ("low_diversity",)),
    "training copies": ("images of the training set itself", ("copying",)),
}


def _draw(ds: ImageDataset, n: int, seed: int) -> ImageDataset:
    return ds.subset(np.sort(np.random.default_rng(seed).choice(len(ds), min(n, len(ds)), replace=False)))


def constructed_cases(unseen: ImageDataset, train: ImageDataset, n: int, seed: int = 0) -> list[Samples]:
    """The five constructed sets of `EXPECTED`, `n` images each.

    Args:
        unseen: real images outside the reference, the training subset and the calibration.
        train: the training set the evaluation checks copying against.
    """
    real = _draw(unseen, n, seed)
    few = unseen.subset(np.flatnonzero(unseen.labels.numpy() < 3))
    sets = {"real unseen": real, "blurred": degrade(real, "blur", 1.5 * real.shape[1] / 28, seed),
            "noisy": degrade(real, "gaussian_noise", 0.4, seed), "three classes": _draw(few, n, seed + 1),
            "training copies": _draw(train, n, seed + 2)}
    return [Samples(name, ds, EXPECTED[name][0], "constructed", False) for name, ds in sets.items()]


def known_cases(settings: EvaluateSettings) -> tuple[EvaluateSettings, list[Samples]]:
    """The constructed sets for `settings`' reference, with the settings that leave their real images unseen:
    when `n_train` is unset, five sixths of the training split train the classifier and the rest are the
    real unseen images (what notebook 09 judges when it is given no model)."""
    full = load_real(settings.reference, settings.train, seed=settings.seed)
    if settings.n_train is None:
        settings = replace(settings, n_train=len(full.train) * 5 // 6)
    real, kept = train_subset(full, settings.n_train, settings.seed)
    unseen = full.train.subset(np.setdiff1d(np.arange(len(full.train)), kept), split="train (left out)")
    if len(unseen) < 2:
        raise ValueError(f"n_train={settings.n_train} leaves no training image unseen; give a smaller n_train")
    return settings, constructed_cases(unseen, real.train, min(settings.n, len(unseen)), settings.seed)
