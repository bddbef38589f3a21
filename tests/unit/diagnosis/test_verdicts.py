"""The verdict rules on hand-made bands: the real band says no, the anchor yes, in between unclear."""
from __future__ import annotations

import math

import numpy as np

import pytest

from labkit.diagnosis.calibration import Band
from labkit.diagnosis.verdicts import diagnose, judge


def band(verdict, statistic, mean, std, anchor, effects=None):
    return Band(verdict, statistic, mean, std, mean - 3 * std, anchor, "damage", "why", effects or {})


BANDS = {"blurry": band("blurry", "lap_ratio", 1.0, 0.01, 0.05),
         "unrealistic": band("unrealistic", "density", 1.0, 0.02, 0.3, {"coverage": 0.03}),
         "low_diversity": band("low_diversity", "coverage", 0.8, 0.01, 0.45, {"coverage": 0.02}),
         "copying": band("copying", "ct", 0.0, 0.15, -2.0)}
REAL = {"lap_ratio": 1.0, "density": 1.0, "coverage": 0.8, "ct": 0.1, "classes_missing": 0}


@pytest.mark.parametrize("value, expected", [(1.2, "no"), (0.97, "no"), (0.969, "unclear"), (0.2, "unclear"),
                                             (0.05, "yes"), (0.01, "yes")])
def test_blurry_thresholds_at_the_band_and_the_anchor(value, expected):
    assert judge("blurry", {**REAL, "lap_ratio": value}, BANDS["blurry"]).verdict == expected


def test_real_numbers_get_no_on_all_four():
    assert {k: v.verdict for k, v in diagnose(REAL, BANDS).items()} == dict.fromkeys(BANDS, "no")


def test_copying_is_low_ct_and_underfitting_is_not_copying():
    assert judge("copying", {**REAL, "ct": -5.0}, BANDS["copying"]).verdict == "yes"
    assert judge("copying", {**REAL, "ct": 12.0}, BANDS["copying"]).verdict == "no"


def test_a_missing_class_makes_it_short_of_diversity_whatever_the_coverage():
    v = judge("low_diversity", {**REAL, "classes_missing": 2}, BANDS["low_diversity"])
    assert v.verdict == "yes" and "2 class" in v.reason


def test_a_statistic_that_does_not_separate_can_only_say_unclear():
    weak = band("blurry", "lap_ratio", 1.0, 0.1, 0.9)  # anchor inside the real band
    assert not weak.separates
    assert judge("blurry", {**REAL, "lap_ratio": 0.5}, weak).verdict == "unclear"


def test_low_coverage_or_missing_classes_of_unrealistic_samples_is_unclear_not_yes():
    noisy = {**REAL, "density": 0.1, "coverage": 0.01, "classes_missing": 3}
    out = diagnose(noisy, BANDS)
    assert out["unrealistic"].verdict == "yes" and out["low_diversity"].verdict == "unclear"
    assert "cannot be judged apart" in out["low_diversity"].reason
    realistic_but_narrow = diagnose({**REAL, "coverage": 0.4}, BANDS)
    assert realistic_but_narrow["low_diversity"].verdict == "yes"


def test_coverage_below_what_poor_fidelity_explains_is_short_of_diversity():
    """Density between real and the noise anchor (doubtful realism), coverage below what that noise leaves."""
    collapsed = diagnose({**REAL, "density": 0.6, "coverage": 0.01}, BANDS)
    assert collapsed["unrealistic"].verdict == "unclear" and collapsed["low_diversity"].verdict == "yes"
    assert "below what poor fidelity explains" in collapsed["low_diversity"].reason
    merely_poor = diagnose({**REAL, "density": 0.6, "coverage": 0.2}, BANDS)
    assert merely_poor["low_diversity"].verdict == "unclear"


def test_nan_statistic_is_unclear_with_a_reason():
    v = judge("copying", {**REAL, "ct": math.nan}, BANDS["copying"])
    assert v.verdict == "unclear" and "could not be computed" in v.reason


def test_evidence_holds_the_deciding_number_band_and_anchor():
    v = judge("unrealistic", {**REAL, "precision": 0.7, "density": 0.5}, BANDS["unrealistic"])
    assert v.evidence["density"] == 0.5 and v.evidence["anchor"] == 0.3 and v.evidence["precision"] == 0.7
    assert v.evidence["real_band"][0] == pytest.approx(0.94)


def test_a_class_is_missing_only_when_its_absence_is_not_chance():
    from labkit.diagnosis.measures import missing_classes
    expected = np.array([0.02] + [0.98 / 9] * 9)
    drawn = np.repeat(np.arange(1, 10), 11)[:100]  # 100 samples, class 0 (2%) never drawn: chance at 100
    assert missing_classes(drawn, expected) == 0
    assert missing_classes(np.repeat(np.arange(1, 10), 112)[:1000], expected) == 1  # at 1000 it is not
    assert missing_classes(np.repeat(np.arange(0, 9), 12)[:100], expected) == 1  # class 9 (10.9%) never drawn
