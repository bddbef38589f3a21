"""Latent directions and edits: pure-function properties on synthetic latents and tiny real models."""
from __future__ import annotations

import math

import pytest
import torch

from labkit import generate
from labkit.latent import directions as latent
from labkit.models import sampling
from labkit.models.gan import GANConfig, Generator
from labkit.models.vae import VAE, VAEConfig

TINY_VAE = VAEConfig(image_size=8, latent_dim=6, widths=(8, 16), encoder_dense=(32,), decoder_dense=(32,))
TINY_GAN = GANConfig(image_size=8, latent_dim=6, g_width=8, d_width=8)


def _models():
    torch.manual_seed(0)
    return [VAE(TINY_VAE).eval(), Generator(TINY_GAN).eval(),
            Generator(GANConfig(image_size=8, latent_dim=6, g_width=8, num_classes=3, conditioning="acgan")).eval()]


def test_slerp_keeps_norm_and_ends():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(16, generator=g)
    b = a.norm() * torch.nn.functional.normalize(torch.randn(16, generator=g), dim=0)  # same radius
    path = sampling.interpolate(a, b, steps=9, method="slerp")  # (9, 16)
    assert torch.allclose(path.norm(dim=1), a.norm().expand(9), atol=1e-5)
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    mid = sampling.interpolate(a, b, steps=3, method="lerp")[1]
    assert mid.norm() < a.norm() - 1e-3  # the straight line cuts inside the sphere
    with pytest.raises(ValueError):
        sampling.interpolate(a, b, method="cubic")


def test_edit_strength_zero_is_identity_and_linear():
    z = torch.randn(5, 7)
    d = torch.randn(7)
    assert torch.equal(latent.edit(z, d, 0.0), z)
    assert torch.allclose(latent.edit(z, d, 2.0) - z, 2.0 * d.expand(5, 7))
    per_row = latent.edit(z, d, torch.arange(5.0))  # one strength per latent
    assert torch.allclose(per_row[3] - z[3], 3 * d)
    s = latent.sweep(z, d, [0, 1, -1])
    assert s.shape == (3, 5, 7) and torch.equal(s[0], z)


@pytest.mark.parametrize("normalize", [True, False])
def test_sefa_directions_orthonormal_and_sorted(normalize):
    w = torch.randn(40, 8) @ torch.diag(torch.linspace(3, 0.1, 8))  # anisotropic columns
    dirs, values = latent.sefa_directions(w, k=5, normalize=normalize)
    assert dirs.shape == (5, 8)
    assert torch.allclose(dirs @ dirs.T, torch.eye(5), atol=1e-5)
    assert torch.all(values[:-1] >= values[1:])
    if not normalize:  # the top direction maximises |W d|
        top = (w @ dirs[0]).norm()
        for _ in range(20):
            r = torch.nn.functional.normalize(torch.randn(8), dim=0)
            assert (w @ r).norm() <= top + 1e-4


def test_first_layer_rules_for_vae_and_gan():
    vae, gan, acgan = _models()
    w, act = sampling.first_layer(vae)
    assert w.shape == (32, 6) and act(torch.randn(4, 6)).shape == (4, 32)
    w, act = sampling.first_layer(gan)
    assert w.shape[1] == 6 and act(torch.randn(4, 6)).shape == (4, w.shape[0])
    w, act = sampling.first_layer(acgan)  # only the z columns, not the class embedding's
    assert w.shape[1] == 6 and act(torch.randn(4, 6), torch.tensor([0, 1, 2, 0])).shape == (4, w.shape[0])
    dirs, _ = latent.sefa_directions(w, k=3)
    assert torch.allclose(dirs @ dirs.T, torch.eye(3), atol=1e-5)
    with pytest.raises(TypeError, match="first layer"):
        sampling.first_layer(torch.nn.Linear(3, 3))


def test_regression_recovers_planted_direction():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(2000, 12, generator=g)
    planted = torch.nn.functional.normalize(torch.randn(12, generator=g), dim=0)
    scores = 0.7 * (z @ planted) + 3.0 + 0.05 * torch.randn(2000, generator=g)
    d, slope, r2 = latent.attribute_direction(z, scores)
    assert float(d @ planted) > 0.999
    assert slope == pytest.approx(0.7, rel=0.02) and r2 > 0.99


def test_class_direction_is_mean_difference():
    z = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [0.0, 6.0]])
    labels = torch.tensor([0, 0, 1, 1])
    assert torch.allclose(latent.class_direction(z, labels, 0, 1), torch.tensor([-1.0, 5.0]))
    means = latent.class_means(z, labels, 3)
    assert torch.allclose(means[:2], torch.tensor([[1.0, 0.0], [0.0, 5.0]])) and torch.isnan(means[2]).all()
    with pytest.raises(ValueError, match="class 2"):
        latent.class_direction(z, labels, 0, 2)


def test_pca_directions_find_the_high_variance_axis():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(3000, 5, generator=g)
    mix = torch.randn(5, 20, generator=g)
    acts = torch.relu(z @ mix) + 5.0 * z[:, 2:3] * torch.ones(1, 20)  # z_2 dominates the activations
    dirs, ratio = latent.pca_directions(z, acts, k=3)
    assert dirs.shape == (3, 5) and torch.allclose(dirs.norm(dim=1), torch.ones(3))
    assert abs(float(dirs[0, 2])) > 0.95 and ratio[0] > ratio[1]


def test_decoders_give_unit_range_images_and_attributes():
    for model in _models():
        labels = torch.tensor([0, 1, 2]) if model.conditional else None
        z = torch.randn(3, 6)
        x = sampling.decode(model, z, labels)
        assert x.shape == (3, 1, 8, 8) and x.min() >= 0 and x.max() <= 1
        scores = latent.measure(x, latent.ATTRIBUTES)
        assert set(scores) == {"brightness", "ink", "width", "height", "sharpness"}
        assert all(v.shape == (3,) and torch.isfinite(v).all() for v in scores.values())


def test_attribute_scores_behave():
    img = torch.zeros(2, 1, 8, 8)
    img[0, :, 2:6, 3:5] = 1.0  # narrow
    img[1, :, 2:6, 1:7] = 1.0  # wide
    assert latent.width(img)[1] > latent.width(img)[0]
    assert latent.height(img)[0] == pytest.approx(float(latent.height(img)[1]))
    assert latent.ink(img).tolist() == [8 / 64, 24 / 64]
    assert latent.brightness(img)[1] == pytest.approx(24 / 64)
    assert math.isclose(float(latent.sharpness(torch.full((1, 1, 8, 8), 0.5))[0]), 0.0, abs_tol=1e-12)


def test_labelled_latents_are_seeded(digits_classifier):
    gan = _models()[1]
    z1, x1, p1 = generate.labelled_latents(gan, digits_classifier, 20, seed=3)
    z2, _, p2 = generate.labelled_latents(gan, digits_classifier, 20, seed=3)
    assert torch.equal(z1, z2) and torch.allclose(p1, p2) and p1.shape == (20, 10)
    assert torch.allclose(p1.sum(1), torch.ones(20), atol=1e-5)
