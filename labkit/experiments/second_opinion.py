"""The random-forest second opinion of "How good is my GAN?": GAN-train measured again with a classifier of another
kind (a random forest on pixels), and whether it ranks the generated sets as the CNN's GAN-train does.

The paper's point: GAN-train judges the generated set, not one classifier's quirks, so a different learner must
order the models the same way. Agreement is the Spearman rank correlation of the two GAN-train columns.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..core.record import MetricRecord, tagged
from ..data.dataset import ImageDataset
from ..metrics.classifier import gan_train_sklearn

AGREE = 0.8  # rank correlation from which the two rankings count as agreeing (the paper gives no number)


def rank_correlation(a, b) -> float:
    """Spearman's ρ of two equally long sequences (average ranks for ties); NaN when either is constant."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"need two 1-D sequences of equal length >= 2; got shapes {a.shape} and {b.shape}")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def forest_ranking(sets: Mapping[str, ImageDataset], test: ImageDataset, cnn: Mapping[str, float], *,
                   seed: int = 0) -> list[MetricRecord]:
    """GAN-train of a 100-tree random forest on each set's pixels (`gan_train_forest`, the `model` field), the CNN's
    GAN-train beside it (`gan_train_cnn`), and their rank correlation over the sets (`forest_rank_agreement`), all
    tagged `experiment="second_opinion"`.

    Args:
        sets: name -> labelled training set (a generated or degraded set; hard labels are used).
        test: the real test set both classifiers are scored on.
        cnn: name -> the CNN's GAN-train of the same set (e.g. from `validation.degradation_study`).
    """
    missing = sorted(set(sets) - set(cnn))
    if missing or len(sets) < 2:
        raise ValueError(f"need the CNN's GAN-train of at least two sets, every one of `sets`; missing {missing}")
    records = []
    for name, ds in sets.items():
        forest = gan_train_sklearn(ds, test, kind="forest", seed=seed)
        records += [MetricRecord("gan_train_forest", forest.value, protocol={**forest.protocol, "model": name}),
                    MetricRecord("gan_train_cnn", float(cnn[name]), protocol={"model": name, "n_real": len(test)})]
    names = list(sets)
    forest_values = [r.value for r in records if r.metric == "gan_train_forest"]
    rho = rank_correlation([cnn[n] for n in names], forest_values)
    records.append(MetricRecord("forest_rank_agreement", rho, protocol={
        "n_models": len(names), "statistic": "Spearman rho", "agree_from": AGREE,
        "same_best": names[int(np.argmax(forest_values))] == max(names, key=lambda n: cnn[n]),
        "same_worst": names[int(np.argmin(forest_values))] == min(names, key=lambda n: cnn[n])}))
    return tagged(records, "second_opinion")
