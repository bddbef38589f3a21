"""Per-image MSE and SSIM of reconstructions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.metrics import reconstruction as rec
from labkit.metrics.reconstruction import mse_per_image, reconstruction_quality, ssim_per_image
from labkit.models.vae import VAE, VAEConfig


def images(n=4, c=1, s=28, seed=0):
    return torch.rand(n, c, s, s, generator=torch.Generator().manual_seed(seed))


def test_identical_images_are_perfect():
    x = images()
    assert np.allclose(mse_per_image(x, x), 0) and np.allclose(ssim_per_image(x, x), 1)


def test_mse_is_the_mean_over_pixels():
    x, y = torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)
    y[0, 0, 0, 0] = 1.0
    assert mse_per_image(x, y).tolist() == [1 / 16, 0.0]


def test_ssim_prefers_structure_over_equal_energy_noise():
    """Same MSE, different structure: a constant shift keeps structure (high SSIM), noise destroys it."""
    x = images(2, 3, 32) * 0.5 + 0.25
    shift = x + 0.1
    noise = (x + 0.1 * torch.where(torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) < 0.5, -1.0, 1.0))
    assert np.allclose(mse_per_image(x, shift), mse_per_image(x, noise))
    assert (ssim_per_image(x, shift) > ssim_per_image(x, noise) + 0.1).all()


def test_small_images_and_shape_errors():
    x = images(3, 1, 8)
    assert ssim_per_image(x, x.flip(-1)).shape == (3,)
    with pytest.raises(ValueError, match="differ in shape"):
        mse_per_image(x, images(3, 1, 28))


def test_reconstruction_quality_of_a_model(digits_test):
    torch.manual_seed(0)
    model = VAE(VAEConfig(image_size=8, latent_dim=2, widths=(4, 8), encoder_dense=(8,), decoder_dense=(8,),
                          num_classes=10))
    q = reconstruction_quality(model, digits_test, n=50)
    assert q["n"] == 50 and 0 < q["mse"] < 1 and -1 <= q["ssim"] <= 1


def _ssim_reference(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """scikit-image's SSIM with Wang et al.'s settings: the independent implementation."""
    from skimage.metrics import structural_similarity
    a, b = x.permute(0, 2, 3, 1).double().numpy(), y.permute(0, 2, 3, 1).double().numpy()
    return np.array([structural_similarity(a[i], b[i], data_range=1.0, channel_axis=2, gaussian_weights=True,
                                           sigma=1.5, use_sample_covariance=False) for i in range(len(a))])


@pytest.mark.parametrize("shape", [(4, 1, 28, 28), (3, 3, 20, 17), (2, 1, 11, 11)])
def test_gaussian_ssim_matches_scikit_image(shape):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(shape, generator=g)
    for y in ((x + 0.2 * torch.randn(shape, generator=g)).clamp(0, 1),  # noise
              torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False),  # blur
              (x * 0.5 + 0.3), torch.rand(shape, generator=g)):  # contrast and shift; unrelated images
        np.testing.assert_allclose(rec.gaussian_ssim_per_image(x, y), _ssim_reference(x, y), rtol=1e-7, atol=1e-9)


def test_gaussian_ssim_closed_forms_symmetry_and_order():
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(5, 1, 16, 16, generator=g), torch.rand(5, 1, 16, 16, generator=g)
    np.testing.assert_allclose(rec.gaussian_ssim_per_image(x, x), 1.0, atol=1e-12)  # identical images
    np.testing.assert_allclose(rec.gaussian_ssim_per_image(x, y), rec.gaussian_ssim_per_image(y, x), atol=1e-12)
    order = torch.tensor([4, 2, 0, 1, 3])
    np.testing.assert_allclose(rec.gaussian_ssim_per_image(x[order], y[order]), rec.gaussian_ssim_per_image(x, y)[order])
    a, b = torch.full((1, 1, 12, 12), 0.3), torch.full((1, 1, 12, 12), 0.5)  # constants: luminance term only
    c1 = 0.01 ** 2
    np.testing.assert_allclose(rec.gaussian_ssim_per_image(a, b), (2 * 0.3 * 0.5 + c1) / (0.3 ** 2 + 0.5 ** 2 + c1))
    with pytest.raises(ValueError, match="smaller than the 11×11"):
        rec.gaussian_ssim_per_image(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8))
