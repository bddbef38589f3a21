"""labkit's metrics agree with independent implementations on fixed random features (test-only dependencies)."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from labkit.metrics import frechet_distance, inception_score, kid, prd, prdc
from labkit.metrics._order import canonical_rows
from labkit.metrics.prd import max_f_beta_pair, prd_from_histograms


@pytest.fixture(scope="module")
def features():
    """Fixed random real/fake features (float64): correlated Gaussians with different means and scales."""
    rng = np.random.default_rng(2024)
    mix = rng.normal(size=(32, 32)) / 6
    real = rng.normal(size=(800, 32)) @ mix + rng.normal(size=32)
    fake = (rng.normal(size=(700, 32)) * 1.3) @ mix + rng.normal(size=32) * 0.5
    return real, fake


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_fid_agrees_with_pytorch_fid(features):
    from pytorch_fid.fid_score import calculate_frechet_distance

    real, fake = features
    ref = calculate_frechet_distance(real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False))
    assert frechet_distance(real, fake) == pytest.approx(ref, rel=1e-6)


def test_prdc_agrees_exactly_with_prdc(features):
    from prdc import compute_prdc

    real, fake = features
    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the set sizes
        ref = compute_prdc(real, fake, nearest_k=5)
    assert prdc(real, fake, k=5) == {k: float(v) for k, v in ref.items()}


def test_prdc_float32_agrees_up_to_ties(features):
    from prdc import compute_prdc

    real, fake = (f.astype(np.float32) for f in features)
    with contextlib.redirect_stdout(io.StringIO()):
        ref = compute_prdc(real, fake, nearest_k=3)
    ours = prdc(real, fake, k=3)
    for key in ref:
        assert ours[key] == pytest.approx(float(ref[key]), abs=2 / len(fake))


def test_kid_agrees_with_torch_fidelity(features):
    from torch_fidelity.metric_kid import kid_features_to_metric

    real, fake = features
    # the same subsets: torch-fidelity draws from the rows as given, labkit from the rows in canonical order
    ref = kid_features_to_metric(torch.from_numpy(canonical_rows(real)), torch.from_numpy(canonical_rows(fake)),
                                 kid_subsets=20, kid_subset_size=300, rng_seed=7, verbose=False)
    mean, std = kid(real, fake, subset_size=300, n_subsets=20, seed=7)
    assert mean == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-9)
    assert std == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-7)


def test_inception_score_agrees_with_torch_fidelity():
    from torch_fidelity.metric_isc import isc_features_to_metric

    probs = np.random.default_rng(4).dirichlet(np.full(10, 0.3), size=1003)  # 1003 rows: parts of unequal size
    probs = np.clip(probs, 1e-12, None)
    probs /= probs.sum(1, keepdims=True)
    # torch-fidelity takes logits: softmax(log p) = p; it permutes the rows as given, labkit the canonical order
    ref = isc_features_to_metric(torch.from_numpy(np.log(canonical_rows(probs))), splits=10, shuffle=True, rng_seed=3)
    mean, std = inception_score(probs, splits=10, seed=3)
    assert mean == pytest.approx(ref["inception_score_mean"], rel=1e-9)
    assert std == pytest.approx(ref["inception_score_std"], rel=1e-6)


# The reference definitions of Sajjadi et al. (github.com/msmsajjadi/precision-recall-distributions,
# prd_score.py, Apache-2.0), restated compactly: histogram PRD, mini-batch k-means bins, max F_beta pair.
def reference_compute_prd(eval_dist, ref_dist, num_angles=1001, epsilon=1e-10):
    slopes = np.tan(np.linspace(epsilon, np.pi / 2 - epsilon, num=num_angles))
    precision = np.minimum(np.expand_dims(ref_dist, 0) * slopes[:, None], np.expand_dims(eval_dist, 0)).sum(axis=1)
    return precision, precision / slopes


def reference_prd_from_embedding(eval_data, ref_data, num_clusters=20, num_angles=1001, num_runs=10):
    from sklearn.cluster import MiniBatchKMeans

    precisions, recalls = [], []
    for _ in range(num_runs):
        labels = MiniBatchKMeans(n_clusters=num_clusters, n_init=10).fit(np.vstack([eval_data, ref_data])).labels_
        hist = lambda lab: np.histogram(lab, bins=num_clusters, range=[0, num_clusters], density=True)[0]  # noqa: E731
        p, r = reference_compute_prd(hist(labels[:len(eval_data)]), hist(labels[len(eval_data):]), num_angles)
        precisions.append(p)
        recalls.append(r)
    return np.clip(np.mean(precisions, 0), 0, 1), np.clip(np.mean(recalls, 0), 0, 1)


def reference_f_beta_pair(precision, recall, beta=8, epsilon=1e-10):
    f = lambda b: ((1 + b ** 2) * precision * recall / (b ** 2 * precision + recall + epsilon)).max()  # noqa: E731
    return f(beta), f(1 / beta)


def test_prd_curve_of_histograms_is_the_reference_definition():
    rng = np.random.default_rng(3)
    p, q = rng.dirichlet(np.ones(20)), rng.dirichlet(np.ones(20) * 0.3)
    ours = prd_from_histograms(p, q)
    ref = reference_compute_prd(q, p)
    np.testing.assert_allclose(ours[0], np.clip(ref[0], 0, 1), rtol=1e-12)
    np.testing.assert_allclose(ours[1], np.clip(ref[1], 0, 1), rtol=1e-12)
    assert max_f_beta_pair(*ours) == pytest.approx(reference_f_beta_pair(*ours), rel=1e-12)


def test_prd_f_scores_agree_with_the_reference_within_kmeans_noise():
    rng = np.random.default_rng(5)
    centres = 5 * rng.normal(size=(10, 6))
    real = centres[rng.integers(10, size=600)] + 0.4 * rng.normal(size=(600, 6))
    fake = centres[rng.integers(4, size=600)] + 0.6 * rng.normal(size=(600, 6))  # 4 of 10 modes, blurrier
    ours = prd(real, fake, num_runs=5, seed=0)
    with threadpool_limits(1):  # only for speed on small shared machines; the result does not depend on it
        ref = reference_f_beta_pair(*reference_prd_from_embedding(fake, real, num_runs=5))
    assert ours.f_beta == pytest.approx(ref[0], abs=0.05)
    assert ours.f_beta_inv == pytest.approx(ref[1], abs=0.05)
