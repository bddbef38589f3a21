"""Latent directions and edits, for VAE decoders and GAN generators: pure functions on latents (N, D).

Direction kinds (each a (D,) vector; `unit` makes it length 1):

- **class**: mean latent of class b minus mean latent of class a (`class_direction`). The latents and
  labels come from the VAE's encoder on labelled images (`encode_latents`), or from generated
  samples labelled by the evaluation classifier (`labelled_latents`): no manual labels needed.
- **labelled attribute** (seed 003's attribute vectors): mean latent of the images that have a binary
  attribute minus mean latent of those that have not, one per attribute of a labelled dataset such as
  CelebA's 40 (`attribute_directions`, named by the attribute: "Smiling", "Wearing Hat").
- **attribute**: least-squares regression of a per-image score on z (`attribute_direction`); the
  scores are measured properties (`ATTRIBUTES`: brightness, ink, width, height, sharpness) or a
  classifier probability (`class_probability`).
- **SeFa** (Shen & Zhou, CVPR 2021): eigenvectors of WᵀW, W the weight of the first layer that maps z
  (`labkit.models.sampling.first_layer`): for `labkit.models.gan.Generator` the dense `project` layer (z -> c0·s0·s0, before
  the reshape to the start resolution); for `labkit.models.vae.VAE` the first dense layer of
  `decoder_dense`. Only the columns that multiply z are used (not the label/embedding columns of
  conditional models). As in the official implementation, each output unit's weight row is scaled to
  unit norm first (`normalize=False` gives the plain eigenvectors of WᵀW).
- **PCA** (GANSpace, Härkönen et al. 2020): principal components of sampled first-layer activations
  (after its non-linearity), mapped back to z by least-squares regression of z on the PCA coordinates.

Edits are `edit(z, direction, strength) = z + strength · direction`; decoding, first layers and latent
paths are the generator protocol's (`labkit.models.sampling`).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..metrics.sharpness import laplacian_variance
from ..models.classifier import predict
from ..models.sampling import is_conditional

Score = Callable[[torch.Tensor], torch.Tensor]


# -- directions -------------------------------------------------------------------------------------
def unit(v: torch.Tensor) -> torch.Tensor:
    """`v` scaled to unit length along its last axis."""
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def class_means(z: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Mean latent per class (K, D) of latents z (N, D) with labels (N,); NaN rows for absent classes."""
    onehot = F.one_hot(labels.long(), num_classes).to(z.dtype)  # (N, K)
    counts = onehot.sum(0)[:, None]  # (K, 1)
    return (onehot.T @ z) / counts  # (K, D)


def class_direction(z: torch.Tensor, labels: torch.Tensor, source: int, target: int) -> torch.Tensor:
    """Mean latent of class `target` minus that of class `source`, (D,), unnormalised.

    Args:
        z: (N, D) latents; labels: (N,) their classes (true labels, or the classifier's argmax).
    """
    a, b = z[labels == source], z[labels == target]
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"class {source if len(a) == 0 else target} has no latents; sample more")
    return b.mean(0) - a.mean(0)


def attribute_directions(z: torch.Tensor, attributes: torch.Tensor, names: tuple[str, ...] | list[str], *,
                         min_count: int = 1, normalize: bool = True) -> dict[str, torch.Tensor]:
    """Per binary attribute: mean latent of the images with it minus mean of those without; name -> (D,).

    Args:
        z: (N, D) latents of labelled images (`encode_latents`); attributes: (N, A) in {0, 1} (CelebA's, with
            -1 read as 0); names: the A attribute names (`ImageDataset.attribute_names`), shown with
            underscores as spaces.
        min_count: an attribute needs at least this many images on each side, else it is left out (its
            mean would be one image's code).
        normalize: unit length (as the other direction kinds, so one slider step is one unit of z); False
            keeps the mean difference, whose length is the attribute's typical step.
    """
    if attributes.ndim != 2 or attributes.shape[0] != len(z) or attributes.shape[1] != len(names):
        raise ValueError(f"attributes must be (N, A) = ({len(z)}, {len(names)}) for {len(z)} latents and "
                         f"{len(names)} names; got {tuple(attributes.shape)}")
    has = attributes > 0  # (N, A)
    z64 = z.double()
    out = {}
    for a, name in enumerate(names):
        n_with = int(has[:, a].sum())
        if min(n_with, len(z) - n_with) < max(1, min_count):
            continue
        d = (z64[has[:, a]].mean(0) - z64[~has[:, a]].mean(0)).to(z.dtype)
        out[str(name).replace("_", " ")] = unit(d) if normalize else d
    return out


def attribute_direction(z: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, float, float]:
    """Least-squares fit score ≈ w·z + c; returns (w / |w| (D,), |w| = score change per unit step, R²).

    Args:
        z: (N, D) latents; scores: (N,) per-image measurements of the images G(z).
    """
    z64, s = z.double(), scores.double().flatten()
    x = torch.cat([z64, torch.ones(len(z64), 1, dtype=z64.dtype)], 1)  # (N, D + 1)
    coef = torch.linalg.lstsq(x, s[:, None]).solution[:, 0]  # (D + 1,)
    w = coef[:-1]
    resid = s - x @ coef
    r2 = 1.0 - float(resid.pow(2).sum() / (s - s.mean()).pow(2).sum().clamp_min(1e-24))
    return unit(w).to(z.dtype), float(w.norm()), r2


