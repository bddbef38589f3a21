"""The report's seed-003 sections (KL during training, MSE against SSIM) from records of notebook 02's kind."""
from __future__ import annotations

import json

import torch

from labkit.core import runs
from labkit.experiments.mse_vs_ssim import equal_mse_distortions, equal_mse_records
from labkit.study.report import write_report
from labkit.study.vae_tables import kl_trend_table, mse_ssim_table, vae_tables
from labkit.train.kl_trend import kl_trend_records


def _trend(first, lowest, last, rises):
    return {"rises": rises, "rise": last / lowest - 1, "first": first, "lowest": lowest, "last": last,
            "lowest_step": 40, "windows": 10, "margin": 0.05}


def _study(root):
    images = torch.rand(4, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    for variant, trend in (("plain", _trend(10.0, 10.0, 12.5, True)), ("conditional", _trend(9.0, 6.0, 6.0, False))):
        run = runs.run_dir(root / f"02_train_vae-{variant}")
        runs.record_all(run, kl_trend_records(trend) + equal_mse_records(equal_mse_distortions(images, 0.003)),
                        variant=variant, dataset="synthetic")
        (run / "losses.png").write_bytes(b"")
        (run / "mse_vs_ssim.png").write_bytes(b"")
        (run / "status.json").write_text(json.dumps({"state": "succeeded", "wall_s": 1.0,
                                                     "parameters": {"run_dir": str(run)}}))
    return runs.load_records(root)


def test_kl_table_has_a_row_and_flag_per_vae(tmp_path):
    t = kl_trend_table(_study(tmp_path))
    rows = t.table.set_index("variant")
    assert rows.loc["plain", "KL rose"] == "yes" and rows.loc["conditional", "KL rose"] == "no"
    assert rows.loc["plain", "rise"] == "+25.0%" and rows.loc["conditional", "KL lowest"] == "6"
    assert set(t.figures) == {"02_train_vae-plain/losses.png", "02_train_vae-conditional/losses.png"}


def test_mse_ssim_table_shows_one_run_with_equal_mse(tmp_path):
    t = mse_ssim_table(_study(tmp_path))
    assert list(t.table["distortion"]) == ["mean shift", "contrast stretch", "gaussian noise", "blur"]
    assert all(cell.startswith("0.003") for cell in t.table["MSE"])
    assert all(cell and cell != s for cell, s in zip(t.table["SSIM (Gaussian)"], t.table["SSIM"]))
    assert t.figures == ("02_train_vae-plain/mse_vs_ssim.png",) and "02_train_vae-plain" in t.note


def test_no_records_no_sections_and_the_report_shows_each_figure_once(tmp_path):
    import pandas as pd
    assert vae_tables(pd.DataFrame()) == []
    _study(tmp_path)
    html = write_report(tmp_path)[0].read_text()
    section = html[html.index(">MSE against SSIM as similarity (seed 003)</h2>"):]
    section = section[:section.index("<h2")]
    assert "02_train_vae-plain/mse_vs_ssim.png" in section and "conditional/mse_vs_ssim.png" not in section
    assert html.count('src="02_train_vae-plain/mse_vs_ssim.png"') == 1
    assert ">KL term during training (seed 003)</h2>" in html


def test_findings_read_the_plain_vaes_kl_and_the_ssim_gap_at_equal_mse(tmp_path):
    from labkit.study.findings import findings_table
    from labkit.study.vae_tables import KL_SECTION, MSE_SECTION, findings

    rows = {claim: (measured, verdict, see) for _, claim, measured, verdict, see in findings(_study(tmp_path))}
    kl = rows["The KL term rises during training (plain VAE)"]
    assert kl[1] == "holds" and "plain +25%" in kl[0] and "conditional +0%" in kl[0] and kl[2] == KL_SECTION
    (measured, verdict, see), = [v for c, v in rows.items() if c.startswith("Equal MSE")]
    assert see == MSE_SECTION and verdict in ("holds", "does not hold (within the images' spread)")
    table = findings_table(_study(tmp_path / "again")).table
    assert set(table["paper"]) == {"Paunović (VAE image generation)"} and len(table) == 2


def test_kl_finding_does_not_hold_when_the_plain_vaes_kl_fell(tmp_path):
    from labkit.study.vae_tables import findings

    records = _study(tmp_path)
    records.loc[(records["metric"] == "kl_rise") & (records["variant"] == "plain"), "rises"] = False
    (kl,) = [r for r in findings(records) if r[1].startswith("The KL term")]
    assert kl[3] == "does not hold"


def test_no_seed_003_records_no_findings():
    import pandas as pd

    from labkit.study.vae_tables import findings

    assert findings(pd.DataFrame()) == []
