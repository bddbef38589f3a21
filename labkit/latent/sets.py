"""Named direction sets of one model, for the slider UI: {set name: {readable label: unit (D,) direction}}.

Every direction kind of `labkit.latent.directions` becomes one set, and each label says what identifies
the direction and how well it was found, readable in full:

- "class": towards each class, mean latent of class k minus the mean of all labelled latents
  ("class: Ankle boot"); the reference is the model's `labkit.latent.controlled.Reference`.
- "class probability": regression of the classifier's p(k) on z, for every class ("p(Ankle boot), R² 0.41").
- "attribute": regression of each `ATTRIBUTES` score on z ("brightness, R² 0.93").
- "SeFa": eigenvectors of WᵀW of the first layer ("SeFa 1 (31.2% of Σλ)").
- "PCA": GANSpace components mapped back to z ("PCA 2 (7.1% var)").

A mapping {model name: these sets} is what `labkit.ui.widgets.latent_explorer` shows; more kinds (for
example attribute labels of a dataset) plug in as more entries, with no change to the UI.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import torch
import torch.nn as nn

from ..generate import labelled_latents
from ..models.sampling import first_layer, is_conditional
from .directions import ATTRIBUTES, attribute_direction, class_means, measure, pca_directions, sefa_directions, unit

DirectionSet = dict[str, torch.Tensor]  # readable label -> (D,) unit direction
DirectionSets = dict[str, DirectionSet]  # set name -> its directions


def class_set(z: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str]) -> DirectionSet:
    """Per class present in `labels` (N,): unit(mean latent of the class − mean of all latents z (N, D)).

    With fewer than two classes present (a collapsed generator labelled by the classifier) there is no
    class direction: empty, with a warning.
    """
    means = class_means(z, labels, len(class_names))  # (K, D), NaN rows for absent classes
    present = [k for k in range(len(class_names)) if not torch.isnan(means[k]).any()]
    if len(present) < 2:
        warnings.warn(f"labelled latents of {len(present)} class(es) only: no class direction", stacklevel=2)
        return {}
    overall = z.mean(0)
    return {f"class: {class_names[k]}": unit(means[k] - overall) for k in present}


def regression_set(z: torch.Tensor, scores: dict[str, torch.Tensor]) -> DirectionSet:
    """Per score name -> (N,) measured on G(z): the least-squares direction, labelled with the fit's R².

    A score that is the same for every sample has no direction: it is left out, with a warning (an untrained
    or collapsed model can draw, say, the same ink share everywhere).
    """
    out = {}
    for name, s in scores.items():
        if s.max() == s.min():
            warnings.warn(f"{name} is {float(s[0]):g} on all {len(s)} samples: no direction for it", stacklevel=2)
            continue
        d, _, r2 = attribute_direction(z, s)
        out[f"{name}, R² {r2:.2f}"] = d
    return out


def spectral_sets(model: nn.Module, z: torch.Tensor, k: int, labels: torch.Tensor | None = None) -> DirectionSets:
    """SeFa and PCA (top k each) of the model's first layer; PCA from the activations of the latents z (N, D)
    (with `labels` (N,) for a conditional model)."""
    weight, act = first_layer(model)
    vectors, values = sefa_directions(weight)  # all D, to state each one's share of the eigenvalue sum
    share = values / values.sum()
    sefa = {f"SeFa {i + 1} ({float(share[i]):.1%} of Σλ)": vectors[i] for i in range(min(k, len(values)))}
    lab = None if labels is None else labels.to(weight.device)
    dirs, ratio = pca_directions(z, act(z.to(weight.device), lab).cpu(), k)
    pca = {f"PCA {i + 1} ({float(r):.1%} var)": d for i, (d, r) in enumerate(zip(dirs, ratio))}
    return {"SeFa": sefa, "PCA": pca}


@torch.no_grad()
def direction_sets(model: nn.Module, classifier: nn.Module, ref_z: torch.Tensor, ref_labels: torch.Tensor, *,
                   class_names: Sequence[str], k: int = 5, n: int = 2000, seed: int = 0) -> DirectionSets:
    """Every direction kind of `model` as a named set (see the module docstring).

    Args:
        ref_z, ref_labels: labelled latents (N, D), (N,) behind the class set (`Reference.z`, `.labels`).
        class_names: the classifier's class names; k: SeFa and PCA directions kept;
        n, seed: the seeded samples behind the regressions and PCA (a conditional model's labels cycle
            through the classes).
    Returns:
        the non-empty sets, in the order class, class probability, attribute, SeFa, PCA.
    """
    labels = torch.arange(n) % model.cfg.num_classes if is_conditional(model) else None  # every class in turn
    z, images, probs = labelled_latents(model, classifier, n, seed=seed, labels=labels)  # (n, D), (n, C, H, W), (n, K)
    probability = {f"p({name})": probs[:, i] for i, name in enumerate(class_names[:probs.shape[1]])}
    sets = {"class": class_set(ref_z, ref_labels, class_names),
            "class probability": regression_set(z, probability),
            "attribute": regression_set(z, measure(images, ATTRIBUTES)),
            **spectral_sets(model, z, k, labels)}
    return {name: dirs for name, dirs in sets.items() if dirs}  # a set whose every score was constant (warned)


def add_set(sets: dict[str, DirectionSets], model: str, name: str, directions: DirectionSet, latent_dim: int) -> None:
    """Add one more named set to a model's sets (e.g. attribute-label directions saved by notebook 02), in place.

    Raises when the model has no sets, the set name is taken, or a direction is not a (latent_dim,) vector.
    """
    if model not in sets:
        raise KeyError(f"no direction sets for model {model!r}; models: {sorted(sets)}")
    if name in sets[model]:
        raise ValueError(f"model {model!r} already has a direction set named {name!r}")
    wrong = {label: tuple(d.shape) for label, d in directions.items() if tuple(d.shape) != (latent_dim,)}
    if not directions or wrong:
        raise ValueError(f"direction set {name!r} must hold ({latent_dim},) vectors for model {model!r}; got "
                         f"{wrong or 'no directions'}: was it made from this model's latents?")
    sets[model][name] = {label: unit(d.float()) for label, d in directions.items()}
