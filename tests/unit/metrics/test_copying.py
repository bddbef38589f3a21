"""The C_T copying test (Meehan et al. 2020): its U statistic against scipy, its sign on copies, fresh draws
and far-off samples, and that the rows' order changes nothing but the order of per-row facts."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from labkit.metrics.copying import CopyingBaseline, copying_test, mann_whitney_z, nearest_distances


def _sets(seed=0, d=8):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(2000, d)), rng.normal(size=(600, d)), rng


def test_mann_whitney_z_matches_scipy_u():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=80), rng.normal(0.3, size=120)
    u = mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=False).statistic
    m, n = len(x), len(y)
    assert mann_whitney_z(x, y) == pytest.approx((u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12))


def test_nearest_distances_against_brute_force():
    rng = np.random.default_rng(2)
    q, r = rng.normal(size=(50, 5)), rng.normal(size=(300, 5))
    d, i = nearest_distances(q, r, block=7)
    full = np.linalg.norm(q[:, None] - r[None], axis=-1)
    assert np.array_equal(i, full.argmin(1)) and np.allclose(d, full.min(1), atol=1e-4)


def test_sign_copies_negative_fresh_near_zero_far_positive():
    train, held, rng = _sets()
    fresh = rng.normal(size=(600, 8))
    copies = train[rng.choice(len(train), 600, replace=False)] + 1e-3 * rng.normal(size=(600, 8))
    far = rng.normal(size=(600, 8)) * 1.5
    ct = {name: copying_test(train, held, g, seed=0).ct for name, g in
          {"fresh": fresh, "copies": copies, "far": far}.items()}
    assert abs(ct["fresh"]) < 2 and ct["copies"] < -5 and ct["far"] > 3


def test_row_order_changes_no_statistic_and_per_row_facts_follow_the_rows():
    train, held, rng = _sets(3)
    gen = rng.normal(size=(400, 8))
    perm_t, perm_g = rng.permutation(len(train)), rng.permutation(len(gen))
    a = CopyingBaseline.fit(train, held, seed=0).test(gen)
    b = CopyingBaseline.fit(train[perm_t], held, seed=0).test(gen[perm_g])
    assert a.ct == b.ct
    assert np.array_equal(a.generated_distances[perm_g], b.generated_distances)
    # nearest_train indexes the training rows as given: the same training image either way
    assert np.array_equal(train[a.nearest_train[perm_g]], train[perm_t][b.nearest_train])


def test_identical_copy_of_the_training_set_has_zero_distances():
    train, held, _ = _sets(4)
    t = copying_test(train, held, train[:500], seed=0)
    assert np.all(t.generated_distances == 0) and t.ct < -5


def test_mismatched_dimensions_are_named():
    train, held, _ = _sets(5)
    with pytest.raises(ValueError, match="dimension"):
        CopyingBaseline.fit(train, held[:, :4])
    with pytest.raises(ValueError, match="generated features have 3 dimensions"):
        CopyingBaseline.fit(train, held).test(np.zeros((10, 3)))
