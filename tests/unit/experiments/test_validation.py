"""Validation experiments on 8×8 digits: degradations, class subsets, truncation, augmentation, memorisation."""
import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.spatial.distance import cdist

from labkit.core import runs
from labkit.core.record import records_table
from labkit.experiments import records as validation_records
from labkit.experiments.memorisation import memorisation_check, nearest_neighbours, plot_nn_distances, plot_nn_pairs
from labkit.experiments.saturation import SaturationSettings
from labkit.experiments.validation import (
    augmentation,
    class_subset_experiment,
    degradation_models,
    degradation_study,
    plot_class_subset,
    plot_degradation_heatmap,
    relative_change,
    take_classes,
    truncation_sweep,
)
from labkit.metrics import EvalSettings, EvalSpace, MetricRecord
from labkit.models.gan import GANConfig, Generator
from labkit.models.vae import VAE, VAEConfig
from labkit.train.classifier import ClassifierTraining
from tests.helpers import TINY_CLASSIFIER

FAST = SaturationSettings(steps=40, batch_size=64, cfg=TINY_CLASSIFIER)
FAST_EVAL = EvalSettings(repeats=1, prd_runs=1, gan_train=ClassifierTraining(steps=40, batch_size=64),
                         gan_train_widths=TINY_CLASSIFIER.widths)


def test_degradation_models_are_seeded_and_sized(digits_train):
    models = degradation_models(digits_train, [("subsample", 10), ("salt_pepper", 0.2)], n_per_class=50)
    assert list(models) == ["clean", "subsample 10/class", "salt_pepper 20%"]
    assert len(models["subsample 10/class"](0)) == 100 and len(models["salt_pepper 20%"](0)) == 500
    assert torch.equal(models["salt_pepper 20%"](1).images, models["salt_pepper 20%"](1).images)
    assert not torch.equal(models["salt_pepper 20%"](1).images, models["clean"](1).images)


def test_degradation_study_salt_and_pepper_hurts_gan_test(digits_train, digits_test, digits_classifier):
    records = degradation_study(digits_train, digits_test, EvalSpace.resolve(digits_classifier, device="cpu"),
                                FAST_EVAL, specs=[("subsample", 10), ("salt_pepper", 0.2)], n_per_class=100,
                                metrics=("fid", "prdc", "gan_train", "gan_test"))
    table = records_table(records)
    gan_train = [r for r in records if r.metric == "gan_train"]
    assert gan_train and all(r.protocol["steps"] == 40 and r.protocol["widths"] == [8, 16] for r in gan_train)
    assert list(table.index) == ["clean", "subsample 10/class", "salt_pepper 20%"]
    assert table.loc["clean", "gan_test"] > 0.9  # the real-trained classifier on clean training images
    assert table.loc["salt_pepper 20%", "gan_test"] < table.loc["clean", "gan_test"] - 0.2
    assert table.loc["salt_pepper 20%", "fid"] > table.loc["clean", "fid"]
    rel = relative_change(table, ["fid", "gan_test", "gan_train"])
    assert rel.loc["salt_pepper 20%", "fid"] == -1.0  # the largest FID increase, oriented as "worse"
    assert (rel.abs() <= 1).all().all()
    assert len(plot_degradation_heatmap(records, ["fid", "gan_test", "gan_train"]).axes) == 2  # the map and its bar


def test_take_classes_draws_equal_shares(digits_train):
    ds = take_classes(digits_train, range(3), 100, seed=0)
    assert len(ds) == 100 and sorted(np.bincount(ds.labels.numpy()).tolist()) == [33, 33, 34]
    with pytest.raises(ValueError, match="asked for"):
        take_classes(digits_train, [0], 1000)


