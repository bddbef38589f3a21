"""The equal-FID pair: built to equal FID, told apart by PRD; and its construction's edge cases."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.experiments import equal_fid
from labkit.features import ClassifierFeatures, extract


@pytest.fixture(scope="module")
def pair(digits_test, digits_train, digits_classifier):
    # on 8×8 digits full-strength noise reaches FID ≈ 19 only: six narrow classes keep the target (≈ 12) below it
    return equal_fid.equal_fid_pair(digits_test, digits_train, digits_classifier, n=200, narrow_classes=6,
                                    prd_runs=2, device="cpu")


def _values(pair):
    return {(r.protocol["model"], r.metric): r.value for r in pair.records}


def test_the_pair_has_equal_fid_and_opposite_prd(pair):
    v = _values(pair)
    n, b = equal_fid.NARROW, equal_fid.BROAD
    assert abs(v[n, "fid"] - v[b, "fid"]) <= 0.05 * v[n, "fid"]
    assert v[n, "prd_f1_8"] > v[b, "prd_f1_8"] and v[b, "prd_f8"] > v[n, "prd_f8"]  # precise vs broad
    assert v[n, "classes_found"] <= 6 and v[b, "recall"] > v[n, "recall"]
    assert 0 < pair.share < 1 and pair.level == equal_fid.STRONG_LEVEL["gaussian_noise"]
    assert all(r.protocol["experiment"] == "equal_fid" and r.protocol["extractor"] == "classifier" for r in pair.records)
    assert set(pair.probs) == {n, b} and pair.probs[n].shape == (200, 10) and len(pair.reference_labels) == 200


def test_broad_set_degrades_the_share_it_is_given(digits_train):
    ds = digits_train.subset(np.arange(40))
    clean = ds.float()
    assert torch.equal(equal_fid.broad_set(ds, "gaussian_noise", 0.5, 0.0), clean)
    changed = (equal_fid.broad_set(ds, "gaussian_noise", 0.5, 0.25, seed=3) != clean).flatten(1).any(1)
    assert int(changed.sum()) == 10  # 25 % of 40 images, and only those
    assert torch.equal(equal_fid.broad_set(ds, "gaussian_noise", 0.5, 0.25, seed=3),
                       equal_fid.broad_set(ds, "gaussian_noise", 0.5, 0.25, seed=3))


def test_unreachable_fid_and_bad_arguments_say_what_to_do(digits_test, digits_train, digits_classifier):
    feat = ClassifierFeatures(model=digits_classifier)
    ref = extract(feat, digits_test.float(), device="cpu")
    with pytest.raises(ValueError, match="fewer narrow classes"):
        equal_fid.matching_share(1e9, digits_train, feat, ref, kind="gaussian_noise", level=0.5, device="cpu")
    with pytest.raises(ValueError, match="narrow_classes"):
        equal_fid.equal_fid_pair(digits_test, digits_train, digits_classifier, n=50, narrow_classes=10)
    with pytest.raises(ValueError, match="give the level"):
        equal_fid.equal_fid_pair(digits_test, digits_train, digits_classifier, n=50, kind="subsample")
