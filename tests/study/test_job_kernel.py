"""A job's kernel: its log (ipykernel's transport warning) goes to kernel.log, not the console; labkit's progress
bars stay off (tqdm's notebook bar ignores TQDM_DISABLE itself; labkit's `progress_bar` reads it)."""
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit.study import runner as study

pytestmark = pytest.mark.notebooks

CELL = """
import os
from labkit.core import runs
from labkit.core.runtime import progress_bar, progress_enabled
total = sum(progress_bar(range(1000)))  # how labkit's training loops and sweeps show progress
_ = runs.record(run_dir, "progress_enabled", int(progress_enabled(None)), tqdm_disable=os.environ.get("TQDM_DISABLE"))
"""


def test_kernel_log_goes_to_the_job_folder_and_progress_bars_stay_off(tmp_path, monkeypatch, capfd):
    params = new_code_cell('run_dir: str = ""')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "20_bars.ipynb")
    monkeypatch.setattr(study, "NOTEBOOKS_DIR", tmp_path)
    monkeypatch.delenv("TQDM_DISABLE", raising=False)  # as `labkit study` run by hand, outside make
    job = tmp_path / "runs/20_bars"
    status = study.execute_job(str(job), "20_bars", {"run_dir": str(job)}, "f", "smoke", 120, attempt="a1")
    assert status["state"] == "succeeded", status.get("error")
    record = next(r for r in json.loads((job / "metrics.json").read_text())["records"]
                  if r["metric"] == "progress_enabled")
    assert record["value"] == 0 and record["tqdm_disable"] == "1"
    executed = nbformat.read(job / "20_bars.ipynb", as_version=4)
    assert not executed.cells[-1].outputs  # no bar, as text or widget, in the executed copy
    assert "Kernel is running over TCP without encryption" in (job / "kernel.log").read_text()
    assert "IPKernelApp" not in capfd.readouterr().err
