"""Every kind of sample input read into the reference's geometry, and every bad one refused by name."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import labkit
from labkit.data.idx import CorruptDataError
from labkit.diagnosis.inputs import read_samples, split_name, to_reference_geometry
from tests.unit.diagnosis.tiny_factory import tiny_vae


def _read(spec, ref, clf, n=20):
    return read_samples(str(spec), ref, n=n, seed=0, classifier=clf)


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_flat_folder_of_pngs(tmp_path, digits_test, digits_classifier):
    imgs = digits_test.images[:12, 0].numpy()  # (12, 8, 8) uint8
    for i, a in enumerate(imgs):
        _png(tmp_path / "flat" / f"{i:03d}.png", a)
    s = _read(tmp_path / "flat", digits_test, digits_classifier)
    assert s.kind == "folder" and not s.labelled and len(s.images) == 12 and s.name == "flat"
    assert torch.equal(s.images.images, digits_test.images[:12])  # lossless, in file order
    assert s.conversions == ()


def test_class_folders_give_labels_and_nested_folders_do_not(tmp_path, digits_test, digits_classifier):
    for i in range(10):
        k = int(digits_test.labels[i])
        _png(tmp_path / "byclass" / str(k) / f"{i}.png", digits_test.images[i, 0].numpy())
        _png(tmp_path / "nested" / "a" / "b" / f"{i}.png", digits_test.images[i, 0].numpy())
    s = _read(tmp_path / "byclass", digits_test, digits_classifier)
    assert s.labelled and sorted(s.images.labels.tolist()) == sorted(digits_test.labels[:10].tolist())
    nested = _read(tmp_path / "nested", digits_test, digits_classifier)
    assert not nested.labelled and len(nested.images) == 10


def test_rgb_jpeg_of_another_size_converted_and_recorded(tmp_path, digits_test, digits_classifier):
    rgb = np.repeat(np.kron(digits_test.images[:4, 0].numpy(), np.ones((2, 2), np.uint8))[..., None], 3, axis=-1)
    for i, a in enumerate(rgb):  # (16, 16, 3)
        Image.fromarray(a).save(tmp_path / f"{i}.jpg", quality=95)
    s = _read(tmp_path, digits_test, digits_classifier)
    assert s.images.shape == digits_test.shape
    assert s.conversions == ("RGB→grey (BT.601 luma)", "resize 16→8 (bilinear, antialias)")


@pytest.mark.parametrize("layout", ["nhw_uint8", "nchw_float", "nhwc_float"])
def test_npy_arrays(tmp_path, digits_test, digits_classifier, layout):
    x = digits_test.images[:15].numpy()  # (15, 1, 8, 8) uint8
    arr = {"nhw_uint8": x[:, 0], "nchw_float": x / 255.0, "nhwc_float": (x / 255.0).transpose(0, 2, 3, 1)}[layout]
    np.save(tmp_path / "s.npy", arr)
    s = _read(tmp_path / "s.npy", digits_test, digits_classifier)
    assert s.kind == "array" and torch.equal(s.images.images, digits_test.images[:15])


def test_npz_with_labels(tmp_path, digits_test, digits_classifier):
    np.savez(tmp_path / "s.npz", images=digits_test.images[:15].numpy(), labels=digits_test.labels[:15].numpy())
    s = _read(f"mine={tmp_path / 's.npz'}", digits_test, digits_classifier)
    assert s.name == "mine" and s.labelled and torch.equal(s.images.labels, digits_test.labels[:15])


def test_checkpoint_sampled_with_a_seed(tmp_path, digits_test, digits_classifier):
    torch.manual_seed(0)
    labkit.save_models(tmp_path / "vae.pt", {"vae": tiny_vae()})
    a, b = (_read(tmp_path / "vae.pt", digits_test, digits_classifier, n=30) for _ in range(2))
    assert a.kind == "checkpoint" and len(a.images) == 30 and torch.equal(a.images.images, b.images.images)


def test_factory(digits_test, digits_classifier):
    s = _read("tests.unit.diagnosis.tiny_factory:tiny_vae", digits_test, digits_classifier, n=25)
    assert s.kind == "factory" and s.name == "tiny_vae" and len(s.images) == 25


def test_name_split():
    assert split_name("vae=/runs/x.pt") == ("vae", "/runs/x.pt")
    assert split_name("/runs/a=b.pt") == (None, "/runs/a=b.pt")


@pytest.mark.parametrize("case, error, names", [
    ("empty_folder", FileNotFoundError, "no images"),
    ("missing", FileNotFoundError, "no such file"),
    ("corrupt_png", CorruptDataError, "cannot read image"),
    ("wrong_shape", ValueError, "is not images"),
    ("values_255_float", ValueError, "give images in [0, 1]"),
    ("nan", ValueError, "NaN"),
    ("non_square", ValueError, "without distortion"),
    ("two_channels", ValueError, "is not images"),
    ("pickled_npy", ValueError, "not a readable numpy array"),
    ("unknown_suffix", ValueError, "unknown kind"),
    ("classifier_checkpoint", TypeError, "has no sample"),
    ("factory_not_module", TypeError, "not a torch module"),
    ("factory_missing_module", ImportError, "cannot import"),
])
def test_bad_inputs_say_what_and_which(tmp_path, digits_test, digits_classifier, case, error, names):
    p = tmp_path / case
    if case == "empty_folder":
        p.mkdir()
    elif case == "corrupt_png":
        p.mkdir()
        (p / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    elif case == "wrong_shape":
        p = tmp_path / "w.npy"
        np.save(p, np.zeros((4, 5, 8, 8), np.uint8))
    elif case == "values_255_float":
        p = tmp_path / "v.npy"
        np.save(p, np.full((4, 8, 8), 200.0))
    elif case == "nan":
        p = tmp_path / "n.npy"
        np.save(p, np.full((4, 8, 8), np.nan))
    elif case == "non_square":
        p = tmp_path / "ns.npy"
        np.save(p, np.zeros((4, 8, 6), np.uint8))
    elif case == "two_channels":
        p = tmp_path / "c.npy"
        np.save(p, np.zeros((4, 2, 8, 8), np.uint8))
    elif case == "pickled_npy":
        p = tmp_path / "o.npy"
        np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    elif case == "unknown_suffix":
        p = tmp_path / "x.txt"
        p.write_text("hello")
    elif case == "classifier_checkpoint":
        p = tmp_path / "clf.pt"
        labkit.save_models(p, {"model": digits_classifier})
    elif case == "factory_not_module":
        p = "tests.unit.diagnosis.tiny_factory:not_a_module"
    elif case == "factory_missing_module":
        p = "no_such_package_xyz.models:build"
    with pytest.raises(error) as e:
        _read(p, digits_test, digits_classifier)
    message = str(e.value)
    assert names in message
    assert (str(p) if not isinstance(p, str) else p.split(":")[0]) in message or p.name in message


def test_geometry_rgb_to_grey_is_luma():
    ref = labkit.data.ImageDataset.from_float(torch.zeros(2, 1, 4, 4), torch.zeros(2, dtype=torch.long), ("a",))
    x = torch.zeros(1, 3, 4, 4)
    x[:, 0] = 1.0  # pure red
    out, done = to_reference_geometry(x, ref)
    assert torch.allclose(out, torch.full((1, 1, 4, 4), 0.299)) and done == ["RGB→grey (BT.601 luma)"]
