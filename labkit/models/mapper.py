"""Controlled generation without labels: a network from image features back to the latent z.

The method of the controlled-generation paper (SPEC §5): (1) a generator trained without labels;
(2) sample z ~ N(0, I) and generate G(z); (3) embed the images with a fixed feature extractor (the
evaluation classifier's penultimate features by default) -> f; (4) train M: f -> z by regression
(mean squared error on z); (5) edit in feature space and map back: G(M(f + Δf)).

Training (sampling the pairs, the fit) is in `labkit.train.mapper`. The mapper standardises its input with the training features' mean and std, kept as buffers so a
checkpoint carries them.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .registry import register_model


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
