"""GAN objectives and gradient penalties: pure functions of critic scores and critics.

Scores are the discriminator's raw outputs (B,). Each loss returns the discriminator's and the
generator's loss as separate functions so the two optimiser steps stay independent.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

LOSSES = ("ns", "wasserstein", "hinge", "relativistic")


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss from scores of real (B,) and generated (B,) images.

    Args:
        kind: "ns" (DCGAN: -log D(x) - log(1 - D(G(z))) with D = sigmoid(score)); "wasserstein"
            (E score(fake) - E score(real)); "hinge" (SNGAN: E relu(1 - real) + E relu(1 + fake));
            "relativistic" (RpGAN, R3GAN: E softplus(-(real - fake)), real and fake paired per row).
    """
    if kind == "ns":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "wasserstein":
        return fake.mean() - real.mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "relativistic":
        return F.softplus(-(real - fake)).mean()
    raise ValueError(f"unknown GAN loss {kind!r}; choose one of {LOSSES}")


def g_loss(kind: str, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
    """Generator loss from scores of generated images (B,) (and of real ones (B,) for "relativistic").

    "ns" is the non-saturating -log D(G(z)); "wasserstein" and "hinge" use -E score(fake).
    """
    if kind == "ns":
        return F.softplus(-fake).mean()
    if kind in ("wasserstein", "hinge"):
        return -fake.mean()
    if kind == "relativistic":
        if real is None:
            raise ValueError("the relativistic generator loss needs the scores of real images")
        return F.softplus(-(fake - real)).mean()
    raise ValueError(f"unknown GAN loss {kind!r}; choose one of {LOSSES}")


Critic = Callable[[torch.Tensor], torch.Tensor]  # images (B, ...) -> scores (B,)


def input_gradients(critic: Critic, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores (B,) and their gradients w.r.t. the inputs (B, ...), kept in the graph (double backprop)."""
    x = x.detach().requires_grad_(True)
    scores = critic(x)  # (B,)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return scores, grad


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty E (||∇ critic(x̂)||₂ - 1)² at x̂ = ε·real + (1-ε)·fake, ε ~ U(0, 1) per image.

    Args:
        real, fake: (B, ...) images in the critic's input space. Multiply by λ (10 in Gulrajani et al.).
        generator: CPU generator for ε (drawn on the CPU, then moved); None uses the global one.
    """
    eps = torch.rand(len(real), *([1] * (real.ndim - 1)), generator=generator).to(real.device)  # (B, 1, ...)
    mixed = eps * real.detach() + (1 - eps) * fake.detach()  # (B, ...)
    _, grad = input_gradients(critic, mixed)
    norms = grad.flatten(1).norm(dim=1)  # (B,)
    return ((norms - 1) ** 2).mean()


def zero_centred_penalty(critic: Critic, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """E ||∇ critic(x)||₂² at the given images: R1 on real ones, R2 on generated ones (Mescheder et al. 2018).

    Returns the penalty (scalar; the R3GAN loss adds γ/2 times it) and the scores (B,) at x, which the
    adversarial loss can reuse.
    """
    scores, grad = input_gradients(critic, x)
    return grad.flatten(1).pow(2).sum(1).mean(), scores


@torch.no_grad()
def clip_weights(module: torch.nn.Module, c: float) -> None:
    """WGAN weight clipping: clamp every parameter to [-c, c] in place."""
    for p in module.parameters():
        p.clamp_(-c, c)
