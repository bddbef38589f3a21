"""Analytic cases, conventions and input checks of the metrics (features are small random arrays)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from labkit.metrics import cmmd, frechet_distance, inception_score, kid, laplacian_variance, prd, prdc


def mixture(n: int, centres: np.ndarray, rng, scale: float = 0.3) -> np.ndarray:
    """n points around randomly chosen centres (C, D)."""
    return centres[rng.integers(len(centres), size=n)] + scale * rng.normal(size=(n, centres.shape[1]))


@pytest.fixture
def collapse():
    """Real: 10 well-separated modes in 8-D. Fake: only mode 0 (a mode-collapsed model)."""
    rng = np.random.default_rng(0)
    centres = 4 * rng.normal(size=(10, 8))
    return mixture(1000, centres, rng), mixture(1000, centres[:1], rng)


# --- FID -------------------------------------------------------------------------------------------------------
def test_fid_identical_sets_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 16))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fid_equal_covariance_is_squared_mean_difference():
    x = np.random.default_rng(1).normal(size=(400, 12))
    delta = np.linspace(-1, 2, 12)
    assert frechet_distance(x, x + delta) == pytest.approx(float(delta @ delta), rel=1e-9)


def test_fid_grows_with_a_widening_gap():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(300, 5)), rng.normal(size=(300, 5))
    assert frechet_distance(x, y) < frechet_distance(x, y + 0.5) < frechet_distance(x, y * 2 + 1)


@pytest.mark.parametrize("case", ["n=2", "n<d", "all-equal", "collapsed-fake"])
def test_fid_degenerate_inputs_are_finite_and_non_negative(case):
    rng = np.random.default_rng(3)
    real = rng.normal(size=(50, 64))
    fake = {"n=2": rng.normal(size=(2, 64)), "n<d": rng.normal(size=(20, 64)),
            "all-equal": np.ones((30, 64)), "collapsed-fake": np.repeat(rng.normal(size=(1, 64)), 40, 0)}[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = frechet_distance(real, fake)
    assert isinstance(value, float) and np.isfinite(value) and value >= 0


def test_fid_warns_when_samples_are_fewer_than_dimensions():
    rng = np.random.default_rng(4)
    with pytest.warns(UserWarning, match="rank-deficient"):
        frechet_distance(rng.normal(size=(10, 32)), rng.normal(size=(100, 32)))


@pytest.mark.parametrize("real, fake, match", [
    (np.zeros((0, 4)), np.zeros((5, 4)), "at least 2"),
    (np.zeros((5, 4)), np.full((5, 4), np.nan), "NaN"),
    (np.zeros((5, 4)), np.zeros((5, 3)), "dimension"),
    (np.zeros(5), np.zeros(5), "2-D"),
])
def test_fid_rejects_bad_input(real, fake, match):
    with pytest.raises(ValueError, match=match):
        frechet_distance(real, fake)


# --- KID -------------------------------------------------------------------------------------------------------
def test_kid_identical_distribution_is_near_zero_and_shift_is_positive():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    same, _ = kid(x, y, subset_size=200, n_subsets=20)
    shifted, _ = kid(x, y + 1.0, subset_size=200, n_subsets=20)
    assert abs(same) < 0.01 and shifted > 20 * max(abs(same), 1e-3)


def test_kid_clamps_subset_size_with_warning():
    rng = np.random.default_rng(6)
    with pytest.warns(UserWarning, match="clamped to 50"):
        mean, std = kid(rng.normal(size=(50, 4)), rng.normal(size=(80, 4)), subset_size=1000, n_subsets=5)
    assert np.isfinite(mean) and np.isfinite(std)


# --- k-NN precision / recall / density / coverage --------------------------------------------------------------
def test_prdc_identical_sets_give_ones():
    x = np.random.default_rng(7).normal(size=(300, 8))
    out = prdc(x, x, k=5)
    assert out["precision"] == out["recall"] == out["coverage"] == out["density"] == 1.0


def test_prdc_mode_collapse_is_precise_but_not_recalled(collapse):
    real, fake = collapse
    out = prdc(real, fake)
    assert out["precision"] > 0.9 and out["recall"] < 0.2 and out["coverage"] < 0.2
    swapped = prdc(fake, real)  # the wrong argument order reads the opposite way
    assert swapped["precision"] < 0.2 and swapped["recall"] > 0.9


def test_prdc_does_not_depend_on_block_size():
    rng = np.random.default_rng(8)
    real, fake = rng.normal(size=(257, 6)), rng.normal(size=(199, 6)) + 0.3
    assert prdc(real, fake, block_bytes=20_000) == prdc(real, fake, block_bytes=2**30)  # ~10-row blocks vs one


# --- PRD -------------------------------------------------------------------------------------------------------
def test_prd_mode_collapse_is_precision_like_high_recall_like_low(collapse):
    real, fake = collapse
    curve = prd(real[:400], fake[:400], num_runs=2)
    assert curve.f_beta_inv > 0.7 and curve.f_beta < 0.3
    assert curve.precision.shape == curve.recall.shape == (1001,)
    assert ((0 <= curve.precision) & (curve.precision <= 1)).all()


def test_prd_of_identical_sets_reaches_one():
    x = mixture(600, 3 * np.random.default_rng(9).normal(size=(5, 4)), np.random.default_rng(10))
    curve = prd(x, x.copy(), num_runs=2)
    assert curve.f_beta == pytest.approx(1.0, abs=1e-3) and curve.f_beta_inv == pytest.approx(1.0, abs=1e-3)


def test_prd_is_seeded():
    rng = np.random.default_rng(11)
    real, fake = rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) * 1.5
    a, b = prd(real, fake, num_runs=2, seed=3), prd(real, fake, num_runs=2, seed=3)
    assert np.array_equal(a.precision, b.precision)


# --- CMMD ------------------------------------------------------------------------------------------------------
def _cmmd_dense(x, y, sigma=10.0, scale=1000.0):
    """The official estimator, written out on full kernel matrices."""
    g = 1 / (2 * sigma ** 2)
    k = lambda a, b: np.exp(-g * ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).mean()  # noqa: E731
    return scale * (k(x, x) + k(y, y) - 2 * k(x, y))


def test_cmmd_matches_the_dense_estimator_and_is_zero_for_identical_sets():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(120, 6)) * 3
    y = rng.normal(size=(90, 6)) * 3 + 1
    assert cmmd(x, y, block_bytes=512) == pytest.approx(_cmmd_dense(x, y), rel=1e-9)
    assert cmmd(x, x) == pytest.approx(0.0, abs=1e-9)


# --- IS --------------------------------------------------------------------------------------------------------
def test_inception_score_extremes():
    k = 7
    confident_and_diverse = np.eye(k)[np.arange(700) % k]
    assert inception_score(confident_and_diverse, splits=1)[0] == pytest.approx(k, rel=1e-9)
    # random parts of 70 are not exactly balanced, so each scores a little below k
    assert k - 0.5 < inception_score(confident_and_diverse, splits=10)[0] < k
    one_class = np.tile(np.eye(k)[2], (700, 1))
    assert inception_score(one_class)[0] == pytest.approx(1.0)
    uniform = np.full((700, k), 1 / k)
    assert inception_score(uniform) == pytest.approx((1.0, 0.0))


def test_inception_score_rejects_logits():
    with pytest.raises(ValueError, match="probability"):
        inception_score(np.random.default_rng(0).normal(size=(100, 5)))


# --- LAP -------------------------------------------------------------------------------------------------------
def test_laplacian_variance_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(13)
    grey = rng.random((5, 1, 12, 9))
    ours = laplacian_variance(torch.from_numpy(grey).float())
    ref = [cv2.Laplacian(im[0].astype(np.float32).astype(np.float64), cv2.CV_64F).var() for im in grey]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    rgb = rng.random((3, 3, 10, 10)).astype(np.float32)
    ours = laplacian_variance(torch.from_numpy(rgb))
    ref = [cv2.Laplacian(cv2.cvtColor(im.transpose(1, 2, 0), cv2.COLOR_RGB2GRAY).astype(np.float64), cv2.CV_64F).var()
           for im in rgb]
    np.testing.assert_allclose(ours, ref, rtol=1e-5)


def test_laplacian_variance_orders_sharp_above_blurred():
    x = torch.rand(4, 1, 16, 16)
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    assert (laplacian_variance(x) > laplacian_variance(blurred)).all()
    assert laplacian_variance(torch.full((2, 1, 8, 8), 0.5)).tolist() == [0.0, 0.0]


def test_laplacian_variance_checks_images():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        laplacian_variance(torch.full((1, 1, 4, 4), 2.0))
