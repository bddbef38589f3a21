"""Saturation curves: deterministic points on any executor, resumable, and the effective-size estimator."""
import concurrent.futures as cf
import multiprocessing

import numpy as np
import pandas as pd
import pytest
import torch

import labkit
from labkit.experiments.saturation import (
    SaturationSettings,
    effective_size,
    hold_out_all,
    invert_curve,
    monotone_fit,
    plot_saturation,
    read_records,
    saturation_curves,
    strip_timing,
    summarize,
)
from labkit.generate import generated_pools
from labkit.models.checkpoint import save_models
from labkit.models.vae import VAE, VAEConfig
from labkit.train.early_stopping import EarlyStopping
from tests.helpers import TINY_CLASSIFIER

TINY = SaturationSettings(steps=25, batch_size=64, lr=3e-3, cfg=TINY_CLASSIFIER)


@pytest.fixture(scope="module")
def pools(digits_train):
    # "half": a stand-in generated pool with less diversity (every other training image).
    return {"real": digits_train, "half": digits_train.subset(range(0, len(digits_train), 2))}


def test_points_serial_and_on_a_two_worker_process_pool_give_identical_records(pools, digits_test):
    serial = saturation_curves(pools, digits_test, [5, 30], seeds=2, settings=TINY, workers=1)
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        parallel = saturation_curves(pools, digits_test, [5, 30], seeds=2, settings=TINY, executor=pool)
    assert len(serial) == 8 and serial.attrs["computed"] == 8
    a = [strip_timing(r) for r in serial.to_dict("records")]
    b = [strip_timing(r) for r in parallel.to_dict("records")]
    assert a == b  # accuracies included, bit for bit
    assert serial["accuracy"].between(0, 1).all() and serial["accuracy"].nunique() > 1
    assert serial.loc[serial["n_per_class"] == 30, "n_train"].eq(300).all()


def test_finished_points_are_recorded_and_skipped_on_rerun(pools, digits_test, tmp_path):
    path = tmp_path / "saturation.jsonl"
    first = saturation_curves({"half": pools["half"]}, digits_test, [5], seeds=2, settings=TINY, path=path)
    assert first.attrs == {"computed": 2, "skipped": 0} and len(read_records(path)) == 2
    # a longer grid later (or a rerun after an interruption) computes only what is missing
    second = saturation_curves({"half": pools["half"]}, digits_test, [5, 10], seeds=2, settings=TINY, path=path)
    assert second.attrs == {"computed": 2, "skipped": 2} and len(read_records(path)) == 4
    assert second[second["n_per_class"] == 5]["accuracy"].tolist() == first["accuracy"].tolist()
    # a different protocol is a different point
    other = saturation_curves({"half": pools["half"]}, digits_test, [5], seeds=1,
                              settings=SaturationSettings(steps=10, batch_size=64, cfg=TINY_CLASSIFIER), path=path)
    assert other.attrs["computed"] == 1 and len(read_records(path)) == 5


def test_a_grid_beyond_the_pool_is_refused(pools, digits_test):
    with pytest.raises(ValueError, match="too large"):
        saturation_curves(pools, digits_test, [500], seeds=1, settings=TINY)


def records(real: dict, gen: dict, seeds=(0, 1, 2), spread=0.0) -> pd.DataFrame:
    """Synthetic records: accuracy per size for a real and a generated curve, ± spread across seeds."""
    rows = []
    for curve, acc in (("real", real), ("gen", gen)):
        for n, a in acc.items():
            for j, s in enumerate(seeds):
                rows.append({"curve": curve, "n_per_class": n, "seed": s, "accuracy": a + spread * (j - 1)})
    return pd.DataFrame(rows)


REAL = {100: 0.70, 1000: 0.80, 10000: 0.90}  # linear in log10 n: acc = 0.5 + 0.1 log10 n


def test_effective_size_inverts_the_real_curve_in_log_n():
    est = effective_size(records(REAL, {100: 0.6, 1000: 0.75, 3000: 0.75}), "gen")
    assert est.status == "ok" and est.plateau == pytest.approx(0.75)
    assert est.n_effective == pytest.approx(10 ** 2.5, rel=1e-6)  # 0.75 = 0.5 + 0.1 · 2.5
    assert est.saturation_n == 1000 and est.saturated


def test_effective_size_uncertainty_and_undefined_cases():
    est = effective_size(records(REAL, {100: 0.6, 1000: 0.75, 3000: 0.75}, spread=0.02), "gen")
    assert est.plateau_std == pytest.approx(0.02)
    assert est.low == pytest.approx(10 ** 2.3, rel=1e-6) and est.high == pytest.approx(10 ** 2.7, rel=1e-6)
    above = effective_size(records(REAL, {100: 0.9, 1000: 0.95}), "gen")
    assert above.status == "above_real_range" and np.isnan(above.n_effective) and above.high == np.inf
    below = effective_size(records(REAL, {100: 0.3, 1000: 0.4}), "gen")
    assert below.status == "below_real_range" and np.isnan(below.n_effective)
    rising = effective_size(records(REAL, {100: 0.6, 1000: 0.7, 3000: 0.78}), "gen", plateau_points=1)
    assert not rising.saturated and rising.saturation_n == 3000
    with pytest.raises(ValueError, match="both curves"):
        effective_size(records(REAL, {100: 0.6}), "other")


