"""Perceptual path length: zero for z-blind generators, analytic values for linear decoders."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from labkit.metrics.lpips import ClassifierDistance, PixelDistance
from labkit.metrics.ppl import path_lengths, perceptual_path_length, trimmed_mean
from labkit.models.sampling import as_decoder, lerp, slerp

D = 6  # latent size of the toy decoders


class LinearDecoder(nn.Module):
    """x = 0.5 + A z reshaped to (1, 8, 8); |A z| < 0.5 for any plausible z, so images stay in [0, 1]."""

    def __init__(self, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.A = nn.Parameter((torch.rand(64, D, generator=g) * 2 - 1) * 0.01)  # (64, D)
        self.latent_dim = D

    def forward(self, z):
        return (0.5 + z @ self.A.T).view(-1, 1, 8, 8)  # (B, 1, 8, 8)


class ConstantGenerator(nn.Module):
    """A GAN-like generator whose forward ignores z."""

    def __init__(self):
        super().__init__()
        self.image = nn.Parameter(torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(0)))
        self.latent_dim = D

    def forward(self, z):
        return self.image.expand(len(z), -1, -1, -1)


class LabelOnlyDecoder:
    """A conditional 'VAE' whose decode depends on the label only (both ends share the label -> PPL 0)."""

    class cfg:
        latent_dim = D
        num_classes = 10

    def decode(self, z, labels=None):
        assert labels is not None and len(labels) == len(z)
        return (labels.float() / 10).view(-1, 1, 1, 1).expand(-1, 1, 8, 8).clone()


@pytest.mark.parametrize("interpolation", ["slerp", "lerp"])
@pytest.mark.parametrize("sampling", ["full", "end"])
def test_generator_ignoring_z_has_zero_ppl(digits_classifier, interpolation, sampling):
    dist = ClassifierDistance(digits_classifier, device="cpu")
    res = perceptual_path_length(ConstantGenerator(), dist, n_paths=64, batch_size=32,
                                 interpolation=interpolation, sampling=sampling)
    assert res.value == 0.0 and res.n_paths == 64
    assert res.distance == "lpips-classifier" and res.interpolation == interpolation and res.sampling == sampling


def test_conditional_decoder_gets_one_label_per_path(digits_classifier):
    res = perceptual_path_length(LabelOnlyDecoder(), ClassifierDistance(digits_classifier, device="cpu"), n_paths=40)
    assert res.value == 0.0


def test_linear_decoder_lerp_pixel_distance_is_analytic():
    dec = LinearDecoder().double()  # float64 end to end: the finite difference is exact to ~1e-10
    g = torch.Generator().manual_seed(1)
    z0, z1, t = torch.randn(50, D, generator=g), torch.randn(50, D, generator=g), torch.rand(50, generator=g)
    got = path_lengths(dec, z0, z1, t, PixelDistance(), interpolation="lerp", dtype=torch.float64)
    A = dec.A.detach()
    expected = ((z1.double() - z0.double()) @ A.T).pow(2).mean(dim=1)  # ||A (z1 - z0)||^2 / pixels
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=0)
    # In float32 the same holds to the rounding of 0.5 + 1e-6-sized differences (~1 %).
    got32 = path_lengths(LinearDecoder(), z0, z1, t, PixelDistance(), interpolation="lerp")
    torch.testing.assert_close(got32, expected, rtol=3e-2, atol=0)
    # Expectation over z0, z1 ~ N(0, I): E||A (z1 - z0)||^2 / P = 2 ||A||_F^2 / P (no trim).
    res = perceptual_path_length(dec, PixelDistance(), n_paths=4000, interpolation="lerp", trim=None, seed=2)
    assert res.value == pytest.approx(2 * A.pow(2).sum().item() / 64, rel=0.06)
    assert res.n_kept == 4000


def test_identity_decoder_slerp_is_analytic():
    """Decoder = reshape: the path speed is |dz/dt|^2 = (r1 - r0)^2 + r_t^2 θ^2 (our radius-lerp slerp)."""
    decode = lambda z: (0.5 + 0.05 * z).view(-1, 1, 2, 3)  # noqa: E731  (B, 1, 2, 3)
    g = torch.Generator().manual_seed(3)
    z0, z1, t = torch.randn(40, D, generator=g), torch.randn(40, D, generator=g), torch.rand(40, generator=g)
    got = path_lengths(decode, z0, z1, t, PixelDistance(), interpolation="slerp", dtype=torch.float64)
    z0d, z1d, td = z0.double(), z1.double(), t.double()
    r0, r1 = z0d.norm(dim=1), z1d.norm(dim=1)
    theta = torch.acos((z0d * z1d).sum(1) / (r0 * r1))
    rt = r0 + td * (r1 - r0)
    expected = 0.05**2 * ((r1 - r0) ** 2 + rt**2 * theta**2) / D
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=0)  # finite-difference error O(ε)


def _normalised_features(clf: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The classifier distance as a squared Euclidean norm: concat_l f̂_l / sqrt(H_l W_l)."""
    parts = []
    for f in clf.activations(x):
        f = f / f.pow(2).sum(1, keepdim=True).sqrt()
        parts.append(f.flatten(1) / math.sqrt(f.shape[2] * f.shape[3]))
    return torch.cat(parts, 1)


