"""The report's paper tables, from synthetic metrics.json records: our numbers beside the papers', missing ones left out."""
import json

import pytest

from labkit.core import runs
from labkit.study.paper_tables import paper_tables
from labkit.study.report import write_report

TABLE1 = {"real images": 0.184, "1 VAE + hard labels": 0.05, "2 VAE + soft labels": 0.05, "3 conditional VAE": 0.04,
          "4 VAE + soft labels + perceptual loss": 0.08, "5 VAE + soft labels + confidence ≥ 0.9": 0.05}
EVAL = dict(extractor="classifier", n_real=10000, n_fake=10000, split="test", repeats=3, seed=0)


def _status(job_dir, wall_s=1.5, **extra):
    (job_dir / "status.json").write_text(json.dumps({"state": "succeeded", "wall_s": wall_s,
                                                     "parameters": {"run_dir": str(job_dir)}, **extra}))


def _evaluate(root):
    run = runs.run_dir(root / "04_evaluate")
    for model, lap in TABLE1.items():
        runs.record(run, "lap", lap, std=0.03, experiment="table1", model=model, std_over="images", **EVAL)
        runs.record(run, "fid", 20.0, std=0.5, experiment="table1", model=model, **EVAL)
        if model != "real images":
            runs.record(run, "gan_train", 0.8, std=0.01, experiment="table1", model=model, **EVAL)
    runs.record(run, "gan_test", 0.6, std=0.02, experiment="table1", model="3 conditional VAE", **EVAL)
    runs.record(run, "error", "no Shirt drawn with confidence ≥ 0.9", experiment="table1", model="6 VAE that fails",
                **EVAL)
    for variant in ("wgan-gp", "r3gan", "dcgan"):
        model = f"GAN {variant}"
        runs.record(run, "is", 3.0, std=0.1, experiment="gan_table", model=model, **EVAL)
        runs.record(run, "lpips_to_real", 0.5, std=0.02, experiment="gan_table", model=model, distance="lpips-classifier",
                    std_over="repeats", **EVAL)
        runs.record(run, "lpips_diversity", 0.3, std=0.01, experiment="gan_table", model=model, distance="lpips-classifier",
                    std_over="repeats", **EVAL)
        runs.record(run, "ppl", 1.2, std=0.4, experiment="gan_table", model=model, distance="lpips-classifier",
                    std_over="paths", **EVAL)
        runs.record(run, "verdict", "sharp but narrow", experiment="gan_table", model=model, **EVAL)
    runs.record(run, "lap_real_test", 0.184, std=0.079, split="test", n=10000)
    _status(run)


def _validate(root):
    run = runs.run_dir(root / "06_validate_metrics")
    proto = dict(dataset="digits", seed=0, smoke=True, gan_train_steps=50, widths=[8, 16])
    for model in ("clean", "subsample 100", "salt_pepper 0.05"):
        for m, v in (("gan_train", 0.9), ("gan_test", 0.8), ("fid", 3.0)):
            runs.record(run, f"degradation_{m}", v, std=None, experiment="degradation", model=model, n_per_class=300, repeats=1, **proto)
    for i in range(1, 11):
        for m in ("is", "fid", "precision", "recall"):
            runs.record(run, f"class_subset_{m}", i / 10, experiment="class_subset", i=i, n=2000, **proto)
    _status(run)


def _saturation(root):
    run = runs.run_dir(root / "05_diversity_saturation")
    proto = dict(steps=200, seeds=3, n_test=2000, labels="soft", experiment="saturation")
    for curve in ("VAE (plain)", "GAN (acgan)"):
        runs.record(run, "plateau_accuracy", 0.75, std=0.01, curve=curve, **proto)
        runs.record(run, "effective_size", 420.0, curve=curve, low=300.0, high=600.0, status="ok", **proto)
        runs.record(run, "saturation_n", 1000, curve=curve, saturated=False, **proto)
    _status(run)


@pytest.fixture
def study_dir(tmp_path):
    _evaluate(tmp_path)
    _validate(tmp_path)
    _saturation(tmp_path)
    return tmp_path


def _by_title(tables):
    return {t.title: t for t in tables}


