"""Training and scoring the evaluation classifier (hard or soft targets), on real or generated data."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..core.runtime import pick_device, seed_everything, training_autocast
from ..data.dataset import ImageDataset
from ..models.classifier import INFERENCE_BATCH, Classifier, ClassifierConfig, predict
from .loop import FitResult, Position, fit


@dataclass(frozen=True)
class ClassifierTraining:
    epochs: int = 5            # passes over the data (ignored when `steps` is set)
    steps: int | None = None   # fixed step budget instead of epochs (saturation curves)
    batch_size: int = 128      # images per optimiser step
    lr: float = 2e-3           # Adam peak learning rate, cosine-decayed to 0 over training
    weight_decay: float = 0.0  # Adam L2
    precision: str = "auto"    # "auto": bf16 mixed precision where the device runs bf16 natively; "bf16", "fp32"


class ClassifierTask:
    """Cross-entropy against one-hot or soft targets; cosine learning rate; optional validation accuracy."""

    def __init__(self, model: Classifier, settings: ClassifierTraining, total_steps: int,
                 val: ImageDataset | None = None):
        self.model = model
        self.modules = {"model": model}
        self.settings = settings
        self.optimizers = {"model": torch.optim.Adam(model.parameters(), lr=settings.lr,
                                                     weight_decay=settings.weight_decay, fused=True)}
        self.total_steps = total_steps
        self.val = val

    def training_step(self, batch, pos: Position) -> dict[str, torch.Tensor | float]:
        x, target = batch  # (B, C, H, W) uint8, (B, K) probabilities
        lr = self.settings.lr * 0.5 * (1 + math.cos(math.pi * pos.step / self.total_steps))
        opt = self.optimizers["model"]
        for g in opt.param_groups:
            g["lr"] = lr
        with training_autocast(x.device, self.settings.precision):
            logits = self.model(x.float() / 255)
            loss = F.cross_entropy(logits, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        acc = (logits.argmax(1) == target.argmax(1)).float().mean()
        return {"loss": loss.detach(), "train_accuracy": acc, "lr": lr}

    def epoch_end(self, pos: Position) -> dict[str, float]:
        if self.val is None:
            return {}
        return {"val_accuracy": accuracy(self.model, self.val)}


def fresh_classifier(train: ImageDataset, cfg: ClassifierConfig | None, seed: int,
                     device: str | torch.device) -> tuple[Classifier, torch.device]:
    """A seeded, freshly initialised classifier for `train`'s geometry (`cfg`: None for the default widths) on
    the picked device; raises when `cfg` does not fit the images."""
    cfg = cfg or ClassifierConfig(channels=train.shape[0], image_size=train.shape[1], num_classes=train.num_classes)
    if (cfg.channels, cfg.image_size, cfg.image_size) != train.shape:
        raise ValueError(f"classifier config expects {cfg.channels}×{cfg.image_size}×{cfg.image_size} images; "
                         f"the data has {train.shape}")
    seed_everything(seed)
    device = pick_device(device)
    return Classifier(cfg).to(device), device


def train_classifier(train: ImageDataset, *, cfg: ClassifierConfig | None = None,
                     settings: ClassifierTraining = ClassifierTraining(), val: ImageDataset | None = None,
                     seed: int = 0, device: str | torch.device = "auto", checkpoint: str | Path | None = None,
                     progress: bool | None = None, **fit_kwargs) -> tuple[Classifier, FitResult]:
    """Train a fresh classifier on `train` (its soft labels when present, else its hard labels).

    Returns the model (eval mode) and the fit result; `fit_kwargs` go to `labkit.train.fit`.
    """
    model, device = fresh_classifier(train, cfg, seed, device)
    per_epoch = math.ceil(len(train) / settings.batch_size)
    total = settings.steps or settings.epochs * per_epoch
    task = ClassifierTask(model, settings, total, val)
    result = fit(task, (train.images, train.targets()), max_steps=total, batch_size=settings.batch_size,
                 seed=seed, checkpoint=checkpoint, device=device, progress=progress, **fit_kwargs)
    return model, result


def accuracy(model: Classifier, ds: ImageDataset, batch_size: int = INFERENCE_BATCH) -> float:
    """Share of `ds` whose argmax prediction equals its (hard) label."""
    pred = predict(model, ds.float(), what="logits", batch_size=batch_size).argmax(1)
    return (pred == ds.labels).float().mean().item()
