"""Training VAEs with the shared fit loop: history of reconstruction / KL / total, sample grids per epoch."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..core import plots
from ..core.record import MetricRecord
from ..core.runtime import pick_device, seed_everything, training_autocast
from ..data.dataset import ImageDataset
from ..models.checkpoint import load_model
from ..models.vae import PRESETS, VAE, VAEConfig, copy_classifier_weights, perceptual_config, preset_config
from .kl_trend import kl_trend, kl_trend_records
from .loop import FitResult, Position, fit

VARIANTS = ("plain", "beta", "conditional", "perceptual")


@dataclass(frozen=True)
class VAETraining:
    epochs: int = 10           # passes over the data (ignored when `steps` is set)
    steps: int | None = None   # fixed step budget instead of epochs
    batch_size: int = 128      # images per optimiser step
    lr: float = 1e-3           # Adam learning rate (constant)
    grid_seed: int = 1234      # seed of the fixed latents shown in the per-epoch sample grids
    grid_size: int = 100       # images per sample grid (conditional: a whole number of rows per class)
    precision: str = "auto"    # "auto": bf16 mixed precision where the device runs bf16 natively; "bf16", "fp32"


def variant_config(variant: str, *, preset: str = "fashion", num_classes: int = 10, beta: float = 4.0,
                   classifier: torch.nn.Module | None = None, classifier_path: str = "",
                   perceptual_layers: tuple[int, ...] = (0, 1), perceptual_weights: tuple[float, ...] | None = None,
                   pixel_weight: float = 0.0, **overrides) -> VAEConfig:
    """The config of one of the paper's VAE variants on top of a named preset.

    Args:
        variant: `plain` (β = 1), `beta` (β = `beta`), `conditional` (labels appended) or `perceptual`.
        classifier / classifier_path: the frozen classifier of the perceptual variant (module or checkpoint).
        overrides: VAEConfig fields (latent_dim, widths, ...).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown VAE variant {variant!r}; choose one of {VARIANTS}")
    cfg = preset_config(preset, **overrides)
    if variant == "beta":
        cfg = replace(cfg, beta=beta)
    elif variant == "conditional":
        cfg = replace(cfg, num_classes=num_classes)
    elif variant == "perceptual":
        if classifier is None:
            if not classifier_path:
                raise ValueError("the perceptual variant needs the evaluation classifier: pass classifier= "
                                 "or classifier_path= (a checkpoint of notebook 01)")
            classifier = load_model(classifier_path)
        cfg = perceptual_config(cfg, classifier, perceptual_layers, perceptual_weights, pixel_weight, classifier_path)
    return cfg


def build_vae(cfg: VAEConfig, classifier: torch.nn.Module | None = None) -> VAE:
    """A fresh VAE; a perceptual one gets the frozen classifier's weights (module or `cfg.perceptual_source`)."""
    vae = VAE(cfg)
    if vae.perceptual_net is not None:
        if classifier is None:
            if not cfg.perceptual_source:
                raise ValueError("a perceptual VAE needs the classifier module or cfg.perceptual_source")
            classifier = load_model(cfg.perceptual_source)
        copy_classifier_weights(vae, classifier)
    return vae


class VAETask:
    """One Adam step on the negative ELBO (or its perceptual version); optional sample grid each epoch."""

    def __init__(self, model: VAE, settings: VAETraining, sample_dir: str | Path | None = None,
                 class_names: tuple[str, ...] | None = None):
        self.model = model
        self.modules = {"model": model}
        self.optimizers = {"model": torch.optim.Adam(model.trainable_parameters(), lr=settings.lr, fused=True)}
        self.settings = settings
        self.sample_dir = Path(sample_dir) if sample_dir else None
        self.class_names = class_names

    def training_step(self, batch, pos: Position) -> dict[str, torch.Tensor]:
        x = batch[0].float() / 255  # (B, C, H, W) in [0, 1]
        labels = batch[1] if self.model.conditional else None  # (B,)
        with training_autocast(x.device, self.settings.precision):
            terms = self.model.loss(x, labels)
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        return {k: v.detach() for k, v in terms.items()}

    def epoch_end(self, pos: Position) -> dict[str, float]:
        if self.sample_dir is not None:
            fig = sample_grid(self.model, self.settings.grid_size, self.settings.grid_seed, self.class_names,
                              title=f"samples after epoch {pos.epoch + 1}")
            plots.save(fig, self.sample_dir / f"samples_epoch{pos.epoch + 1:03d}.png")
        return {}