def test_class_subset_recall_rises_to_five_and_precision_falls_after(digits_train, digits_test, digits_classifier):
    records, curves = class_subset_experiment(digits_test, digits_train, digits_classifier, n=140, num_clusters=10,
                                              prd_runs=2, device="cpu")
    table = records_table(records, row="i")
    assert list(table.index) == list(range(1, 11)) and set(curves) == set(range(1, 11))
    assert table.loc[1, "recall"] < table.loc[3, "recall"] < table.loc[5, "recall"]
    assert table.loc[10, "precision"] < table.loc[5, "precision"] - 0.2
    assert table.loc[1, "prd_f8"] < table.loc[5, "prd_f8"] and table.loc[10, "prd_f1_8"] < table.loc[5, "prd_f1_8"]
    assert table.loc[10, "is"] > table.loc[2, "is"]  # IS keeps rising with the number of classes
    assert table["fid"].idxmin() in (4, 5, 6)
    assert len(plot_class_subset(records, curves).axes) == 4  # three panels and IS's twin axis


def tiny_vae(num_classes=0):
    torch.manual_seed(0)
    return VAE(VAEConfig(channels=1, image_size=8, latent_dim=2, widths=(8,), encoder_dense=(16,),
                         decoder_dense=(16,), num_classes=num_classes)).eval()


def test_vae_and_gan_sample_with_a_latent_scale():
    """Truncation is part of the generator protocol: z ~ s · N(0, I) for every family."""
    vae = tiny_vae()
    zero = vae.sample(4, generator=torch.Generator().manual_seed(0), truncation=0.0)
    assert torch.allclose(zero, zero[:1].expand_as(zero))  # z = 0 for every image
    one = vae.sample(4, generator=torch.Generator().manual_seed(0), truncation=1.0)
    assert torch.allclose(one, vae.sample(4, generator=torch.Generator().manual_seed(0)), atol=1e-6)
    gan = Generator(GANConfig(image_size=8, latent_dim=4, g_width=8, d_width=8)).eval()
    zero = gan.sample(3, generator=torch.Generator().manual_seed(0), truncation=0.0)
    assert torch.allclose(zero, zero[:1].expand_as(zero))


def test_truncation_sweep_one_row_per_scale(digits_test, digits_classifier):
    records = truncation_sweep(tiny_vae(num_classes=10), digits_test, EvalSpace.resolve(digits_classifier, device="cpu"),
                               FAST_EVAL, scales=(0.25, 1.0), n_per_class=8, metrics=("fid", "prdc", "gan_train",
                                                                                      "gan_test"))
    table = records_table(records, row="truncation")
    assert table.index.tolist() == [0.25, 1.0]
    assert np.isfinite(table[["fid", "precision", "recall", "gan_train", "gan_test"]].to_numpy()).all()
    assert {r.protocol["n_fake"] for r in records if r.protocol["truncation"] == 0.25} == {80}


def test_augmentation_rows(digits_train, digits_test):
    gen = digits_train.subset(range(0, len(digits_train), 3))  # stand-in generated set
    df = augmentation(digits_train, digits_test, gen, real_sizes=(5,), n_generated_per_class=20, seeds=2,
                      settings=FAST)
    assert sorted(df["training_set"].unique()) == ["generated 20/class", "real 5/class",
                                                   "real 5/class + generated 20/class"]
    assert len(df) == 6 and df["accuracy"].between(0, 1).all()


def test_nearest_neighbours_match_brute_force():
    rng = np.random.default_rng(0)
    q, r = rng.normal(size=(50, 6)), rng.normal(size=(70, 6))
    d, i = nearest_neighbours(q, r, block=16)
    full = cdist(q, r)
    assert np.array_equal(i, full.argmin(1)) and np.allclose(d, full.min(1), atol=1e-4)


