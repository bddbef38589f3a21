"""What `labkit evaluate` judges: any model or set of samples, read into an `ImageDataset` of the reference's shape.

A sample spec is a folder of images (flat or nested, with or without class sub-folders), an `.npy`/`.npz`
array of images, a labkit checkpoint (a VAE or GAN generator, sampled with a seed), or `package.module:factory`
naming a function that returns a module with `sample(n, generator=...)`. Images are brought to the reference's
size and channels with named conversions, recorded with the samples; what cannot be converted is an error.

A factory spec imports and runs that module, as `python -m` would: only name code you trust.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.dataset import ImageDataset
from ..data.idx import CorruptDataError
from ..generate import sample_labelled
from ..metrics._order import canonical_dataset
from ..models.checkpoint import load_model
from ..models.sampling import is_conditional

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True)
class Samples:
    """A named set of images to judge, with where they came from and what was done to them.

    Args:
        name: the model's name in the report.
        images: the samples, uint8 (N, C, H, W) at the reference's geometry, with labels when the source had
            them (class folders, a conditional generator) or -1 otherwise.
        source: the spec they were read from. kind: folder, array, checkpoint or factory.
        labelled: whether the labels are the source's own (else they are filled in by the classifier).
        conversions: what was done to reach the reference's geometry (`resize 32→28 (bilinear, antialias)`).
    """

    name: str
    images: ImageDataset
    source: str
    kind: str
    labelled: bool
    conversions: tuple[str, ...] = field(default_factory=tuple)


def split_name(spec: str) -> tuple[str | None, str]:
    """`name=path` -> (name, path); a bare path -> (None, path). A `=` inside a path needs the name given."""
    name, eq, rest = spec.partition("=")
    if eq and name and "/" not in name and not Path(spec).exists():
        return name, rest
    return None, spec


def default_name(spec: str) -> str:
    """A report name from a spec: the file or folder name without its suffix, or the factory's name."""
    if FACTORY.match(spec) and not Path(spec).exists():
        return spec.rsplit(":", 1)[1]
    p = Path(spec.rstrip("/"))
    return p.stem if p.suffix else p.name


def read_samples(spec: str, reference: ImageDataset, *, n: int, seed: int = 0, classifier: nn.Module,
                 device: str | torch.device = "cpu") -> Samples:
    """Read one sample spec (`[name=]path-or-factory`) into `Samples` of the reference's geometry.

    Args:
        spec: see the module doc.
        reference: the real set; its size, channels and class names are the target.
        n: images to draw from a generator (checkpoint or factory); arrays and folders give what they hold.
        seed: seed of the generator's latents.
        classifier: labels an unconditional generator's samples (its own class mix, never rebalanced).
    """
    name, path = split_name(spec)
    name = name or default_name(path)
    p = Path(path)
    if p.is_dir():
        images, labels, kind = *_read_folder(p, reference.class_names), "folder"
    elif p.suffix.lower() in (".npy", ".npz"):
        images, labels, kind = *_read_array(p), "array"
    elif p.suffix.lower() in (".pt", ".pth", ".ckpt"):
        model, kind = load_model(p, device=device), "checkpoint"
        return _from_generator(name, spec, kind, model, reference, n, seed, classifier)
    elif FACTORY.match(path) and not p.exists():
        model, kind = _factory(path).to(device), "factory"
        return _from_generator(name, spec, kind, model, reference, n, seed, classifier)
    elif not p.exists():
        raise FileNotFoundError(f"samples {path!r}: no such file or folder, and not a `package.module:factory` spec")
    else:
        raise ValueError(f"samples {path}: unknown kind; give a folder of images, a .npy/.npz array, a labkit "
                         "checkpoint (.pt) or package.module:factory")
    images, conversions = to_reference_geometry(images, reference, what=f"samples {path}")
    labelled = labels is not None
    labels = labels if labelled else torch.full((len(images),), -1, dtype=torch.long)
    ds = ImageDataset.from_float(images, labels.clamp_min(0), reference.class_names, name=name, split="generated",
                                 info={"labelled_by": "source" if labelled else "none"})
    return Samples(name, ds, spec, kind, labelled, tuple(conversions))


def _from_generator(name: str, spec: str, kind: str, model: nn.Module, reference: ImageDataset, n: int, seed: int,
                    classifier: nn.Module) -> Samples:
    if not callable(getattr(model, "sample", None)):
        raise TypeError(f"samples {spec}: a {type(model).__name__} has no sample(n, generator=...); give a generator")
    ds = sample_labelled(model, classifier, n, seed, name=name)
    images, conversions = to_reference_geometry(ds.float(), reference, what=f"samples of {spec}")
    ds = ImageDataset.from_float(images, ds.labels, reference.class_names, name=name, split="generated",
                                 info={**ds.info, "seed": seed})
    return Samples(name, ds, spec, kind, is_conditional(model), tuple(conversions))