def sample_grid(model: VAE, n: int = 100, seed: int = 1234, class_names: tuple[str, ...] | None = None, title=None):
    """Figure of `n` seeded samples; a conditional model shows one row per class."""
    g = torch.Generator().manual_seed(seed)
    if model.conditional:
        k = model.cfg.num_classes
        per = max(1, n // k)
        labels = torch.arange(k).repeat_interleave(per)  # (k * per,)
        images = model.sample(len(labels), generator=g, labels=labels)
        return plots.image_grid(images, nrow=per, title=title, row_labels=class_names)
    return plots.image_grid(model.sample(n, generator=g), nrow=int(math.sqrt(n)) or 1, title=title)


def train_vae(train: ImageDataset, cfg: VAEConfig, *, settings: VAETraining = VAETraining(), seed: int = 0,
              device: str | torch.device = "auto", checkpoint: str | Path | None = None,
              sample_dir: str | Path | None = None, classifier: torch.nn.Module | None = None,
              progress: bool | None = None, **fit_kwargs) -> tuple[VAE, FitResult]:
    """Train a fresh VAE on `train`; returns the model (eval mode) and the fit result (history per epoch).

    Args:
        cfg: geometry must match the data; a conditional cfg needs `num_classes == train.num_classes`.
        classifier: frozen network of a perceptual cfg (else loaded from `cfg.perceptual_source`).
        sample_dir: where `samples_epochNNN.png` go (None: no grids).
        fit_kwargs: go to `labkit.train.fit` (checkpoint_every, on_step, ...).
    """
    if (cfg.channels, cfg.image_size, cfg.image_size) != train.shape:
        raise ValueError(f"VAE config expects {cfg.channels}×{cfg.image_size}×{cfg.image_size} images; "
                         f"the data has {train.shape}")
    if cfg.num_classes and cfg.num_classes != train.num_classes:
        raise ValueError(f"conditional VAE has {cfg.num_classes} classes; the data has {train.num_classes}")
    seed_everything(seed)
    device = pick_device(device)
    model = build_vae(cfg, classifier).to(device)
    per_epoch = math.ceil(len(train) / settings.batch_size)
    total = settings.steps or settings.epochs * per_epoch
    task = VAETask(model, settings, sample_dir, train.class_names)
    fit_kwargs.setdefault("log_every", max(1, total // 100))
    result = fit(task, (train.images, train.labels), max_steps=total, batch_size=settings.batch_size, seed=seed,
                 checkpoint=checkpoint, device=device, progress=progress, **fit_kwargs)
    return model, result


def preset_overrides(*, latent_dim: int = 0, image_size: int = 0) -> dict[str, int]:
    """The config fields a notebook sets over its preset: only those given (0 keeps the preset's value)."""
    for name, v in (("latent_dim", latent_dim), ("image_size", image_size)):
        if not isinstance(v, int) or v < 0:
            raise ValueError(f"{name} must be a whole number ≥ 0 (0: the preset's); got {v!r}")
    return {k: v for k, v in (("latent_dim", latent_dim), ("image_size", image_size)) if v}


def preset_training(preset: str = "fashion", **overrides) -> VAETraining:
    """Training settings of a named preset (`labkit.models.vae.PRESETS`), with overrides."""
    return VAETraining(**{**PRESETS[preset]["training"], **overrides})


def final_losses(result: FitResult) -> dict[str, float]:
    """Loss terms at the end of training: means over the last tenth of the logged steps (else the last epoch)."""
    terms = ("loss", "reconstruction", "kl", "pixel", "perceptual")
    if len(result.steps):
        tail = result.steps.tail(max(1, len(result.steps) // 10))
        return {k: float(tail[k].mean()) for k in terms if k in tail}
    row = result.history.iloc[-1]
    return {k: float(row[k]) for k in terms if k in row}


def reconstruction_grid(model: VAE, ds: ImageDataset, n: int = 10, title: str | None = None):
    """Figure: the first `n` images of `ds` (top row) above their reconstructions (bottom row)."""
    device = next(model.parameters()).device
    x = ds.float()[:n]  # (n, C, H, W)
    labels = ds.labels[:n].to(device) if model.conditional else None
    model.eval()
    rec = model.reconstruct(x.to(device), labels).cpu()  # (n, C, H, W)
    return plots.image_grid(torch.cat([x, rec]), nrow=n, title=title, row_labels=["input", "output"])


def vae_records(result: FitResult, quality: dict[str, float], train_time_s: float) -> list[MetricRecord]:
    """What notebook 02 records of a trained VAE: final loss terms (nats per image, training split), test
    reconstruction MSE and SSIM (± over images, `reconstruction_quality`), the KL trend (`kl_trend`: did the KL
    term rise during training?) and the training time."""
    out = [MetricRecord(f"final_{k}", v, protocol={"unit": "nats/image", "split": "fit"})
           for k, v in final_losses(result).items()]
    out += [MetricRecord(f"reconstruction_{m}", quality[m], quality[f"{m}_std"],
                         protocol={"split": "test", "n_eval": quality["n"]}) for m in ("mse", "ssim")]
    if len(result.steps) and "kl" in result.steps:
        out += kl_trend_records(kl_trend(result.steps))
    return out + [MetricRecord("train_time_s", train_time_s)]
