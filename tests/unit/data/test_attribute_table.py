"""A folder with a CelebA-style attribute table: the table's format, partitions, crops, and clear errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from labkit import data
from labkit.data.attribute_table import read_attribute_table
from labkit.data.idx import CorruptDataError

NAMES = ("Eyeglasses", "Male", "Smiling")


def make_celeba_folder(root: Path, n: int = 20, partition: bool = True, size=(178, 218), seed: int = 0) -> np.ndarray:
    """n RGB images in root/img_align_celeba, a list_attr_celeba.txt (±1) and optionally a partition file;
    returns the attributes (n, 3) in {0, 1}. Image i's central pixel value is 6·i, so crops can be checked."""
    rng = np.random.default_rng(seed)
    attrs = rng.integers(0, 2, (n, len(NAMES)))
    attrs[:2, 1] = [0, 1]  # both sexes present
    (root / "img_align_celeba").mkdir(parents=True)
    rows = []
    for i in range(n):
        name = f"{i + 1:06d}.png"  # lossless, so pixel values can be checked
        a = np.zeros((size[1], size[0], 3), np.uint8)
        a[size[1] // 2 - 8: size[1] // 2 + 8, size[0] // 2 - 8: size[0] // 2 + 8] = 6 * i % 240
        Image.fromarray(a).save(root / "img_align_celeba" / name)
        rows.append(name + " " + " ".join(" 1" if v else "-1" for v in attrs[i]))
    (root / "list_attr_celeba.txt").write_text(f"{n}\n{' '.join(NAMES)}\n" + "\n".join(rows) + "\n")
    if partition:
        (root / "list_eval_partition.txt").write_text("".join(f"{i + 1:06d}.png {0 if i < n - 5 else 2}\n"
                                                              for i in range(n)))
    return attrs


def test_folder_with_attribute_table_loads_every_attribute(tmp_path):
    attrs = make_celeba_folder(tmp_path)
    train = data.load(f"folder:{tmp_path}", "train", size=16)
    test = data.load(f"folder:{tmp_path}", "test", size=16)
    assert (len(train), len(test)) == (15, 5) and train.shape == (3, 16, 16)
    assert train.attribute_names == NAMES and train.class_names == ("female", "male")
    assert torch.equal(train.attributes, torch.from_numpy(attrs[:15])) and torch.equal(test.attributes[:, 1],
                                                                                       test.labels)
    assert torch.equal(train.labels, torch.from_numpy(attrs[:15, 1]))
    sub = train.subset([3, 1])  # attributes travel with the images
    assert torch.equal(sub.attributes, train.attributes[[3, 1]])
    grey = data.load(f"folder:{tmp_path}", "train", size=16, channels=1)
    assert grey.shape == (1, 16, 16)


def test_aligned_celeba_images_get_the_128_pixel_face_crop_and_others_a_centre_square(tmp_path):
    make_celeba_folder(tmp_path / "a", n=8)
    ds = data.load(f"folder:{tmp_path / 'a'}", "train")
    assert ds.shape == (3, 128, 128)
    c = ds.images[1, 0, 64, 64].item()
    assert c == 6 and ds.images[1, 0, 0, 0].item() <= 2  # image 1's centre kept, black border around
    make_celeba_folder(tmp_path / "b", n=8, size=(40, 30))
    assert data.load(f"folder:{tmp_path / 'b'}", "train").shape == (3, 30, 30)


def test_without_a_partition_file_a_fixed_disjoint_80_20_split(tmp_path):
    make_celeba_folder(tmp_path, n=40, partition=False)
    train, test = (data.load(f"folder:{tmp_path}", s, size=8) for s in ("train", "test"))
    again = data.load(f"folder:{tmp_path}", "train", size=8)
    assert len(train) + len(test) == 40 and 0 < len(test) < 20 and torch.equal(train.images, again.images)
    centres = lambda ds: {int(v) for v in ds.images[:, 0, 4, 4]}  # noqa: E731  image i's centre is 6·i
    assert not centres(train) & centres(test)


def test_the_table_reader_by_hand(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("2\nA_b C\nx.jpg 1 -1\ny.jpg -1 1\n")
    files, names, values = read_attribute_table(p)
    assert files == ["x.jpg", "y.jpg"] and names == ("A_b", "C") and values.tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize("text, match", [
    ("3\nA B\nx.jpg 1 -1\n", "announces 3 images"),
    ("1\nA B\nx.jpg 1\n", "1 values for 2 attributes"),
    ("1\nA B\nx.jpg 1 2\n", "must be 1 or -1"),
    ("1\nA B\nx.jpg 1 yes\n", "must be 1 or -1"),
    ("A B\nx.jpg 1 -1\n", "number of images"),
    ("1\nA A\nx.jpg 1 -1\n", "repeat"),
])
def test_bad_tables_are_refused(tmp_path, text, match):
    p = tmp_path / "t.txt"
    p.write_text(text)
    with pytest.raises(CorruptDataError, match=match):
        read_attribute_table(p)


def test_missing_images_are_named(tmp_path):
    make_celeba_folder(tmp_path, n=8)
    (tmp_path / "img_align_celeba" / "000002.png").unlink()
    with pytest.raises(CorruptDataError, match="000002.png"):
        data.load(f"folder:{tmp_path}", "train")
