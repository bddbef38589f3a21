"""The report's findings section and notebook 06's check sections, from synthetic metrics.json records."""
from __future__ import annotations

import json

import pandas as pd

from labkit.core import runs
from labkit.study.findings import findings_table
from labkit.study.report import anchor, write_report
from labkit.study.validation_tables import validation_tables

EVAL = dict(extractor="classifier", n_real=1000, n_fake=1000, split="test", repeats=3, seed=0)
# Table 1 rows: (LAP, FID, VAE-train ± std) shaped as the VAE paper says: soft > hard, perceptual best, conditional worst
ROWS = {"1 VAE + hard labels": (0.04, 106.0, 0.78, 0.01), "2 VAE + soft labels": (0.042, 107.0, 0.82, 0.01),
        "3 conditional VAE": (0.037, 113.0, 0.66, 0.02), "4 VAE + soft labels + perceptual loss": (0.08, 95.0, 0.84, 0.01)}


def _status(job_dir):
    (job_dir / "status.json").write_text(json.dumps({"state": "succeeded", "wall_s": 1.0,
                                                     "parameters": {"run_dir": str(job_dir)}}))


def _study(root, soft_vae_train=0.82):
    run = runs.run_dir(root / "04_evaluate")
    for model, (lap, fid, acc, std) in ROWS.items():
        acc = soft_vae_train if model.startswith("2 ") else acc
        runs.record(run, "lap", lap, std=0.03, experiment="table1", model=model, **EVAL)
        runs.record(run, "fid", fid, std=0.5, experiment="table1", model=model, **EVAL)
        runs.record(run, "is", 4.0 if "perceptual" in model else 3.5, std=0.05, experiment="table1", model=model, **EVAL)
        runs.record(run, "gan_train", acc, std=std, experiment="table1", model=model, **EVAL)
    for variant, converged in (("wgan-clip", 0), ("wgan-sn", 1), ("wgan-gp", 1), ("wgan-sn-gp", 1), ("r3gan", 1)):
        runs.record(run, "converged", converged, experiment="gan_table", model=variant, source="03_train_gan")
        runs.record(run, "ppl", 1.0 if variant == "r3gan" else 2.0, experiment="gan_table", model=variant,
                    distance="lpips-classifier", **EVAL)
    _status(run)
    run = runs.run_dir(root / "06_validate_metrics")
    for model, fid, f8, f18 in (("precise, narrow", 600.0, 0.5, 0.95), ("broad, poor", 601.0, 0.75, 0.35)):
        for m, v in (("fid", fid), ("prd_f8", f8), ("prd_f1_8", f18), ("classes_found", 3.0)):
            runs.record(run, m, v, experiment="equal_fid", model=model, narrow_classes=3, extractor="classifier",
                        degradation="none" if "narrow" in model else "92% of images gaussian_noise 0.5")
    for model, cnn, forest in (("clean", 0.9, 0.8), ("subsample 30/class", 0.7, 0.6), ("blur σ=1", 0.8, 0.7)):
        runs.record(run, "gan_train_cnn", cnn, experiment="second_opinion", model=model)
        runs.record(run, "gan_train_forest", forest, experiment="second_opinion", model=model)
    runs.record(run, "forest_rank_agreement", 1.0, experiment="second_opinion", n_models=3, agree_from=0.8,
                same_best=True, same_worst=True)
    runs.record(run, "tsne_generated_neighbours", 0.9, experiment="tsne", n_real=300, n_fake=300, if_mixed=0.4992,
                generator=str(root / "03_train_gan-acgan" / "generator.pt"))
    for name in ("equal_fid_prd", "equal_fid_classes", "tsne"):
        (run / f"{name}.png").write_bytes(b"\x89PNG")
    _status(run)
    return runs.load_records(root)


def _verdicts(records) -> dict[str, str]:
    t = findings_table(records).table
    return dict(zip(t["claim"], t["verdict"]))


def test_each_measured_claim_gets_its_verdict(tmp_path):
    v = _verdicts(_study(tmp_path))
    assert v["Soft labels beat hard labels on VAE-train (0.82 vs 0.78)"] == "holds"
    assert v["The conditional VAE is worst (VAE-train 0.66)"] == "holds"
    assert v["The perceptual loss is best on every metric (LAP, IS, FID, VAE-train)"] == "holds"
    assert v["FID and LAP are inversely related (sharper rows have lower FID)"] == "holds"
    assert v["Equal FID, different failures: PRD tells a precise-narrow from a broad-poor model"] == "holds"
    assert v["A random forest ranks the models as the CNN's GAN-train does"] == "holds"
    assert v["Clipping and SN alone do not converge; GP, GP+SN and R3GAN do"] == "does not hold"  # wgan-sn converged
    assert v["R3GAN has the best PPL"] == "holds"
    assert not any("saturates" in c for c in v)  # no saturation records: no claim about it


def test_a_difference_inside_the_noise_does_not_count(tmp_path):
    v = _verdicts(_study(tmp_path, soft_vae_train=0.785))  # 0.785 ± 0.01 against 0.78 ± 0.01
    assert v["Soft labels beat hard labels on VAE-train (0.82 vs 0.78)"] == "does not hold (within noise)"
    v = _verdicts(_study(tmp_path / "worse", soft_vae_train=0.7))
    assert v["Soft labels beat hard labels on VAE-train (0.82 vs 0.78)"] == "does not hold"


def test_no_findings_without_records(tmp_path):
    assert findings_table(pd.DataFrame()) is None


def test_report_leads_with_findings_linked_to_their_sections(tmp_path):
    _study(tmp_path)
    html, md = write_report(tmp_path)
    text, mdt = html.read_text(), md.read_text()
    assert text.index("<h2 id=\"findings\">Findings</h2>") < text.index("Table 1 of the VAE paper")
    target = anchor("Equal FID, different failures (PRD)")
    assert f'<a href="#{target}">' in text and f'<h2 id="{target}">' in text  # the link and where it lands
    assert f"[Equal FID, different failures (PRD)](#{target})" in mdt and f'<a id="{target}"></a>' in mdt
    for title in ("Second opinion: random-forest GAN-train", "t-SNE of real and generated features"):
        assert title in text and title in mdt
    # each figure once, beside the section it explains
    equal_fid = mdt.index("## Equal FID")
    assert mdt.index("equal_fid_classes.png") > equal_fid and mdt.count("equal_fid_classes.png") == 2  # alt + path
    assert mdt.count("(06_validate_metrics/tsne.png)") == 1


def test_validation_tables_read_their_records(tmp_path):
    tables = {t.title: t for t in validation_tables(_study(tmp_path))}
    pair = tables["Equal FID, different failures (PRD)"].table.set_index("model")
    assert pair.loc["precise, narrow", "built from"] == "first 3 classes, clean"
    assert pair.loc["broad, poor", "built from"].startswith("all classes, 92%")
    assert pair.loc["broad, poor", "FID (C1)"] == "601"
    opinion = tables["Second opinion: random-forest GAN-train"]
    assert "1.000" in opinion.note and "best the same, worst the same" in opinion.note
    tsne = tables["t-SNE of real and generated features"]
    assert tsne.table.loc[0, "generator"] == "03_train_gan-acgan" and tsne.figures == ("tsne.png",)