def test_every_table_has_our_numbers_beside_the_papers(study_dir):
    tables = _by_title(paper_tables(runs.load_records(study_dir)))
    assert len(tables) == 5
    t1 = tables["Table 1 of the VAE paper (Fashion-MNIST)"].table.set_index("model")
    cols = list(t1.columns)
    assert cols.index("LAP (paper)") == cols.index("LAP") + 1 and "VAE-train (paper)" in cols
    assert cols.index("FID (paper)") == cols.index("FID (C1)") + 1  # our label says C1 features
    assert t1.loc["real images", "LAP (paper)"] == "0.184 ± 0.079"
    assert t1.loc["2 VAE + soft labels", "VAE-train (paper)"] == "0.82 ± 0.01"
    assert t1.loc["3 conditional VAE", "VAE-test"] == "0.6 ± 0.02"
    assert t1.loc["3 conditional VAE", "VAE-test (paper)"] == "0.65 ± 0.03"
    assert t1.loc["5 VAE + soft labels + confidence ≥ 0.9", "FID (paper)"] == "95.8 ± 1.5"
    assert "features classifier" in t1.loc["real images", "protocol"] and "repeats 3" in t1.loc["real images", "protocol"]
    # a model that failed keeps its row, with the reason
    assert t1.loc["6 VAE that fails", "not evaluated"] == "no Shirt drawn with confidence ≥ 0.9"
    assert t1.loc["6 VAE that fails", "FID (C1)"] == "" and t1.loc["real images", "not evaluated"] == ""
    legend1 = dict(tables["Table 1 of the VAE paper (Fashion-MNIST)"].legend)
    assert "does not say which network" in legend1["FID (C1)"] and "C1" in legend1
    assert "± the std over images" in legend1["LAP"] and "not evaluated" in legend1

    gan = tables["GAN table"]
    gans = gan.table.set_index("model")
    assert gans.loc["GAN wgan-gp", "IS (paper)"] == "2.29" and gans.loc["GAN dcgan", "IS (paper)"] == ""
    cols = list(gans.columns)
    # the paper's LPIPS (generated vs real) stands beside our generated-vs-real column, named a surrogate
    assert cols.index("LPIPS (paper)") == cols.index("LPIPS surrogate (C1 distance)") + 1
    assert gans.loc["GAN r3gan", "LPIPS (paper)"] == "0.67"
    # pair-diversity is another quantity: no paper column beside it
    assert cols[cols.index("pair-diversity (C1 distance)") + 1] != "LPIPS (paper)"
    assert cols.index("PPL (paper)") == cols.index("PPL (C1 distance)") + 1
    assert gans.loc["GAN r3gan", "verdict"] == "sharp but narrow"  # non-numeric metrics pass through
    legend = dict(gan.legend)
    assert "Differs in kind" in legend["IS (C1)"] and "Inception-v3" in legend["IS (C1)"]
    assert "surrogate" in legend["LPIPS surrogate (C1 distance)"] and "Differs in kind" in legend["PPL (C1 distance)"]
    assert "± the std over paths" in legend["PPL (C1 distance)"] and "not LPIPS" in legend["pair-diversity (C1 distance)"]
    assert "histology" in legend["LPIPS (paper)"] and "C1 distance" in legend
    assert len(legend) == len(gan.legend)  # every column once

    deg = tables["Degradation study (GAN-train / GAN-test validation)"].table.set_index("model")
    assert "GAN-test falls strongly" in deg.loc["salt_pepper 0.05", "paper finding"]
    assert deg.loc["clean", "paper finding"] == "" and "n/class 300" in deg.loc["clean", "protocol"]

    sub = tables["Class-subset experiment (PRD)"].table
    assert list(sub["i"]) == list(range(1, 11))
    assert sub.loc[sub["i"] == 5, "paper finding"].item().startswith("best")

    sat = tables["Diversity saturation"].table.set_index("curve")
    assert "7000" in sat.loc["VAE (plain)", "paper"] and sat.loc["GAN (acgan)", "paper"] == ""
    assert "[300, 600] ok" in sat.loc["VAE (plain)", "effective size /class"]
    assert "not saturated" in sat.loc["VAE (plain)", "saturation n/class"]


def test_missing_tables_are_left_out(tmp_path):
    assert paper_tables(runs.load_records(tmp_path)) == []
    _saturation(tmp_path)
    assert [t.title for t in paper_tables(runs.load_records(tmp_path))] == ["Diversity saturation"]


def test_report_leads_with_the_paper_tables(study_dir):
    html, md = write_report(study_dir)
    text, mdt = html.read_text(), md.read_text()
    for title in ("Table 1 of the VAE paper", "GAN table", "Degradation study", "Class-subset experiment",
                  "Diversity saturation", "Timings per notebook", "Records of 04_evaluate"):
        assert title in text and title in mdt
    assert text.index("Table 1 of the VAE paper") < text.index("Timings per notebook")
    assert "0.184 ± 0.079" in text and "LAP (paper)" in mdt and "Leontev" in text
    assert "Legend:" in mdt and "- **FID (C1)**: Fréchet distance" in mdt and '<dl class="legend">' in text


def test_lpips_with_the_papers_network_is_not_a_surrogate(tmp_path):
    run = runs.run_dir(tmp_path / "04_evaluate")
    runs.record(run, "lpips_to_real", 0.6, std=0.01, experiment="gan_table", model="GAN r3gan", distance="lpips-alex", **EVAL)
    gan = next(t for t in paper_tables(runs.load_records(tmp_path)) if t.title == "GAN table")
    assert list(gan.table.columns)[:3] == ["model", "LPIPS (AlexNet)", "LPIPS (paper)"]
    assert "Differs in kind" not in dict(gan.legend)["LPIPS (AlexNet)"]


def test_report_of_a_study_without_paper_records(tmp_path):
    run = runs.run_dir(tmp_path / "01_train_classifier")
    runs.record(run, "test_accuracy", 0.9, split="test")
    _status(run)
    html, _ = write_report(tmp_path)
    text = html.read_text()
    assert "test_accuracy" in text and "Table 1 of the VAE paper" not in text and "(paper)" not in text


def test_report_states_notebook_time_and_the_span_of_jobs_run_side_by_side(tmp_path):
    for name, started, wall_s in (("01_a", "2026-01-01T10:00:00", 100.0), ("02_b", "2026-01-01T10:00:30", 100.0)):
        _status(runs.run_dir(tmp_path / name), wall_s=wall_s, started=started)
    html, _ = write_report(tmp_path)
    assert "200 s of notebook time, 130 s from the first start to the last end" in html.read_text()
