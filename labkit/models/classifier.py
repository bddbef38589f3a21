"""The evaluation classifier (the papers' C1): a small CNN with logits, probabilities and features."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.dataset import check_images
from .fold import folded_for_inference
from .layout import FlattenNCHW, channels_last
from .registry import register_model


@dataclass(frozen=True)
class ClassifierConfig:
    channels: int = 1              # image channels (1 grey, 3 RGB)
    image_size: int = 28           # square images; each block halves it (28 -> 14 -> 7)
    num_classes: int = 10          # output classes
    widths: tuple[int, ...] = (16, 32)  # conv channels per block (two 3×3 convs, then 2×2 max-pool)
    feature_dim: int = 128         # penultimate layer: the default feature space of the metrics
    dropout: float = 0.3           # before the last layer, training only


@register_model("classifier", ClassifierConfig)
class Classifier(nn.Module):
    """Conv blocks -> flatten -> feature layer (ReLU) -> logits.

    `activations(x)` returns each block's output, which the perceptual-loss VAE compares.
    """

    def __init__(self, cfg: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.cfg = cfg
        blocks, c_in, size = [], cfg.channels, cfg.image_size
        for w in cfg.widths:
            blocks.append(nn.Sequential(
                nn.Conv2d(c_in, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                nn.Conv2d(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ))
            c_in, size = w, size // 2
        if size < 1:
            raise ValueError(f"image_size {cfg.image_size} is too small for {len(cfg.widths)} pooling blocks")
        self.blocks = nn.ModuleList(blocks)
        self.feature = nn.Sequential(FlattenNCHW(), nn.Linear(c_in * size * size, cfg.feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(cfg.feature_dim, cfg.num_classes))
        # NHWC weights and activations (labkit.models.layout): on a CPU (oneDNN) inference is about 1.8x and
        # training 1.4x as fast as NCHW (benchmarks/bench_classifier.py)
        self.to(memory_format=torch.channels_last)

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        return check_images(x, channels=self.cfg.channels, size=(self.cfg.image_size,) * 2)

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of each conv block, [(B, w_i, H / 2^(i+1), W / 2^(i+1))]."""
        out = []
        h = channels_last(self._check(x) * 2 - 1)  # centre [0, 1] pixels
        for block in self.blocks:
            h = block(h)
            out.append(h)
        return out

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (B, feature_dim), the default embedding for FID/PRD/k-NN."""
        return self.feature(self.activations(x)[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes) for images (B, C, H, W) in [0, 1]."""
        return self.head(self.features(x))

    logits = forward

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities (B, num_classes)."""
        return F.softmax(self(x), dim=1)


# images per inference batch: the classifier's largest activation is 13 MB at 256 (50 MB at 1000), within the
# CPU's last-level cache; 1.03-1.06x as fast as 1000 (benchmarks/bench_inference.py), never slower
INFERENCE_BATCH = 256


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, *, what: str = "probs", batch_size: int = INFERENCE_BATCH,
            device: torch.device | str | None = None) -> torch.Tensor:
    """Batched inference in eval mode on float images in [0, 1]; `what` is `probs`, `logits` or `features`.

    Runs a copy of `model` with its batch norms folded into the convolutions (`labkit.models.fold`); the
    values agree with `model`'s own to float rounding."""
    if what not in ("probs", "logits", "features"):
        raise ValueError(f"what must be probs, logits or features; got {what!r}")
    check_images(images)
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        fn = getattr(folded_for_inference(model), what)
        out = [fn(images[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(images), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out)


def class_shares(predictions: np.ndarray | torch.Tensor, num_classes: int) -> np.ndarray:
    """Fraction of images per predicted class, (K,), summing to 1.

    Args:
        predictions: (N,) class indices, or (N, K) probabilities / logits (argmax taken).
    """
    p = predictions.detach().cpu().numpy() if isinstance(predictions, torch.Tensor) else np.asarray(predictions)
    if p.ndim == 2:
        if p.shape[1] != num_classes:
            raise ValueError(f"predictions have {p.shape[1]} columns for {num_classes} classes")
        p = p.argmax(axis=1)
    counts = np.bincount(p.astype(int), minlength=num_classes)[:num_classes]
    return counts / max(len(p), 1)
