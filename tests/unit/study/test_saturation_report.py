"""Notebook 05's records as the report shows them: three curves, numeric effective sizes with bands, findings."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labkit.core import runs
from labkit.experiments.saturation import effective_size, saturation_records
from labkit.study.findings import findings_table
from labkit.study.paper_tables import saturation_table
from labkit.study.report import write_report

REAL = {1: 0.40, 10: 0.60, 100: 0.70, 1000: 0.80, 3000: 0.85}  # still rising at 3000 per class


def _points(curves: dict[str, dict[int, float]], seeds=(0, 1), spread=0.01) -> pd.DataFrame:
    rows = [{"curve": c, "n_per_class": n, "seed": s, "accuracy": a + spread * (2 * j - 1), "epochs": 4 + j,
             "stopped_early": True}
            for c, acc in curves.items() for n, a in acc.items() for j, s in enumerate(seeds)]
    return pd.DataFrame(rows)


def _study(root, vae: dict, gan: dict, left_out: dict | None = None):
    points = _points({"real": REAL, "VAE (plain)": vae, "GAN (acgan)": gan})
    estimates = [effective_size(points, c) for c in ("VAE (plain)", "GAN (acgan)")]
    run = runs.run_dir(root / "05_diversity_saturation")
    runs.record_all(run, saturation_records(points, estimates, left_out), seeds=2, max_epochs=20, patience=2,
                    labels="soft")
    (run / "status.json").write_text(json.dumps({"state": "succeeded", "wall_s": 1.0,
                                                 "parameters": {"run_dir": str(run)}}))
    return runs.load_records(root), estimates


def test_effective_sizes_are_numbers_with_bands_and_bounds(tmp_path):
    records, (vae, gan) = _study(tmp_path, vae={10: 0.6, 100: 0.7, 1000: 0.7}, gan={10: 0.3, 100: 0.32, 1000: 0.31})
    assert vae.status == "ok" and vae.n_effective == pytest.approx(100)
    assert vae.text.startswith("100 [") and vae.low < 100 < vae.high  # the band from the seed spread (± 0.01)
    assert gan.status == "below_real_range" and gan.text == "< 1"  # below the whole real range, said numerically
    table = saturation_table(records).table.set_index("curve")
    assert table.loc["VAE (plain)", "effective size /class"] == vae.text
    assert table.loc["GAN (acgan)", "effective size /class"] == "< 1 (below_real_range)"
    note = saturation_table(records).note
    assert "0.4 at 1, 0.6 at 10" in note and "0.85 at 3000" in note  # the real curve, the reference
    assert "max epochs 20" in table.loc["VAE (plain)", "protocol"]
    epochs = records[records["metric"] == "saturation_epochs"]
    assert len(epochs) == 5 + 3 + 3 and (epochs["value"] == 4.5).all()  # per curve and size, mean over seeds


def test_a_single_seed_takes_its_band_from_the_real_curve():
    points = pd.concat([_points({"real": REAL}), _points({"gen": {100: 0.7, 1000: 0.7}}, seeds=(0,), spread=0)])
    e = effective_size(points, "gen")
    assert np.isnan(e.plateau_std) and e.band_from == "real" and e.band == pytest.approx(0.01 * 2 ** 0.5)
    assert e.low < e.n_effective < e.high


def test_above_the_real_range_is_a_lower_bound():
    points = _points({"real": REAL, "gen": {100: 0.9, 1000: 0.9}})
    assert effective_size(points, "gen").text == "> 3000"


def test_findings_rows_for_the_saturation_claims(tmp_path):
    records, _ = _study(tmp_path, vae={10: 0.6, 100: 0.7, 1000: 0.7}, gan={10: 0.3, 100: 0.32, 1000: 0.31})
    rows = findings_table(records).table.set_index("claim")
    vae = rows.loc[[c for c in rows.index if c.startswith("VAE-train of model 2")][0]]
    # saturated by 100 per class, far below the paper's 7000: the claim does not hold for this model
    assert vae["verdict"] == "does not hold" and "saturates by 100/class" in vae["we measured"]
    assert "real images at 1000/class: 0.8" in vae["we measured"]
    worth = rows.loc[[c for c in rows.index if c.startswith("Generated images are worth fewer")][0]]
    assert worth["verdict"] == "holds" and "GAN (acgan): < 1" in worth["we measured"]
    # a VAE curve that still rises at its largest size does not saturate
    records, _ = _study(tmp_path / "rising", vae={10: 0.5, 100: 0.6, 1000: 0.75}, gan={10: 0.3, 100: 0.3, 1000: 0.3})
    rows = findings_table(records).table.set_index("claim")
    vae = rows.loc[[c for c in rows.index if c.startswith("VAE-train of model 2")][0]]
    assert vae["verdict"].startswith("not comparable: still rising") and "still rises at 1000/class" in vae["we measured"]


def test_a_left_out_generator_keeps_its_row_in_the_report(tmp_path):
    reason = "after 2000 samples, classes got {'Sandal': 40} of the 40 asked per class; the generator rarely ..."
    _study(tmp_path, vae={10: 0.6, 100: 0.7, 1000: 0.7}, gan={10: 0.3, 100: 0.32, 1000: 0.31},
           left_out={"GAN (other)": reason})
    records = runs.load_records(tmp_path)
    table = saturation_table(records).table.set_index("curve")
    assert table.loc["GAN (other)", "effective size /class"].startswith("left out: after 2000 samples")
    _, md = write_report(tmp_path)
    section = md.read_text().split("## Diversity saturation")[1].split("\n## ")[0]
    for shown in ("VAE (plain)", "GAN (acgan)", "GAN (other)", "< 1", "Real curve"):
        assert shown in section
