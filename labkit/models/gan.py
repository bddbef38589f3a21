"""GAN networks: a DCGAN-style generator and discriminator/critic, unconditional or class-conditional.

One backbone serves every variant (DCGAN, WGAN clip/GP/SN/SN+GP, R3GAN, ACGAN, projection), so a
comparison between variants isolates the loss and the regularisation. Both networks work in the model
space [-1, 1]; `Generator.sample` returns images in [0, 1] and `Discriminator.score` takes them.
Geometry follows the config: the generator starts at `image_size / 2**k` pixels (the largest k with a
start of at least 4 pixels: 28 -> 7, 32 -> 4, 64 -> 4, 8 -> 4) and doubles k times with 4×4 stride-2
transposed convolutions, the last one producing the image (as in DCGAN); the discriminator mirrors it
with 4×4 stride-2 convolutions. No layer runs at full resolution with many channels, which keeps CPU
training affordable.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from ..data.dataset import check_images
from .layout import FlattenNCHW, channels_last
from .registry import register_model

CONDITIONING = ("none", "acgan", "projection")


@dataclass(frozen=True)
class GANConfig:
    channels: int = 1              # image channels (1 grey, 3 RGB)
    image_size: int = 28           # square images: 28 (grey), 32 or 64 (RGB), 8 (tests); needs a factor 2**k >= 2
    latent_dim: int = 64           # size of z ~ N(0, I)
    num_classes: int = 0           # 0: unconditional; else the number of classes of `labels=`
    conditioning: str = "none"     # "none"; "acgan": G gets a class embedding beside z, D an auxiliary
                                   # classifier head (Odena et al. 2017); "projection": conditional batch norm
                                   # in G, projection discriminator (Miyato & Koyama 2018, SNGAN)
    g_width: int = 32              # G channels at half resolution; doubled per further halving
    d_width: int = 32              # D channels at half resolution; doubled per further halving
    max_width: int = 256           # cap on channels per layer
    g_norm: str = "batch"          # "batch" (DCGAN, WGAN-GP papers) or "none"
    d_norm: str = "none"           # "none" (needed with gradient penalties), "batch" (DCGAN, WGAN-clip papers)
                                   # or "layer" (the WGAN-GP paper's suggestion for critics)
    d_spectral: bool = False       # spectral norm on every D weight (SNGAN; WGAN-SN)
    g_spectral: bool = False       # spectral norm on every G weight (optional in WGAN-SN)

    def __post_init__(self):
        if self.conditioning not in CONDITIONING:
            raise ValueError(f"conditioning must be one of {CONDITIONING}; got {self.conditioning!r}")
        if (self.conditioning == "none") != (self.num_classes == 0):
            raise ValueError("a conditional GAN needs num_classes > 0 and conditioning 'acgan' or 'projection'; "
                             f"got num_classes={self.num_classes}, conditioning={self.conditioning!r}")
        if self.conditioning == "projection" and self.g_norm != "batch":
            raise ValueError("projection conditioning uses conditional batch norm in G: set g_norm='batch'")
        if self.g_norm not in ("batch", "none") or self.d_norm not in ("none", "batch", "layer"):
            raise ValueError(f"g_norm is 'batch' or 'none', d_norm 'none', 'batch' or 'layer'; "
                             f"got {self.g_norm!r}, {self.d_norm!r}")
        self.upsamplings  # validates the image size

    @property
    def upsamplings(self) -> int:
        """k: the number of resolution doublings from the start size to `image_size`."""
        k = 0
        while self.image_size % 2 ** (k + 1) == 0 and self.image_size // 2 ** (k + 1) >= 4:
            k += 1
        if k == 0:
            raise ValueError(f"image_size {self.image_size} must be even and at least 8")
        return k

    @property
    def start_size(self) -> int:
        return self.image_size // 2 ** self.upsamplings

    def width(self, level: int, base: int) -> int:
        """Channels at `level` >= 1 halvings below full resolution."""
        return min(base * 2 ** (level - 1), self.max_width)


def _sn(module: nn.Module, on: bool) -> nn.Module:
    return spectral_norm(module) if on else module


class CondBatchNorm2d(nn.Module):
    """Batch norm whose gain and bias are looked up per class (conditional batch norm)."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.normal_(self.gain.weight, 1.0, 0.02)  # near 1, class-dependent from the start
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.bn(x)  # (B, C, H, W)
        return h * self.gain(labels)[:, :, None, None] + self.bias(labels)[:, :, None, None]


