"""The KL-rise flag of VAE training logs, the records it makes, and notebook 02's preset overrides."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labkit.train.kl_trend import kl_trend, kl_trend_records, kl_trend_text
from labkit.train.loop import FitResult
from labkit.train.vae import preset_overrides, vae_records, variant_config


def _log(kl) -> pd.DataFrame:
    return pd.DataFrame({"step": np.arange(1, len(kl) + 1) * 10, "kl": kl})


def test_window_means_and_rise_by_hand():
    kl = [5.0] * 10 + [1.0] * 10 + [2.0] * 10 + [3.0] * 10 + [4.0] * 10  # 5 windows of 10 steps
    t = kl_trend(_log(kl), windows=5)
    assert (t["first"], t["lowest"], t["last"], t["windows"]) == (5.0, 1.0, 4.0, 5)
    assert t["lowest_step"] == 200  # the last step of the second window
    assert math.isclose(t["rise"], 3.0) and t["rises"]


def test_falling_flat_and_within_margin_do_not_rise():
    assert not kl_trend(_log(np.linspace(10, 1, 100)))["rises"]
    flat = kl_trend(_log([2.0] * 50))
    assert flat["rise"] == 0 and not flat["rises"]
    dip = [1.0] * 50 + [1.04] * 50  # 4 % above the lowest window: inside the 5 % margin
    assert not kl_trend(_log(dip))["rises"] and kl_trend(_log(dip), margin=0.03)["rises"]


def test_one_noisy_step_is_averaged_away_but_a_steady_rise_is_not():
    rng = np.random.default_rng(0)
    kl = 3 + 0.01 * rng.standard_normal(200)
    kl[150] = 30.0  # a single bad batch inside the ninth window
    assert not kl_trend(_log(kl))["rises"]
    assert kl_trend(_log(np.linspace(1, 10, 200)))["rises"]


def test_fewer_steps_than_windows_and_row_order():
    t = kl_trend(_log([3.0, 1.0, 2.0]))
    assert t["windows"] == 3 and t["lowest"] == 1.0 and math.isclose(t["rise"], 1.0)
    assert kl_trend(_log([1.0, 2.0, 3.0]))["rises"]
    assert not kl_trend(_log([3.0, 2.0, 1.0]))["rises"]  # the same values in the reverse order: a fall
    assert kl_trend(_log([7.0]))["rise"] == 0


def test_bad_logs_are_refused():
    with pytest.raises(ValueError, match="no 'kl'"):
        kl_trend(pd.DataFrame({"step": [1], "loss": [1.0]}))
    with pytest.raises(ValueError, match="no 'kl'"):
        kl_trend(_log([]))
    with pytest.raises(ValueError, match="NaN"):
        kl_trend(_log([1.0, float("nan")]))
    with pytest.raises(ValueError, match="windows"):
        kl_trend(_log([1.0]), windows=0)


def test_records_and_text_carry_the_flag():
    t = kl_trend(_log([2.0] * 10 + [1.0] * 10 + [3.0] * 10), windows=3)
    (r,) = kl_trend_records(t)
    assert r.metric == "kl_rise" and math.isclose(r.value, 2.0)
    assert r.protocol["rises"] is True and r.protocol["experiment"] == "kl_trend" and r.protocol["lowest"] == 1.0
    assert "ROSE" in kl_trend_text(t) and "did not rise" in kl_trend_text(kl_trend(_log([3.0, 2.0, 1.0])))


def test_vae_records_hold_the_kl_flag_only_with_a_log():
    steps = pd.DataFrame({"step": [1, 2, 3, 4], "loss": [5.0] * 4, "reconstruction": [4.0] * 4, "kl": [1.0, 0.5, 0.8, 1.2]})
    quality = {"mse": 0.1, "mse_std": 0.01, "ssim": 0.5, "ssim_std": 0.1, "n": 10}
    with_log = vae_records(FitResult(steps.iloc[-1:], steps, None, None), quality, 1.0)
    assert [r for r in with_log if r.metric == "kl_rise"][0].protocol["rises"] is True
    without = vae_records(FitResult(steps.iloc[-1:], steps.iloc[0:0], None, None), quality, 1.0)
    assert not [r for r in without if r.metric == "kl_rise"]


def test_preset_overrides_keep_the_presets_sizes_unless_set():
    assert preset_overrides() == {} and preset_overrides(latent_dim=0, image_size=32) == {"image_size": 32}
    assert variant_config("plain", preset="celeba-paper", **preset_overrides(latent_dim=0)).latent_dim == 128
    assert variant_config("plain", preset="celeba-paper", **preset_overrides(latent_dim=8)).latent_dim == 8
    cfg = variant_config("plain", preset="fashion", **preset_overrides(image_size=32))
    assert (cfg.image_size, cfg.latent_dim) == (32, 16)
    with pytest.raises(ValueError, match="latent_dim"):
        preset_overrides(latent_dim=-1)
    with pytest.raises(ValueError, match="image_size"):
        preset_overrides(image_size=2.5)


def test_loss_figure_draws_both_terms_and_marks_the_lowest_kl_window():
    from labkit.train.kl_trend import loss_figure

    steps = pd.DataFrame({"step": range(20), "reconstruction": np.linspace(50, 30, 20),
                          "kl": np.r_[np.linspace(8, 4, 10), np.linspace(4, 9, 10)]})
    trend = kl_trend(steps)
    fig = loss_figure(steps, trend)
    left, right = fig.axes
    assert "reconstruction" in left.get_title() and "KL" in right.get_title()
    assert [line.get_ydata()[0] for line in right.lines if line.get_linestyle() == ":"] == [trend["lowest"]]
