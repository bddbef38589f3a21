"""Labelled generated datasets: `n_per_class` images per class from any generator, as an `ImageDataset`.

A generator is any module with `sample(n, generator=..., labels=None, **kwargs)` returning float images
(n, C, H, W) in [0, 1]. It is **conditional** when it has a true `conditional` attribute (property); then
`sample` takes `labels` (n,) int64 and the dataset's labels are the conditioning classes. Unconditional
samples are labelled by the evaluation classifier: hard (argmax) or soft (its probability vector).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from .data.dataset import ImageDataset, check_images
from .models.classifier import predict

LABEL_MODES = ("hard", "soft")


class GenerationBudgetError(RuntimeError):
    """Some class was not produced `n_per_class` times within the sampling budget; the message has the counts."""


def is_conditional(model: nn.Module) -> bool:
    """The labkit convention: a generator is conditional when `model.conditional` is true."""
    return bool(getattr(model, "conditional", False))


def _sample(model: nn.Module, n: int, generator: torch.Generator, labels=None, **kwargs) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if labels is None:
                x = model.sample(n, generator=generator, **kwargs)
            else:
                x = model.sample(n, generator=generator, labels=labels, **kwargs)
    finally:
        model.train(was_training)
    return check_images(x.float().cpu(), what="generated images")  # (n, C, H, W)


def generate(model: nn.Module, n_per_class: int, *, classifier: nn.Module | None = None, labels: str = "hard",
             min_confidence: float | None = None, num_classes: int | None = None,
             class_names: tuple[str, ...] | None = None, seed: int = 0, generator: torch.Generator | None = None,
             batch_size: int = 1000, max_samples: int | None = None, name: str | None = None,
             **sample_kwargs) -> ImageDataset:
    """A class-balanced generated dataset with exactly `n_per_class` images of each class.

    Args:
        model: the generator (see the module docstring for the conditional convention).
        classifier: labels unconditional samples (required for them); probabilities from `predict`.
        labels: `hard` (argmax; one-hot targets) or `soft` (the classifier's probability vectors as
            `soft_labels`, each summing to 1; the class used for balancing is still the argmax).
        min_confidence: keep only samples whose top probability is at least this (e.g. 0.9).
        num_classes / class_names: default from `class_names`, else the `cfg.num_classes` of the conditional
            model or of the classifier, else 10.
        seed / generator: all latents are drawn from this CPU generator (`generator` wins over `seed`).
        batch_size: samples drawn per round.
        max_samples: draw budget of unconditional sampling (default 50 × n_per_class × classes);
            `GenerationBudgetError` with the per-class counts when a class is still short.
        sample_kwargs: passed to `model.sample` (e.g. `truncation=` of a GAN).

    Returns:
        ImageDataset (uint8, like saved PNGs), images grouped by class, `info` with the protocol.
    """
    if labels not in LABEL_MODES:
        raise ValueError(f"labels must be one of {LABEL_MODES}; got {labels!r}")
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1; got {n_per_class}")
    source = model if is_conditional(model) else classifier
    k = len(class_names) if class_names else (num_classes or getattr(getattr(source, "cfg", None), "num_classes", 0) or 10)
    class_names = tuple(class_names) if class_names else tuple(str(i) for i in range(k))
    g = generator if generator is not None else torch.Generator().manual_seed(seed)
    name = name or f"generated:{getattr(model, 'registry_name', type(model).__name__)}"
    info = {"generator_seed": seed if generator is None else None, "labels": labels,
            "min_confidence": min_confidence, "n_per_class": n_per_class, **sample_kwargs}
    if is_conditional(model):
        if labels == "soft" or min_confidence is not None:
            raise ValueError("a conditional generator is labelled by its conditioning classes: "
                             "use labels='hard' and no min_confidence")
        return _generate_conditional(model, n_per_class, k, class_names, g, batch_size, name, info, sample_kwargs)
    if classifier is None:
        raise ValueError("an unconditional generator needs classifier= to label its samples")
    return _generate_labelled(model, classifier, n_per_class, k, class_names, g, labels, min_confidence, batch_size,
                              max_samples or 50 * n_per_class * k, name, info, sample_kwargs)


def _generate_conditional(model, n_per_class, k, class_names, g, batch_size, name, info, sample_kwargs):
    wanted = torch.arange(k).repeat_interleave(n_per_class)  # (k * n_per_class,)
    images = torch.cat([_sample(model, len(wanted[i:i + batch_size]), g, wanted[i:i + batch_size], **sample_kwargs)
                        for i in range(0, len(wanted), batch_size)])  # (N, C, H, W)
    info = {**info, "n_drawn": len(wanted), "acceptance_rate": 1.0, "labelled_by": "conditioning"}
    return ImageDataset.from_float(images, wanted, class_names, name=name, split="generated", info=info)


def _generate_labelled(model, classifier, n_per_class, k, class_names, g, labels, min_confidence, batch_size,
                       max_samples, name, info, sample_kwargs):
    kept_x: list[list[torch.Tensor]] = [[] for _ in range(k)]
    kept_p: list[list[torch.Tensor]] = [[] for _ in range(k)]
    counts = np.zeros(k, dtype=int)
    drawn = 0
    while counts.min() < n_per_class:
        if drawn >= max_samples:
            raise GenerationBudgetError(
                f"after {drawn} samples, classes got {dict(zip(class_names, counts.tolist()))} of the "
                f"{n_per_class} asked per class (min_confidence={min_confidence}); the generator rarely or never "
                "produces the short classes. Raise max_samples, lower n_per_class or min_confidence.")
        x = _sample(model, batch_size, g, **sample_kwargs)  # (B, C, H, W)
        drawn += len(x)
        p = predict(classifier, x, what="probs")  # (B, K)
        if p.shape[1] != k:
            raise ValueError(f"the classifier has {p.shape[1]} classes; {k} were asked for")
        conf, top = p.max(1)
        keep = conf >= min_confidence if min_confidence is not None else torch.ones(len(x), dtype=torch.bool)
        for c in range(k):
            need = n_per_class - counts[c]
            idx = torch.nonzero(keep & (top == c)).flatten()[:need]
            if len(idx):
                kept_x[c].append(x[idx])
                kept_p[c].append(p[idx])
                counts[c] += len(idx)
    images = torch.cat([t for c in range(k) for t in kept_x[c]])  # (k * n_per_class, C, H, W)
    probs = torch.cat([t for c in range(k) for t in kept_p[c]])  # (k * n_per_class, K)
    hard = torch.arange(k).repeat_interleave(n_per_class)
    soft = (probs / probs.sum(1, keepdim=True)).float() if labels == "soft" else None
    info = {**info, "n_drawn": drawn, "acceptance_rate": k * n_per_class / drawn, "labelled_by": "classifier"}
    return ImageDataset.from_float(images, hard, class_names, name=name, split="generated", soft_labels=soft, info=info)


def class_histogram(classifier: nn.Module, images: torch.Tensor, num_classes: int | None = None,
                    batch_size: int = 1000) -> np.ndarray:
    """How many of `images` (N, C, H, W) in [0, 1] the classifier assigns to each class (argmax), (K,)."""
    p = predict(classifier, images, what="probs", batch_size=batch_size)  # (N, K)
    return np.bincount(p.argmax(1).numpy(), minlength=num_classes or p.shape[1])


def sample(model: nn.Module, n: int, *, seed: int = 0, generator: torch.Generator | None = None,
           labels: torch.Tensor | None = None, **sample_kwargs) -> torch.Tensor:
    """`n` images (n, C, H, W) in [0, 1] from any generator, seeded, in eval mode and without gradients."""
    g = generator if generator is not None else torch.Generator().manual_seed(seed)
    return _sample(model, n, g, labels, **sample_kwargs)
