"""The forest's second opinion: rank correlation against closed forms, and the ranking records."""
from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.data.degrade import degrade
from labkit.experiments.embedding import Embedding, generated_neighbour_share
from labkit.experiments.second_opinion import forest_ranking, rank_correlation


def _ranks(x):
    return np.argsort(np.argsort(x)).astype(float)


def test_rank_correlation_closed_forms_and_properties():
    a = [0.1, 0.5, 0.3, 0.9]
    assert rank_correlation(a, a) == pytest.approx(1.0)
    assert rank_correlation(a, [-v for v in a]) == pytest.approx(-1.0)
    b = [3.0, 1.0, 2.0, 4.0]
    expected = np.corrcoef(_ranks(a), _ranks(b))[0, 1]  # Pearson of ranks, no ties
    assert rank_correlation(a, b) == pytest.approx(expected)
    perm = [2, 0, 3, 1]  # the same pairs in another order
    assert rank_correlation(np.array(a)[perm], np.array(b)[perm]) == pytest.approx(expected)
    assert rank_correlation([1, 2, 3], [5, 7, 1000]) == pytest.approx(1.0)  # ranks only
    assert rank_correlation([1, 1, 2], [1, 2, 3]) == pytest.approx(np.sqrt(3) / 2)  # ties: average ranks
    assert math.isnan(rank_correlation([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="equal length"):
        rank_correlation([1, 2], [1, 2, 3])


def test_forest_ranking_records_and_agreement(digits_train, digits_test):
    sets = {"clean": digits_train, "noisy": degrade(digits_train, "salt_pepper", 0.5, 0),
            "few": degrade(digits_train, "subsample", 3, 0)}
    cnn = {"clean": 0.95, "noisy": 0.4, "few": 0.7}
    recs = forest_ranking(sets, digits_test, cnn, seed=0)
    forest = {r.protocol["model"]: r.value for r in recs if r.metric == "gan_train_forest"}
    assert set(forest) == set(sets) and all(0 <= v <= 1 for v in forest.values())
    assert forest["clean"] > forest["few"]  # fewer images, a weaker forest
    rho = next(r for r in recs if r.metric == "forest_rank_agreement")
    order = [forest[n] for n in cnn]
    assert rho.value == pytest.approx(rank_correlation(list(cnn.values()), order))
    assert rho.protocol["n_models"] == 3 and all(r.protocol["experiment"] == "second_opinion" for r in recs)
    with pytest.raises(ValueError, match="missing"):
        forest_ranking(sets, digits_test, {"clean": 0.9, "noisy": 0.5})


def test_generated_neighbour_share_of_apart_and_mixed_maps():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(0, 1, (50, 2)), rng.normal(100, 1, (50, 2))
    is_fake = np.r_[np.zeros(50, bool), np.ones(50, bool)]
    apart = Embedding(np.r_[real, fake].astype(np.float32), np.zeros(100, int), is_fake, 30.0, None, 0)
    assert generated_neighbour_share(apart, k=10) == 1.0
    x = rng.normal(0, 1, (100, 2))
    mixed = Embedding(x.astype(np.float32), np.zeros(100, int), rng.permutation(is_fake), 30.0, None, 0)
    assert abs(generated_neighbour_share(mixed, k=10) - 49 / 99) < 0.1
