"""Degradations: seeded, the advertised strength, labels kept."""
import pytest
import torch

from labkit.data.degrade import DEGRADATIONS, blur, degrade, gaussian_kernel, gaussian_noise, salt_and_pepper, subsample
from labkit.metrics.sharpness import laplacian_variance


def grey(n=64, size=16):
    return torch.full((n, 1, size, size), 0.5)


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("fraction", [0.01, 0.05, 0.2])
def test_salt_and_pepper_replaces_that_share_of_pixels_with_black_or_white(fraction):
    out = salt_and_pepper(grey(), fraction, gen(0))
    changed = out != 0.5
    assert abs(changed.float().mean().item() - fraction) < 0.2 * fraction + 0.003
    assert set(out[changed].unique().tolist()) <= {0.0, 1.0}
    assert abs((out[changed] == 1).float().mean().item() - 0.5) < 0.1  # salt and pepper equally often


def test_noise_is_seeded_and_fraction_zero_changes_nothing():
    x = torch.rand(8, 1, 8, 8)
    assert torch.equal(salt_and_pepper(x, 0.1, gen(3)), salt_and_pepper(x, 0.1, gen(3)))
    assert not torch.equal(salt_and_pepper(x, 0.1, gen(3)), salt_and_pepper(x, 0.1, gen(4)))
    assert torch.equal(salt_and_pepper(x, 0.0, gen(3)), x)
    assert torch.equal(gaussian_noise(x, 0.1, gen(3)), gaussian_noise(x, 0.1, gen(3)))
    with pytest.raises(ValueError, match="fraction"):
        salt_and_pepper(x, 1.5, gen(0))


def test_gaussian_noise_has_the_asked_std_and_stays_in_range():
    out = gaussian_noise(grey(256), 0.05, gen(0))
    assert abs((out - 0.5).std().item() - 0.05) < 0.003
    strong = gaussian_noise(grey(16), 2.0, gen(0))
    assert strong.min() >= 0 and strong.max() <= 1


def test_blur_keeps_constants_and_mean_and_lowers_sharpness(digits_train):
    k = gaussian_kernel(1.0)
    assert abs(k.sum().item() - 1) < 1e-6 and torch.allclose(k, k.flip(0))
    assert torch.allclose(blur(grey(4), 1.0), grey(4), atol=1e-6)
    x = torch.nn.functional.interpolate(digits_train.float()[:64], size=32, mode="nearest")  # (64, 1, 32, 32)
    y = blur(x, 1.5)
    assert abs(y.mean().item() - x.mean().item()) < 0.01
    assert laplacian_variance(y).mean() < 0.5 * laplacian_variance(x).mean()
    assert torch.equal(blur(x, 0), x)
    with pytest.raises(ValueError, match="radius"):
        blur(digits_train.float()[:2], 5.0)  # a 15-pixel radius on 8×8 images


def test_degrade_keeps_labels_and_records_protocol(digits_train):
    for kind in DEGRADATIONS:
        out = degrade(digits_train, kind, 0.1 if kind != "blur" else 0.7, seed=1)
        assert torch.equal(out.labels, digits_train.labels) and out.images.dtype == torch.uint8
        assert out.info["degradation"] == kind and kind in out.name
    assert not torch.equal(degrade(digits_train, "salt_pepper", 0.1).images, digits_train.images)
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade(digits_train, "jpeg", 0.5)


def test_subsample_is_balanced_and_seeded(digits_train):
    a, b = subsample(digits_train, 20, seed=0), subsample(digits_train, 20, seed=1)
    assert (a.class_counts() == 20).all() and a.info["level"] == 20
    assert torch.equal(a.images, subsample(digits_train, 20, seed=0).images)
    assert not torch.equal(a.images, b.images)
    assert degrade(digits_train, "subsample", 20).name == a.name
