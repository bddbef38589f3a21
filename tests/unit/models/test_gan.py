"""The shared contract every registered GAN variant passes (tiny networks on 8×8 digits)."""
from __future__ import annotations

import pytest
import torch

import labkit
from labkit.models.gan import GANConfig, Generator
from labkit.train.gan import VARIANTS, GANTask, build_gan
from labkit.train.loop import Position

TINY = dict(g_width=8, d_width=8, latent_dim=4)


def tiny(variant: str):
    G, D, settings = build_gan(variant, channels=1, image_size=8, num_classes=10, **TINY)
    return G, D, settings


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_shapes_and_range(variant):
    G, D, _ = tiny(variant)
    G.eval()
    x = G.sample(12, generator=gen(0))
    assert x.shape == (12, 1, 8, 8) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1
    labels = G.default_labels(12)
    assert D.score(x, labels).shape == (12,)
    assert G.conditional == (VARIANTS[variant].model.num_classes > 0)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_seeded_sampling_is_reproducible(variant):
    G, _, _ = tiny(variant)
    G.eval()
    a, b = G.sample(10, generator=gen(3)), G.sample(10, generator=gen(3))
    c = G.sample(10, generator=gen(4))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_save_load_round_trip(variant, tmp_path):
    G, D, _ = tiny(variant)
    G.eval(), D.eval()
    path = labkit.save_models(tmp_path / "gan.pt", {"generator": G, "discriminator": D})
    G2 = labkit.load_model(path)  # the generator is the default model of a GAN checkpoint
    D2 = labkit.load_model(path, "discriminator")
    assert isinstance(G2, Generator) and G2.cfg == G.cfg
    x = G.sample(8, generator=gen(1))
    assert torch.equal(x, G2.sample(8, generator=gen(1)))
    labels = G.default_labels(8)
    assert torch.equal(D.score(x, labels), D2.score(x, labels))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_one_d_step_and_one_g_step_change_the_weights(variant, digits_train):
    torch.manual_seed(0)
    G, D, settings = tiny(variant)
    task = GANTask(G, D, settings)
    before_g = [p.detach().clone() for p in G.parameters()]
    before_d = [p.detach().clone() for p in D.parameters()]
    batch = (digits_train.images[:16], digits_train.labels[:16])
    task.training_step(batch, Position(step=0))  # step 0: a D step; a G step too when n_critic == 1
    if settings.n_critic > 1:
        assert all(torch.equal(a, b) for a, b in zip(before_g, G.parameters())), "G moved before n_critic D steps"
        task.training_step(batch, Position(step=settings.n_critic - 1))
    changed = lambda before, m: any(not torch.equal(a, b) for a, b in zip(before, m.parameters()))  # noqa: E731
    assert changed(before_d, D)
    assert changed(before_g, G)


@pytest.mark.parametrize("variant", sorted(v for v in VARIANTS if VARIANTS[v].model.num_classes))
def test_conditional_labels_are_respected(variant):
    G, _, _ = tiny(variant)
    G.eval()
    zeros, ones = torch.zeros(6, dtype=torch.long), torch.ones(6, dtype=torch.long)
    a = G.sample(6, generator=gen(0), labels=zeros)
    b = G.sample(6, generator=gen(0), labels=ones)
    assert not torch.allclose(a, b), "same z, different labels must give different images"
    assert torch.equal(G.default_labels(20), torch.arange(20) % 10)
    with pytest.raises(ValueError, match="labels must lie"):
        G.sample(2, generator=gen(0), labels=torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="shape"):
        G.sample(3, generator=gen(0), labels=zeros)


def test_unconditional_generator_refuses_labels():
    G, _, _ = tiny("dcgan")
    with pytest.raises(ValueError, match="unconditional"):
        G.sample(4, labels=torch.zeros(4, dtype=torch.long))


def test_truncation_scales_the_latent():
    G, _, _ = tiny("wgan-gp")
    G.eval()
    x = G.sample(5, generator=gen(0), truncation=0.0)  # z = 0 for every image
    assert torch.allclose(x, x[:1].expand_as(x))
    assert not torch.allclose(G.sample(5, generator=gen(0)), x)


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3)])
def test_geometry_follows_the_config(size, channels):
    cfg = GANConfig(channels=channels, image_size=size, g_width=4, d_width=4, latent_dim=3)
    G, D = Generator(cfg).eval(), labkit.build_model("gan_discriminator", cfg)
    x = G.sample(2, generator=gen(0))
    assert x.shape == (2, channels, size, size)
    assert D.score(x).shape == (2,)


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="conditional GAN needs"):
        GANConfig(num_classes=10)
    with pytest.raises(ValueError, match="image_size"):
        GANConfig(image_size=6)


def test_variants_carry_their_papers_defaults():
    gp, clip, r3 = VARIANTS["wgan-gp"].training, VARIANTS["wgan-clip"].training, VARIANTS["r3gan"].training
    assert (gp.loss, gp.gp_weight, gp.lr_d, gp.betas, gp.n_critic) == ("wasserstein", 10.0, 1e-4, (0.0, 0.9), 5)
    assert VARIANTS["wgan-gp"].model.d_norm == "none"  # no batch norm in a gradient-penalised critic
    assert (clip.optimizer, clip.clip, clip.lr_d, clip.n_critic) == ("rmsprop", 0.01, 5e-5, 5)
    assert VARIANTS["wgan-sn"].model.d_spectral and VARIANTS["wgan-sn"].training.gp_weight == 0
    assert VARIANTS["wgan-sn-gp"].model.d_spectral and VARIANTS["wgan-sn-gp"].training.gp_weight == 10.0
    assert (r3.loss, r3.gp_weight, r3.r_gamma > 0) == ("relativistic", 0.0, True)
    assert VARIANTS["dcgan"].training.loss == "ns" and VARIANTS["dcgan"].model.g_norm == "batch"
    assert VARIANTS["sngan-projection"].model.conditioning == "projection"
    assert VARIANTS["acgan"].model.conditioning == "acgan"
