"""LPIPS-style perceptual distances between image pairs, and the two scores built on them.

`lpips_to_real` compares generated with real images (the controlled-generation paper's LPIPS, lower =
closer); `lpips_diversity` compares generated images with each other (higher = more diverse).

Three distances share one calling convention, `distance(a, b) -> (N,)` on float images in [0, 1]:

- `LPIPS(net="alex" | "vgg")`: the reference LPIPS of Zhang et al. 2018, computed by the `lpips`
  package (its learned linear weights ship inside the wheel); the ImageNet backbone is read from a
  local torchvision weight file under `$LABKIT_WEIGHTS`, checked by sha256, never downloaded.
  Named `lpips-alex` / `lpips-vgg`.
- `ClassifierDistance(classifier)`: the same construction on the evaluation classifier's conv
  blocks: activations unit-normalised over channels, squared differences summed over channels with
  uniform weights, averaged spatially, summed over blocks. Named `lpips-classifier`, so nobody takes
  it for LPIPS-VGG; it works offline with any trained `Classifier`.
- `PixelDistance()`: mean squared pixel difference (`pixel-mse`), a baseline with closed forms.
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.paths import weights_dir
from ..core.runtime import pick_device
from ..data.dataset import check_images
from ..features.weights import resolve_weights
from ._order import canonical_rows

# Backbone weight files as torchvision names them; the hex part of the name is the start of the file's
# sha256 (torchvision's own integrity convention), which is what we check when no full digest is given.
BACKBONE_FILES: dict[str, tuple[str, str]] = {
    "alex": ("alexnet-owt-7be5be79.pth", "7be5be79"),
    "vgg": ("vgg16-397923af.pth", "397923af"),
}


def normalize_channels(feats: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Unit-normalise each spatial position's channel vector, as LPIPS does.

    Args:
        feats: (B, C, H, W) activations.
    """
    norm = feats.pow(2).sum(dim=1, keepdim=True).sqrt()  # (B, 1, H, W)
    return feats / (norm + eps)


def layer_distance(feats_a: list[torch.Tensor], feats_b: list[torch.Tensor]) -> torch.Tensor:
    """Uniform-weight LPIPS over layers: sum_l mean_hw sum_c (f̂a - f̂b)^2.

    Args:
        feats_a, feats_b: per-layer activations [(B, C_l, H_l, W_l)], same shapes pairwise.
    Returns:
        (B,) distances.
    """
    total = 0.0
    for fa, fb in zip(feats_a, feats_b):
        diff = (normalize_channels(fa) - normalize_channels(fb)).pow(2)  # (B, C, H, W)
        total = total + diff.sum(dim=1).mean(dim=(1, 2))  # (B,)
    return total


class ClassifierDistance(nn.Module):
    """Offline LPIPS analogue on the evaluation classifier's block activations (`lpips-classifier`).

    Args:
        classifier: a trained `labkit.Classifier` (copied, put in eval mode and frozen; yours is untouched).
        device: where the copy runs; `"auto"` picks cuda, mps, then cpu.
    """

    name = "lpips-classifier"

    def __init__(self, classifier: nn.Module, device: str | torch.device = "auto"):
        super().__init__()
        self.device = pick_device(device)
        self.classifier = copy.deepcopy(classifier).eval().requires_grad_(False).to(self.device)
        self.channels = classifier.cfg.channels

    def train(self, mode: bool = True):  # the copy stays in eval mode (BatchNorm statistics, no dropout)
        super().train(mode)
        self.classifier.eval()
        return self

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distances (B,) between images a, b (B, C, H, W) in [0, 1]."""
        a, b = a.to(self.device), b.to(self.device)
        return layer_distance(self.classifier.activations(a), self.classifier.activations(b))


class PixelDistance(nn.Module):
    """Mean squared pixel difference per pair (`pixel-mse`)."""

    name = "pixel-mse"

    def __init__(self, device: str | torch.device = "cpu"):
        super().__init__()
        self.device = pick_device(device)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distances (B,) between images a, b (B, C, H, W)."""
        return (a.to(self.device) - b.to(self.device)).pow(2).flatten(1).mean(dim=1)


def backbone_path(net: str) -> Path:
    """Where the torchvision weight file of backbone `net` is expected: `$LABKIT_WEIGHTS/<torchvision name>`."""
    if net not in BACKBONE_FILES:
        raise ValueError(f"LPIPS backbone must be one of {sorted(BACKBONE_FILES)}; got {net!r}")
    return weights_dir() / BACKBONE_FILES[net][0]


