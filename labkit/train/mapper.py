"""Training the controlled-generation mapper f -> z (SPEC §5): sample (z, C(G(z))) pairs, regress z on f."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.runtime import pick_device, seed_everything
from ..generate import labelled_latents
from ..models.mapper import Mapper, MapperConfig
from ..models.sampling import is_conditional
from .loop import FitResult, Position, fit


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
                                                       weight_decay=settings.weight_decay, fused=True)}
        self.settings, self.total_steps = settings, total_steps

    def training_step(self, batch, pos: Position) -> dict[str, torch.Tensor | float]:
        f, z = batch  # (B, F), (B, D)
        lr = self.settings.lr * 0.5 * (1 + math.cos(math.pi * pos.step / self.total_steps))
        opt = self.optimizers["mapper"]
        for g in opt.param_groups:
            g["lr"] = lr
        loss = F.mse_loss(self.mapper(f), z)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.detach(), "lr": lr}


@torch.no_grad()
def sample_pairs(model: nn.Module, classifier: nn.Module, n: int, seed: int = 0, batch_size: int = 1000
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Training pairs: z ~ N(0, I) (n, D) from a CPU generator seeded `seed`, and features f = C(G(z)) (n, F).

    `model` is an unconditional generator (the protocol of `labkit.models.sampling`).
    """
    if is_conditional(model):
        raise ValueError("the mapper inverts an unconditional generator; this one is conditional")
    z, _, f = labelled_latents(model, classifier, n, seed=seed, what="features", batch_size=batch_size)
    return z, f  # (n, D), (n, F)


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
