"""Real browser: Chromium renders `labkit evaluate`'s report (two sample sets on digits) with its diagnosis table,
coloured verdicts and every figure decoded. Opt in with `-m ui`; needs `/usr/bin/chromium`."""
from pathlib import Path

import numpy as np
import pytest

from labkit.diagnosis import EvaluateSettings, evaluate_models, write_report
from labkit.study.browser import CHROMIUM, check_report

pytestmark = pytest.mark.ui


def test_evaluation_report_renders_diagnosis_and_figures(tmp_runs, tmp_path, digits_train, digits_test):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    np.save(tmp_path / "copies.npy", digits_train.images[:100].numpy())
    np.save(tmp_path / "mirrored.npy", digits_test.images[:100].flip(-1).numpy())
    ev = evaluate_models([str(tmp_path / "copies.npy"), str(tmp_path / "mirrored.npy")],
                         EvaluateSettings(reference="digits:test", n=60, bootstrap=10, progress=False))
    paths = write_report(ev, tmp_path / "report")
    figures = len(list((tmp_path / "report").glob("*.png")))
    result = check_report(paths["html"], tmp_path / "shots", timeout=120)
    assert result["non_blank_share"] > 0.01, result
    dom = result["dom"]
    assert dom["images"] == figures == 3 + 2 * 2 and dom["tables"] >= 5, dom
    assert 'class="yes"' in paths["html"].read_text() or 'class="no"' in paths["html"].read_text()
    if result["playwright"] is not None:
        assert result["playwright"]["decoded"] == result["playwright"]["total"] == figures, result["playwright"]
