"""Generated sets: the one way from a generator to labelled images, as an `ImageDataset` (or latents and images).

Any model of the generator protocol (`labkit.models.sampling`) is sampled seeded and in eval mode. A
**conditional** model's images carry their conditioning classes; an unconditional model's are labelled by
the evaluation classifier: hard (argmax) or soft (its probability vector). Four shapes of set:
`generate` (exactly n per class), `sample_labelled` (the model's own class mix), `generated_pool(s)` (large
balanced pools, a budget on rejection) and `labelled_latents` (z, G(z) and the classifier's view of them).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import torch
import torch.nn as nn

from .data.dataset import ImageDataset
from .models.checkpoint import load_model
from .models.classifier import predict
from .models.sampling import decode, is_conditional, latents, sample

LABEL_MODES = ("hard", "soft")


class SamplingError(RuntimeError):
    """A model's samples cannot be evaluated (NaN, inf or out-of-range pixels): a finding about the model."""


class GenerationBudgetError(RuntimeError):
    """Some class was not produced `n_per_class` times within the sampling budget; the message has the counts."""


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
    images = torch.cat([sample(model, len(wanted[i:i + batch_size]), generator=g, labels=wanted[i:i + batch_size],
                               **sample_kwargs) for i in range(0, len(wanted), batch_size)])  # (N, C, H, W)
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
        x = sample(model, batch_size, generator=g, **sample_kwargs)  # (B, C, H, W)
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


def sample_labelled(model: nn.Module, classifier: nn.Module, n: int, seed: int, batch_size: int = 1000,
                    name: str | None = None) -> ImageDataset:
    """n generated images in the model's own class mix: balanced conditioning labels for a conditional model,
    else the classifier's argmax (no rebalancing, so mode dropping stays visible).

    Raises `SamplingError` when the model draws NaN, inf or out-of-range pixels (a finding about the model).
    """
    g = torch.Generator().manual_seed(seed)
    conditional = is_conditional(model)
    k = classifier.cfg.num_classes
    labels = torch.arange(n) % k  # (n,)
    parts = []
    for i in range(0, n, batch_size):
        try:
            parts.append(sample(model, len(labels[i:i + batch_size]), generator=g,
                                labels=labels[i:i + batch_size] if conditional else None))
        except ValueError as e:  # check_images: NaN, inf or pixels outside [0, 1]
            raise SamplingError(f"{type(model).__name__} drew unusable images: {e}") from None
    images = torch.cat(parts)  # (n, C, H, W)
    if not conditional:
        labels = predict(classifier, images, what="probs").argmax(1)
    names = tuple(str(i) for i in range(k))
    return ImageDataset.from_float(images, labels, names, name=name or f"generated:{type(model).__name__}",
                                   split="generated",
                                   info={"labelled_by": "conditioning" if conditional else "classifier", "seed": seed})


def generated_pool(model: nn.Module, n_per_class: int, *, classifier: nn.Module | None = None,
                   labels: str = "soft", class_names: tuple[str, ...] | None = None, seed: int = 0,
                   name: str | None = None, max_draws: float = 5.0) -> ImageDataset:
    """A class-balanced generated pool: conditioning labels for a conditional model, else the classifier's
    `labels` (`soft`: probability vectors, the VAE paper's best; `hard`: argmax).

    An unconditional model draws at most `max_draws` × n_per_class × classes samples; a class it produces
    more rarely than that allows raises `GenerationBudgetError` with the per-class counts.
    """
    conditional = is_conditional(model)
    k = len(class_names) if class_names else None
    budget = None if conditional else int(max_draws * n_per_class * (k or getattr(classifier.cfg, "num_classes", 10)))
    return generate(model, n_per_class, classifier=None if conditional else classifier,
                    labels="hard" if conditional else labels, class_names=class_names, seed=seed, name=name,
                    max_samples=budget)


def generated_pools(generators: Mapping[str, str | Path | nn.Module], n_per_class: int, *, classifier: nn.Module,
                    labels: str = "soft", class_names: tuple[str, ...] | None = None, seed: int = 0,
                    max_draws: float = 5.0) -> tuple[dict[str, ImageDataset], dict[str, str]]:
    """`generated_pool` of every generator; a model that (almost) never draws some class is left out.

    Args:
        generators: name -> generator checkpoint (loaded on the CPU) or the generator itself.
        n_per_class, classifier, labels, class_names, seed, max_draws: as for `generated_pool`.

    Returns:
        name -> pool, and name -> why it was left out (no balanced set is possible for it).
    """
    pools, left_out = {}, {}
    for name, path in generators.items():
        try:
            model = path if isinstance(path, nn.Module) else load_model(path)
            pools[name] = generated_pool(model, n_per_class, classifier=classifier, labels=labels,
                                         class_names=class_names, seed=seed, name=name, max_draws=max_draws)
        except GenerationBudgetError as e:
            left_out[name] = str(e)
    return pools, left_out


def labelled_latents(model: nn.Module, classifier: nn.Module, n: int, *, seed: int = 0,
                     generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
                     what: str = "probs", batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Seeded latents z ~ N(0, I) (n, D), their images G(z) (n, C, H, W) and the classifier's view of them:
    `probs` (n, K) or `features` (n, F). The latent-side counterpart of `generate` (directions, mapper pairs).
    """
    z = latents(model, n, seed=seed, generator=generator)  # (n, D), drawn on the CPU
    images = decode(model, z, labels, batch_size=batch_size)  # (n, C, H, W)
    return z, images, predict(classifier, images, what=what)
