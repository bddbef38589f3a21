"""Data loading: the Debian Fashion-MNIST copy, splits, subsets, and clear errors for bad input."""
import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from labkit import data
from labkit.data import sources

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian_package(monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))  # an empty first place to look
    monkeypatch.setattr(sources.paths, "PROJECT_ROOT", tmp_path)
    train, test = data.load("fashion-mnist", "train"), data.load("fashion-mnist", "test")
    assert (len(train), len(test), train.num_classes) == (60000, 10000, 10)
    assert train.images.dtype == torch.uint8 and train.shape == (1, 28, 28)
    assert train.info["source_dir"] == str(FASHION)
    assert (train.class_counts() == 6000).all()
    x = test.float()
    assert x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_val_and_fit_partition_train():
    val, fit = data.load("fashion-mnist", "val"), data.load("fashion-mnist", "fit")
    assert len(val) + len(fit) == 60000
    assert (val.class_counts() == 500).all()
    assert torch.equal(data.load("fashion-mnist", "val").images, val.images)  # fixed, not reshuffled


def test_balanced_subset_is_seeded_and_balanced(digits_train):
    a = data.balanced_subset(digits_train, 20, seed=1)
    b = data.balanced_subset(digits_train, 20, seed=1)
    c = data.balanced_subset(digits_train, 20, seed=2)
    assert (a.class_counts() == 20).all()
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    with pytest.raises(ValueError, match="fewer than n_per_class"):
        data.balanced_subset(digits_train, 10_000)


def test_digits_split_is_disjoint_and_fixed():
    tr, te = data.load("digits", "train"), data.load("digits", "test")
    assert len(tr) + len(te) == 1797 and tr.shape == (1, 8, 8)
    assert torch.equal(te.images, data.load("digits", "test").images)


def _write_idx(path: Path, arr: np.ndarray, truncate: int = 0):
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    raw = header + arr.astype(np.uint8).tobytes()
    with gzip.open(path, "wb") as f:
        f.write(raw[: len(raw) - truncate])


def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    monkeypatch.setattr(sources.paths, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(sources, "DEBIAN_FASHION_DIR", tmp_path / "no-such-dir")


def test_missing_dataset_names_every_place_and_both_remedies(monkeypatch, tmp_path):
    _isolated(monkeypatch, tmp_path)
    with pytest.raises(data.DatasetNotFoundError) as e:
        data.load("fashion-mnist", "train", download=False)
    msg = str(e.value)
    assert str(tmp_path) in msg and "apt-get install dataset-fashion-mnist" in msg and "download=True" in msg


def test_truncated_file_names_the_file(monkeypatch, tmp_path):
    _isolated(monkeypatch, tmp_path)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((10, 28, 28)), truncate=100)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(10))
    with pytest.raises(data.CorruptDataError, match="train-images-idx3-ubyte.gz.*truncated"):
        data.load("fashion-mnist", "train", download=False)


def test_garbage_file_is_reported(monkeypatch, tmp_path):
    _isolated(monkeypatch, tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(10))
    with pytest.raises(data.CorruptDataError, match="t10k-images-idx3-ubyte.gz"):
        data.load("fashion-mnist", "test", download=False)


def test_small_valid_copy_in_data_dir_is_used(monkeypatch, tmp_path):
    _isolated(monkeypatch, tmp_path)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.full((4, 28, 28), 7))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(4))
    ds = data.load("fashion-mnist", "test", download=False)
    assert len(ds) == 4 and int(ds.images.max()) == 7


@pytest.mark.parametrize("bad, match", [
    (torch.rand(3, 8, 8), r"\(N, C, H, W\)"),
    (torch.randint(0, 255, (3, 1, 8, 8), dtype=torch.uint8), "float in"),
    (torch.rand(3, 1, 8, 8) * 255, r"\[0, 1\]"),
    (torch.full((3, 1, 8, 8), float("nan")), "NaN"),
    (torch.rand(0, 1, 8, 8), "empty"),
])
def test_check_images_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        data.check_images(bad)


def test_classifier_rejects_wrong_geometry(digits_classifier):
    with pytest.raises(ValueError, match="expects 1"):
        digits_classifier(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(8, 8\)"):
        digits_classifier(torch.rand(2, 1, 28, 28))


def test_folder_dataset(tmp_path):
    from PIL import Image
    for k, name in enumerate(["cats", "dogs"]):
        (tmp_path / name).mkdir()
        for i in range(10):
            Image.fromarray(np.full((12, 12, 3), 20 * k + i, np.uint8)).save(tmp_path / name / f"{i}.png")
    tr = data.load(f"folder:{tmp_path}", "train", size=8)
    te = data.load(f"folder:{tmp_path}", "test", size=8)
    assert tr.class_names == ("cats", "dogs") and tr.shape == (3, 8, 8)
    assert len(tr) + len(te) == 20


def test_head_takes_the_first_images_or_all_and_subset_names_an_index_out_of_range():
    from labkit.data.dataset import ImageDataset

    ds = ImageDataset(torch.zeros(5, 1, 4, 4, dtype=torch.uint8), torch.arange(5) % 2, ("a", "b"), name="toy")
    assert ds.head(3).labels.tolist() == [0, 1, 0] and len(ds.head(0)) == 5 and len(ds.head(500)) == 5
    with pytest.raises(IndexError, match=r"toy .* has 5 images; index 5 is out of range"):
        ds.subset([0, 5])