def _factory(spec: str) -> nn.Module:
    module_name, fn_name = spec.rsplit(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ImportError(f"samples {spec}: cannot import {module_name!r} ({e}); is it on PYTHONPATH?") from e
    factory = getattr(module, fn_name, None)
    if not callable(factory):
        raise AttributeError(f"samples {spec}: {module_name} has no function {fn_name!r}")
    model = factory()
    if not isinstance(model, nn.Module):
        raise TypeError(f"samples {spec}: {fn_name}() returned a {type(model).__name__}, not a torch module")
    return model


def _read_folder(root: Path, class_names: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Every image below `root` (any depth); labels from the first sub-folder when those name the classes."""
    from PIL import Image

    files = sorted(f for f in root.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
    if not files:
        raise FileNotFoundError(f"samples {root}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in it or below it")
    arrays = []
    for f in files:
        try:
            with Image.open(f) as im:
                arrays.append(_to_chw(np.asarray(im.convert("RGB" if im.mode not in ("L", "1", "I;16") else "L"))))
        except OSError as e:
            raise CorruptDataError(f"samples {root}: cannot read image {f}: {e}") from e
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"samples {root}: images of different shapes {sorted(shapes)[:3]}; resize them to one size")
    images = torch.from_numpy(np.stack(arrays)).float() / 255  # (N, C, H, W)
    tops = [f.relative_to(root).parts[0] for f in files]
    nested = all(len(f.relative_to(root).parts) > 1 for f in files)
    index = {c: k for k, c in enumerate(class_names)} | {str(k): k for k in range(len(class_names))}
    if nested and set(tops) <= set(index):  # sub-folders named by the reference's class names or numbers
        return images, torch.tensor([index[t] for t in tops])
    return images, None


def _to_chw(a: np.ndarray) -> np.ndarray:
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def _read_array(path: Path) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Images (and labels, from an .npz `labels` array) of an .npy/.npz file; uint8 or float in [0, 1]."""
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise ValueError(f"samples {path}: not a readable numpy array file ({e})") from None
    labels = None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            keys = list(data.keys())
            key = next((k for k in ("images", "x", "samples", "arr_0") if k in keys), keys[0] if keys else None)
            if key is None:
                raise ValueError(f"samples {path}: the .npz file holds no arrays")
            arr = data[key]
            labels = torch.from_numpy(data["labels"].astype(np.int64)) if "labels" in keys else None
    else:
        arr = data
    return _as_images(arr, path), labels


def _as_images(arr: np.ndarray, path: Path) -> torch.Tensor:
    """(N, H, W), (N, C, H, W) or (N, H, W, C) with C in {1, 3}, uint8 or float in [0, 1] -> float (N, C, H, W)."""
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4 and arr.shape[1] not in (1, 3) and arr.shape[3] in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)
    if arr.ndim != 4 or arr.shape[1] not in (1, 3) or len(arr) == 0:
        raise ValueError(f"samples {path}: shape {arr.shape} is not images; give (N, H, W), (N, C, H, W) or "
                         "(N, H, W, C) with C = 1 or 3, N >= 1")
    if arr.dtype == np.uint8:
        return torch.from_numpy(arr.astype(np.float32) / 255)
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"samples {path}: dtype {arr.dtype}; give uint8 (0..255) or float images in [0, 1]")
    if not np.isfinite(arr).all():
        raise ValueError(f"samples {path}: {int((~np.isfinite(arr)).sum())} values are NaN or infinite; give images "
                         "in [0, 1]")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"samples {path}: float values in [{lo:.3g}, {hi:.3g}]; give images in [0, 1] "
                         "(map [-1, 1] with (x + 1) / 2, 0..255 with x / 255)")
    return torch.from_numpy(arr.astype(np.float32)).clamp_(0, 1)


def to_reference_geometry(images: torch.Tensor, reference: ImageDataset, what: str = "samples"
                          ) -> tuple[torch.Tensor, list[str]]:
    """Images (N, C, H, W) in [0, 1] brought to the reference's (C, H, W), and the conversions applied.

    Channels: RGB -> grey by ITU-R BT.601 luma; grey -> RGB by repeating the channel. Size: bilinear resizing
    with antialiasing, for square images whose side differs. Non-square images cannot be converted.
    """
    c, h, w = reference.shape
    done = []
    if images.shape[1] != c:
        if images.shape[1] == 3 and c == 1:
            images = (images * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
            done.append("RGB→grey (BT.601 luma)")
        elif images.shape[1] == 1 and c == 3:
            images = images.expand(-1, 3, -1, -1)
            done.append("grey→RGB (channel repeated)")
        else:
            raise ValueError(f"{what}: {images.shape[1]} channels cannot be brought to the reference's {c}")
    if tuple(images.shape[2:]) != (h, w):
        if images.shape[2] != images.shape[3] or h != w:
            raise ValueError(f"{what}: {tuple(images.shape[2:])} pixels cannot be brought to the reference's "
                             f"{(h, w)} without distortion; crop them square first")
        done.append(f"resize {images.shape[2]}→{h} (bilinear, antialias)")
        images = F.interpolate(images, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    return images.clamp(0, 1), done


def subsample(samples: Samples, n: int, seed: int = 0) -> Samples:
    """At most `n` of the samples (a seeded random choice from the set, not from its order), so every model is
    judged on the same number."""
    if len(samples.images) <= n:
        return samples
    images = canonical_dataset(samples.images)  # the same images are kept whatever the order they came in
    idx = np.sort(np.random.default_rng(seed).choice(len(images), n, replace=False))
    return replace(samples, images=images.subset(idx))


def describe(samples: Samples) -> dict[str, Any]:
    """The protocol of a sample set, for `evaluation.json`."""
    return {"source": samples.source, "kind": samples.kind, "n": len(samples.images), "labelled": samples.labelled,
            "conversions": list(samples.conversions)}
