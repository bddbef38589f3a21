"""Latent directions and controlled generation measured for several models at once (notebooks 07 and 08).

Each function loops over `models` (name -> VAE or GAN generator) so the notebooks stay one call per step;
the per-model methods are in `labkit.latent`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
import torch
import torch.nn as nn

from ..core.record import MetricRecord, tagged
from ..data.dataset import ImageDataset
from ..latent.controlled import (
    Reference,
    class_edits,
    direction_grid,
    direction_set,
    edit_figure,
    edit_quality,
    mapper_errors,
    reference_set,
    success_table,
)
from ..latent.sets import DirectionSets, direction_sets
from ..models.mapper import Mapper
from ..models.sampling import is_conditional, latents
from ..train.loop import FitResult
from ..train.mapper import MapperTraining, train_mapper


@dataclass
class Directions:
    """Per model: the class-direction reference, the measured directions (name -> (D,)) and the attribute each
    targets, and every direction kind as named sets for the sliders ({set name: {label: (D,)}})."""
    refs: dict[str, Reference]
    directions: dict[str, dict[str, torch.Tensor]]
    targets: dict[str, dict[str, str]]
    sets: dict[str, DirectionSets]


def _labels(model: nn.Module, n: int, cls: int) -> torch.Tensor | None:
    """`cls` for every latent of a conditional model (its class picker), None for an unconditional one."""
    return torch.full((n,), cls) if is_conditional(model) else None


def references(models: Mapping[str, nn.Module], classifier: nn.Module, labelled: ImageDataset, *, n: int,
               seed: int = 0) -> dict[str, Reference]:
    """Class-direction references: a VAE's encoder on the `labelled` images, else n classifier-labelled samples."""
    return {name: reference_set(m, classifier, images=labelled.float(), labels=labelled.labels, n=n, seed=seed)
            for name, m in models.items()}


def all_directions(models: Mapping[str, nn.Module], classifier: nn.Module, labelled: ImageDataset, *, source: int,
                   target: int, k: int, n_reference: int, n_samples: int, seed: int = 0) -> Directions:
    """Class, attribute, SeFa and PCA directions of every model: the measured ones
    (`labkit.latent.controlled.direction_set`) and the slider sets (`labkit.latent.sets.direction_sets`)."""
    refs = references(models, classifier, labelled, n=n_reference, seed=seed)
    measured = {name: direction_set(m, classifier, refs[name], source=source, target=target, k=k, n=n_samples,
                                    seed=seed, class_names=labelled.class_names) for name, m in models.items()}
    sets = {name: direction_sets(m, classifier, refs[name].z, refs[name].labels, class_names=labelled.class_names,
                                 k=k, n=n_samples, seed=seed) for name, m in models.items()}
    return Directions(refs, {n: d for n, (d, _) in measured.items()}, {n: t for n, (_, t) in measured.items()}, sets)


def direction_grids(models: Mapping[str, nn.Module], found: Directions, strengths: Sequence[float], *, seed: int = 0,
                    target: int = 0) -> dict[str, object]:
    """Per model, a grid of every direction at every strength from one seeded latent (figures)."""
    return {name: direction_grid(m, latents(m, 1, seed=seed), found.directions[name], strengths,
                                 labels=_labels(m, 1, target), title=f"{name}: directions × strengths {list(strengths)}")
            for name, m in models.items()}