class _UpBlock(nn.Module):
    """Transposed conv 4×4 stride 2 (doubles H, W) -> (conditional) batch norm -> ReLU."""

    def __init__(self, c_in: int, c_out: int, cfg: GANConfig):
        super().__init__()
        self.conv = _sn(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=cfg.g_norm == "none"), cfg.g_spectral)
        if cfg.g_norm == "none":
            self.norm = None
        elif cfg.conditioning == "projection":
            self.norm = CondBatchNorm2d(c_out, cfg.num_classes)
        else:
            self.norm = nn.BatchNorm2d(c_out)

    def forward(self, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        h = self.conv(h)  # (B, c_out, 2H, 2W)
        if isinstance(self.norm, CondBatchNorm2d):
            h = self.norm(h, labels)
        elif self.norm is not None:
            h = self.norm(h)
        return F.relu(h)


@register_model("gan_generator", GANConfig)
class Generator(nn.Module):
    """z (and a class) -> image: linear to (w, s0, s0), k-1 up-blocks, a last 4×4 transposed conv, tanh."""

    def __init__(self, cfg: GANConfig = GANConfig()):
        super().__init__()
        self.cfg = cfg
        k, s0 = cfg.upsamplings, cfg.start_size
        z_in = cfg.latent_dim
        if cfg.conditioning == "acgan":
            self.embed = nn.Embedding(cfg.num_classes, cfg.latent_dim)
            z_in += cfg.latent_dim
        c0 = cfg.width(k, cfg.g_width)
        self.project = _sn(nn.Linear(z_in, c0 * s0 * s0), cfg.g_spectral)
        self.project_norm = None
        if cfg.g_norm == "batch":
            self.project_norm = (CondBatchNorm2d(c0, cfg.num_classes) if cfg.conditioning == "projection"
                                 else nn.BatchNorm2d(c0))
        self.blocks = nn.ModuleList(_UpBlock(cfg.width(i, cfg.g_width), cfg.width(i - 1, cfg.g_width), cfg)
                                    for i in range(k, 1, -1))
        self.to_image = _sn(nn.ConvTranspose2d(cfg.width(1, cfg.g_width), cfg.channels, 4, 2, 1), cfg.g_spectral)
        self.to(memory_format=torch.channels_last)  # NHWC convs: see labkit.models.layout

    @property
    def conditional(self) -> bool:
        return self.cfg.num_classes > 0

    @property
    def num_classes(self) -> int:
        return self.cfg.num_classes

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [0, 1] (B, C, H, W) from latents z (B, latent_dim): the generator protocol's map."""
        return (self(z, labels) + 1) / 2

    def _project(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The first layer: z (and a class) -> activations (B, c0, s0, s0) after its norm and ReLU."""
        cfg, s0 = self.cfg, self.cfg.start_size
        if cfg.conditioning == "acgan":
            z = torch.cat([z, self.embed(labels)], dim=1)  # (B, 2 * latent_dim)
        h = channels_last(self.project(z).view(len(z), -1, s0, s0))  # (B, c0, s0, s0)
        if isinstance(self.project_norm, CondBatchNorm2d):
            h = self.project_norm(h, labels)
        elif self.project_norm is not None:
            h = self.project_norm(h)
        return F.relu(h)

    def first_layer(self) -> tuple[torch.Tensor, Callable[..., torch.Tensor]]:
        """The dense `project` layer's weight on z's columns (out, D) (ACGAN's embedding columns follow) and
        `(z (N, D), labels=None) -> (N, out)` activations after its norm and ReLU, before the reshape."""
        @torch.no_grad()
        def act(z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
            return self._project(z, self._check_labels(labels, len(z), z.device)).flatten(1)
        return self.project.weight[:, :self.cfg.latent_dim].detach(), act

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [-1, 1] (B, C, H, W) from latents z (B, latent_dim) and, if conditional, labels (B,)."""
        labels = self._check_labels(labels, len(z), z.device)
        h = self._project(z, labels)  # (B, c0, s0, s0)
        for block in self.blocks:
            h = block(h, labels)  # (B, c, 2s, 2s)
        return torch.tanh(self.to_image(h))  # (B, C, H, W): the last doubling

    def _check_labels(self, labels, n: int, device) -> torch.Tensor | None:
        if not self.conditional:
            if labels is not None:
                raise ValueError("this generator is unconditional; do not pass labels")
            return None
        if labels is None:
            raise ValueError(f"this generator is conditional: pass labels (B,) in 0..{self.num_classes - 1}")
        labels = torch.as_tensor(labels, dtype=torch.long).to(device)
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},); got {tuple(labels.shape)}")
        if len(labels) and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}")
        return labels

    def default_labels(self, n: int) -> torch.Tensor | None:
        """Balanced labels 0, 1, ..., K-1, 0, 1, ... (n,) for a conditional generator; None otherwise."""
        return torch.arange(n) % self.num_classes if self.conditional else None

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
               truncation: float = 1.0, batch_size: int = 1000) -> torch.Tensor:
        """n images in [0, 1] (n, C, H, W), on the model's device.

        Args:
            generator: CPU torch generator for z (drawn on the CPU, then moved): same seed, same images.
            labels: (n,) classes of a conditional generator; None: `default_labels(n)` (balanced).
            truncation: latent scale, z ~ truncation · N(0, I); below 1 trades diversity for quality.
        """
        device = next(self.parameters()).device
        labels = self.default_labels(n) if labels is None and self.conditional else labels
        z = torch.randn(n, self.cfg.latent_dim, generator=generator) * truncation  # (n, latent_dim), CPU
        labels = self._check_labels(labels, n, "cpu")
        out = []
        for i in range(0, n, batch_size):
            lab = None if labels is None else labels[i:i + batch_size].to(device)
            out.append(self(z[i:i + batch_size].to(device), lab))
        return ((torch.cat(out) + 1) / 2).clamp_(0, 1)  # (n, C, H, W) in [0, 1]


