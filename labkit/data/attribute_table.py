"""A folder of face images with a CelebA-style attribute table (`list_attr_celeba.txt`), loaded offline.

Layout (CelebA's own): `root/list_attr_celeba.txt`, the images in `root/img_align_celeba/` (or in `root/`),
optionally `root/list_eval_partition.txt` (`filename 0|1|2`: train, validation, test; torchvision's splits).
The table: a line with the image count, a line of attribute names, then one row per image,
`filename v1 ... vA` with v = 1 (has the attribute) or -1 (has not); 0 is read as "has not" too.
Images are cropped to their central square (the 128-pixel face crop for CelebA's aligned 178×218 images,
as `labkit.data.sources` does for torchvision's CelebA) and resized to `size`. Labels are the `Male`
attribute (classes female, male) when the table has it, else the first attribute; all are kept as
`attributes` (N, A) in {0, 1} with their `attribute_names`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .dataset import ImageDataset
from .idx import CorruptDataError

ATTRIBUTE_TABLE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_DIRS = ("img_align_celeba", "")
CELEBA_ALIGNED = (218, 178)  # (H, W) of CelebA's aligned images
CELEBA_CROP = 128


def read_attribute_table(path: str | Path) -> tuple[list[str], tuple[str, ...], torch.Tensor]:
    """(file names, attribute names, attributes (N, A) int64 in {0, 1}) of a CelebA-style table."""
    path = Path(path)
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    if len(lines) < 2 or len(lines[0]) != 1 or not lines[0][0].isdigit():
        raise CorruptDataError(f"{path}: expected a first line with the number of images, then a line of attribute "
                               "names, then one row per image (CelebA's list_attr_celeba.txt format)")
    count, names, rows = int(lines[0][0]), tuple(lines[1]), lines[2:]
    if len(rows) != count:
        raise CorruptDataError(f"{path}: the first line announces {count} images but {len(rows)} rows follow")
    if len(set(names)) != len(names):
        raise CorruptDataError(f"{path}: attribute names repeat: {sorted({n for n in names if names.count(n) > 1})}")
    files, values = [], []
    for i, row in enumerate(rows, start=3):
        if len(row) != len(names) + 1:
            raise CorruptDataError(f"{path}, line {i}: {len(row) - 1} values for {len(names)} attributes")
        try:
            v = [int(x) for x in row[1:]]
        except ValueError as e:
            raise CorruptDataError(f"{path}, line {i}: attribute values must be 1 or -1 ({e})") from e
        if not set(v) <= {-1, 0, 1}:
            raise CorruptDataError(f"{path}, line {i}: attribute values must be 1 or -1; got {sorted(set(v))}")
        files.append(row[0])
        values.append(v)
    return files, names, (torch.tensor(values, dtype=torch.int64).reshape(len(files), len(names)) > 0).long()


def _partition(root: Path, files: list[str], split: str) -> np.ndarray:
    """Indices of `split`: CelebA's partition file when present (train 0, test 2), else a fixed 80/20 split."""
    part_file = root / PARTITION_FILE
    if part_file.is_file():
        part = dict(ln.split()[:2] for ln in part_file.read_text().splitlines() if ln.strip())
        missing = [f for f in files if f not in part]
        if missing:
            raise CorruptDataError(f"{part_file} has no partition for {len(missing)} images, e.g. {missing[:3]}")
        wanted = "2" if split == "test" else "0"
        return np.flatnonzero([part[f] == wanted for f in files])
    test = np.random.default_rng(0).random(len(files)) < 0.2
    return np.flatnonzero(test if split == "test" else ~test)


def _image(path: Path, size: int | None, mode: str):
    from PIL import Image
    try:
        im = Image.open(path).convert(mode)
    except OSError as e:
        raise CorruptDataError(f"cannot read image {path}: {e}") from e
    w, h = im.size
    side = CELEBA_CROP if (h, w) == CELEBA_ALIGNED else min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    im = im.crop((left, top, left + side, top + side))
    if size is not None:
        im = im.resize((size, size), Image.BILINEAR)
    a = np.asarray(im)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def load_attribute_folder(root: str | Path, split: str, size: int | None = None,
                          channels: int | None = None) -> ImageDataset:
    """The `split` ("train" or "test") of a folder with a CelebA-style attribute table (see the module)."""
    root = Path(root)
    files, names, attrs = read_attribute_table(root / ATTRIBUTE_TABLE)
    image_dir = next((root / d for d in IMAGE_DIRS if (root / d / files[0]).is_file()), None) if files else None
    if image_dir is None:
        raise CorruptDataError(f"{root}: no image {files[0] if files else '(empty table)'} in "
                               f"{' or '.join(str(root / d) for d in IMAGE_DIRS)}")
    index = _partition(root, files, split)
    if len(index) == 0:
        raise ValueError(f"{root} has no images in its {split!r} part; add images or a {PARTITION_FILE}")
    missing = [files[i] for i in index if not (image_dir / files[i]).is_file()]
    if missing:
        raise CorruptDataError(f"{image_dir} lacks {len(missing)} images of {ATTRIBUTE_TABLE}, e.g. {missing[:3]}")
    mode = {1: "L", 3: "RGB", None: "RGB"}[channels]
    images = torch.from_numpy(np.stack([_image(image_dir / files[i], size, mode) for i in index]))
    label_attr = names.index("Male") if "Male" in names else 0
    classes = ("female", "male") if "Male" in names else (f"not {names[0]}", names[0])
    return ImageDataset(images, attrs[index, label_attr], classes, name=f"folder:{root}", split=split,
                        attributes=attrs[index], attribute_names=names,
                        info={"attribute_table": str(root / ATTRIBUTE_TABLE)})
