"""The conditional GANs' GAN-train / GAN-test reading and findings, from synthetic GAN-table records."""
from __future__ import annotations

import pandas as pd

from labkit.core import runs
from labkit.experiments.gan_table import REAL_ROW
from labkit.study import conditional_gans as cg
from labkit.study.findings import findings_table
from labkit.study.paper_tables import gan_table
from tests.unit.study.test_findings import _verdicts

EVAL = dict(extractor="classifier", n_real=10000, n_fake=2000, split="test", repeats=2, seed=0)
# model -> (GAN-train, GAN-test, recall, coverage, FID): acgan recognisable but narrow, as in the quick study
ROWS = {REAL_ROW: (0.85, 0.95, 0.9, 0.9, 1.0), "acgan": (0.55, 0.97, 0.0, 0.016, 300.0),
        "sngan-projection": (0.70, 0.90, 0.2, 0.05, 200.0), "wgan-gp-acgan": (0.75, 0.92, 0.3, 0.06, 150.0)}


def _records(root, rows=ROWS, unconditional=("r3gan",), c1=0.918) -> pd.DataFrame:
    run = runs.run_dir(root / "04_evaluate-gans")
    for model, values in rows.items():
        for metric, v in zip(("gan_train", "gan_test", "recall", "coverage", "fid"), values):
            runs.record(run, metric, v, std=0.01, experiment="gan_table", model=model, **EVAL)
    for model in unconditional:  # no GAN-train or GAN-test: only the other metrics
        runs.record(run, "fid", 100.0, std=1.0, experiment="gan_table", model=model, **EVAL)
        runs.record(run, "recall", 0.5, std=0.01, experiment="gan_table", model=model, **EVAL)
    if c1 is not None:
        runs.record(runs.run_dir(root / "01_train_classifier"), "test_accuracy", c1, split="test")
    return runs.load_records(root)


def test_values_only_for_rows_with_both_classifier_metrics(tmp_path):
    values = cg.class_metric_values(_records(tmp_path))
    assert list(values) == list(ROWS)  # the unconditional r3gan has neither: no row here
    assert values["acgan"] == {"gan_train": 0.55, "gan_test": 0.97, "recall": 0.0, "coverage": 0.016, "fid": 300.0}
    assert cg.real_test_accuracy(_records(tmp_path / "b")) == 0.918
    assert cg.real_test_accuracy(_records(tmp_path / "c", c1=None)) is None


def test_reading_quotes_the_records_and_names_the_widest_gap(tmp_path):
    text = cg.reading(_records(tmp_path))
    assert "acgan: GAN-test 0.97, GAN-train 0.55, recall 0, coverage 0.016" in text
    assert "C1 reaches 0.918 on the real test set" in text and "0.85 GAN-train and 0.95 GAN-test" in text
    assert "The widest gap is acgan's" in text and "recognisable but narrow" in text
    assert "Unconditional GANs have neither column" in text and "r3gan" not in text
    # the numbers come from the records: another study, another sentence
    other = {**ROWS, "acgan": (0.80, 0.81, 0.4, 0.2, 100.0), "wgan-gp-acgan": (0.50, 0.99, 0.0, 0.01, 400.0)}
    text = cg.reading(_records(tmp_path / "other", other))
    assert "The widest gap is wgan-gp-acgan's (GAN-test 0.99 against GAN-train 0.5, recall 0)" in text
    # the report's GAN table carries the paragraph in its note
    assert cg.reading(_records(tmp_path / "t")) in gan_table(_records(tmp_path / "t2")).note


def test_no_reading_without_conditional_models(tmp_path):
    records = _records(tmp_path, rows={REAL_ROW: ROWS[REAL_ROW]})
    assert cg.reading(records) == "" and cg.findings(records, "GAN table") == []
    assert cg.reading(pd.DataFrame()) == ""


def test_findings_of_seed_002_on_the_conditional_gans(tmp_path):
    v = _verdicts(_records(tmp_path))
    assert v["Every GAN's GAN-train lies below real images' (CIFAR-10, Table 1)"] == "holds"
    # FID ranks wgan-gp-acgan > sngan > acgan, as GAN-train does, but GAN-test ranks acgan first
    assert v["FID, GAN-train and GAN-test rank the models alike (CIFAR-10, Table 1)"] == "does not hold"
    narrow = "A high GAN-test beside a low GAN-train marks a model short of diversity (PixelCNN++, CIFAR-100)"
    assert v[narrow] == "holds"  # acgan: widest gap and lowest coverage
    t = findings_table(_records(tmp_path / "t")).table
    row = t[t["claim"] == narrow].iloc[0]
    assert "acgan (0.97 − 0.55)" in row["we measured"] and row["see"] == "GAN table"
    # consistent rankings, a GAN above real images' GAN-train, and the widest gap not the narrowest model
    other = {REAL_ROW: (0.85, 0.95, 0.9, 0.9, 1.0), "a": (0.9, 0.97, 0.1, 0.01, 10.0), "b": (0.6, 0.8, 0.3, 0.2, 20.0),
             "c": (0.5, 0.9, 0.2, 0.1, 30.0)}
    v = _verdicts(_records(tmp_path / "other", other))
    assert v["Every GAN's GAN-train lies below real images' (CIFAR-10, Table 1)"] == "does not hold"
    assert v["FID, GAN-train and GAN-test rank the models alike (CIFAR-10, Table 1)"] == "does not hold"
    assert v[narrow] == "does not hold"  # c has the widest gap (0.4), a the lowest coverage
    same = {"a": (0.8, 0.9, 0.1, 0.1, 10.0), "b": (0.7, 0.8, 0.1, 0.1, 20.0)}
    v = _verdicts(_records(tmp_path / "same", same))
    assert v["FID, GAN-train and GAN-test rank the models alike (CIFAR-10, Table 1)"] == "holds"
    assert v[narrow] == "not comparable: tied coverage"
    t = findings_table(_records(tmp_path / "same2", same)).table
    assert "best first, FID (C1): a (10), b (20); GAN-train: a (0.8), b (0.7)" in t.set_index("claim").loc[
        "FID, GAN-train and GAN-test rank the models alike (CIFAR-10, Table 1)", "we measured"]
    # untrained models: every GAN-train equal, no GAN-test above it: nothing to rank, no narrow model to name
    flat = {REAL_ROW: ROWS[REAL_ROW], "a": (0.1, 0.1, 0.0, 0.002, 1.0), "b": (0.1, 0.08, 0.0, 0.001, 2.0)}
    t = findings_table(_records(tmp_path / "flat", flat)).table.set_index("claim")
    ranking = t.loc["FID, GAN-train and GAN-test rank the models alike (CIFAR-10, Table 1)"]
    assert ranking["verdict"] == "not comparable: a constant column" and "GAN-train: a (0.1) = b (0.1)" in ranking[
        "we measured"]
    assert t.loc[narrow, "verdict"] == "not comparable: no GAN-test above its GAN-train"
