"""The four verdicts in plain words: blurry, unrealistic, short of diversity, copying its training set.

Each verdict is `yes`, `no` or `unclear`, decided by one statistic against its calibrated band
(`calibration.Band`): inside the range real images reach, `no`; at or beyond the value of plainly damaged
real images, `yes`; between the two, `unclear`. Three rules add to that:
- a class the model (almost) never draws makes it short of diversity;
- a statistic that cannot tell the damage from real images (its anchor inside the real band) can only say
  `unclear`;
- low coverage, or missing classes, in samples that are not plainly realistic is `unclear`, not `yes`:
  off-manifold samples lower coverage and confuse the classifier's labels by themselves (the calibration shows
  it: noise alone takes coverage near 0). Unless the samples are more realistic than the noise anchor and
  still cover less than it does: then fidelity cannot explain it.
The evidence keeps every number a reader needs to check the verdict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .calibration import Band

VERDICTS = ("blurry", "unrealistic", "low_diversity", "copying")
TITLES = {"blurry": "blurry", "unrealistic": "unrealistic", "low_diversity": "short of diversity",
          "copying": "copies its training set"}
# Numbers shown as evidence beside each verdict's deciding statistic
EVIDENCE = {"blurry": ("lap", "lap_real"), "unrealistic": ("precision", "confidence", "gan_test"),
            "low_diversity": ("recall", "classes_missing", "class_share_min_ratio"),
            "copying": ("nn_share_close", "nn_median_ratio")}
LABELS = {"lap_ratio": "sharpness (LAP) ÷ real", "density": "density", "coverage": "coverage",
          "ct": "C_T copying score"}


@dataclass(frozen=True)
class Verdict:
    """One verdict: `yes` / `no` / `unclear`, the numbers behind it, and a sentence a researcher can read."""

    verdict: str
    evidence: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "evidence": self.evidence, "reason": self.reason}


def _g(x: float) -> str:
    return f"{x:.3g}"


def judge(kind: str, values: dict[str, Any], band: Band) -> Verdict:
    """The verdict `kind` for a set's numbers (`measures.measure(...).values`) against its calibrated band."""
    s = float(values[band.statistic])
    evidence = {band.statistic: s, "real_band": [band.real_low, band.real_mean + 3 * band.real_std],
                "anchor": band.anchor, "anchor_damage": band.damage,
                **{k: values[k] for k in EVIDENCE[kind] if k in values}}
    name = LABELS[band.statistic]
    where = (f"{name} {_g(s)}; real images {_g(band.real_low)} or more, {band.damage} {_g(band.anchor)}")
    if kind == "low_diversity" and values.get("classes_missing", 0) > 0:
        return Verdict("yes", evidence, f"{values['classes_missing']} class(es) (almost) never drawn; {where}")
    if math.isnan(s):
        return Verdict("unclear", evidence, f"{name} could not be computed (too few samples per cell)")
    if s >= band.real_low:
        return Verdict("no", evidence, f"within the range of real images: {where}")
    if not band.separates:
        return Verdict("unclear", evidence, f"below real images, but {band.damage} does not score lower: {where}")
    if s <= band.anchor:
        return Verdict("yes", evidence, f"as bad as or worse than {band.damage}: {where}")
    return Verdict("unclear", evidence, f"between real images and {band.damage}: {where}")


def diagnose(values: dict[str, Any], bands: dict[str, Band]) -> dict[str, Verdict]:
    """All four verdicts of one set."""
    out = {kind: judge(kind, values, bands[kind]) for kind in VERDICTS}
    diversity, realism = out["low_diversity"], out["unrealistic"]
    noise = bands["unrealistic"]
    noise_coverage = noise.anchor_effects.get("coverage", float("nan"))
    # fidelity as poor as the noise anchor's explains coverage down to what that noise leaves; a set more
    # realistic than that (higher density) with less coverage is short of diversity whatever its fidelity
    beyond_fidelity = values["density"] > noise.anchor and values["coverage"] < noise_coverage
    if diversity.verdict == "yes" and realism.verdict != "no" and not beyond_fidelity:
        doubt = "unrealistic" if realism.verdict == "yes" else "of doubtful realism"
        out["low_diversity"] = Verdict(
            "unclear", diversity.evidence,
            f"coverage {_g(values['coverage'])}, {values.get('classes_missing', 0)} class(es) missing, but the samples "
            f"are also {doubt} (density {_g(values['density'])}), which lowers coverage and confuses the classifier's "
            f"labels by itself ({noise.damage} takes real images' density to {_g(noise.anchor)} and coverage to "
            f"{_g(noise_coverage)}): diversity cannot be judged apart from it")
    elif diversity.verdict == "yes" and realism.verdict != "no":
        out["low_diversity"] = Verdict(
            "yes", diversity.evidence,
            f"coverage {_g(values['coverage'])} is below what poor fidelity explains: {noise.damage} leaves real "
            f"images coverage {_g(noise_coverage)} at density {_g(noise.anchor)}, and these samples are more "
            f"realistic (density {_g(values['density'])}) yet cover less")
    return out
