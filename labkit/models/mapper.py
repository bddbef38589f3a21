"""Controlled generation without labels: a network from image features back to the latent z.

The method of the controlled-generation paper (SPEC §5): (1) a generator trained without labels;
(2) sample z ~ N(0, I) and generate G(z); (3) embed the images with a fixed feature extractor (the
evaluation classifier's penultimate features by default) -> f; (4) train M: f -> z by regression
(mean squared error on z); (5) edit in feature space and map back: G(M(f + Δf)).

The mapper standardises its input with the training features' mean and std, kept as buffers so a
checkpoint carries them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn as nn
import torch.nn.functional as F

from .classifier import predict
from ..runtime import pick_device, seed_everything
from .registry import register_model

if TYPE_CHECKING:  # labkit.train imports the model registry, which imports this module
    from ..train import FitResult, Position


@dataclass(frozen=True)
class MapperConfig:
    feature_dim: int = 128               # size of the features f (the classifier's feature_dim)
    latent_dim: int = 64                 # size of z of the generator being inverted
    hidden: tuple[int, ...] = (512, 512)  # hidden layer widths (Linear, LayerNorm, ReLU)


@register_model("mapper", MapperConfig)
class Mapper(nn.Module):
    """MLP features (B, feature_dim) -> latents (B, latent_dim), on standardised features."""

    def __init__(self, cfg: MapperConfig = MapperConfig()):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("f_mean", torch.zeros(cfg.feature_dim))
        self.register_buffer("f_std", torch.ones(cfg.feature_dim))
        layers, d = [], cfg.feature_dim
        for h in cfg.hidden:
            layers += [nn.Linear(d, h), nn.LayerNorm(h), nn.ReLU(inplace=True)]
            d = h
        layers.append(nn.Linear(d, cfg.latent_dim))
        self.net = nn.Sequential(*layers)

    def set_normalisation(self, features: torch.Tensor) -> None:
        """Store the mean and std (floored at 1e-3 of the largest) of training features (N, feature_dim)."""
        std = features.std(0)
        self.f_mean.copy_(features.mean(0))
        self.f_std.copy_(std.clamp_min(1e-3 * float(std.max()) + 1e-8))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """Latents (B, latent_dim) for features (B, feature_dim)."""
        return self.net((f - self.f_mean) / self.f_std)


@torch.no_grad()
def map_features(mapper: Mapper, features: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """M(f) (N, latent_dim) on the CPU for features (N, feature_dim), batched in eval mode."""
    device = next(mapper.parameters()).device
    mapper.eval()
    return torch.cat([mapper(features[i:i + batch_size].to(device)).cpu() for i in range(0, len(features), batch_size)])


@dataclass(frozen=True)
class MapperTraining:
    n_samples: int = 20_000    # (z, f) training pairs drawn from the generator
    epochs: int = 10           # passes over the pairs (ignored when `steps` is set)
    steps: int | None = None   # fixed step budget instead of epochs
    batch_size: int = 256      # pairs per step
    lr: float = 1e-3           # Adam peak learning rate, cosine-decayed to 0
    weight_decay: float = 1e-5  # AdamW decoupled weight decay


class MapperTask:
    """One AdamW step on the mean squared error between M(f) and z; cosine learning rate."""

    def __init__(self, mapper: Mapper, settings: MapperTraining, total_steps: int):
        self.mapper = mapper
        self.modules = {"mapper": mapper}
        self.optimizers = {"mapper": torch.optim.AdamW(mapper.parameters(), lr=settings.lr,
                                                       weight_decay=settings.weight_decay)}
        self.settings, self.total_steps = settings, total_steps

    def training_step(self, batch, pos: Position) -> dict[str, float]:
        f, z = batch  # (B, F), (B, D)
        lr = self.settings.lr * 0.5 * (1 + math.cos(math.pi * pos.step / self.total_steps))
        opt = self.optimizers["mapper"]
        for g in opt.param_groups:
            g["lr"] = lr
        loss = F.mse_loss(self.mapper(f), z)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "lr": lr}


@torch.no_grad()
def sample_pairs(model: nn.Module, classifier: nn.Module, n: int, seed: int = 0, batch_size: int = 1000
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Training pairs: z ~ N(0, I) (n, D) from a CPU generator seeded `seed`, and features f = C(G(z)) (n, F).

    `model` is an unconditional VAE or GAN generator (see `labkit.latent.image_decoder`).
    """
    from ..latent import decode, image_decoder

    if getattr(model, "conditional", False):
        raise ValueError("the mapper inverts an unconditional generator; this one is conditional")
    _, dim = image_decoder(model)
    z = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))  # (n, D), all at once
    fs = [predict(classifier, decode(model, z[i:i + batch_size]), what="features") for i in range(0, n, batch_size)]
    return z, torch.cat(fs)  # (n, D), (n, F)


def train_mapper(model: nn.Module, classifier: nn.Module, *, settings: MapperTraining = MapperTraining(),
                 cfg: MapperConfig | None = None, pairs: tuple[torch.Tensor, torch.Tensor] | None = None,
                 seed: int = 0, device: str | torch.device = "auto", checkpoint: str | Path | None = None,
                 progress: bool | None = None, **fit_kwargs) -> tuple[Mapper, FitResult]:
    """Sample (z, f) pairs from `model` (or take `pairs`) and fit a fresh mapper f -> z with `labkit.train.fit`.

    Args:
        model: unconditional VAE / GAN generator; classifier: the feature extractor (`features`).
        cfg: mapper geometry; default sizes from the pairs and `MapperConfig` widths.
        pairs: precomputed (z (N, D), f (N, F)); default `sample_pairs(model, classifier, settings.n_samples, seed)`.
    """
    from ..train import fit

    z, f = pairs if pairs is not None else sample_pairs(model, classifier, settings.n_samples, seed)
    cfg = cfg or MapperConfig(feature_dim=f.shape[1], latent_dim=z.shape[1])
    if (cfg.feature_dim, cfg.latent_dim) != (f.shape[1], z.shape[1]):
        raise ValueError(f"mapper {cfg.feature_dim} -> {cfg.latent_dim} does not fit pairs f {tuple(f.shape)}, "
                         f"z {tuple(z.shape)}")
    seed_everything(seed)
    device = pick_device(device)
    mapper = Mapper(cfg)
    mapper.set_normalisation(f)
    per_epoch = math.ceil(len(z) / settings.batch_size)
    total = settings.steps or settings.epochs * per_epoch
    task = MapperTask(mapper.to(device), settings, total)
    result = fit(task, (f, z), max_steps=total, batch_size=settings.batch_size, seed=seed, checkpoint=checkpoint,
                 device=device, progress=progress, **fit_kwargs)
    return mapper.eval(), result
