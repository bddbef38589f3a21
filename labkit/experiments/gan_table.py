"""The GAN comparison table: every GAN on the same budget, the papers' metrics and the convergence verdicts.

One row per generator: IS, FID, PRD F8 / F1/8, k-NN precision / recall / density / coverage and CMMD
from `labkit.metrics.evaluate`, plus LPIPS to real images (mean distance of generated to real images in
random pairs, lower = closer: the controlled-generation paper's LPIPS), pair-diversity (mean distance
between random pairs of samples, higher = more diverse), perceptual path length (lower = smoother) and,
optionally, SWD; beside them the verdicts of notebook 03 (diverged, converged, reason, smallest class
share). A generator whose samples cannot be evaluated (NaN) keeps its row, with the reason in `error`.

GAN-train and GAN-test ("How good is my GAN?") are measured for class-conditional generators only, as in
that paper: an unconditional generator has no labels of its own (see `UNCONDITIONAL_REASON`). An optional
real-images row (real training images as many as each generated set) gives both their reference values
under the same recipe, as the paper's tables start with real data.

Choices, all in the records' protocol:
- Samples are the generator's own distribution: unconditional ones are labelled by the evaluation
  classifier's argmax but not class-balanced (balancing by rejection would hide mode dropping);
  conditional ones get balanced labels. Repeat r uses seed `seed + r`.
- The perceptual distance is the `EvalSpace`'s: the offline `lpips-classifier` (the evaluation classifier's
  normalised activations), or "vgg"/"alex" with their local backbone weights. Records name it.
- CMMD uses CLIP when its weights load; otherwise (`EvalSpace.resolve(cmmd_fallback=True)`) the evaluation
  classifier's features, and the metric is then called `cmmd_classifier` so it is never mistaken for the
  CLIP number.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch.nn as nn

from ..core.record import MetricRecord, tagged
from ..data.dataset import ImageDataset
from ..metrics.evaluate import EvalSettings, EvalSpace, Source, evaluate
from ..metrics.ppl import PPLProtocol, perceptual_path_length
from ..models.sampling import is_conditional

CLASS_METRICS = ("gan_train", "gan_test")  # the classifier-based pair: conditional generators and real images only
GAN_METRICS = ("is", "fid", "lpips_to_real", "lpips_diversity", "prd", "prdc", "cmmd", *CLASS_METRICS)  # + "swd", "kid"
REAL_ROW = "real images"
UNCONDITIONAL_REASON = ("an unconditional generator has no labels of its own: GAN-test against C1's labels of its "
                        "samples is about 1 by construction, and GAN-train on them measures C1's labelling as much as "
                        "the generator, so neither is measured for it (Shmelkov et al. compare class-conditional GANs)")
VERDICT_METRICS = ("diverged", "converged", "min_class_share")  # notebook 03's verdicts shown beside the metrics


def gan_table(generators: Mapping[str, nn.Module], reference: ImageDataset, space: EvalSpace,
              settings: EvalSettings = EvalSettings(), *, metrics: tuple[str, ...] = GAN_METRICS,
              ppl: PPLProtocol | None = PPLProtocol(), verdicts: Mapping[str, Mapping[str, Any]] | None = None,
              real: Source | None = None) -> list[MetricRecord]:
    """Records of every generator: the suite `metrics` over `settings.repeats` generated sets (`CLASS_METRICS`
    for conditional generators only), PPL (once per generator, ± over paths; None leaves it out) and notebook
    03's verdicts, tagged `experiment="gan_table"`.

    Args:
        generators: name -> generator (the protocol of `labkit.models.sampling`); names match `verdicts`' keys.
        reference: the real test set. space: the networks, its `distance` measuring LPIPS and PPL.
        verdicts: variant -> notebook 03 verdict (`labkit.train.convergence.load_verdicts`).
        real: real training images with their true labels (a dataset or a function seed -> dataset), evaluated
            first as the row `REAL_ROW` with every metric; None: no such row.
    """
    records: list[MetricRecord] = []
    if real is not None:
        records += evaluate({REAL_ROW: real}, reference, space, settings, metrics)
    for name, model in generators.items():
        asked = metrics if is_conditional(model) else tuple(m for m in metrics if m not in CLASS_METRICS)
        recs = evaluate({name: model}, reference, space, settings, asked)
        if ppl is not None and space.distance is not None and not any(r.metric == "error" for r in recs):
            r = perceptual_path_length(model, space.distance, **ppl.kwargs(), seed=settings.seed)
            recs.append(MetricRecord("ppl", r.value, r.std, (r.value,), {"model": name, **r.protocol(),
                                                                         "std_over": "paths"}))
        recs += _verdict_records(name, (verdicts or {}).get(name, {}))
        records += recs
    return tagged(records, "gan_table")


def _verdict_records(name: str, v: Mapping[str, Any]) -> list[MetricRecord]:
    """Notebook 03's verdict numbers, so the GAN table can be rebuilt from records alone."""
    protocol = {"model": name, "source": "03_train_gan", "reason": v.get("reason", "")}
    return [MetricRecord(m, float(v[m]), protocol=protocol) for m in VERDICT_METRICS if v.get(m) is not None]
