"""The VAE family: plain, β-, conditional and perceptual-loss VAEs, one config, geometry from the image size.

Losses are per image, in nats, summed over pixels (reconstruction) and latent dimensions (KL):
`loss = reconstruction + beta * kl`. Reconstruction is

- `bce`: Bernoulli negative log-likelihood Σ BCE(x, x̂) (pixels in [0, 1] as probabilities);
- `mse`: unit-variance Gaussian negative log-likelihood up to its constant, ½ Σ (x − x̂)²;
- perceptual (DFC-VAE): Σ_l w_l · ½ Σ (φ_l(x) − φ_l(x̂))² over chosen conv blocks φ_l of a frozen
  classifier, plus `pixel_weight` times the pixel term above.

The frozen classifier of the perceptual VAE is a submodule: its spec sits in the config and its weights
in the state dict, so a checkpoint rebuilds the whole model without the classifier file.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.dataset import check_images
from .layout import FlattenNCHW, channels_last
from .registry import from_spec, model_spec, register_model

RECONSTRUCTIONS = ("bce", "mse")


@dataclass(frozen=True)
class VAEConfig:
    channels: int = 1                     # image channels (1 grey, 3 RGB)
    image_size: int = 28                  # square images; each encoder conv halves it (rounding down)
    latent_dim: int = 16                  # size of z
    widths: tuple[int, ...] = (32, 64)    # encoder conv channels (4×4, stride 2, ReLU); the decoder mirrors them
    encoder_dense: tuple[int, ...] = (256,)  # dense ReLU layers between the encoder convs and (mu, logvar)
    decoder_dense: tuple[int, ...] = (256,)  # dense ReLU layers between z and the first transposed conv
    beta: float = 1.0                     # weight of the KL term (1: plain VAE, other values: β-VAE)
    reconstruction: str = "bce"           # pixel likelihood: "bce" (Bernoulli) or "mse" (½ Σ squared error)
    num_classes: int = 0                  # > 0: conditional VAE, one-hot label appended to z and to the encoder input
    pixel_weight: float = 1.0             # weight of the pixel reconstruction term (0: perceptual term only)
    perceptual_layers: tuple[int, ...] = ()     # conv blocks of the frozen classifier compared; empty: no perceptual term
    perceptual_weights: tuple[float, ...] = ()  # one weight per perceptual layer
    perceptual_net: dict | None = None    # model spec (registry name + config) of the frozen classifier
    perceptual_source: str = ""           # provenance only: the file the frozen classifier weights were copied from

    def __post_init__(self):
        if self.reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"reconstruction must be one of {RECONSTRUCTIONS}; got {self.reconstruction!r}")
        if len(self.perceptual_layers) != len(self.perceptual_weights):
            raise ValueError(f"perceptual_layers {self.perceptual_layers} and perceptual_weights "
                             f"{self.perceptual_weights} need the same length")
        if self.perceptual_layers and self.perceptual_net is None:
            raise ValueError("a perceptual VAE needs perceptual_net (the frozen classifier's spec); "
                             "build it with labkit.models.vae.perceptual_config(classifier, ...)")
        if not self.perceptual_layers and self.pixel_weight <= 0:
            raise ValueError("pixel_weight must be > 0 when there is no perceptual term")
        if not self.widths or self.image_size >> len(self.widths) < 1:
            raise ValueError(f"image_size {self.image_size} is too small for {len(self.widths)} stride-2 convs")


# Named presets: config fields and training settings (see labkit.train.vae.VAETraining).
PRESETS: dict[str, dict] = {
    # Fashion-MNIST on a 2-core CPU: two convs, one dense layer each way, 16 latent dims (~0.4M weights).
    "fashion": {"config": dict(channels=1, image_size=28, latent_dim=16, widths=(16, 32), encoder_dense=(128,),
                               decoder_dense=(128,), reconstruction="bce"),
                "training": dict(batch_size=64, lr=1e-3)},
    # The CelebA VAE paper: 3 × Conv 32 4×4 s2; Dense 256, Dense 256, 3 × ConvTranspose; latent 128;
    # ½ Σ (x − x̂)² + KL; Adam 5e-4; batch 64.
    "celeba-paper": {"config": dict(channels=3, image_size=64, latent_dim=128, widths=(32, 32, 32), encoder_dense=(),
                                    decoder_dense=(256, 256), reconstruction="mse"),
                     "training": dict(batch_size=64, lr=5e-4)},
}


def preset_config(preset: str = "fashion", **overrides) -> VAEConfig:
    """The config of a named preset (`PRESETS`), with field overrides."""
    if preset not in PRESETS:
        raise KeyError(f"unknown VAE preset {preset!r}; choose one of {sorted(PRESETS)}")
    return VAEConfig(**{**PRESETS[preset]["config"], **overrides})


def perceptual_config(cfg: VAEConfig, classifier: nn.Module, layers: tuple[int, ...] = (0, 1),
                      weights: tuple[float, ...] | None = None, pixel_weight: float = 0.0,
                      source: str = "") -> VAEConfig:
    """`cfg` turned into a perceptual-loss VAE comparing `classifier.activations()` at `layers`."""
    weights = tuple(float(w) for w in weights) if weights is not None else (1.0,) * len(layers)
    return replace(cfg, perceptual_layers=tuple(layers), perceptual_weights=weights, pixel_weight=pixel_weight,
                   perceptual_net=model_spec(classifier), perceptual_source=str(source))


def _conv_sizes(size: int, n: int) -> list[int]:
    """Spatial sizes through `n` convs of kernel 4, stride 2, padding 1: [size, ..., final]."""
    sizes = [size]
    for _ in range(n):
        sizes.append((sizes[-1] - 2) // 2 + 1)
    return sizes


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


@register_model("vae", VAEConfig)
class VAE(nn.Module):
    """Conv encoder -> (mu, logvar) -> z -> dense -> transposed-conv decoder -> sigmoid.

    `conditional` is True when `cfg.num_classes > 0`; then every method takes `labels` (B,) int64.
    """

    def __init__(self, cfg: VAEConfig = VAEConfig()):
        super().__init__()
        self.cfg = cfg
        k = cfg.num_classes
        self.sizes = _conv_sizes(cfg.image_size, len(cfg.widths))
        convs, c_in = [], cfg.channels + k  # label planes are extra input channels
        for w in cfg.widths:
            convs += [nn.Conv2d(c_in, w, 4, 2, 1), nn.ReLU(inplace=True)]
            c_in = w
        self.encoder = nn.Sequential(*convs, FlattenNCHW())
        flat = cfg.widths[-1] * self.sizes[-1] ** 2
        self.encoder_dense = _mlp([flat, *cfg.encoder_dense])
        self.to_stats = nn.Linear(([flat] + list(cfg.encoder_dense))[-1], 2 * cfg.latent_dim)
        self.decoder_dense = _mlp([cfg.latent_dim + k, *cfg.decoder_dense, flat])
        deconvs = []
        rev = list(cfg.widths[::-1]) + [cfg.channels]
        for i, (a, b) in enumerate(zip(rev[:-1], rev[1:])):
            s_in, s_out = self.sizes[-1 - i], self.sizes[-2 - i]
            deconvs.append(nn.ConvTranspose2d(a, b, 4, 2, 1, output_padding=s_out - 2 * s_in))
            if i < len(rev) - 2:
                deconvs.append(nn.ReLU(inplace=True))
        self.decoder = nn.Sequential(*deconvs)
        self.perceptual_net = None
        if cfg.perceptual_layers:
            self.perceptual_net = from_spec(cfg.perceptual_net)
            self.perceptual_net.requires_grad_(False).eval()
        self.to(memory_format=torch.channels_last)  # NHWC convs: see labkit.models.layout

    # -- conventions -------------------------------------------------------------------------------
    @property
    def conditional(self) -> bool:
        """Whether sampling takes class labels (the convention `labkit.generate` reads)."""
        return self.cfg.num_classes > 0

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    def first_layer(self) -> tuple[torch.Tensor, Callable[..., torch.Tensor]]:
        """The first dense decoder layer's weight on z's columns (out, D) (the one-hot label columns follow) and
        `(z (N, D), labels=None) -> (N, out)` activations after its ReLU."""
        linear = self.decoder_dense[0]

        @torch.no_grad()
        def act(z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
            y = self._onehot(labels, len(z), z.device)
            return F.relu(linear(z if y is None else torch.cat([z, y], 1)))  # (N, out)
        return linear.weight[:, :self.cfg.latent_dim].detach(), act

    def train(self, mode: bool = True) -> "VAE":
        """Train/eval mode for the VAE; the frozen perceptual classifier always stays in eval mode."""
        super().train(mode)
        if self.perceptual_net is not None:
            self.perceptual_net.eval()
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Parameters the optimiser updates (everything but the frozen classifier)."""
        return [p for p in self.parameters() if p.requires_grad]

    def _onehot(self, labels: torch.Tensor | None, n: int, device) -> torch.Tensor | None:
        if not self.conditional:
            if labels is not None:
                raise ValueError("this VAE is unconditional; do not pass labels")
            return None
        if labels is None:
            raise ValueError(f"a conditional VAE needs labels (n,) in 0..{self.cfg.num_classes - 1}")
        labels = torch.as_tensor(labels, dtype=torch.long, device=device)
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},); got {tuple(labels.shape)}")
        return F.one_hot(labels, self.cfg.num_classes).float()  # (B, K)

    # -- encoder / decoder -------------------------------------------------------------------------
    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance, each (B, latent_dim), of images (B, C, H, W) in [0, 1]."""
        y = self._onehot(labels, len(x), x.device)
        h = x
        if y is not None:
            h = torch.cat([x, y[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)  # (B, C + K, H, W)
        h = self.encoder_dense(self.encoder(channels_last(h)))  # (B, hidden)
        with torch.autocast(h.device.type, enabled=False):  # fp32 posterior statistics under mixed precision
            mu, logvar = self.to_stats(h.float()).chunk(2, dim=1)  # (B, D) each
        return mu, logvar

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Pre-sigmoid decoder output (B, C, H, W) for latents (B, latent_dim)."""
        y = self._onehot(labels, len(z), z.device)
        h = z if y is None else torch.cat([z, y], 1)  # (B, D + K)
        s = self.sizes[-1]
        h = channels_last(self.decoder_dense(h).view(len(z), self.cfg.widths[-1], s, s))  # (B, w_last, s, s)
        return self.decoder(h)  # (B, C, H, W)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] for latents (B, latent_dim)."""
        return torch.sigmoid(self.decode_logits(z, labels))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Decode the posterior mean of `x` (B, C, H, W) in [0, 1]: deterministic reconstructions, same shape."""
        mu, _ = self.encode(x, labels)
        return self.decode(mu, labels)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
               truncation: float = 1.0, batch_size: int = 1000) -> torch.Tensor:
        """`n` images (n, C, H, W) in [0, 1] from z ~ truncation · N(0, I) drawn on the CPU `generator`.

        Args:
            labels: (n,) classes for a conditional VAE; None draws them uniformly with `generator`.
            truncation: latent scale; below 1 trades diversity for quality.
            batch_size: decoding chunk; the result does not depend on it (beyond float rounding).
        """
        device = next(self.parameters()).device
        z = torch.randn(n, self.cfg.latent_dim, generator=generator) * truncation  # (n, D), CPU then moved
        if self.conditional and labels is None:
            labels = torch.randint(self.cfg.num_classes, (n,), generator=generator)
        out = []
        for i in range(0, n, batch_size):
            lab = None if labels is None else torch.as_tensor(labels)[i:i + batch_size].to(device)
            out.append(self.decode(z[i:i + batch_size].to(device), lab).cpu())
        return torch.cat(out) if out else torch.empty(0, self.cfg.channels, self.cfg.image_size, self.cfg.image_size)

    # -- loss --------------------------------------------------------------------------------------
    def pixel_nll(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Pixel reconstruction term per image (B,), nats, from decoder logits and targets (B, C, H, W)."""
        if self.cfg.reconstruction == "bce":
            return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        return 0.5 * (torch.sigmoid(logits) - x).pow(2).flatten(1).sum(1)

    def perceptual_distance(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """Σ_l w_l · ½ ||φ_l(x) − φ_l(x̂)||² per image (B,), φ_l the frozen classifier's conv blocks.

        Always in fp32, also inside a bf16 training step: the term is the difference of two nearly equal
        activations, which bf16 (8 bits of mantissa) rounds away. (Two epochs on Fashion-MNIST trained to the
        same reconstruction error either way, so this is about exactness, not a measured gain.)
        """
        with torch.autocast(x.device.type, enabled=False):
            x, x_hat = x.float(), x_hat.float()
            with torch.no_grad():
                real = self.perceptual_net.activations(x)
            fake = self.perceptual_net.activations(x_hat)
            total = x.new_zeros(len(x))
            for layer, w in zip(self.cfg.perceptual_layers, self.cfg.perceptual_weights):
                total = total + w * 0.5 * (fake[layer] - real[layer]).pow(2).flatten(1).sum(1)
        return total

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Batch means of the per-image terms: `loss` (to minimise), `reconstruction`, `kl` (+ parts), nats.

        Args:
            x: (B, C, H, W) in [0, 1].
            generator: CPU generator of the reparameterisation noise (None: the global one).
        """
        mu, logvar = self.encode(x, labels)  # (B, D)
        eps = torch.randn(mu.shape, generator=generator).to(mu.device)  # (B, D), CPU then moved
        z = mu + eps * torch.exp(0.5 * logvar)
        logits = self.decode_logits(z, labels)  # (B, C, H, W)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)  # (B,)
        out = {}
        rec = x.new_zeros(len(x))
        if self.cfg.pixel_weight > 0:
            pixel = self.pixel_nll(logits, x)
            out["pixel"] = pixel.mean()
            rec = rec + self.cfg.pixel_weight * pixel
        if self.perceptual_net is not None:
            perc = self.perceptual_distance(x, torch.sigmoid(logits))
            out["perceptual"] = perc.mean()
            rec = rec + perc
        total = rec + self.cfg.beta * kl
        return {"loss": total.mean(), "reconstruction": rec.mean(), "kl": kl.mean(), **out}

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Deterministic reconstructions of `x` (B, C, H, W) in [0, 1]."""
        return self.reconstruct(x, labels)


def check_vae_input(model: VAE, x: torch.Tensor) -> torch.Tensor:
    """`check_images` against the VAE's geometry."""
    return check_images(x, channels=model.cfg.channels, size=(model.cfg.image_size,) * 2)


def copy_classifier_weights(vae: VAE, classifier: nn.Module) -> VAE:
    """Load a classifier's weights into the perceptual VAE's frozen copy (same architecture)."""
    if vae.perceptual_net is None:
        raise ValueError("this VAE has no perceptual term")
    vae.perceptual_net.load_state_dict(classifier.state_dict())
    vae.perceptual_net.requires_grad_(False).eval()
    return vae
