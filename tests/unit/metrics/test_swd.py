"""SWD: the reference Laplacian pyramid, a 1-D analytic case, ≈ 0 on a set against itself, growth with blur and noise."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import torch
import torchvision.transforms.functional as TF

from labkit import data
from labkit.metrics.swd import default_levels, laplacian_pyramid, pyr_up, random_patches, sliced_wasserstein, swd

SMALL = dict(patches_per_image=16, repeats=2, projections=32)  # fast settings for tests


@pytest.fixture(scope="module")
def fashion():
    """600 Fashion-MNIST test images (28×28), the smallest size SWD is meant for."""
    return data.load("fashion-mnist", "test").float()[:600]


def _reference_pyramid(x: np.ndarray, levels: int) -> list[np.ndarray]:
    """The progressive-GAN reference (scipy, mirror borders), written out independently."""
    k = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float32)[None, None] / 256
    down = lambda m: scipy.ndimage.convolve(m, k, mode="mirror")[:, :, ::2, ::2]  # noqa: E731

    def up(m):
        r = np.zeros((*m.shape[:2], m.shape[2] * 2, m.shape[3] * 2), m.dtype)
        r[:, :, ::2, ::2] = m
        return scipy.ndimage.convolve(r, k * 4, mode="mirror")

    pyr = [x.astype(np.float32).copy()]
    for _ in range(1, levels):
        pyr.append(down(pyr[-1]))
        pyr[-2] -= up(pyr[-1])
    return pyr


def test_pyramid_matches_reference_and_reconstructs():
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    ours = laplacian_pyramid(x, 3)
    for a, b in zip(ours, _reference_pyramid(x.numpy(), 3)):
        np.testing.assert_allclose(a.numpy(), b, atol=1e-5)
    rec = ours[-1]
    for level in ours[-2::-1]:
        rec = pyr_up(rec, level.shape[2:]) + level
    torch.testing.assert_close(rec, x, atol=1e-5, rtol=0)


def test_default_levels():
    assert [default_levels(s) for s in (28, 32, 64, 256, 1024, 8)] == [2, 2, 3, 5, 7, 1]


def test_sliced_wasserstein_one_dimensional_shift():
    """In 1-D every direction is ±1, so SW is the plain W1 distance: a shift by 0.5 gives 0.5."""
    a = torch.randn(2000, 1, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    assert sliced_wasserstein(a, a + 0.5, generator=g) == pytest.approx(0.5, rel=1e-5)
    assert sliced_wasserstein(a, a, generator=g) == 0.0


def test_patches_are_cut_where_drawn():
    level = torch.arange(2 * 1 * 9 * 9, dtype=torch.float32).view(2, 1, 9, 9)
    p = random_patches(level, 3, 4, torch.Generator().manual_seed(0))
    assert p.shape == (8, 1, 3, 3)
    # each patch is a contiguous 3×3 window of its image: rows step by 9, columns by 1
    assert torch.all(p[:, 0, 1:, :] - p[:, 0, :-1, :] == 9) and torch.all(p[:, 0, :, 1:] - p[:, 0, :, :-1] == 1)
    assert torch.all(p[:4] < 81) and torch.all(p[4:] >= 81)


def test_self_is_near_zero_and_grows_with_blur_and_noise(fashion):
    """A set against itself differs only by the random patch draw: its SWD is that sampling floor (which
    shrinks with more images and patches: ~3.8 at 2000 images, full protocol), well below any degradation."""
    kw = dict(patches_per_image=64, repeats=2, projections=32, device="cpu")
    real, other = fashion[:300], fashion[300:600]
    self_d = swd(real, real, **kw).value
    blur = [swd(real, TF.gaussian_blur(other, 7, s), **kw).value for s in (0.5, 1.0, 2.0)]
    g = torch.Generator().manual_seed(0)
    noise = [swd(real, (other + s * torch.randn(other.shape, generator=g)).clamp(0, 1), **kw).value
             for s in (0.05, 0.1, 0.2)]
    assert all(a < b for a, b in zip(blur, blur[1:])), blur
    assert all(a < b for a, b in zip(noise, noise[1:])), noise
    assert self_d < 0.5 * min(blur[0], noise[0]), (self_d, blur, noise)


def test_result_protocol_and_seed(fashion):
    a = swd(fashion[:100], fashion[100:180], device="cpu", seed=3, **SMALL)
    b = swd(fashion[:100], fashion[100:180], device="cpu", seed=3, **SMALL)
    assert a == b
    assert set(a.per_level) == {28, 14} and a.levels == 2 and a.patch_size == 7
    assert a.n_real == 100 and a.n_fake == 80 and a.n_descriptors == 80 * 16
    assert a.value == pytest.approx(np.mean(list(a.per_level.values())))
    assert swd(fashion[:100], fashion[100:180], device="cpu", seed=4, **SMALL).value != a.value


def test_checks_inputs(fashion):
    with pytest.raises(ValueError, match="differ in shape"):
        swd(fashion[:10], torch.rand(10, 3, 28, 28))
    with pytest.raises(ValueError, match="smaller than"):
        swd(torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8), levels=2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        swd(fashion[:10], fashion[:10] * 2)