def test_linear_decoder_classifier_distance_is_analytic(digits_classifier):
    """PPL per path = ||J_φ(x_t) A (z1 - z0)||^2 to first order, φ the normalised block activations (float64 jvp)."""
    dec = LinearDecoder(seed=4)
    clf64 = copy.deepcopy(digits_classifier).double().eval()
    g = torch.Generator().manual_seed(5)
    z0, z1, t = torch.randn(30, D, generator=g), torch.randn(30, D, generator=g), torch.rand(30, generator=g)
    got = path_lengths(dec, z0, z1, t, ClassifierDistance(digits_classifier, device="cpu"), interpolation="lerp")
    A = dec.A.detach().double()
    x = (0.5 + lerp(z0.double(), z1.double(), t.double()[:, None]) @ A.T).view(-1, 1, 8, 8)
    v = ((z1.double() - z0.double()) @ A.T).view(-1, 1, 8, 8)  # dx/dt
    with torch.no_grad():
        _, jv = torch.func.jvp(lambda y: _normalised_features(clf64, y), (x,), (v,))
    expected = jv.pow(2).sum(1)
    rel = ((got - expected).abs() / expected).numpy()
    assert np.median(rel) < 0.02 and (rel < 0.1).mean() >= 0.9, rel


def test_trim_follows_stylegan():
    values = np.arange(1000, dtype=float)
    mean, keep = trimmed_mean(values)
    assert keep.sum() == 982 and values[keep].min() == 9 and values[keep].max() == 990
    assert mean == pytest.approx(values[9:991].mean())
    assert trimmed_mean(values, None)[0] == pytest.approx(values.mean())


def test_ppl_is_seeded_and_records_protocol():
    dec = LinearDecoder()
    a = perceptual_path_length(dec, PixelDistance(), n_paths=100, seed=7, batch_size=30)
    b = perceptual_path_length(dec, PixelDistance(), n_paths=100, seed=7, batch_size=30)
    c = perceptual_path_length(dec, PixelDistance(), n_paths=100, seed=8, batch_size=30)
    assert a.value == b.value and a.value != c.value
    assert len(a.lengths) == 100 and a.trim == (1, 99) and a.epsilon == 1e-4
    assert set(a.protocol()) == {"n_paths", "n_kept", "epsilon", "interpolation", "sampling", "trim", "distance", "seed"}


def test_end_sampling_measures_at_the_start_point():
    dec = LinearDecoder()
    res = perceptual_path_length(dec, PixelDistance(), n_paths=20, sampling="end", interpolation="lerp", trim=None)
    assert res.sampling == "end" and np.isfinite(res.lengths).all()


def test_slerp_and_lerp_end_points():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, D, generator=g), torch.randn(5, D, generator=g)
    for f in (slerp, lerp):
        torch.testing.assert_close(f(a, b, torch.zeros(5, 1)), a)
        torch.testing.assert_close(f(a, b, torch.ones(5, 1)), b, rtol=1e-5, atol=1e-5)


def test_decoder_protocol():
    class Vae(nn.Module):
        class cfg:
            latent_dim = 3

        def decode(self, z):
            return z

        def forward(self, x):  # a VAE's forward takes images: must not be used
            raise AssertionError

    fn, dim = as_decoder(Vae())
    assert dim == 3 and fn(torch.ones(1)).item() == 1
    fn, dim = as_decoder(lambda z: z, latent_dim=4)
    assert dim == 4
    with pytest.raises(ValueError, match="latent_dim"):
        as_decoder(lambda z: z)


def test_model_mode_restored(digits_classifier):
    gen = ConstantGenerator().train()
    perceptual_path_length(gen, PixelDistance(), n_paths=8)
    assert gen.training


def test_works_with_the_vae(digits_classifier):
    vae_mod = pytest.importorskip("labkit.models.vae")
    vae = vae_mod.VAE(vae_mod.VAEConfig(image_size=8, latent_dim=2, widths=(8,), encoder_dense=(16,),
                                        decoder_dense=(16,)))
    res = perceptual_path_length(vae, ClassifierDistance(digits_classifier, device="cpu"), n_paths=32)
    assert np.isfinite(res.value) and res.value > 0


def test_works_with_the_gan_generator(digits_classifier):
    """labkit's GAN generator outputs tanh values in [-1, 1]: PPL maps them to [0, 1] itself."""
    pytest.importorskip("labkit.models.gan")
    from labkit.models.registry import build_model

    gen = build_model("gan_generator", image_size=8, latent_dim=4)
    res = perceptual_path_length(gen, ClassifierDistance(digits_classifier, device="cpu"), n_paths=16)
    assert np.isfinite(res.value) and res.value > 0
    squashed = perceptual_path_length(gen, ClassifierDistance(digits_classifier, device="cpu"), n_paths=16,
                                      value_range=(-3.0, 3.0))  # a wider assumed range shrinks image steps
    assert squashed.value < res.value