def load_backbone_state(net: str, path: str | Path | None = None, sha256: str | None = None) -> tuple[dict, str]:
    """Read and verify the torchvision state dict of the LPIPS backbone (same rules as Inception); never downloads.

    Args:
        net: "alex" or "vgg".
        path: the weight file (or its folder); default `backbone_path(net)`.
        sha256: expected digest (full or a prefix); default the prefix torchvision puts in the file name.
    Returns:
        (state dict, full sha256 of the file).
    Raises:
        WeightsNotFoundError (a FileNotFoundError) naming the file; WeightsMismatchError (a ValueError).
    """
    if net not in BACKBONE_FILES:
        raise ValueError(f"LPIPS backbone must be one of {sorted(BACKBONE_FILES)}; got {net!r}")
    filename, prefix = BACKBONE_FILES[net]
    path, digest = resolve_weights(filename, path, sha256=sha256 or prefix, what=f"LPIPS-{net} backbone weights",
                                   source="torchvision's ImageNet weights; offline, use the 'lpips-classifier' "
                                          "distance instead")
    return torch.load(path, map_location="cpu", weights_only=True), digest


def _copy_backbone(trunk: nn.Module, state: dict) -> None:
    """Copy torchvision `features.<i>.*` tensors into the lpips package's slices (modules keep index names)."""
    feats = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    for slice_ in trunk.children():
        for idx, module in slice_.named_children():
            own = module.state_dict()
            if not own:
                continue
            missing = [f"features.{idx}.{k}" for k in own if f"{idx}.{k}" not in feats]
            if missing:
                raise KeyError(f"backbone state dict lacks {missing}: not a torchvision weight file for this net?")
            module.load_state_dict({k: feats[f"{idx}.{k}"] for k in own})


class LPIPS(nn.Module):
    """The reference LPIPS (`lpips` package, v0.1 linear weights) with the backbone read from a local file.

    Grey images are repeated to 3 channels; images smaller than `min_size` are bilinearly upsampled to
    it first (AlexNet's strides need at least ~64 pixels), which is part of the metric's protocol.

    Args:
        net: "alex" (the paper's default for evaluation) or "vgg".
        weights: backbone weight file; default `$LABKIT_WEIGHTS/<torchvision file name>`.
        sha256: expected digest of `weights` (full or prefix); default the torchvision name's prefix.
        random_backbone: skip the file and keep a randomly initialised backbone (tests, benchmarks only;
            the name then says `-randombackbone`).
        min_size: upsampling target for smaller images, pixels.
        device: where it runs.
    """

    def __init__(self, net: str = "alex", *, weights: str | Path | None = None, sha256: str | None = None,
                 random_backbone: bool = False, min_size: int = 64, device: str | torch.device = "auto"):
        super().__init__()
        import lpips as lpips_pkg

        if net not in BACKBONE_FILES:
            raise ValueError(f"LPIPS backbone must be one of {sorted(BACKBONE_FILES)}; got {net!r}")
        state, self.weights_sha256 = (None, None) if random_backbone else load_backbone_state(net, weights, sha256)
        with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
            warnings.simplefilter("ignore")  # torchvision's `pretrained=` deprecation notice inside the package
            self.model = lpips_pkg.LPIPS(net=net, pnet_rand=True, verbose=False)
        if state is not None:
            _copy_backbone(self.model.net, state)
        self.device = pick_device(device)
        self.model.eval().requires_grad_(False).to(self.device)
        self.net, self.min_size = net, min_size
        self.name = f"lpips-{net}" + ("-randombackbone" if random_backbone else "")

    def train(self, mode: bool = True):
        super().train(mode)
        self.model.eval()
        return self

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] -> (B, 3, H', W') in [-1, 1] as the package expects."""
        x = x.to(self.device)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # (B, 3, H, W)
        if min(x.shape[2:]) < self.min_size:
            x = F.interpolate(x, size=(self.min_size, self.min_size), mode="bilinear", align_corners=False)
        return x * 2 - 1

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distances (B,) between images a, b (B, C, H, W) in [0, 1]."""
        return self.model(self.prepare(a), self.prepare(b)).flatten()  # (B,)


def make_distance(kind: str = "classifier", *, classifier: nn.Module | None = None,
                  device: str | torch.device = "auto", **kw) -> nn.Module:
    """Build a distance by name: "classifier" (needs `classifier`), "alex", "vgg" or "pixel"."""
    if kind in ("classifier", "lpips-classifier"):
        if classifier is None:
            raise ValueError("the lpips-classifier distance needs classifier=<trained Classifier>")
        return ClassifierDistance(classifier, device=device)
    if kind in ("alex", "vgg", "lpips-alex", "lpips-vgg"):
        return LPIPS(kind.removeprefix("lpips-"), device=device, **kw)
    if kind in ("pixel", "pixel-mse"):
        return PixelDistance(device=device)
    raise ValueError(f"unknown distance {kind!r}; use classifier, alex, vgg or pixel")


