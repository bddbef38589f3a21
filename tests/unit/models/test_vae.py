"""Contract of every VAE variant (plain, β, conditional, perceptual) on every image geometry, plus training."""
from __future__ import annotations

import dataclasses

import pytest
import torch

import labkit
from labkit import generate
from labkit.models.classifier import Classifier, ClassifierConfig
from labkit.models.vae import VAE, VAEConfig, perceptual_config, preset_config
from labkit.train.vae import VAETraining, build_vae, train_vae, variant_config

GEOMETRIES = [(1, 8), (1, 28), (3, 32), (3, 64)]
VARIANTS = ["plain", "beta", "conditional", "perceptual"]


def tiny_config(variant: str, channels: int, size: int) -> tuple[VAEConfig, Classifier | None]:
    """A few-thousand-weight VAE of `variant` for `channels`×`size`² images (+ its frozen classifier)."""
    widths = (4, 8) if size <= 28 else (4, 8, 8)
    cfg = VAEConfig(channels=channels, image_size=size, latent_dim=2, widths=widths, encoder_dense=(16,),
                    decoder_dense=(16,), reconstruction="bce" if channels == 1 else "mse")
    clf = None
    if variant == "beta":
        cfg = dataclasses.replace(cfg, beta=4.0)
    elif variant == "conditional":
        cfg = dataclasses.replace(cfg, num_classes=3)
    elif variant == "perceptual":
        torch.manual_seed(1)
        clf = Classifier(ClassifierConfig(channels=channels, image_size=size, widths=(4, 8), feature_dim=8, num_classes=3))
        cfg = perceptual_config(cfg, clf, layers=(0, 1), weights=(1.0, 0.5), pixel_weight=0.1)
    return cfg, clf


def batch(channels: int, size: int, n: int = 6):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, channels, size, size, generator=g), torch.arange(n) % 3


@pytest.mark.parametrize("channels,size", GEOMETRIES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_contract(variant, channels, size, tmp_path):
    cfg, clf = tiny_config(variant, channels, size)
    torch.manual_seed(0)
    model = build_vae(cfg, clf)
    x, y = batch(channels, size)
    labels = y if model.conditional else None
    assert model.conditional == (variant == "conditional")

    # shapes
    mu, logvar = model.encode(x, labels)
    assert mu.shape == logvar.shape == (6, 2)
    assert model.decode(mu, labels).shape == x.shape
    rec = model.reconstruct(x, labels)
    assert rec.shape == x.shape and 0 <= rec.min() and rec.max() <= 1
    s = model.sample(5, generator=torch.Generator().manual_seed(3), labels=labels[:5] if labels is not None else None)
    assert s.shape == (5, channels, size, size)

    # seeded sampling reproducible (and the seed matters); chunking does not change the result
    again = model.sample(5, generator=torch.Generator().manual_seed(3), labels=labels[:5] if labels is not None else None,
                         batch_size=2)
    other = model.sample(5, generator=torch.Generator().manual_seed(4), labels=labels[:5] if labels is not None else None)
    assert torch.equal(s, model.sample(5, generator=torch.Generator().manual_seed(3),
                                       labels=labels[:5] if labels is not None else None))
    torch.testing.assert_close(s, again)
    assert not torch.allclose(s, other)

    # save / load round trip identical (the perceptual classifier travels inside the checkpoint)
    path = labkit.save_models(tmp_path / "vae.pt", {"model": model})
    loaded = labkit.load_model(path)
    assert loaded.cfg == model.cfg
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k
    assert torch.equal(loaded.sample(5, generator=torch.Generator().manual_seed(3),
                                     labels=labels[:5] if labels is not None else None), s)

    # one optimiser step lowers the loss on a fixed batch (same reparameterisation noise before and after)
    model.train()
    opt = torch.optim.Adam(model.trainable_parameters(), lr=1e-3)
    before = model.loss(x, labels, generator=torch.Generator().manual_seed(9))
    opt.zero_grad()
    before["loss"].backward()
    opt.step()
    after = model.loss(x, labels, generator=torch.Generator().manual_seed(9))
    assert after["loss"].item() < before["loss"].item()
    assert set(before) >= {"loss", "reconstruction", "kl"}


def test_loss_terms_are_per_image_nats():
    """BCE summed over pixels, KL summed over latent dims, total = reconstruction + β·KL (no hidden weights)."""
    cfg, _ = tiny_config("beta", 1, 8)
    model = VAE(cfg)
    x, _ = batch(1, 8)
    terms = model.loss(x, generator=torch.Generator().manual_seed(0))
    mu, logvar = model.encode(x)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(0))
    x_hat = model.decode(mu + eps * (0.5 * logvar).exp())
    bce = -(x * x_hat.log() + (1 - x) * (1 - x_hat).log()).sum((1, 2, 3)).mean()
    kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp())).sum(1).mean()
    torch.testing.assert_close(terms["reconstruction"], bce, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(terms["kl"], kl)
    torch.testing.assert_close(terms["loss"], terms["reconstruction"] + 4.0 * terms["kl"])
    mse = VAE(dataclasses.replace(cfg, reconstruction="mse"))
    mse.load_state_dict(model.state_dict())
    t = mse.loss(x, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(t["reconstruction"], 0.5 * (x_hat - x).pow(2).sum((1, 2, 3)).mean(), rtol=1e-4, atol=1e-4)


def test_perceptual_classifier_stays_frozen():
    cfg, clf = tiny_config("perceptual", 1, 8)
    model = build_vae(cfg, clf).train()
    assert not model.perceptual_net.training  # BN statistics must not drift
    frozen = {k: v.clone() for k, v in model.perceptual_net.state_dict().items()}
    assert all(torch.equal(frozen[k], v) for k, v in clf.state_dict().items())
    opt = torch.optim.Adam(model.trainable_parameters(), lr=1e-2)
    x, _ = batch(1, 8)
    for _ in range(3):
        loss = model.loss(x)
        opt.zero_grad()
        loss["loss"].backward()
        opt.step()
    assert "perceptual" in loss and "pixel" in loss
    assert all(torch.equal(frozen[k], v) for k, v in model.perceptual_net.state_dict().items())


def test_conditional_uses_labels_and_rejects_missing_ones():
    cfg, _ = tiny_config("conditional", 1, 8)
    torch.manual_seed(0)
    model = VAE(cfg)
    z = torch.randn(3, 2)
    assert not torch.allclose(model.decode(z, torch.tensor([0, 0, 0])), model.decode(z, torch.tensor([1, 1, 1])))
    with pytest.raises(ValueError, match="needs labels"):
        model.decode(z)
    with pytest.raises(ValueError, match="unconditional"):
        VAE(tiny_config("plain", 1, 8)[0]).decode(z, torch.tensor([0, 1, 2]))


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="too small"):
        VAEConfig(image_size=4, widths=(8, 8, 8))
    with pytest.raises(ValueError, match="reconstruction"):
        VAEConfig(reconstruction="l1")
    with pytest.raises(ValueError, match="perceptual_net"):
        VAEConfig(perceptual_layers=(0,), perceptual_weights=(1.0,))
    with pytest.raises(ValueError, match="classifier"):
        variant_config("perceptual")
    with pytest.raises(ValueError, match="variant"):
        variant_config("vq")


def test_presets_build_and_paper_geometry():
    paper = VAE(preset_config("celeba-paper"))
    convs = [m for m in paper.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(32, (4, 4), (2, 2))] * 3
    assert [m.out_features for m in paper.decoder_dense if isinstance(m, torch.nn.Linear)][:2] == [256, 256]
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in paper.decoder) == 3
    assert paper.cfg.latent_dim == 128 and paper.cfg.reconstruction == "mse"
    assert VAE(preset_config("fashion")).sample(2).shape == (2, 1, 28, 28)


