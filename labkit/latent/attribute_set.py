"""Attribute directions of a trained VAE from a labelled dataset (CelebA's 40 attributes, or a folder with
its attribute table), saved as a direction set the slider UI can load beside the other kinds."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ..core.runtime import atomic_save
from ..data.dataset import ImageDataset
from ..models.sampling import is_conditional, latents
from .controlled import direction_grid
from .directions import attribute_directions, encode_latents


def vae_attribute_directions(vae: nn.Module, ds: ImageDataset, *, n: int = 0, min_count: int = 10,
                             normalize: bool = True) -> dict[str, torch.Tensor]:
    """`attribute_directions` of the VAE's posterior means on the first `n` images of `ds` (0: all).

    Raises if `ds` has no attributes (only CelebA and folders with an attribute table have them).
    """
    if ds.attributes is None or not ds.attribute_names:
        raise ValueError(f"{ds.name} has no attribute labels; attribute directions need CelebA or a folder with "
                         "a list_attr_celeba.txt table (labkit.data.attribute_table)")
    ds = ds.head(n)
    z = encode_latents(vae, ds.float(), ds.labels)
    return attribute_directions(z, ds.attributes, ds.attribute_names, min_count=min_count, normalize=normalize)


def save_directions(directions: dict[str, torch.Tensor], path: str | Path) -> Path:
    """Write a direction set (name -> (D,)) atomically as {"names": [...], "directions": (K, D)}."""
    if not directions:
        raise ValueError("no directions to save")
    return atomic_save({"names": list(directions), "directions": torch.stack(list(directions.values())).cpu()}, path)


def load_directions(path: str | Path) -> dict[str, torch.Tensor]:
    """A direction set written by `save_directions` (loaded with weights_only=True)."""
    doc = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(doc, dict) or set(doc) != {"names", "directions"} or len(doc["names"]) != len(doc["directions"]):
        raise ValueError(f"{path} is not a direction set written by labkit.latent.attribute_set.save_directions")
    return dict(zip(doc["names"], doc["directions"]))


SHOWN = ("Smiling", "Male", "Eyeglasses", "Blond Hair", "Wearing Hat", "Young")  # the seed's kind of edits


def attribute_grid(model: nn.Module, directions: dict[str, torch.Tensor], *, seed: int = 0,
                   strengths: tuple[float, ...] = (-3, -1.5, 0, 1.5, 3), k: int = 6):
    """Figure: one seeded latent moved along up to `k` attribute directions (`SHOWN` first), one row each."""
    names = [n for n in SHOWN if n in directions] + [n for n in directions if n not in SHOWN]
    shown = {n: directions[n] for n in names[:k]}
    labels = torch.zeros(1, dtype=torch.long) if is_conditional(model) else None
    return direction_grid(model, latents(model, 1, seed=seed), shown, strengths, labels=labels,
                          title=f"attribute directions × strengths {list(strengths)}")
