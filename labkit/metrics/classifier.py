"""Classifier-based metrics: GAN-train / GAN-test (Shmelkov et al. 2018), = VAE-train / VAE-test (Leontev et al.).

GAN-train: a fresh evaluation classifier trained on a labelled generated set, tested on real test
images (recall-like: needs diversity). GAN-test: the classifier trained on real images, tested on a
conditional model's generated images with their conditioning labels (precision-like: image quality).
A scikit-learn classifier on fixed features gives the paper's second opinion.
"""
from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import torch

from ..core.record import MetricRecord
from ..data.dataset import ImageDataset, balanced_subset
from ..train.classifier import ClassifierTraining, accuracy, train_classifier
from ._order import canonical_dataset

# Fast default: a fixed step budget with large batches (saturation curves train this many times).
GAN_TRAIN_SETTINGS = ClassifierTraining(steps=600, batch_size=256, lr=3e-3)


def _training_set(generated: ImageDataset, n_per_class: int | None, seed: int, soft: bool) -> ImageDataset:
    ds = generated if n_per_class is None else balanced_subset(generated, n_per_class, seed)
    return ds if soft else replace(ds, soft_labels=None)


def gan_train(generated: ImageDataset, real_test: ImageDataset, *, n_per_class: int | None = None,
              settings: ClassifierTraining = GAN_TRAIN_SETTINGS, repeats: int = 1, seed: int = 0,
              soft: bool = True, cfg=None, device: str | torch.device = "auto") -> MetricRecord:
    """Accuracy on real test images of classifiers trained on the generated set; mean ± std over repeats.

    Args:
        generated: labelled generated `ImageDataset` (hard labels, or soft labels used as targets).
        real_test: real test set, same image shape and classes.
        n_per_class: class-balanced subset size per repeat (seeded `seed + r`); None uses all of it.
        settings: step budget, batch size and learning rate (per-batch optimiser steps).
        repeats: trainings with seeds `seed, seed + 1, ...`.
        soft: use soft labels when the set has them (False forces the hard labels).
        cfg: classifier config; default from the data's shape.

    The generated set is taken in canonical order (subsets and batches are drawn from it), so the value
    depends only on the set and the seed.
    """
    _check_compatible(generated, real_test)
    generated = canonical_dataset(generated)
    values = []
    for r in range(repeats):
        train = _training_set(generated, n_per_class, seed + r, soft)
        model, _ = train_classifier(train, cfg=cfg, settings=settings, seed=seed + r, device=device, progress=False)
        values.append(accuracy(model, real_test))
    return MetricRecord.from_values(
        "gan_train", values, n_fake=len(generated) if n_per_class is None else n_per_class * generated.num_classes,
        n_real=len(real_test), split=real_test.split, seed=seed, steps=settings.steps, batch_size=settings.batch_size,
        labels="soft" if (soft and generated.soft_labels is not None) else "hard", fake=generated.name)


def gan_test(classifier: torch.nn.Module, generated: ImageDataset) -> float:
    """Accuracy of the real-trained classifier on generated images against their (conditioning) labels."""
    return accuracy(classifier, canonical_dataset(generated))


def gan_train_sklearn(generated: ImageDataset, real_test: ImageDataset, *, kind: str = "logistic",
                      features=None, n_per_class: int | None = None, repeats: int = 1, seed: int = 0) -> MetricRecord:
    """Second opinion: a scikit-learn classifier trained on features of the generated set (hard labels).

    Args:
        kind: `logistic` (multinomial logistic regression) or `forest` (random forest, 100 trees).
        features: callable images (N, C, H, W) in [0, 1] -> (N, D) array; default flattened pixels.
        n_per_class, repeats, seed: as in `gan_train`.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    _check_compatible(generated, real_test)
    generated = canonical_dataset(generated)  # the value depends only on the set and the seed
    embed = features or (lambda x: x.flatten(1).numpy())
    x_test = embed(real_test.float())
    values = []
    for r in range(repeats):
        train = _training_set(generated, n_per_class, seed + r, soft=False)
        if kind == "logistic":
            clf = LogisticRegression(max_iter=300, C=1.0, random_state=seed + r)
        elif kind == "forest":
            clf = RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=seed + r)
        else:
            raise ValueError(f"kind must be 'logistic' or 'forest'; got {kind!r}")
        clf.fit(embed(train.float()), train.labels.numpy())
        values.append(float((clf.predict(x_test) == real_test.labels.numpy()).mean()))
    return MetricRecord.from_values(f"gan_train_{kind}", values, n_real=len(real_test), split=real_test.split,
                                    seed=seed, fake=generated.name)


def _check_compatible(generated: ImageDataset, real: ImageDataset) -> None:
    if generated.shape != real.shape or generated.num_classes != real.num_classes:
        raise ValueError(f"generated set {generated.shape} with {generated.num_classes} classes does not match the "
                         f"real set {real.shape} with {real.num_classes} classes")
    counts = np.bincount(generated.labels.numpy(), minlength=generated.num_classes)
    if (counts == 0).any():
        missing = [generated.class_names[k] for k in np.flatnonzero(counts == 0)]
        warnings.warn(f"generated set has no images of classes {missing}: a classifier trained on it "
                      "cannot predict them (a low GAN-train is the expected result)", stacklevel=3)
