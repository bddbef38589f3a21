"""Equal-MSE distortions: MSE matched by construction, SSIM telling them apart, properties of each distortion."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labkit.experiments import mse_vs_ssim as ms
from labkit.metrics.reconstruction import gaussian_ssim_per_image, mse_per_image, ssim_per_image


def _images(n: int = 12, size: int = 24, channels: int = 1, seed: int = 0) -> torch.Tensor:
    """Structured images in [0, 1]: smoothed noise plus a bright square on a dark background."""
    g = torch.Generator().manual_seed(seed)
    x = F.avg_pool2d(torch.rand(n, channels, size + 4, size + 4, generator=g), 5, stride=1)  # (n, c, size, size)
    x = 0.2 + 0.3 * (x - x.amin((2, 3), keepdim=True)) / (x.amax((2, 3), keepdim=True) - x.amin((2, 3), keepdim=True))
    x[:, :, size // 4: 3 * size // 4, size // 3: 2 * size // 3] += 0.4
    return x.clamp(0, 1)


def test_every_distortion_hits_the_target_mse_and_ssim_disagrees():
    x = _images()
    r = ms.equal_mse_distortions(x, target_mse=0.004)
    assert r.dropped == 0 and list(r.distorted) == list(ms.DISTORTIONS)
    for k, y in r.distorted.items():
        assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
        np.testing.assert_allclose(mse_per_image(x, y), 0.004, rtol=1e-5)  # per image, not only on average
        np.testing.assert_allclose(r.mse[k], mse_per_image(x, y))
        np.testing.assert_allclose(r.ssim[k], ssim_per_image(x, y))
        np.testing.assert_allclose(r.ssim_gaussian[k], gaussian_ssim_per_image(x, y))
    table = r.table().set_index("distortion")
    for column in ("ssim", "ssim_gaussian"):  # both windows tell the structure-keeping stretch from noise
        assert table.loc["contrast stretch", column] > table.loc["gaussian noise", column] + 0.04
    high, low = r.pair()
    assert table.loc[high, "ssim"] == table["ssim"].max() and table.loc[low, "ssim"] == table["ssim"].min()


def test_closed_forms_of_the_distortions():
    x = torch.full((2, 1, 10, 10), 0.3)
    x[1] = 0.8
    s = torch.tensor([0.1, 0.1], dtype=x.dtype)
    shifted = ms.mean_shift(x, s, None)
    assert torch.allclose(shifted[0], torch.tensor(0.4)) and torch.allclose(shifted[1], torch.tensor(0.7))  # towards room
    assert torch.equal(ms.contrast_stretch(x, s, None), x)  # a constant image has no contrast to stretch
    assert torch.allclose(ms.gaussian_blur(x, torch.tensor([2.0, 4.0]), None), x)  # blur keeps a constant image
    noise = torch.ones_like(x)
    assert torch.allclose(ms.gaussian_noise(x, s, noise), x + 0.1)
    y = _images(3)
    assert torch.allclose(ms.gaussian_blur(y, torch.zeros(3), None), y, atol=1e-6)  # sigma 0: identity
    blurred = ms.gaussian_blur(y, torch.tensor([1.0, 1.0, 1.0]), None)
    assert torch.allclose(blurred.mean((1, 2, 3)), y.mean((1, 2, 3)), atol=0.02)  # blur keeps the mean (but edges)


def test_identical_images_have_mse_zero_and_ssim_one_and_stronger_targets_need_stronger_distortions():
    x = _images(4)
    assert np.allclose(mse_per_image(x, x), 0) and np.allclose(ssim_per_image(x, x), 1)
    weak, strong = ms.equal_mse_distortions(x, 0.001), ms.equal_mse_distortions(x, 0.006)
    for k in ms.DISTORTIONS:
        assert (strong.strength[k] > weak.strength[k]).all()
        assert strong.ssim[k].mean() < weak.ssim[k].mean()


def test_per_image_results_do_not_depend_on_the_order_or_repeats_of_images():
    x = _images(6)
    kinds = ("mean shift", "contrast stretch", "blur")  # the noise is drawn for the whole batch, so not that one
    a = ms.equal_mse_distortions(x, 0.003, kinds=kinds)
    order = torch.tensor([5, 3, 1, 0, 2, 4])
    b = ms.equal_mse_distortions(torch.cat([x[order], x[:2]]), 0.003, kinds=kinds)
    for k in kinds:
        np.testing.assert_allclose(b.strength[k][:6], a.strength[k][order.numpy()], rtol=1e-6)
        np.testing.assert_allclose(b.ssim[k][6:], a.ssim[k][:2], rtol=1e-6)


def test_rgb_images_and_unreachable_images_are_left_out_of_every_row():
    x = _images(5, channels=3)
    x[2] = 0.5  # a constant image cannot be stretched to any MSE
    r = ms.equal_mse_distortions(x, 0.002)
    assert r.dropped == 1 and all(len(v) == 4 for v in r.mse.values()) and r.originals.shape == (4, 3, 24, 24)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="target_mse"):
        ms.equal_mse_distortions(_images(2), 0.0)
    with pytest.raises(ValueError, match="unknown distortions"):
        ms.equal_mse_distortions(_images(2), 0.01, kinds=("jpeg",))
    with pytest.raises(ValueError, match="no image reaches"):
        ms.equal_mse_distortions(torch.full((2, 1, 8, 8), 0.5), 0.01)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ms.equal_mse_distortions(_images(2) * 3, 0.01)


def test_records_figure_and_paper_default():
    r = ms.equal_mse_distortions(_images(3))
    assert r.target_mse == pytest.approx(144 / 255 ** 2)
    records = ms.equal_mse_records(r, dataset="synthetic")
    assert {x.metric for x in records} == {"distortion_mse", "distortion_ssim", "distortion_ssim_gaussian", "ssim_gap"}
    small = ms.equal_mse_distortions(_images(3, size=8))  # under the 11-pixel Gaussian window: that SSIM is left out
    assert small.ssim_gaussian is None and "ssim_gaussian" not in small.table()
    assert "distortion_ssim_gaussian" not in {x.metric for x in ms.equal_mse_records(small)}
    assert all(x.protocol["experiment"] == "mse_vs_ssim" and x.protocol["dataset"] == "synthetic" for x in records)
    gap = next(x for x in records if x.metric == "ssim_gap")
    high, low = r.pair()
    assert gap.value == pytest.approx(r.ssim[high].mean() - r.ssim[low].mean()) and gap.value > 0
    fig = ms.equal_mse_figure(r, n=2)
    assert len(fig.axes) == 2 * (1 + len(ms.DISTORTIONS))
