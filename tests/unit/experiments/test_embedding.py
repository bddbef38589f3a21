"""t-SNE of real vs generated features and per-class prediction histograms."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from labkit.experiments.embedding import mean_confidence, prediction_histogram_figure, tsne_embed, tsne_figure
from labkit.models.classifier import class_shares, predict


def test_class_shares_counts_and_argmax():
    np.testing.assert_allclose(class_shares(np.array([0, 0, 1]), 3), [2 / 3, 1 / 3, 0])
    probs = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    np.testing.assert_allclose(class_shares(probs, 2), [1 / 3, 2 / 3])
    with pytest.raises(ValueError, match="columns"):
        class_shares(probs, 3)
    conf = mean_confidence(probs, 2)
    np.testing.assert_allclose(conf, [0.8, 0.8])
    assert np.isnan(mean_confidence(np.array([[0.6, 0.4, 0.0]]), 3)[1])


def test_histogram_tells_narrow_from_broad(digits_test, digits_classifier):
    """Precise-but-narrow (two classes only) vs broad-but-poor (all classes, noisy): the histograms show it."""
    x, y = digits_test.float(), digits_test.labels
    narrow = x[(y == 0) | (y == 1)]
    g = torch.Generator().manual_seed(0)
    broad = (x + 0.35 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    h_narrow = class_shares(predict(digits_classifier, narrow), 10)
    h_broad = class_shares(predict(digits_classifier, broad), 10)
    assert h_narrow[[0, 1]].sum() > 0.9 and (h_narrow > 0.02).sum() <= 3
    assert (h_broad > 0.02).sum() >= 7
    conf_narrow = np.nanmean(mean_confidence(predict(digits_classifier, narrow), 10))
    conf_broad = np.nanmean(mean_confidence(predict(digits_classifier, broad), 10))
    assert conf_narrow > conf_broad
    fig = prediction_histogram_figure({"narrow": predict(digits_classifier, narrow),
                                       "broad": predict(digits_classifier, broad).argmax(1)},
                                      digits_test.class_names, reference=y)
    ax = fig.axes[0]
    assert len(ax.patches) == 20 and ax.get_legend() is not None
    plt.close(fig)


def test_tsne_separates_sources_and_is_seeded(digits_test, digits_classifier):
    x, y = digits_test.float()[:120], digits_test.labels[:120]
    fake = torch.rand(80, 1, 8, 8, generator=torch.Generator().manual_seed(0))  # images nothing like digits
    f_real = predict(digits_classifier, x, what="features")
    f_fake = predict(digits_classifier, fake, what="features")
    fake_labels = predict(digits_classifier, fake).argmax(1)
    emb = tsne_embed(f_real, f_fake, y, fake_labels, perplexity=20, seed=0)
    assert emb.coords.shape == (200, 2) and emb.is_fake.sum() == 80 and emb.labels.shape == (200,)
    assert emb.pca_dim is None  # 32-d features: no PCA needed
    again = tsne_embed(f_real, f_fake, y, fake_labels, perplexity=20, seed=0)
    np.testing.assert_allclose(emb.coords, again.coords)
    # Noise images form their own region: each fake point's nearest neighbour is mostly fake.
    d = np.linalg.norm(emb.coords[:, None] - emb.coords[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert emb.is_fake[d[emb.is_fake].argmin(1)].mean() > 0.8
    fig = tsne_figure(emb, digits_test.class_names)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_tsne_checks_shapes():
    with pytest.raises(ValueError, match="equal D"):
        tsne_embed(np.zeros((5, 3)), np.zeros((5, 4)), np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="labels"):
        tsne_embed(np.random.rand(5, 3), np.random.rand(5, 3), np.zeros(4), np.zeros(5))