def test_monotone_fit_removes_seed_noise_dips():
    n = np.array([100, 300, 1000, 3000])
    fitted = monotone_fit(n, np.array([0.7, 0.8, 0.78, 0.85]))
    assert np.all(np.diff(fitted) >= 0) and fitted[1] == pytest.approx(0.79)
    assert invert_curve(n, fitted, 0.79) == pytest.approx(300)  # the smallest size of a flat stretch
    assert invert_curve(n, fitted, 0.9) == np.inf and np.isnan(invert_curve(n, fitted, 0.5))


def test_summary_and_plot(pools, digits_test):
    df = records(REAL, {100: 0.6, 1000: 0.75, 3000: 0.75}, spread=0.01)
    s = summarize(df)
    assert s.loc[(s.curve == "gen") & (s.n_per_class == 1000), "mean"].item() == pytest.approx(0.75)
    assert (s["count"] == 3).all()
    fig = plot_saturation(df, [effective_size(df, "gen")])
    assert fig.axes[0].get_xscale() == "log"


class OnlyZeros(torch.nn.Module):
    """An unconditional stand-in generator that replays the real images of class 0 only."""

    def __init__(self, ds):
        super().__init__()
        self.register_buffer("images", ds.float()[ds.labels == 0])  # (N, C, H, W)

    def sample(self, n, generator=None, labels=None, **kwargs):
        return self.images[torch.randint(len(self.images), (n,), generator=generator)]


def test_settings_for_data_take_the_geometry_of_the_images(digits_train):
    s = SaturationSettings.for_data(digits_train, steps=7, widths=[8, 16], device="cpu")
    assert (s.steps, s.batch_size, s.lr, s.device) == (7, 256, TINY.lr, "cpu")
    assert (s.cfg.channels, s.cfg.image_size, s.cfg.num_classes, s.cfg.widths) == (1, 8, 10, (8, 16))
    assert SaturationSettings.for_data(digits_train, steps=7).cfg.widths == labkit.ClassifierConfig().widths


def test_generated_pools_leave_out_a_model_that_misses_classes(tmp_path, digits_train, digits_classifier):
    torch.manual_seed(0)
    cfg = VAEConfig(channels=1, image_size=8, latent_dim=2, widths=(8,), encoder_dense=(16,), decoder_dense=(16,),
                    num_classes=10)
    save_models(tmp_path / "cond.pt", {"model": VAE(cfg)})
    pools, left_out = generated_pools({"cond": tmp_path / "cond.pt", "zeros": OnlyZeros(digits_train)}, 5,
                                      classifier=digits_classifier, class_names=digits_train.class_names)
    assert list(pools) == ["cond"] and len(pools["cond"]) == 50 and pools["cond"].name == "cond"
    assert list(left_out) == ["zeros"] and "0" in left_out["zeros"]


CONVERGED = SaturationSettings.like(TINY_CLASSIFIER, batch_size=64, lr=3e-3,
                                    stopping=EarlyStopping(max_epochs=6, patience=2, min_epoch_images=640))


def test_points_trained_to_convergence_record_their_epochs_and_keep_out_the_held_out_split(pools, digits_test, tmp_path):
    rest, held = hold_out_all(pools, 10, seed=0)
    df = saturation_curves(rest, digits_test, [5, 20], seeds=2, settings=CONVERGED, val=held, one_seed_from=20,
                           path=tmp_path / "s.jsonl")
    assert len(df) == 2 * (2 + 1)  # per curve: two seeds at 5, one at 20
    assert df["epochs"].between(3, 6).all() and (df["best_epoch"] <= df["epochs"]).all()
    early = df[df["stopped_early"]]  # patience ran out: two epochs after the best; else max_epochs ended it
    assert (early["epochs"] == early["best_epoch"] + 2).all() and (df[~df["stopped_early"]]["epochs"] == 6).all()
    assert (df["n_val"] == 100).all()
    assert "early_stopping" in df.columns and "steps" not in df.columns  # the protocol names what trained them
    assert (df.loc[df["n_per_class"] == 20, "accuracy"] > 0.6).all()  # trained, not stopped at chance
    again = saturation_curves(rest, digits_test, [5, 20], seeds=2, settings=CONVERGED, val=held, one_seed_from=20)
    assert [strip_timing(r) for r in df.to_dict("records")] == [strip_timing(r) for r in again.to_dict("records")]


def test_convergence_needs_a_held_out_split_that_is_not_the_test_set(pools, digits_test):
    with pytest.raises(ValueError, match="held-out split of every pool"):
        saturation_curves(pools, digits_test, [5], seeds=1, settings=CONVERGED)
    with pytest.raises(ValueError, match="is the test set"):
        saturation_curves({"real": pools["real"]}, digits_test, [5], seeds=1, settings=CONVERGED,
                          val={"real": digits_test})
    # subsets come from the rest of the pool only: no held-out image is ever trained on
    rest, held = hold_out_all({"real": pools["real"]}, 10, seed=0)
    assert not set(rest["real"].info.get("index", [])) and len(rest["real"]) + len(held["real"]) == len(pools["real"])
