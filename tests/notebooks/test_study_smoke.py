"""The whole study in its smoke preset, executed headless by papermill, with checks on what each notebook recorded."""
import math

import pytest

from labkit import runs, study
from labkit.report import write_report

pytestmark = pytest.mark.notebooks


# Job id -> {metric: check on its value}. Every job must also record at least one finite number.
# Smoke models are trained for seconds, so checks are about the plumbing, not the quality.
CHECKS = {
    "00_tour": {"n_train": lambda v: v == 60000, "n_test": lambda v: v == 10000, "num_classes": lambda v: v == 10},
    "01_train_classifier": {"test_accuracy": lambda v: 0.15 < v <= 1.0},  # 300 images, 1 epoch: above chance
    "04_evaluate": {"lap_real_test": lambda v: abs(v - 0.184) < 0.01},  # the paper's 0.184 on the real test set
}


@pytest.fixture(scope="module")
def smoke_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    s = study.Study(name="smoke", preset="smoke", root=root, cell_timeout=600)
    statuses = s.run()
    return s, statuses


def test_every_notebook_succeeds_and_records_numbers(smoke_study):
    s, statuses = smoke_study
    assert [st["state"] for st in statuses] == ["succeeded"] * len(s.jobs())
    records = runs.load_records(s.dir)
    for job in s.jobs():
        mine = records[records["run"] == job.id]
        assert len(mine), f"{job.id} recorded nothing"
        numeric = [v for v in mine["value"] if isinstance(v, (int, float)) and not isinstance(v, bool)]
        assert any(math.isfinite(v) for v in numeric), f"{job.id} recorded no finite number"
        for metric, check in CHECKS.get(job.id, {}).items():
            values = mine.loc[mine["metric"] == metric, "value"].tolist()
            assert values and all(check(v) for v in values), (job.id, metric, values)


def test_notebooks_are_committed_without_outputs():
    import nbformat
    for nb_path in sorted(study.NOTEBOOKS_DIR.glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), nb_path.name
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), nb_path.name


def test_report_is_written_with_tables(smoke_study):
    s, _ = smoke_study
    html, md = write_report(s.dir)
    text = html.read_text()
    assert "Timings per notebook" in text and "01_train_classifier" in text and "test_accuracy" in text
    assert "| metric" in md.read_text()