def _d_norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # layer norm over (C, H, W)
    return nn.Identity()


@register_model("gan_discriminator", GANConfig)
class Discriminator(nn.Module):
    """Image -> score: k stride-2 4×4 convs (LeakyReLU 0.2; no norm on the first), linear; class head/projection."""

    def __init__(self, cfg: GANConfig = GANConfig()):
        super().__init__()
        self.cfg = cfg
        k, sn = cfg.upsamplings, cfg.d_spectral
        layers = [_sn(nn.Conv2d(cfg.channels, cfg.width(1, cfg.d_width), 4, 2, 1), sn), nn.LeakyReLU(0.2)]
        for i in range(1, k):
            c_in, c_out = cfg.width(i, cfg.d_width), cfg.width(i + 1, cfg.d_width)
            layers += [_sn(nn.Conv2d(c_in, c_out, 4, 2, 1), sn), _d_norm(cfg.d_norm, c_out), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers, FlattenNCHW())
        feat = cfg.width(k, cfg.d_width) * cfg.start_size ** 2
        self.head = _sn(nn.Linear(feat, 1), sn)
        self.aux = _sn(nn.Linear(feat, cfg.num_classes), sn) if cfg.conditioning == "acgan" else None
        self.embed = _sn(nn.Embedding(cfg.num_classes, feat), sn) if cfg.conditioning == "projection" else None
        self.to(memory_format=torch.channels_last)  # NHWC convs: see labkit.models.layout

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, return_aux: bool = False):
        """Scores (B,) for images in [-1, 1] (B, C, H, W); with `return_aux` also class logits (B, K) (ACGAN).

        A projection discriminator needs `labels` (B,): score = w·h + embed(y)·h.
        """
        h = self.body(channels_last(x))  # (B, feat)
        # the heads run in fp32 under mixed precision: a critic gap is a small difference of large scores
        with torch.autocast(h.device.type, enabled=False):
            h = h.float()
            score = self.head(h).squeeze(1)  # (B,)
            if self.embed is not None:
                if labels is None:
                    raise ValueError("a projection discriminator needs labels")
                score = score + (self.embed(labels) * h).sum(1)  # (B,)
            if return_aux:
                return score, (self.aux(h) if self.aux is not None else None)
        return score

    @torch.no_grad()
    def score(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Scores (N,) for images in [0, 1] (N, C, H, W) (checked), in eval mode on the model's device."""
        check_images(images, channels=self.cfg.channels, size=(self.cfg.image_size,) * 2)
        device = next(self.parameters()).device
        labels = None if labels is None else labels.to(device)
        return self(images.to(device) * 2 - 1, labels)
