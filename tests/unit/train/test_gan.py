"""GAN training on the fit loop: exact resume with EMA, snapshots, NaN handling, export, convergence checks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import labkit
from labkit.models.classifier import class_shares, predict
from labkit.train import convergence, gan_losses
from labkit.train.gan import GANTraining, export_generator, train_gan

TINY = dict(g_width=8, d_width=8, latent_dim=4)


@pytest.fixture(scope="module")
def small(digits_train):
    return digits_train.subset(range(256))


def test_resume_is_exact_including_ema(small, tmp_path):
    settings = GANTraining(loss="relativistic", betas=(0.0, 0.99), r_gamma=1.0, ema_decay=0.9, batch_size=32,
                           snapshot_every=2)
    straight = train_gan(small, "r3gan", steps=6, settings=settings, device="cpu", **TINY)
    ck = tmp_path / "gan.pt"
    first = train_gan(small, "r3gan", steps=3, settings=settings, device="cpu", checkpoint=ck, **TINY)
    assert first.result.resumed_from is None
    resumed = train_gan(small, "r3gan", steps=6, settings=settings, device="cpu", checkpoint=ck, **TINY)
    assert resumed.result.resumed_from == 3
    for a, b in [(straight.generator, resumed.generator), (straight.discriminator, resumed.discriminator),
                 (straight.task.ema, resumed.task.ema)]:
        for (k, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
            assert torch.equal(x, y), k
    assert [s for s, _ in resumed.task.snapshots] == [2, 4, 6]
    short = train_gan(small, "dcgan", steps=3, device="cpu", settings=GANTraining(batch_size=32, snapshot_every=2),
                      **TINY)
    assert [s for s, _ in short.task.snapshots] == [2, 3]  # plus the final state
    assert all(torch.equal(x, y) for (_, x), (_, y) in zip(straight.task.snapshots, resumed.task.snapshots))


def test_history_logs_losses_penalties_and_wasserstein(small):
    run = train_gan(small, "wgan-gp", steps=10, device="cpu", log_every=5,
                    settings=GANTraining(loss="wasserstein", n_critic=5, gp_weight=10.0, batch_size=32), **TINY)
    steps = run.result.steps
    assert list(steps["step"]) == [5, 10]
    for col in ("d_loss", "g_loss", "gp", "wasserstein", "critic_gap"):
        assert steps[col].notna().all(), col


def test_snapshots_use_the_fixed_latent_batch(small):
    run = train_gan(small, "acgan", steps=4, device="cpu",
                    settings=GANTraining(batch_size=32, snapshot_every=2, n_snapshot=20), **TINY)
    assert [s for s, _ in run.task.snapshots] == [2, 4]
    img = run.task.snapshots[0][1]
    assert img.shape == (20, 1, 8, 8) and img.dtype == torch.uint8
    again = run.task.snapshot(5)  # same fixed z and labels, final weights: equals a fresh call
    assert torch.equal((again * 255).round().to(torch.uint8), run.task.snapshot(6).mul(255).round().to(torch.uint8))


def test_a_nan_loss_is_reported_not_raised(small, monkeypatch):
    monkeypatch.setattr(gan_losses, "d_loss", lambda kind, real, fake: (real.mean() - fake.mean()) * float("nan"))
    run = train_gan(small, "dcgan", steps=3, device="cpu", settings=GANTraining(batch_size=32), **TINY)
    assert run.result is None and "d_loss=nan" in run.error
    v = convergence.verdict(None, None, small.float()[:50], error=run.error)
    assert v["diverged"] == 1 and v["nan"] == 1 and v["reason"].startswith("nan")


def test_export_holds_the_ema_generator(small, tmp_path):
    run = train_gan(small, "acgan", steps=3, device="cpu", settings=GANTraining(batch_size=32, ema_decay=0.99), **TINY)
    path = export_generator(run, tmp_path / "export.pt")
    G = labkit.load_model(path)
    assert G.conditional and G.num_classes == 10
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(G.sample(10, generator=g()), run.task.ema.sample(10, generator=g()))
    assert not torch.equal(G.sample(10, generator=g()), run.generator.sample(10, generator=g()))


def test_collapse_and_exploding_critic_checks(small):
    real = small.float()[:100]
    healthy = convergence.verdict(pd.DataFrame({"critic_gap": [0.5, 1.0, 0.8, 0.9, 0.7]}), small.float()[100:200], real)
    assert healthy["diverged"] == 0 and 0.8 < healthy["diversity_ratio"] < 1.25
    collapsed = convergence.verdict(None, real[:1].repeat(100, 1, 1, 1) + 0 * real, real)
    assert collapsed["collapsed"] == 1 and collapsed["diversity_ratio"] < 1e-6
    growing = pd.DataFrame({"critic_gap": [1.0] * 8 + [30.0, 40.0]})
    assert convergence.verdict(growing, None, real)["exploding_critic"] == 1
    huge = pd.DataFrame({"critic_gap": [80.0] * 10})
    assert convergence.verdict(huge, None, real)["exploding_critic"] == 1
    assert healthy["converged"] == 1 and healthy["no_structure"] == 0 and 0.8 < healthy["nn_ratio"] < 1.25
    noise = convergence.verdict(None, torch.rand(100, 1, 8, 8, generator=torch.Generator().manual_seed(0)), real)
    assert noise["no_structure"] == 1 and noise["converged"] == 0 and noise["diverged"] == 0
    tiny_gaps = pd.DataFrame({"critic_gap": [0.001] * 8 + [0.5, 0.5]})  # growth below 1.0 absolute is noise
    assert convergence.verdict(tiny_gaps, None, real)["exploding_critic"] == 0


def test_dropped_classes_check(small):
    real = small.float()[:100]
    balanced = convergence.verdict(None, small.float()[100:200], real, class_shares=np.full(10, 0.1))
    assert balanced["dropped_classes"] == 0 and balanced["converged"] == 1
    # 86% one class and three classes absent: the pixel-diversity check passes, the class check does not
    shares = np.array([0.001, 0.0, 0.0, 0.036, 0.005, 0.002, 0.856, 0.0, 0.098, 0.002])
    mostly_one = convergence.verdict(None, small.float()[100:200], real, class_shares=shares)
    assert mostly_one["collapsed"] == 0 and mostly_one["dropped_classes"] == 3 and mostly_one["converged"] == 0
    assert "dropped classes: 3 of 10" in mostly_one["reason"] and mostly_one["diverged"] == 0


def test_class_shares_of_samples(digits_classifier, digits_test):
    hist = class_shares(predict(digits_classifier, digits_test.float()), 10)
    assert hist.shape == (10,) and hist.sum() == pytest.approx(1.0)
    assert hist.min() > 0.05  # digits test set is balanced and the classifier is accurate
    one_class = digits_test.subset((digits_test.labels == 3).nonzero().flatten())
    assert class_shares(predict(digits_classifier, one_class.float()), 10).argmax() == 3


def test_assess_reports_gan_test_and_histogram(small, digits_classifier, digits_test):
    from labkit.train.gan import assess
    run = train_gan(small, "acgan", steps=2, device="cpu", settings=GANTraining(batch_size=32), **TINY)
    a = assess(run, digits_test, classifier=digits_classifier, n=100, n_diversity=50)
    assert 0 <= a["gan_test"] <= 1 and len(a["class_histogram"]) == 10
    assert a["min_class_share"] == pytest.approx(min(a["class_histogram"]))
    assert a["diverged"] in (0, 1) and a["n_samples"] == 100