def test_memorisation_check_flags_copies_not_fresh_images(digits_train, digits_test, digits_classifier):
    copies = digits_train.subset(range(0, 200))
    rep = memorisation_check(copies, digits_train, digits_test, digits_classifier, device="cpu")
    assert rep.share_close == 1.0 and rep.median_ratio < 0.01
    assert np.array_equal(digits_train.images[rep.generated_neighbours], copies.images)
    fresh = memorisation_check(digits_test, digits_train, digits_test, digits_classifier, device="cpu")
    assert fresh.median_ratio == pytest.approx(1.0) and fresh.share_close < 0.05
    assert plot_nn_pairs(copies, digits_train, rep, n=5).axes and plot_nn_distances(rep).axes
    assert set(rep.summary()) >= {"nn_share_close", "nn_median_ratio"}


def test_records_carry_each_experiment_key_and_the_protocol(tmp_path, digits_train, digits_test, digits_classifier):
    degraded = [MetricRecord("fid", 1.0, 0.2, protocol={"model": "clean"}),
                MetricRecord("fid", 2.0, 0.1, protocol={"model": "blur σ=1"}),
                MetricRecord("gan_test", 0.9, protocol={"model": "clean"})]
    subsets = [MetricRecord(m, v, protocol={"i": i}) for i, v in ((1, 0.5), (2, 0.6))
               for m in ("is", "fid", "prd_f8", "prd_f1_8", "precision", "recall", "density", "coverage")]
    trunc = [MetricRecord("fid", 3.0, protocol={"truncation": 0.5}), MetricRecord("fid", 4.0, protocol={"truncation": 1.0}),
             MetricRecord("gan_train", 0.7, protocol={"truncation": 0.5})]
    augmented = pd.DataFrame({"training_set": ["a", "a", "b"], "accuracy": [0.5, 0.7, 0.9]})
    memo = memorisation_check(digits_test.subset(range(30)), digits_train.subset(range(100)),
                              digits_test.subset(range(30, 60)), digits_classifier, device="cpu")
    found = [*validation_records.prefixed(degraded, "degradation", n_per_class=5),
             *validation_records.prefixed(subsets, "class_subset", n=40),
             *validation_records.prefixed(trunc, "truncation", generator="g.pt"),
             *validation_records.augmentation_records(augmented, seeds=2),
             *validation_records.memorisation_records(memo, n_generated=30)]
    assert runs.record_all(tmp_path, found, dataset="digits", seed=0) == len(found)
    (tmp_path / "class_subset.png").write_bytes(b"png")
    validation_records.record_figures(tmp_path)
    doc = json.loads((tmp_path / "metrics.json").read_text())
    recs = {(r["metric"], r.get("model", r.get("i", r.get("truncation", r.get("training_set"))))): r
            for r in doc["records"]}
    assert all(r["dataset"] == "digits" and r["seed"] == 0 for r in doc["records"])
    assert {k for k in recs if k[0].startswith("degradation_")} == {
        ("degradation_gan_test", "clean"), ("degradation_fid", "clean"), ("degradation_fid", "blur σ=1")}
    assert recs[("degradation_fid", "blur σ=1")]["std"] == 0.1
    assert recs[("degradation_fid", "clean")]["n_per_class"] == 5
    assert recs[("degradation_fid", "clean")]["experiment"] == "degradation"
    assert len([k for k in recs if k[0].startswith("class_subset_")]) == 16 and recs[("class_subset_is", 2)]["n"] == 40
    assert set(k for k in recs if k[0].startswith("truncation_")) == {
        ("truncation_fid", 0.5), ("truncation_fid", 1.0), ("truncation_gan_train", 0.5)}
    assert recs[("augmentation_accuracy", "a")]["value"] == pytest.approx(0.6)
    assert recs[("augmentation_accuracy", "a")]["seeds"] == 2 and np.isnan(recs[("augmentation_accuracy", "b")]["std"])
    assert recs[("nn_median_ratio", None)]["n_generated"] == 30
    assert {r["experiment"] for r in doc["records"]} == {"degradation", "class_subset", "truncation", "augmentation",
                                                         "memorisation"}
    assert set(doc["artifacts"]) == {"class_subset"}