def test_perceptual_checkpoint_rebuilds_without_classifier_file(digits_train, digits_classifier, tmp_path):
    clf_path = labkit.save_models(tmp_path / "clf.pt", {"model": digits_classifier})
    cfg = variant_config("perceptual", classifier_path=str(clf_path), latent_dim=2, channels=1, image_size=8,
                         widths=(8, 16), encoder_dense=(32,), decoder_dense=(32,), pixel_weight=0.1)
    model, result = train_vae(digits_train, cfg, settings=VAETraining(epochs=1, batch_size=256), device="cpu",
                              checkpoint=tmp_path / "vae.pt")
    (tmp_path / "clf.pt").unlink()
    loaded = labkit.load_model(tmp_path / "vae.pt")
    assert loaded.cfg.perceptual_source == str(clf_path)
    for k, v in digits_classifier.state_dict().items():
        assert torch.equal(loaded.perceptual_net.state_dict()[k], v)
    assert {"perceptual", "pixel", "kl", "reconstruction"} <= set(result.history.columns)


def test_training_history_grids_and_resume(digits_train, tmp_path):
    cfg = variant_config("plain", latent_dim=2, channels=1, image_size=8, widths=(8, 16), encoder_dense=(32,),
                         decoder_dense=(32,))
    settings = VAETraining(epochs=2, batch_size=256, grid_size=16)
    model, result = train_vae(digits_train, cfg, settings=settings, device="cpu", checkpoint=tmp_path / "a.pt",
                              sample_dir=tmp_path / "grids")
    h = result.history
    assert len(h) == 2 and {"loss", "reconstruction", "kl"} <= set(h.columns)
    assert h["loss"].iloc[1] < h["loss"].iloc[0]
    assert sorted(p.name for p in (tmp_path / "grids").iterdir()) == ["samples_epoch001.png", "samples_epoch002.png"]

    class Stop(Exception):
        pass

    def stop(pos, metrics):
        if pos.step == 4:
            raise Stop
    with pytest.raises(Stop):
        train_vae(digits_train, cfg, settings=settings, device="cpu", checkpoint=tmp_path / "b.pt", checkpoint_every=3,
                  on_step=stop)
    resumed, r = train_vae(digits_train, cfg, settings=settings, device="cpu", checkpoint=tmp_path / "b.pt")
    assert r.resumed_from == 3
    for k, v in model.state_dict().items():
        assert torch.equal(resumed.state_dict()[k], v), k


def test_conditional_vae_generates_the_asked_class(digits_train, digits_classifier):
    """A small CVAE trained for seconds on 8×8 digits: the classifier recognises the conditioning class."""
    cfg = variant_config("conditional", latent_dim=4, channels=1, image_size=8, widths=(16, 32), encoder_dense=(64,),
                         decoder_dense=(64,))
    model, _ = train_vae(digits_train, cfg, settings=VAETraining(epochs=6, batch_size=64, lr=3e-3), device="cpu")
    ds = generate.generate(model, 30, class_names=digits_train.class_names, seed=0)
    assert labkit.accuracy(digits_classifier, ds) > 0.6
