"""Properties every metric must have, on generated cases: row order, sorted and duplicated sets, identical sets,
invariances. I.i.d. random rows hide order bugs (IS of class-sorted splits is about 1), so the cases here are
permuted, class-sorted, duplicated and transformed copies of one another.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit import ClassifierTraining
from labkit.core.record import records_table
from labkit.data.dataset import ImageDataset
from labkit.metrics import (
    ClassifierDistance,
    EvalSettings,
    EvalSpace,
    PixelDistance,
    cmmd,
    evaluate,
    feature_statistics,
    frechet_distance,
    gan_test,
    gan_train,
    gan_train_sklearn,
    inception_score,
    kid,
    laplacian_variance,
    lpips_diversity,
    lpips_to_real,
    paired_distance,
    prd,
    prdc,
    swd,
)
from labkit.metrics.kid import polynomial_kernel

# Derandomised (the same cases on every run, never flaky), no example database written to the checkout.
PROPERTY = settings(max_examples=12, deadline=None, derandomize=True, database=None)
FAST = ClassifierTraining(steps=20, batch_size=64, lr=3e-3)


def clustered(rng, n: int, dim: int, k: int = 6, sorted_by_class: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """n points (n, dim) around k centres, with their class; sorted by class, as `labkit.generate` returns sets."""
    centres = 3 * rng.normal(size=(k, dim))
    labels = np.sort(rng.integers(k, size=n)) if sorted_by_class else rng.integers(k, size=n)
    return centres[labels] + rng.normal(size=(n, dim)), labels


def confident_probs(labels: np.ndarray, k: int, rng) -> np.ndarray:
    """Softmax-like rows (n, k), confident in each row's class."""
    logits = rng.normal(size=(len(labels), k))
    logits[np.arange(len(labels)), labels] += 6
    p = np.exp(logits - logits.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def order_free(metric, real: np.ndarray, fake: np.ndarray, rng) -> None:
    """metric(real, fake) is bit-identical when the rows of either set, or both, are permuted."""
    ref = metric(real, fake)
    for r, f in ((real[rng.permutation(len(real))], fake), (real, fake[rng.permutation(len(fake))]),
                 (real[::-1], fake[rng.permutation(len(fake))])):
        assert metric(r, f) == ref


# --- row order: every metric sees the set, not the order of its rows -----------------------------------------------
sizes = st.tuples(st.integers(0, 2**31 - 1), st.integers(40, 160), st.integers(40, 160), st.integers(2, 12))


@PROPERTY
@given(sizes, st.sampled_from([np.float32, np.float64]))
def test_two_sample_metrics_do_not_depend_on_row_order(case, dtype):
    seed, n_real, n_fake, dim = case
    rng = np.random.default_rng(seed)
    real, _ = clustered(rng, n_real, dim)
    fake = (clustered(rng, n_fake, dim)[0] * 1.2).astype(dtype)
    real = real.astype(dtype)
    order_free(frechet_distance, real, fake, rng)
    order_free(lambda r, f: kid(r, f, subset_size=30, n_subsets=5, seed=seed % 100), real, fake, rng)
    order_free(lambda r, f: prdc(r, f, k=3), real, fake, rng)
    order_free(cmmd, real, fake, rng)
    order_free(lambda r, f: (lambda c: (c.f_beta, c.f_beta_inv, c.precision.tobytes()))(
        prd(r, f, num_clusters=5, num_runs=1, seed=1)), real[:40], fake[:40], rng)
    stats = feature_statistics(fake)
    again = feature_statistics(fake[rng.permutation(len(fake))])
    assert np.array_equal(stats.mu, again.mu) and np.array_equal(stats.sigma, again.sigma)


@PROPERTY
@given(st.integers(0, 2**31 - 1), st.integers(3, 10), st.integers(100, 600))
def test_inception_score_of_a_class_sorted_set_is_that_of_its_shuffled_copy(seed, k, n):
    rng = np.random.default_rng(seed)
    labels = np.sort(rng.integers(k, size=n))  # grouped by class, as generated sets arrive
    probs = confident_probs(labels, k, rng)
    sorted_score = inception_score(probs, splits=10, seed=seed % 7)
    assert sorted_score == inception_score(probs[rng.permutation(n)], splits=10, seed=seed % 7)
    # consecutive class-pure parts would score about 1; random parts score about the number of classes drawn
    whole = inception_score(probs, splits=1)[0]
    assert sorted_score[0] > 0.8 * whole > 1.5


def test_inception_score_varies_with_its_seed_only_within_its_own_std():
    rng = np.random.default_rng(0)
    probs = confident_probs(np.sort(rng.integers(10, size=2000)), 10, rng)
    scores = np.array([inception_score(probs, seed=s) for s in range(8)])  # (seeds, [mean, std])
    assert np.ptp(scores[:, 0]) > 0  # the seed picks the parts
    assert np.ptp(scores[:, 0]) < 2 * scores[:, 1].mean()  # ... and moves the mean by less than the parts' spread


def test_image_metrics_do_not_depend_on_row_order(digits_test, digits_classifier):
    rng = np.random.default_rng(1)
    real = digits_test.float()[:120]
    fake = digits_test.float()[120:220]
    perm = lambda x: x[torch.from_numpy(rng.permutation(len(x)))]  # noqa: E731
    lap = laplacian_variance(fake)
    idx = rng.permutation(len(fake))
    assert np.array_equal(laplacian_variance(fake[idx]), lap[idx])  # per image: permuted with the images
    dist = ClassifierDistance(digits_classifier, device="cpu")
    assert torch.equal(paired_distance(dist, fake[idx], real[:100][idx]), paired_distance(dist, fake, real[:100])[idx])
    assert lpips_diversity(perm(fake), dist, n_pairs=64, seed=3) == lpips_diversity(fake, dist, n_pairs=64, seed=3)
    to_real = lpips_to_real(real, fake, dist, n_pairs=64, seed=3)
    assert lpips_to_real(perm(real), perm(fake), dist, n_pairs=64, seed=3) == to_real
    kw = dict(patch_size=3, levels=1, patches_per_image=8, projections=16, repeats=1, seed=2, device="cpu")
    assert swd(perm(real), perm(fake), **kw) == swd(real, fake, **kw)


def _shuffled(ds: ImageDataset, seed: int) -> ImageDataset:
    return ds.subset(np.random.default_rng(seed).permutation(len(ds)))


def _by_class(ds: ImageDataset) -> ImageDataset:
    return ds.subset(np.argsort(ds.labels.numpy(), kind="stable"))


def test_classifier_metrics_do_not_depend_on_row_order(digits_train, digits_test, digits_classifier):
    train = digits_train.subset(range(400))
    a, b = _by_class(train), _shuffled(train, 5)
    assert gan_train(a, digits_test, settings=FAST, seed=1).values == gan_train(b, digits_test, settings=FAST,
                                                                                 seed=1).values
    assert gan_test(digits_classifier, a) == gan_test(digits_classifier, b)
    assert gan_train_sklearn(a, digits_test, kind="forest").value == gan_train_sklearn(b, digits_test,
                                                                                       kind="forest").value


def test_evaluate_sees_the_sets_not_their_order(digits_train, digits_test, digits_classifier):
    """A class-sorted generated set, its shuffled copy and a permuted reference give bit-identical tables."""
    fake = _by_class(digits_train.subset(range(300)))
    space = EvalSpace.resolve(digits_classifier, device="cpu", cache=False)
    settings = EvalSettings(n_fake=None, repeats=1, seed=4, n_small=100, kid_subset_size=50, kid_subsets=5,
                            prd_runs=1, gan_train=FAST, gan_test_mode=True)
    suite = ("lap", "is", "fid", "fid_small", "kid", "prd", "prdc", "gan_train", "gan_test")
    ref = records_table(evaluate({"m": fake}, digits_test, space, settings, suite))
    for f, r in ((_shuffled(fake, 1), digits_test), (fake, _shuffled(digits_test, 2)),
                 (_shuffled(fake, 3), _shuffled(digits_test, 4))):
        assert records_table(evaluate({"m": f}, r, space, settings, suite)).equals(ref)
    assert len(ref.columns) == 2 * 13 and ref.loc["m", "is"] > 5  # 13 numbers, each with its ±  # the digits' ten classes, not the ≈ 1 of class-pure splits


def test_table1_path_scores_a_class_grouped_replay_like_the_real_images(digits_train, digits_test, digits_classifier):
    """The bug this suite exists for: a perfect replay generator, drawn class after class, scored IS ≈ 1.1."""
    from labkit import generate

    images = digits_train.float()
    pools = [torch.nonzero(digits_train.labels == c).flatten() for c in range(10)]

    class Replay(torch.nn.Module):
        conditional = True
        cfg = type("Cfg", (), {"num_classes": 10})()

        def sample(self, n, generator=None, labels=None):
            return images[torch.cat([pools[c][torch.randint(len(pools[c]), (1,), generator=generator)]
                                     for c in labels.tolist()])]

    grouped = generate.generate(Replay(), 30, classifier=digits_classifier, seed=0)
    assert (np.diff(grouped.labels.numpy()) >= 0).all()  # class after class
    space = EvalSpace.resolve(digits_classifier, device="cpu", cache=False)

    def score(name, ds):
        return records_table(evaluate({name: ds}, digits_test, space, EvalSettings(n_fake=None, repeats=1),
                                      ("is",))).loc[name, "is"]
    replay, real = score("replay", grouped), score("real", digits_test.subset(range(300)))
    assert replay == score("replay", _shuffled(grouped, 0))
    assert abs(replay - real) < 1.0 and replay > 5


# --- identical sets: the analytic values ----------------------------------------------------------------------------
@PROPERTY
@given(sizes, st.sampled_from([np.float32, np.float64]), st.integers(1, 7))
def test_identical_sets_give_the_analytic_values(case, dtype, k):
    seed, n, _, dim = case
    rng = np.random.default_rng(seed)
    x = clustered(rng, n, dim)[0].astype(dtype)
    copy = x[rng.permutation(n)]  # the same set, in another order
    assert prdc(x, copy, k=k) == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}
    assert cmmd(x, copy) == 0.0
    assert frechet_distance(x, copy) == pytest.approx(0.0, abs=1e-9 * float(np.var(x, 0).sum()) + 1e-12)
    # KID ≈ 0: exactly, its expectation is (2/n)(mean off-diagonal kernel − mean self-kernel), slightly negative
    # because independent subsets of one finite set can draw the same point; it vanishes as n grows
    kernel = polynomial_kernel(x.astype(np.float64), x.astype(np.float64))  # (n, n)
    expected = 2 / n * ((kernel.sum() - np.trace(kernel)) / (n * (n - 1)) - np.trace(kernel) / n)
    mean, std = kid(x, copy, subset_size=n // 4, n_subsets=50, seed=1)
    assert abs(mean - expected) <= 4 * std / np.sqrt(50)


def test_identical_sets_reach_one_on_the_prd_curve():
    rng = np.random.default_rng(2)
    x = clustered(rng, 600, 4, sorted_by_class=False)[0]
    curve = prd(x, x[rng.permutation(len(x))], num_clusters=10, num_runs=2)
    assert curve.f_beta == pytest.approx(1.0, abs=1e-6) and curve.f_beta_inv == pytest.approx(1.0, abs=1e-6)


def test_density_tie_is_exact_at_scale():
    """The k-th neighbour sits exactly on the ball's boundary (not inside), so density is exactly 1, not 1.05."""
    x = np.random.default_rng(3).normal(size=(3000, 64)).astype(np.float32)
    assert prdc(x, x.copy(), k=5, block_bytes=2**18)["density"] == 1.0


# --- duplicated rows change the distribution metrics only within their noise -----------------------------------------
def test_duplicating_every_row_moves_fid_kid_prd_only_within_noise():
    rng = np.random.default_rng(4)
    centres = 3 * rng.normal(size=(6, 8))

    def draw(n):
        return centres[rng.integers(6, size=n)] + rng.normal(size=(n, 8))

    real = draw(400)
    fakes = [draw(400) for _ in range(6)]  # independent generated sets: the metrics' own noise
    twice = lambda x: np.concatenate([x, x])  # noqa: E731
    curve = lambda r, f: prd(r, f, num_clusters=10, num_runs=2, seed=0)  # noqa: E731
    cases = {  # metric, and the same metric with every generated row (PRD: every row of both sets) twice
        "fid": (lambda f: frechet_distance(real, f), lambda f: frechet_distance(real, twice(f))),
        "kid": (lambda f: kid(real, f, subset_size=200, n_subsets=20)[0], lambda f: kid(real, twice(f),
                                                                                       subset_size=200, n_subsets=20)[0]),
        "prd_f8": (lambda f: curve(real, f).f_beta, lambda f: curve(twice(real), twice(f)).f_beta),
        "prd_f1_8": (lambda f: curve(real, f).f_beta_inv, lambda f: curve(twice(real), twice(f)).f_beta_inv),
    }
    for name, (once, doubled) in cases.items():
        values = [once(f) for f in fakes]
        noise = np.std(values, ddof=1)
        for f, v in zip(fakes[:2], values):
            assert abs(doubled(f) - v) < 3 * noise, name


# --- invariances of the k-NN metrics --------------------------------------------------------------------------------
@PROPERTY
@given(sizes, st.floats(1e-2, 1e2), st.floats(-50, 50))
def test_knn_metrics_ignore_scaling_and_translation(case, scale, shift):
    seed, n_real, n_fake, dim = case
    rng = np.random.default_rng(seed)
    real = clustered(rng, n_real, dim)[0]
    fake = clustered(rng, n_fake, dim)[0] * 1.3
    offset = shift * rng.normal(size=dim)
    assert prdc(scale * real + offset, scale * fake + offset, k=3) == prdc(real, fake, k=3)


def test_a_perfect_copy_scores_as_the_reference_on_images(digits_test, digits_classifier):
    """Identical image sets: pair metrics match their analytic values too (0 distance for the same image)."""
    x = digits_test.float()[:50]
    assert torch.count_nonzero(paired_distance(PixelDistance(), x, x)) == 0
    assert float(paired_distance(ClassifierDistance(digits_classifier, device="cpu"), x, x).abs().max()) < 1e-6


def test_soft_labels_travel_with_their_images(digits_train, digits_test):
    """Canonical order must move labels and soft labels with the images (GAN-train with soft targets)."""
    train = digits_train.subset(range(300))
    soft = torch.nn.functional.one_hot(train.labels, 10).float() * 0.9 + 0.01
    ds = replace(train, soft_labels=soft)
    a = gan_train(ds, digits_test, settings=FAST, seed=2).value
    assert a == gan_train(_shuffled(ds, 9), digits_test, settings=FAST, seed=2).value > 0.3
