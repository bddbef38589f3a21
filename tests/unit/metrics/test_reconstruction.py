"""Per-image MSE and SSIM of reconstructions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

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
