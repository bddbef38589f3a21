"""Notebook 02 on a CelebA-style folder (faces with an attribute table) with the celeba-paper preset, headless."""
from __future__ import annotations

import pytest

from labkit.core import runs
from labkit.latent.attribute_set import load_directions
from labkit.study.runner import execute_job
from tests.unit.data.test_attribute_table import NAMES, make_celeba_folder

pytestmark = pytest.mark.notebooks


def test_celeba_preset_keeps_its_latent_size_and_the_run_saves_attribute_directions(tmp_path):
    make_celeba_folder(tmp_path / "faces", n=100, partition=False)
    run = tmp_path / "run"
    params = {"SMOKE": True, "dataset": f"folder:{tmp_path / 'faces'}", "preset": "celeba-paper",
              "run_dir": str(run)}
    status = execute_job(str(run), "02_train_vae", params, fingerprint="test", preset="smoke", cell_timeout=300)
    assert status["state"] == "succeeded", status.get("error")
    records = runs.load_records(run)
    kl = records[records["metric"] == "final_kl"].iloc[-1]
    assert (kl["latent_dim"], kl["image_size"]) == (128, 64)  # the preset's, not a notebook default
    assert (records["metric"] == "kl_rise").any() and (records["metric"] == "ssim_gap").any()
    directions = load_directions(runs.artifacts(run)["attribute_directions"])
    assert list(directions) == list(NAMES) and all(d.shape == (128,) for d in directions.values())
    assert (run / "attribute_directions.png").is_file() and (run / "mse_vs_ssim.png").is_file()
    # the slider notebook offers them as one more direction set of that VAE
    clf_run = tmp_path / "classifier"
    status = execute_job(str(clf_run), "01_train_classifier", {"SMOKE": True, "dataset": params["dataset"], "image_size": 64,
                                                               "run_dir": str(clf_run)},
                         fingerprint="test", preset="smoke", cell_timeout=300)
    assert status["state"] == "succeeded", status.get("error")
    sliders = tmp_path / "sliders"
    params07 = {"dataset": params["dataset"], "run_dir": str(sliders), "vae": str(runs.artifacts(run)["vae"]),
                "vae_attributes": str(runs.artifacts(run)["attribute_directions"]),
                "classifier_path": str(runs.artifacts(clf_run)["classifier"]), "n_reference": 20, "n_samples": 40,
                "n_batch": 8, "n_directions": 2, "strengths": [-1, 0, 1]}
    status = execute_job(str(sliders), "07_latent_sliders", params07, fingerprint="test", preset="smoke",
                         cell_timeout=300)
    assert status["state"] == "succeeded", status.get("error")
    offered = (sliders / "07_latent_sliders.ipynb").read_text()
    assert "'attribute labels': 3" in offered  # the sets' sizes the notebook prints before the explorer
