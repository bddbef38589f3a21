"""The generator protocol: what every part of labkit may assume of a generative model, in one place.

A labkit generator (`VAE`, GAN `Generator`) has, as methods and properties:

- `decode(z, labels=None)`: latents (B, latent_dim) -> images (B, C, H, W) in [0, 1];
- `latent_dim`: the size of z ~ N(0, I); `conditional`: whether `labels` (B,) int64 are required;
- `sample(n, generator=None, labels=None, truncation=1.0)`: n images in [0, 1], z drawn on the CPU
  `generator` (then moved), so a seed gives the same images on any device;
- `first_layer()`: the weight of the first layer acting on z, restricted to the z columns (out, D), and
  `(z, labels=None) -> activations (N, out)` after its norm and non-linearity (SeFa, GANSpace).

The functions below add batching, eval mode, seeding and latent paths on top, for any such model. A model
from elsewhere joins through `as_decoder` (PPL measures foreign decoders).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

from ..data.dataset import check_images

Decoder = Callable[..., torch.Tensor]


def is_conditional(model: nn.Module) -> bool:
    """True when the model's sampling takes class labels (its `conditional` property)."""
    return bool(getattr(model, "conditional", False))


def latent_size(model: nn.Module) -> int:
    """The size of the model's z (`latent_dim`)."""
    dim = getattr(model, "latent_dim", None)
    if not dim:
        raise TypeError(f"{type(model).__name__} does not follow the generator protocol (no latent_dim); "
                        "see labkit.models.sampling")
    return int(dim)


def latents(model: nn.Module, n: int, *, seed: int = 0, generator: torch.Generator | None = None,
            truncation: float = 1.0) -> torch.Tensor:
    """z ~ truncation · N(0, I), (n, latent_dim), drawn on the CPU `generator` (or one seeded `seed`)."""
    g = generator if generator is not None else torch.Generator().manual_seed(int(seed))
    return torch.randn(n, latent_size(model), generator=g) * truncation


def _device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


class _EvalMode:
    """Eval mode and no gradients inside, the model's previous mode restored after."""

    def __init__(self, model: nn.Module):
        self.model, self.was = model, model.training

    def __enter__(self):
        self.model.eval()
        self.grad = torch.no_grad()
        self.grad.__enter__()

    def __exit__(self, *exc):
        self.grad.__exit__(*exc)
        self.model.train(self.was)


def eval_mode(model: nn.Module) -> _EvalMode:
    """`with eval_mode(model):` eval mode and no gradients, the previous mode restored after."""
    return _EvalMode(model)


def decode(model: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None,
           batch_size: int = 1000) -> torch.Tensor:
    """Images (N, C, H, W) in [0, 1] on the CPU for latents z (N, D), batched on the model's device, in eval mode."""
    device = _device(model)
    with eval_mode(model):
        out = [model.decode(z[i:i + batch_size].to(device),
                            None if labels is None else torch.as_tensor(labels)[i:i + batch_size].to(device))
               .float().cpu().clamp_(0, 1) for i in range(0, len(z), batch_size)]
    return torch.cat(out) if out else torch.empty(0)


def sample(model: nn.Module, n: int, *, seed: int = 0, generator: torch.Generator | None = None,
           labels: torch.Tensor | None = None, **sample_kwargs) -> torch.Tensor:
    """`n` images (n, C, H, W) in [0, 1] on the CPU from any generator, seeded, in eval mode, checked.

    Args:
        generator: CPU torch generator of the latents (wins over `seed`).
        labels: (n,) classes of a conditional model; None: the model's default.
        sample_kwargs: passed to `model.sample` (e.g. `truncation=`).
    """
    g = generator if generator is not None else torch.Generator().manual_seed(int(seed))
    with eval_mode(model):
        kw = {} if labels is None else {"labels": labels}
        x = model.sample(n, generator=g, **kw, **sample_kwargs)
    return check_images(x.float().cpu(), what="generated images")  # (n, C, H, W)


def first_layer(model: nn.Module) -> tuple[torch.Tensor, Callable[..., torch.Tensor]]:
    """(weight (out, D) on z's columns, z -> first-layer activations (N, out)) of a protocol model."""
    if not callable(getattr(model, "first_layer", None)):
        raise TypeError(f"no first layer known for {type(model).__name__}; expected a VAE or a GAN Generator")
    return model.first_layer()


# -- latent paths ------------------------------------------------------------------------------------
def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight-line interpolation.

    Args:
        a, b: (N, D) end points; t: (N, 1) positions.
    """
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Great-circle interpolation of the directions of a and b, with the radius interpolated linearly.

    Args:
        a, b: (N, D) end points (non-zero); t: (N, 1) positions (may exceed 1 by ε).
    """
    ra, rb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)  # (N, 1)
    ua, ub = a / ra, b / rb  # (N, D)
    cos = (ua * ub).sum(dim=-1, keepdim=True).clamp(-1.0, 1.0)  # (N, 1)
    angle = t * torch.acos(cos)  # (N, 1)
    ortho = ub - cos * ua  # (N, D), the part of ub orthogonal to ua
    ortho = ortho / ortho.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    u = ua * torch.cos(angle) + ortho * torch.sin(angle)  # (N, D)
    u = u / u.norm(dim=-1, keepdim=True)
    return u * (ra + (rb - ra) * t)


INTERPOLATIONS = {"slerp": slerp, "lerp": lerp}


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 8, method: str = "slerp") -> torch.Tensor:
    """`steps` latents from z0 to z1 (D,) inclusive, (steps, D), by `lerp` or `slerp`."""
    if method not in INTERPOLATIONS:
        raise ValueError(f"method must be one of {sorted(INTERPOLATIONS)}; got {method!r}")
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]  # (steps, 1)
    a, b = z0.double().expand(steps, -1), z1.double().expand(steps, -1)
    return INTERPOLATIONS[method](a, b, t).to(z0.dtype)


# -- models from elsewhere ---------------------------------------------------------------------------
def as_decoder(model, latent_dim: int | None = None,
               value_range: tuple[float, float] | None = None) -> tuple[Decoder, int]:
    """`(decode, latent_dim)` for any model: decode(z (B, D), labels=...) -> images in [0, 1].

    A labkit generator uses its `decode`. Anything else is looked up in this order: `model.decode(z)`,
    `model.generate(z)`, then `model(z)`; its outputs are mapped to [0, 1] from `value_range` (else
    `model.output_range`, else taken as already in [0, 1]). The latent size comes from `latent_dim=`,
    `model.latent_dim`, `model.cfg.latent_dim` or `model.cfg.z_dim`.
    """
    for attr in ("decode", "generate"):
        if callable(getattr(model, attr, None)):
            fn = getattr(model, attr)
            break
    else:
        if not callable(model):
            raise TypeError(f"{type(model).__name__} has no decode(z)/generate(z) and is not callable")
        fn = model
    if value_range is None:
        value_range = getattr(model, "output_range", None)
    if value_range is not None and tuple(value_range) != (0.0, 1.0):
        lo, hi = map(float, value_range)
        raw = fn
        fn = lambda z, **kw: (raw(z, **kw) - lo) / (hi - lo)  # noqa: E731  (B, C, H, W) in [0, 1]
    cfg = getattr(model, "cfg", None)
    for candidate in (latent_dim, getattr(model, "latent_dim", None), getattr(cfg, "latent_dim", None),
                      getattr(cfg, "z_dim", None)):
        if candidate:
            return fn, int(candidate)
    raise ValueError(f"cannot tell the latent size of {type(model).__name__}; pass latent_dim=")
