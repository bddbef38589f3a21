"""Helpers the tests share (fixtures live in `conftest.py`)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import matplotlib.pyplot as plt

import labkit
from labkit.core import runs
from labkit.study.report import write_report

TINY_CLASSIFIER = labkit.ClassifierConfig(channels=1, image_size=8, widths=(8, 16), feature_dim=32)


def kill_child_when_running(cmd: list[str], status_file, timeout_s: float, **popen_kwargs) -> None:
    """Start `cmd` in its own session, wait until `status_file` says the job is running, then SIGKILL the whole group.

    A real kill, as a crash or an out-of-memory killer would do it: nothing gets to clean up.
    """
    child = subprocess.Popen(cmd, start_new_session=True, **popen_kwargs)
    wait_until_running(status_file, timeout_s, child)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def wait_until_running(status_file, timeout_s: float = 300, child=None) -> dict:
    """The job's status once its status.json says running (fails after `timeout_s`, or when `child` exits)."""
    deadline = time.time() + timeout_s
    while not (status_file.exists() and (status := json.loads(status_file.read_text()))["state"] == "running"):
        assert time.time() < deadline and (child is None or child.poll() is None), \
            f"{status_file.parent.name} never started"
        time.sleep(0.2)
    return status


def kill_worker(pid: int) -> None:
    """SIGKILL a Dask worker process by its pid; its notebook kernels must end with it, so none writes later."""
    import psutil

    kernels = psutil.Process(pid).children(recursive=True)
    os.kill(pid, signal.SIGKILL)
    _, alive = psutil.wait_procs(kernels, timeout=30)
    assert not alive, f"kernels {alive} outlived their killed worker"


def synthetic_report(root: Path) -> Path:
    """A small study folder with paper-table records and one figure, and its report."""
    run = runs.run_dir(root / "04_evaluate")
    for i, model in enumerate(("real images", "2 VAE + soft labels", "4 VAE + soft labels + perceptual loss")):
        runs.record(run, "lap", 0.18 - 0.05 * i, std=0.03, experiment="table1", model=model, extractor="classifier",
                    repeats=3)
        runs.record(run, "fid", 10.0 * i, std=0.5, experiment="table1", model=model, extractor="classifier", repeats=3)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1, 2], [0.18, 0.13, 0.08], marker="o")
    fig.savefig(run / "table1.png", dpi=80)
    (run / "status.json").write_text(json.dumps({"state": "succeeded", "wall_s": 1.0,
                                                 "parameters": {"run_dir": str(run)}}))
    return write_report(root)[0]