def edit_qualities(models: Mapping[str, nn.Module], found: Directions, classifier: nn.Module, *, n_batch: int,
                   strengths: Sequence[float], seed: int = 0, target: int = 0,
                   class_names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Per model, `edit_quality` of every direction on a fixed batch of `n_batch` latents seeded `seed + 1`."""
    return {name: edit_quality(m, latents(m, n_batch, seed=seed + 1), found.directions[name],
                               targets=found.targets[name], classifier=classifier, class_names=tuple(class_names or ()),
                               strengths=strengths, labels=_labels(m, n_batch, target))
            for name, m in models.items()}


def edit_quality_records(quality: Mapping[str, pd.DataFrame], checkpoints: Mapping[str, str]) -> list[MetricRecord]:
    """`edit_effect_std` and `edit_leakage` per model and direction."""
    out = []
    for name, q in quality.items():
        for r in q.itertuples():
            fields = {"model": name, "checkpoint": checkpoints.get(name, ""), "direction": r.direction,
                      "target": r.target}
            out += [MetricRecord("edit_effect_std", r.effect_std, protocol=fields),
                    MetricRecord("edit_leakage", r.leakage, protocol=fields)]
    return tagged(out, "latent_directions")


def train_mappers(models: Mapping[str, nn.Module], classifier: nn.Module, settings: MapperTraining, *,
                  seed: int = 0, device: str | torch.device = "auto", run: str | Path | None = None
                  ) -> tuple[dict[str, Mapper], dict[str, FitResult]]:
    """A features -> z mapper per model (checkpoints `<run>/mapper_<name>.pt` when `run` is given)."""
    mappers, fits = {}, {}
    for name, m in models.items():
        checkpoint = Path(run) / f"mapper_{name}.pt" if run else None
        mappers[name], fits[name] = train_mapper(m, classifier, settings=settings, seed=seed, device=device,
                                                 checkpoint=checkpoint)
    return mappers, fits


@dataclass
class ControlledGeneration:
    """Per model: the class-direction reference, mapper errors, every class edit (rows of `class_edits`), and
    edit success per strength."""
    refs: dict[str, Reference]
    errors: dict[str, dict[str, float]]
    edits: dict[str, pd.DataFrame]
    success: dict[str, pd.DataFrame]


def controlled_generation(models: Mapping[str, nn.Module], classifier: nn.Module, mappers: Mapping[str, Mapper],
                          labelled: ImageDataset, *, strengths: Sequence[float], n_reference: int, n_per_class: int,
                          n_eval: int, seed: int = 0) -> ControlledGeneration:
    """Mapper errors on fresh samples and class edits over all ordered class pairs, in z and in feature space."""
    k = labelled.num_classes
    pairs = [(a, b) for a in range(k) for b in range(k) if a != b]
    refs = references(models, classifier, labelled, n=n_reference, seed=seed)
    errors = {name: mapper_errors(m, classifier, mappers[name], n=n_eval, seed=seed + 12345)
              for name, m in models.items()}
    edits = {name: class_edits(m, classifier, mappers[name], refs[name], pairs, strengths, n_per_class=n_per_class,
                               seed=seed + 1) for name, m in models.items()}
    return ControlledGeneration(refs, errors, edits, {name: success_table(e) for name, e in edits.items()})


def edit_figures(models: Mapping[str, nn.Module], classifier: nn.Module, mappers: Mapping[str, Mapper],
                 result: ControlledGeneration, *, source: int, target: int, strengths: Sequence[float],
                 class_names: Sequence[str], seed: int = 0) -> dict[str, object]:
    """Per model, three starting images of `source` edited towards `target`, in z and in feature space."""
    return {name: edit_figure(m, classifier, mappers[name], result.refs[name], source, target, strengths, n=3,
                              seed=seed + 1, class_names=class_names) for name, m in models.items()}


def controlled_records(result: ControlledGeneration, checkpoints: Mapping[str, str], n_eval: int) -> list[MetricRecord]:
    """`mapper_<error>` per model and `edit_success` per model, method and strength."""
    out = []
    for name, errors in result.errors.items():
        fields = {"model": name, "checkpoint": checkpoints.get(name, "")}
        out += [MetricRecord(f"mapper_{m}", v, protocol={**fields, "n_eval": n_eval}) for m, v in errors.items()]
        for s, row in result.success[name].iterrows():
            out += [MetricRecord("edit_success", v, protocol={**fields, "method": method, "strength": float(s)})
                    for method, v in row.items()]
    return tagged(out, "controlled_generation", pairs="all ordered")
