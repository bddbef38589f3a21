"""Labelled generated datasets: class balance, hard / soft / filtered labels, conditional models, budgets."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import labkit
from labkit.generate import GenerationBudgetError, generate
from labkit.models.classifier import class_shares, predict
from labkit.models.sampling import is_conditional
from labkit.models.vae import VAE, VAEConfig


class Replay(nn.Module):
    """A stand-in generator with the labkit `sample` signature that replays (optionally noisy) real images."""

    def __init__(self, images: torch.Tensor, noise: float = 0.0):
        super().__init__()
        self.register_buffer("images", images)  # (N, C, H, W) in [0, 1]
        self.noise = noise
        self.calls: list[dict] = []

    def sample(self, n, generator=None, labels=None, **kwargs):
        self.calls.append(kwargs)
        idx = torch.randint(len(self.images), (n,), generator=generator)
        x = self.images[idx]
        if self.noise:
            x = (x + self.noise * torch.randn(x.shape, generator=generator)).clamp(0, 1)
        return x


@pytest.fixture(scope="module")
def replay(digits_train):
    return Replay(digits_train.float(), noise=0.05)


@pytest.mark.parametrize("labels,min_confidence", [("hard", None), ("soft", None), ("hard", 0.9), ("soft", 0.9)])
def test_exactly_n_per_class(replay, digits_classifier, digits_train, labels, min_confidence):
    ds = generate(replay, 17, classifier=digits_classifier, labels=labels, min_confidence=min_confidence,
                  class_names=digits_train.class_names, seed=0, batch_size=200)
    assert isinstance(ds, labkit.data.ImageDataset) and ds.shape == digits_train.shape
    assert ds.class_counts().tolist() == [17] * 10
    assert ds.info["n_drawn"] >= 170 and ds.info["labels"] == labels
    if labels == "soft":
        assert ds.soft_labels.shape == (170, 10)
        torch.testing.assert_close(ds.soft_labels.sum(1), torch.ones(170))
        assert torch.equal(ds.soft_labels.argmax(1), ds.labels)  # balanced by the classifier's argmax
        assert not torch.equal(ds.soft_labels, ds.targets().round())  # really soft, not one-hot
        if min_confidence:
            assert ds.soft_labels.max(1).values.min() >= 0.9
    else:
        assert ds.soft_labels is None
    # labels are the classifier's opinion of the stored (uint8-quantised) images
    agree = (labkit.predict(digits_classifier, ds.float()).argmax(1) == ds.labels).float().mean()
    assert agree > 0.95


def test_filter_rejects_unconfident_samples(replay, digits_classifier):
    plain = generate(replay, 10, classifier=digits_classifier, seed=1, batch_size=200)
    strict = generate(replay, 10, classifier=digits_classifier, min_confidence=0.9, seed=1, batch_size=200)
    assert strict.info["acceptance_rate"] < plain.info["acceptance_rate"]
    conf = labkit.predict(digits_classifier, strict.float()).max(1).values  # of the uint8-quantised images
    assert conf.median() >= 0.9 and conf.min() >= 0.8


def test_seeded_and_sample_kwargs_passed(digits_classifier, digits_train):
    gen = Replay(digits_train.float(), noise=0.1)
    a = generate(gen, 5, classifier=digits_classifier, seed=3, truncation=0.7)
    b = generate(gen, 5, classifier=digits_classifier, seed=3, truncation=0.7)
    c = generate(gen, 5, classifier=digits_classifier, seed=4, truncation=0.7)
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    assert all(call == {"truncation": 0.7} for call in gen.calls) and a.info["truncation"] == 0.7


def test_budget_error_names_the_counts(digits_train, digits_classifier):
    only_zeros = Replay(digits_train.float()[digits_train.labels == 0])
    with pytest.raises(GenerationBudgetError, match=r"'0': 20.*'1': 0") as err:
        generate(only_zeros, 20, classifier=digits_classifier, class_names=digits_train.class_names,
                 max_samples=600, batch_size=200)
    assert "after 600 samples" in str(err.value)


def test_conditional_models_use_their_labels():
    torch.manual_seed(0)
    cvae = VAE(VAEConfig(image_size=8, latent_dim=2, widths=(4, 8), encoder_dense=(8,), decoder_dense=(8,),
                         num_classes=3))
    assert is_conditional(cvae) and not is_conditional(Replay(torch.rand(2, 1, 8, 8)))
    ds = generate(cvae, 7, seed=0)  # no classifier needed
    assert ds.class_counts().tolist() == [7, 7, 7] and ds.info["labelled_by"] == "conditioning"
    g = torch.Generator().manual_seed(0)
    expected = cvae.sample(21, generator=g, labels=torch.arange(3).repeat_interleave(7))
    torch.testing.assert_close(ds.float(), expected, rtol=0, atol=0.5 / 255 + 1e-4)  # uint8 quantisation
    with pytest.raises(ValueError, match="conditioning"):
        generate(cvae, 2, labels="soft")


def test_argument_errors(replay):
    with pytest.raises(ValueError, match="classifier"):
        generate(replay, 3)
    with pytest.raises(ValueError, match="labels must be"):
        generate(replay, 3, labels="fuzzy")


def test_class_shares_of_a_classifier(digits_test, digits_classifier):
    shares = class_shares(predict(digits_classifier, digits_test.float()), 10)
    counts = shares * len(digits_test)
    assert shares.sum() == pytest.approx(1.0) and shares.shape == (10,)
    assert abs(counts - digits_test.class_counts()).max() <= 10  # a > 90 % classifier on balanced data
