"""Real browser: Debian's Chromium renders a study report (built from synthetic records) with its tables and figure.

Opt in with `-m ui`. Needs `/usr/bin/chromium`; the image-decoding check also needs the `playwright` package.
No browser is downloaded.
"""
from pathlib import Path

import pytest

from labkit.study.browser import CHROMIUM, check_report
from tests.helpers import synthetic_report

pytestmark = pytest.mark.ui


def test_report_renders_tables_and_figures(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    report = synthetic_report(tmp_path / "study")
    result = check_report(report, tmp_path / "shots", timeout=120)
    assert result["non_blank_share"] > 0.005, result  # text, tables and a plot, not an empty page
    dom = result["dom"]
    assert dom["tables"] >= 3 and dom["images"] == 1 and dom["cells"] > 20, dom
    if result["playwright"] is not None:
        assert result["playwright"]["decoded"] == result["playwright"]["total"] == 1, result["playwright"]
        assert result["playwright"]["tables"] == dom["tables"]