def sefa_directions(weight: torch.Tensor, k: int | None = None, normalize: bool = True
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """SeFa: the top-k eigenvectors of WᵀW as rows (k, D), orthonormal, and their eigenvalues (k,), descending.

    Args:
        weight: (out, D) first-layer weight acting on z (`labkit.models.sampling.first_layer`).
        normalize: scale each output row of W to unit norm first (the official implementation does).
    """
    w = weight.detach().double()
    if normalize:
        w = w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)
    values, vectors = torch.linalg.eigh(w.T @ w)  # ascending, (D,), (D, D) columns
    order = values.argsort(descending=True)[: k or len(values)]
    return vectors[:, order].T.to(weight.dtype).contiguous(), values[order].to(weight.dtype)


def pca_directions(z: torch.Tensor, activations: torch.Tensor, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """GANSpace: PCA of activations (N, F) mapped to z by regression; (k, D) unit rows and variance ratios (k,).

    The regression finds U (k, D) minimising Σ_i |z_i − U·x_i|², x_i the PCA coordinates of sample i;
    row j of U is the latent direction whose change moves the activations along component j.
    """
    a = activations.double()
    a = a - a.mean(0)
    _, s, vh = torch.linalg.svd(a, full_matrices=False)  # vh (r, F)
    k = min(k, len(s))
    x = a @ vh[:k].T  # (N, k) PCA coordinates
    u = torch.linalg.lstsq(x, z.double() - z.double().mean(0)).solution  # (k, D)
    ratio = s[:k] ** 2 / (s ** 2).sum()
    return unit(u).to(z.dtype), ratio.to(z.dtype)


# -- edits and paths -------------------------------------------------------------------------------
def edit(z: torch.Tensor, direction: torch.Tensor, strength: float | torch.Tensor) -> torch.Tensor:
    """`z + strength · direction`: z (N, D), direction (D,), strength a number or (N,) -> (N, D)."""
    s = torch.as_tensor(strength, dtype=z.dtype)
    return z + (s[:, None] if s.ndim else s) * direction.to(z.dtype)


def sweep(z: torch.Tensor, direction: torch.Tensor, strengths) -> torch.Tensor:
    """Every latent at every strength: (S, N, D) for z (N, D) and S strengths."""
    return torch.stack([edit(z, direction, float(s)) for s in strengths])


# -- latents with labels ------------------------------------------------------------------------------
@torch.no_grad()
def encode_latents(vae: nn.Module, images: torch.Tensor, labels: torch.Tensor | None = None,
                   batch_size: int = 1000) -> torch.Tensor:
    """Posterior means (N, D) of images (N, C, H, W) in [0, 1] (labels (N,) for a conditional VAE)."""
    device = next(vae.parameters()).device
    vae.eval()
    out = []
    for i in range(0, len(images), batch_size):
        lab = None if labels is None or not is_conditional(vae) else labels[i:i + batch_size].to(device)
        out.append(vae.encode(images[i:i + batch_size].to(device), lab)[0].cpu())
    return torch.cat(out)


# -- per-image attributes (scores) ----------------------------------------------------------------------
ATTRIBUTES: dict[str, Score] = {}


def register_attribute(name: str):
    """Decorator: add a per-image score images (N, C, H, W) in [0, 1] -> (N,) to `ATTRIBUTES`."""
    def wrap(fn):
        ATTRIBUTES[name] = fn
        return fn
    return wrap


@register_attribute("brightness")
def brightness(images: torch.Tensor) -> torch.Tensor:
    """Mean pixel value (N,)."""
    return images.flatten(1).mean(1)


@register_attribute("ink")
def ink(images: torch.Tensor, threshold: float = 0.2) -> torch.Tensor:
    """Share of pixels brighter than `threshold` (N,): the object's area on a dark background."""
    return (images.mean(1) > threshold).flatten(1).float().mean(1)


def _spread(images: torch.Tensor, axis: int) -> torch.Tensor:
    m = images.mean(1)  # (N, H, W)
    profile = m.sum(axis)  # (N, L)
    pos = torch.linspace(0, 1, profile.shape[1], dtype=m.dtype)  # (L,)
    w = profile / profile.sum(1, keepdim=True).clamp_min(1e-8)
    mean = (w * pos).sum(1, keepdim=True)
    return 2 * ((w * (pos - mean) ** 2).sum(1)).sqrt()  # (N,), ~ extent as a share of the image


@register_attribute("width")
def width(images: torch.Tensor) -> torch.Tensor:
    """Horizontal extent (N,): twice the intensity-weighted std of the column position (share of the width)."""
    return _spread(images, 1)


@register_attribute("height")
def height(images: torch.Tensor) -> torch.Tensor:
    """Vertical extent (N,): twice the intensity-weighted std of the row position (share of the height)."""
    return _spread(images, 2)


@register_attribute("sharpness")
def sharpness(images: torch.Tensor) -> torch.Tensor:
    """Variance of the Laplacian (N,) (`labkit.metrics.sharpness`)."""
    return torch.as_tensor(laplacian_variance(images), dtype=images.dtype)


def class_probability(classifier: nn.Module, k: int) -> Score:
    """Score: the classifier's probability of class k (N,)."""
    return lambda images: predict(classifier, images)[:, k]


def measure(images: torch.Tensor, scores: dict[str, Score]) -> dict[str, torch.Tensor]:
    """Every score of images (N, C, H, W): name -> (N,)."""
    return {name: fn(images).float().cpu() for name, fn in scores.items()}
