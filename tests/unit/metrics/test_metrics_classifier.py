"""GAN-train / GAN-test, the scikit-learn second opinion and `evaluate` on 8×8 digits (seconds each)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn as nn

from labkit import ClassifierTraining, accuracy
from labkit.core.record import records_table
from labkit.metrics import ALL_METRICS, EvalSettings, EvalSpace, evaluate, gan_test, gan_train, gan_train_sklearn

FAST = ClassifierTraining(steps=120, batch_size=64, lr=3e-3)


def test_gan_train_of_real_images_is_high_and_of_shuffled_labels_is_chance(digits_train, digits_test):
    good = gan_train(digits_train, digits_test, settings=FAST, seed=0)
    shuffled = replace(digits_train, labels=digits_train.labels[torch.randperm(len(digits_train),
                                                                               generator=torch.Generator().manual_seed(0))])
    bad = gan_train(shuffled, digits_test, settings=FAST, seed=0)
    assert good.value > 0.8 and bad.value < 0.3
    assert good.protocol["steps"] == 120 and good.protocol["labels"] == "hard" and good.protocol["n_real"] == len(digits_test)


def test_gan_train_repeats_and_soft_labels(digits_train, digits_test):
    k = digits_train.num_classes
    soft = torch.full((len(digits_train), k), 0.02)
    soft[torch.arange(len(digits_train)), digits_train.labels] = 1 - 0.02 * (k - 1)
    ds = replace(digits_train, soft_labels=soft)
    rec = gan_train(ds, digits_test, settings=replace(FAST, steps=60), repeats=2, n_per_class=50, seed=1)
    assert rec.protocol["labels"] == "soft" and rec.protocol["repeats"] == 2 and rec.protocol["n_fake"] == 50 * k
    assert len(rec.values) == 2 and np.isfinite(rec.std) and 0.5 < rec.value <= 1


def test_gan_test_is_the_real_classifiers_accuracy(digits_classifier, digits_test):
    assert gan_test(digits_classifier, digits_test) == accuracy(digits_classifier, digits_test) > 0.85


def test_sklearn_second_opinion(digits_train, digits_test):
    rec = gan_train_sklearn(digits_train, digits_test, kind="logistic")
    assert rec.value > 0.85 and rec.metric == "gan_train_logistic"
    forest = gan_train_sklearn(digits_train.subset(range(400)), digits_test, kind="forest", seed=0)
    assert forest.value > 0.7
    with pytest.raises(ValueError, match="kind"):
        gan_train_sklearn(digits_train, digits_test, kind="svm")


class ReplayGenerator(nn.Module):
    """A stand-in generator that replays stored images: conditional (by label) or collapsed (one class)."""

    def __init__(self, ds, only_class: int | None = None):
        super().__init__()
        self.images, self.labels, self.only = ds.float(), ds.labels, only_class
        self.conditional = only_class is None

    def sample(self, n, generator=None, labels=None):
        if self.only is not None:
            labels = torch.full((n,), self.only)
        pools = [torch.nonzero(self.labels == c).flatten() for c in range(10)]
        idx = torch.stack([pools[c][torch.randint(len(pools[c]), (1,), generator=generator)][0] for c in labels.tolist()])
        return self.images[idx]


@pytest.mark.filterwarnings("ignore:generated set has no images of classes")
def test_evaluate_table_orders_a_collapsed_model_below_a_good_one(digits_train, digits_test, digits_classifier,
                                                                  tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_WEIGHTS", str(tmp_path))  # no CLIP weights: CMMD is skipped with a warning
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    models = {"replay": ReplayGenerator(digits_train), "collapsed": ReplayGenerator(digits_train, only_class=3),
              "real-train": digits_train.subset(range(250))}
    space = EvalSpace.resolve(digits_classifier, cmmd="clip")
    settings = EvalSettings(n_fake=300, repeats=2, n_small=200, kid_subset_size=100, kid_subsets=10, prd_runs=2,
                            gan_train=replace(FAST, steps=50))
    with pytest.warns(UserWarning, match="CMMD skipped"):
        records = evaluate(models, digits_test, space, settings)
    df = records_table(records)
    assert list(df.index) == ["replay", "collapsed", "real-train"]
    for col in ("lap", "lap_std", "is", "fid", "fid_std", "fid_200", "kid", "prd_f8", "prd_f1_8", "precision",
                "recall", "density", "coverage", "gan_train", "gan_test"):
        assert col in df.columns, col
    good, bad = df.loc["replay"], df.loc["collapsed"]
    assert bad.fid > 3 * good.fid and bad.kid > good.kid
    assert bad.recall < 0.3 < good.recall and bad.coverage < good.coverage
    assert bad.prd_f8 < good.prd_f8 and bad["is"] < good["is"]
    assert bad.gan_train < 0.3 < good.gan_train
    assert df.loc["real-train", "fid_std"] == 0  # a fixed set smaller than n_fake: deterministic metrics do not vary
    fid = {r.protocol["model"]: r.protocol for r in records if r.metric == "fid"}
    assert all(p["extractor"] == "classifier" for p in fid.values())
    assert [fid[m]["n_fake"] for m in models] == [300, 300, 250] and fid["replay"]["n_real"] == len(digits_test)
    assert {r.metric for r in records} >= {"fid", "kid", "precision", "gan_train"}
    assert all(r.protocol["repeats"] == 2 and r.protocol["n_real"] == len(digits_test) for r in records)


def test_evaluate_rejects_unknown_metrics(digits_test, digits_classifier):
    with pytest.raises(ValueError, match="unknown metrics"):
        evaluate(digits_test, digits_test, EvalSpace.resolve(digits_classifier), metrics=("fid", "nope"))
    assert "gan_train" in ALL_METRICS
