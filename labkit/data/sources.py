"""Dataset sources: one loader per dataset name, registered in `SOURCES`.

Each loader returns the full `"train"` or `"test"` split; `load` derives `"val"` and `"fit"`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..core import paths
from .attribute_table import ATTRIBUTE_TABLE, load_attribute_folder
from .dataset import ImageDataset
from .idx import CorruptDataError, read_idx

SOURCES: dict[str, Callable[..., ImageDataset]] = {}

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


class DatasetNotFoundError(FileNotFoundError):
    """No copy of a dataset was found and none could be downloaded."""


def source(name: str):
    """Register a loader under `name`."""
    def register(fn):
        SOURCES[name] = fn
        return fn
    return register


def _idx_files(split: str) -> tuple[str, str]:
    prefix = "train" if split == "train" else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _find_idx(directory: Path, stem: str) -> Path | None:
    for sub in ("", "fashion-mnist", "FashionMNIST/raw"):
        for suffix in (".gz", ""):
            p = directory / sub / (stem + suffix)
            if p.is_file():
                return p
    return None


def _fashion_candidates() -> list[Path]:
    import os
    dirs = []
    if os.environ.get("LABKIT_DATA"):
        dirs.append(Path(os.environ["LABKIT_DATA"]))
    dirs.append(paths.PROJECT_ROOT / "data")
    dirs.append(DEBIAN_FASHION_DIR)
    return list(dict.fromkeys(dirs))


def _download_allowed(download: bool | None) -> bool:
    return (not paths.offline()) if download is None else download


@source("fashion-mnist")
def _fashion_mnist(split: str, download: bool | None = None, **_) -> ImageDataset:
    images_stem, labels_stem = _idx_files(split)
    looked = []
    for d in _fashion_candidates():
        img, lab = _find_idx(d, images_stem), _find_idx(d, labels_stem)
        looked.append(str(d))
        if img and lab:
            return _from_idx(img, lab, "fashion-mnist", split, FASHION_CLASSES, source_dir=str(d))
    if _download_allowed(download):
        try:
            from torchvision.datasets import FashionMNIST
            FashionMNIST(str(paths.data_dir()), train=(split == "train"), download=True)
            d = paths.data_dir()
            return _from_idx(_find_idx(d, images_stem), _find_idx(d, labels_stem),
                             "fashion-mnist", split, FASHION_CLASSES, source_dir=str(d))
        except (OSError, RuntimeError) as e:
            looked.append(f"torchvision download into {paths.data_dir()} (failed: {e})")
    raise DatasetNotFoundError(
        f"Fashion-MNIST ({split}) not found. Looked in: {'; '.join(looked)}. "
        f"Get it in one of two ways: (1) on Debian/Ubuntu, `apt-get install dataset-fashion-mnist` "
        f"(files in {DEBIAN_FASHION_DIR}); (2) online, call labkit.data.load('fashion-mnist', download=True) "
        f"to let torchvision fetch it into {paths.data_dir()}."
    )


def _from_idx(img_path: Path, lab_path: Path, name: str, split: str, classes, **info) -> ImageDataset:
    images = read_idx(img_path)
    labels = read_idx(lab_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise CorruptDataError(
            f"{img_path} and {lab_path} do not match: images {images.shape}, labels {labels.shape}"
        )
    if labels.max() >= len(classes):
        raise CorruptDataError(f"{lab_path} holds label {labels.max()} but the dataset has {len(classes)} classes")
    return ImageDataset(torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)),
                        tuple(classes), name=name, split=split, info=info)


def _torchvision_dataset(cls_name: str, split: str, download: bool | None, **kw):
    import torchvision.datasets as tvd
    root = paths.data_dir()
    try:
        return getattr(tvd, cls_name)(str(root), download=_download_allowed(download), **kw)
    except RuntimeError as e:
        raise DatasetNotFoundError(
            f"{cls_name} ({split}) not found under {root} ({e}). Run once online with download=True "
            f"(torchvision fetches it into {root}), or copy torchvision's folder layout there; "
            f"set LABKIT_DATA to use another directory."
        ) from e


@source("mnist")
def _mnist(split: str, download: bool | None = None, **_) -> ImageDataset:
    ds = _torchvision_dataset("MNIST", split, download, train=(split == "train"))
    return ImageDataset(ds.data.unsqueeze(1).contiguous(), ds.targets.long(), tuple(str(i) for i in range(10)),
                        name="mnist", split=split)


@source("cifar10")
def _cifar10(split: str, download: bool | None = None, **_) -> ImageDataset:
    ds = _torchvision_dataset("CIFAR10", split, download, train=(split == "train"))
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # (N, 3, 32, 32)
    return ImageDataset(images, torch.tensor(ds.targets).long(), tuple(ds.classes), name="cifar10", split=split)


@source("celeba")
def _celeba(split: str, download: bool | None = None, size: int = 64, **_) -> ImageDataset:
    """CelebA faces: 128×128 centre crop resized to `size`; labels are the 'Male' attribute, all 40 kept."""
    import torchvision.transforms.v2 as T
    ds = _torchvision_dataset("CelebA", split, download, split=split, target_type="attr")
    tf = T.Compose([T.PILToTensor(), T.CenterCrop(128), T.Resize(size, antialias=True)])
    images = torch.stack([tf(ds[i][0]) for i in range(len(ds))])  # (N, 3, size, size) uint8
    attrs = ds.attr.long()
    male = ds.attr_names.index("Male")
    return ImageDataset(images, attrs[:, male], ("female", "male"), name="celeba", split=split,
                        attributes=attrs, attribute_names=tuple(n for n in ds.attr_names if n))


@source("digits")
def _digits(split: str, **_) -> ImageDataset:
    """scikit-learn's bundled 8×8 digits (1797 images, offline); a fixed stratified 80/20 split."""
    from sklearn.datasets import load_digits
    d = load_digits()
    images = torch.from_numpy(np.round(d.images * 255 / 16).astype(np.uint8)).unsqueeze(1)  # (1797, 1, 8, 8)
    labels = torch.from_numpy(d.target.astype(np.int64))
    test = np.zeros(len(labels), bool)
    rng = np.random.default_rng(0)
    for k in range(10):
        members = np.flatnonzero(d.target == k)
        test[rng.choice(members, size=len(members) // 5, replace=False)] = True
    keep = test if split == "test" else ~test
    return ImageDataset(images[keep], labels[keep], tuple(str(i) for i in range(10)), name="digits", split=split)


def _class_folders(base: Path) -> list[str]:
    return sorted(p.name for p in base.iterdir() if p.is_dir() and p.name not in ("train", "test"))


def load_folder(root: Path, split: str, size: int | None = None, channels: int | None = None) -> ImageDataset:
    """Images in one sub-folder per class; `root/<split>/` is used when it exists, else a fixed 80/20 split.

    A folder with a CelebA-style attribute table (`list_attr_celeba.txt`) is read by
    `labkit.data.attribute_table.load_attribute_folder` instead: labels `Male`, all attributes kept.

    With `train/` and `test/` sub-folders, classes are numbered by the training folder's class names, so a test
    folder's labels always mean the same classes; a test class the training folder lacks is an error.
    """
    from PIL import Image
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB); got {channels!r}")
    if (root / ATTRIBUTE_TABLE).is_file():  # faces with CelebA's attribute table, not class sub-folders
        return load_attribute_folder(root, split, size=size, channels=channels)
    base = root / split if (root / split).is_dir() else root
    classes = _class_folders(base)
    if not classes:
        raise DatasetNotFoundError(f"{base} has no class sub-folders; put each class's images in its own folder")
    if base != root and (root / "train").is_dir() and split != "train":
        train_classes = _class_folders(root / "train")
        extra = sorted(set(classes) - set(train_classes))
        if extra:
            raise ValueError(f"{base} holds classes {extra} that {root / 'train'} does not have; the two folders "
                             "must share their class sub-folders (labels are numbered by the training classes)")
        classes = train_classes
    exts = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
    files, labels = [], []
    for k, c in enumerate(classes):
        found = sorted(p for p in (base / c).rglob("*") if p.suffix.lower() in exts) if (base / c).is_dir() else []
        files += found
        labels += [k] * len(found)
    if not files:
        raise DatasetNotFoundError(f"no images ({', '.join(sorted(exts))}) under {base}")
    mode = {1: "L", 3: "RGB", None: None}[channels]
    arrays = []
    for f in files:
        try:
            im = Image.open(f)
            im = im.convert(mode or ("L" if im.mode in ("L", "1", "I;16") else "RGB"))
        except OSError as e:
            raise CorruptDataError(f"cannot read image {f}: {e}") from e
        if size is not None:
            im = im.resize((size, size), Image.BILINEAR)
        a = np.asarray(im)
        arrays.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"images under {base} have different shapes {sorted(shapes)[:3]}...; pass size= to resize")
    images = torch.from_numpy(np.stack(arrays))
    labels_t = torch.tensor(labels)
    ds = ImageDataset(images, labels_t, tuple(classes), name=f"folder:{root}", split=split)
    if base is root:
        rng = np.random.default_rng(0)
        test = rng.random(len(ds)) < 0.2
        ds = ds.subset(np.flatnonzero(test if split == "test" else ~test))
        if len(ds) == 0:
            raise ValueError(f"{root} has too few images ({len(test)}) for a {split!r} part of the fixed 80/20 split; "
                             f"add images or put them in {root / 'train'} and {root / 'test'}")
    return ds