@torch.no_grad()
def paired_distance(distance: nn.Module, a: torch.Tensor, b: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """Distance between a[i] and b[i] for every i, batched, on CPU.

    Args:
        distance: one of this module's distances (or any `(a, b) -> (B,)` callable).
        a, b: float images (N, C, H, W) in [0, 1].
    Returns:
        (N,) float32 distances.
    """
    check_images(a, what="first images")
    check_images(b, what="second images")
    if a.shape != b.shape:
        raise ValueError(f"paired images must have equal shapes; got {tuple(a.shape)} and {tuple(b.shape)}")
    out = [distance(a[i:i + batch_size], b[i:i + batch_size]).float().cpu() for i in range(0, len(a), batch_size)]
    return torch.cat(out)


class _PairResult:
    """What the pair scores share: a mean over pairs, and a protocol of everything else."""

    def protocol(self) -> dict:
        """Everything but the value, for `labkit.core.runs.record(..., **protocol)`."""
        d = asdict(self)
        d.pop("value")
        d.pop("std")
        return d


def _pair_stats(d: np.ndarray) -> tuple[float, float, float]:
    """Mean, std (ddof 1; 0 for one pair) and standard error of pair distances (n_pairs,)."""
    std = float(d.std(ddof=1)) if len(d) > 1 else 0.0
    return float(d.mean()), std, float(std / np.sqrt(len(d)))


@dataclass(frozen=True)
class DiversityResult(_PairResult):
    """Mean distance between random pairs of images (higher = more diverse), with its protocol."""

    value: float      # mean pair distance
    std: float        # standard deviation over pairs
    sem: float        # standard error of the mean
    n_pairs: int      # pairs drawn
    n_images: int     # images the pairs were drawn from
    seed: int         # seed of the pair draw
    distance: str     # distance name, e.g. lpips-classifier


def lpips_diversity(images: torch.Tensor, distance: nn.Module, *, n_pairs: int = 1000, seed: int = 0,
                    batch_size: int = 256) -> DiversityResult:
    """Diversity of a generated set: mean distance between `n_pairs` random pairs of distinct images.

    Args:
        images: float (N, C, H, W) in [0, 1], N >= 2.
        distance: e.g. `ClassifierDistance(clf)` or `LPIPS("alex")`.
        n_pairs: pairs drawn with replacement; each pair has two different indices.
        seed: seeds the pair draw (a CPU `torch.Generator`), made on the images in canonical order, so the
            value depends only on the set of images and the seed.
    """
    n = len(check_images(images))
    if n < 2:
        raise ValueError("diversity needs at least two images")
    images = canonical_rows(images)
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(0, n, (n_pairs,), generator=g)
    j = (i + torch.randint(1, n, (n_pairs,), generator=g)) % n  # never equal to i
    d = paired_distance(distance, images[i], images[j], batch_size=batch_size).numpy().astype(np.float64)
    return DiversityResult(*_pair_stats(d), n_pairs, n, seed, distance_name(distance))


@dataclass(frozen=True)
class ToRealResult(_PairResult):
    """Mean distance between generated and real images paired at random (lower = closer), with its protocol."""

    value: float      # mean pair distance
    std: float        # standard deviation over pairs
    sem: float        # standard error of the mean
    n_pairs: int      # pairs drawn
    n_fake: int       # generated images the pairs were drawn from
    n_real: int       # real images the pairs were drawn from
    seed: int         # seed of the pair draw
    distance: str     # distance name, e.g. lpips-alex


def lpips_to_real(real: torch.Tensor, fake: torch.Tensor, distance: nn.Module, *, n_pairs: int = 1000,
                  seed: int = 0, batch_size: int = 256) -> ToRealResult:
    """LPIPS as the controlled-generation paper uses it: mean distance of generated to real images, random pairs.

    Saladukha & Kovalev compute LPIPS between generated and real images (lower = closer) and note that it
    needs class-aligned pairs to be fair: a good image paired with a real one of another class still scores
    as far. This is that measurement with pairs drawn at random, which is what an unconditional generator
    allows; with `LPIPS("alex" | "vgg")` it is the paper's quantity, with another distance a surrogate.
    Because pairs mix classes, images between classes can score lower than real ones (one average image
    of 8×8 digits does, under the classifier distance: see the tests).

    Args:
        real: real images, float (N_r, C, H, W) in [0, 1].
        fake: generated images, float (N_f, C, H, W), same C, H, W.
        distance: e.g. `LPIPS("alex")` or `ClassifierDistance(clf)`.
        n_pairs: (generated, real) pairs, each index drawn uniformly with replacement.
        seed: seeds the pair draw (a CPU `torch.Generator`), made on both sets in canonical order, so the
            value depends only on the two sets and the seed.
    """
    check_images(real, what="real images")
    check_images(fake, what="generated images")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"real and generated images differ in shape: {tuple(real.shape[1:])} vs "
                         f"{tuple(fake.shape[1:])}")
    real, fake = canonical_rows(real), canonical_rows(fake)
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(0, len(fake), (n_pairs,), generator=g)
    j = torch.randint(0, len(real), (n_pairs,), generator=g)
    d = paired_distance(distance, fake[i], real[j], batch_size=batch_size).numpy().astype(np.float64)
    return ToRealResult(*_pair_stats(d), n_pairs, len(fake), len(real), seed, distance_name(distance))


def distance_name(distance) -> str:
    """The recorded name of a distance (`name` attribute, else its class name)."""
    return str(getattr(distance, "name", type(distance).__name__))
