"""Classifier training to convergence: epochs with early stopping on a held-out split, best weights kept.

The papers train their second classifier (C2, the one GAN-train / VAE-train measures) like the first, to
convergence. A fixed step budget cannot do that across training sets of 10 and of 30 000 images: it
over-trains the small ones and under-trains the large ones, so a flat curve could be an under-trained
classifier rather than a generator out of diversity. Here a training runs whole epochs, scores the held-out
split after each, stops after `patience` epochs without a better score, and returns the weights of the best
epoch. A tiny set is repeated within an epoch (`min_epoch_images`), so an epoch of 10 images is still enough
steps between two checks.

The training step is the classifier's own (`ClassifierTask`) inside the shared `fit` loop; this module only
wraps it, so a change in how a step runs (optimiser, precision, layout) reaches converged trainings too.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import pandas as pd
import torch

from ..data.dataset import ImageDataset
from ..models.classifier import Classifier, ClassifierConfig
from .classifier import ClassifierTask, ClassifierTraining, accuracy, fresh_classifier
from .loop import Position, fit


@dataclass(frozen=True)
class EarlyStopping:
    max_epochs: int = 30           # a training that never stops improving ends here (then `stopped_early` is False)
    patience: int = 3              # epochs without a better held-out accuracy before stopping
    min_epoch_images: int = 2560   # an epoch shows at least this many images (a small set is repeated)
    min_delta: float = 0.0         # an accuracy counts as better only when it beats the best by more than this

    def __post_init__(self):
        for what in ("max_epochs", "patience", "min_epoch_images"):
            v = getattr(self, what)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"EarlyStopping.{what} must be a positive integer; got {v!r}")
        if not isinstance(self.min_delta, (int, float)) or not 0 <= self.min_delta < 1:
            raise ValueError(f"EarlyStopping.min_delta is an accuracy margin in [0, 1); got {self.min_delta!r}")


@dataclass(frozen=True)
class ConvergedFit:
    """What a training to convergence did.

    Args:
        history: one row per epoch: epoch, step, mean training loss, held-out accuracy.
        best_epoch: the epoch whose weights were kept (1-based); best_val_accuracy: its held-out accuracy.
        epochs_run: epochs trained; stopped_early: True when patience ran out (converged), False when
            `max_epochs` ended it (the accuracy may still have been rising).
        repeats_per_epoch: passes over the training set per epoch (above 1 for sets smaller than
            `min_epoch_images`).
    """

    history: pd.DataFrame
    best_epoch: int
    best_val_accuracy: float
    epochs_run: int
    stopped_early: bool
    repeats_per_epoch: int


class _Stop(Exception):
    """Raised by the wrapped task at the first step after patience ran out: ends `fit` without another step."""


class _EarlyStoppingTask:
    """`ClassifierTask` plus a held-out check at each epoch end that keeps the best weights."""

    def __init__(self, task: ClassifierTask, val: ImageDataset, stopping: EarlyStopping):
        self.task, self.val, self.stopping = task, val, stopping
        self.modules, self.optimizers = task.modules, task.optimizers
        self.rows: list[dict] = []
        self.losses: list[torch.Tensor] = []  # this epoch's step losses, read once at its end (no sync per step)
        self.best, self.best_epoch, self.best_state, self.bad = -math.inf, 0, None, 0
        self.stop = False

    def training_step(self, batch, pos: Position) -> dict:
        if self.stop:
            raise _Stop
        out = self.task.training_step(batch, pos)
        self.losses.append(out["loss"])
        return out

    def epoch_end(self, pos: Position) -> dict[str, float]:
        acc = accuracy(self.task.model, self.val)
        loss = torch.stack(self.losses).float().mean().item()
        self.rows.append({"epoch": pos.epoch + 1, "step": pos.step, "loss": loss, "val_accuracy": acc})
        self.losses = []
        if acc > self.best + self.stopping.min_delta:
            self.best, self.best_epoch, self.bad = acc, pos.epoch + 1, 0
            self.best_state = copy.deepcopy(self.task.model.state_dict())
        else:
            self.bad += 1
            self.stop = self.bad >= self.stopping.patience
        return {"val_accuracy": acc}


def train_until_converged(train: ImageDataset, val: ImageDataset, *, cfg: ClassifierConfig | None = None,
                          settings: ClassifierTraining = ClassifierTraining(),
                          stopping: EarlyStopping = EarlyStopping(), seed: int = 0,
                          device: str | torch.device = "auto") -> tuple[Classifier, ConvergedFit]:
    """Train a fresh classifier on `train` (soft labels when present) until its accuracy on `val` stops rising.

    Args:
        train: the training set; val: the held-out split scored after each epoch (hard labels; never the test set).
        cfg: the architecture (default: the data's geometry with the classifier's default widths).
        settings: batch size, peak learning rate (cosine-decayed over `stopping.max_epochs`), weight decay and
            precision; its `epochs` and `steps` are not used.
        stopping: epochs, patience and the smallest epoch.

    Returns:
        the model with the best epoch's weights (eval mode), and what the training did.
    """
    if len(train) == 0 or len(val) == 0:
        raise ValueError(f"training to convergence needs training images and a held-out split; got {len(train)} "
                         f"and {len(val)}")
    if val.split == "test":
        raise ValueError("the held-out split for early stopping must not be the test set (choosing the epoch on it "
                         "would leak the test set into the result); split one off the training pool")
    if val.shape != train.shape or val.num_classes != train.num_classes:
        raise ValueError(f"held-out split ({val.shape}, {val.num_classes} classes) does not match the training set "
                         f"({train.shape}, {train.num_classes} classes)")
    model, device = fresh_classifier(train, cfg, seed, device)
    repeats = max(1, math.ceil(stopping.min_epoch_images / len(train)))
    images, targets = train.images.repeat(repeats, 1, 1, 1), train.targets().repeat(repeats, 1)
    total = stopping.max_epochs * math.ceil(len(images) / settings.batch_size)
    task = _EarlyStoppingTask(ClassifierTask(model, settings, total), val, stopping)
    try:
        fit(task, (images, targets), epochs=stopping.max_epochs, batch_size=settings.batch_size, seed=seed,
            device=device, progress=False)
    except _Stop:
        pass
    model.load_state_dict(task.best_state)
    model.eval()
    return model, ConvergedFit(pd.DataFrame(task.rows), task.best_epoch, task.best, len(task.rows), task.stop, repeats)
