"""The study runner on tiny throwaway notebooks: failures, timeouts, skip-on-rerun, kill and resume."""
import json
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit.core import runs
from labkit.study import runner as study
from labkit.core.runtime import atomic_write_json
from labkit.study.plan import Job
from tests.helpers import kill_child_when_running

pytestmark = pytest.mark.notebooks

BODY = """
import time
from labkit.core import runs
if mode == "raise":
    raise ValueError("boom in the notebook")
time.sleep(sleep_s)
runs.record(run_dir, "answer", value * 2, mode=mode)
runs.record_artifact(run_dir, "out", run_dir + "/metrics.json")
"""


def _write_notebook(path: Path):
    params = new_code_cell('run_dir: str = ""\nmode: str = "ok"\nvalue: int = 1\nsleep_s: float = 0.0\nsource: str = ""')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(BODY)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def mini(tmp_path, monkeypatch):
    """Notebooks 10_a -> 11_b -> 12_c, where b and c read a's artefact."""
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    for name in ("10_a", "11_b", "12_c"):
        _write_notebook(nbdir / f"{name}.ipynb")
    monkeypatch.setattr(study, "NOTEBOOKS_DIR", nbdir)
    jobs = {"raise": "ok", "b_sleep": 0.0}

    def plan(preset):
        return [Job("10_a", params={"value": 1}),
                Job("11_b", params={"value": 2, "mode": jobs["raise"], "sleep_s": jobs["b_sleep"]},
                    inputs={"source": ("10_a", "out")}),
                Job("12_c", "x", params={"value": 3}, inputs={"source": ("10_a", "out")})]

    monkeypatch.setattr(study, "plan", plan)
    return tmp_path, jobs


def _values(study_dir):
    df = runs.load_records(study_dir)
    return sorted(zip(df["run"], df["metric"], df["value"]))


def test_runs_in_order_passes_inputs_and_skips_unchanged(mini):
    root, _ = mini
    s = study.Study(name="s", preset="smoke", root=root)
    first = s.run()
    assert [st["state"] for st in first] == ["succeeded"] * 3
    assert _values(s.dir) == [("10_a", "answer", 2), ("11_b", "answer", 4), ("12_c-x", "answer", 6)]
    assert json.loads((s.dir / "11_b/status.json").read_text())["parameters"]["source"].endswith("10_a/metrics.json")
    events = []
    s.run(on_event=lambda e, job, st: events.append((e, job.id)))
    assert events == [("skip", "10_a"), ("skip", "11_b"), ("skip", "12_c-x")]
    s2 = study.Study(name="s", preset="smoke", root=root, overrides={"10_a": {"value": 5}})
    events.clear()
    s2.run(on_event=lambda e, job, st: events.append((e, job.id)))
    # a's parameters changed, so a and both jobs reading it rerun
    assert [e for e in events if e[0] == "start"] == [("start", "10_a"), ("start", "11_b"), ("start", "12_c-x")]


def test_raising_notebook_stops_the_study_with_cell_and_error(mini):
    root, jobs = mini
    jobs["raise"] = "raise"
    s = study.Study(name="s", preset="smoke", root=root)
    with pytest.raises(study.StudyFailed, match=r"notebook 11_b failed: cell 2 \(`import time`\) raised ValueError: boom in the notebook"):
        s.run()
    status = json.loads((s.dir / "11_b/status.json").read_text())
    assert status["state"] == "failed" and "boom" in status["error"]
    assert (s.dir / "11_b/11_b.ipynb").exists()  # the executed copy is kept
    assert json.loads((s.dir / "10_a/status.json").read_text())["state"] == "succeeded"
    assert not (s.dir / "12_c-x").exists()  # nothing after the failure ran


def test_timed_out_cell_counts_as_failure(mini):
    root, jobs = mini
    jobs["b_sleep"] = 600.0
    s = study.Study(name="s", preset="smoke", root=root, cell_timeout=30)
    t0 = time.time()
    with pytest.raises(study.StudyFailed, match=r"11_b failed: cell 2 \(`import time`\) timed out"):
        s.run()
    assert time.time() - t0 < 300
    assert json.loads((s.dir / "11_b/status.json").read_text())["state"] == "failed"


def test_parallel_executor_gives_the_same_records(mini):
    import concurrent.futures as cf
    root, _ = mini
    serial = study.Study(name="serial", preset="smoke", root=root)
    serial.run()
    par = study.Study(name="par", preset="smoke", root=root)
    with cf.ProcessPoolExecutor(2) as ex:
        par.run(executor=ex)
    assert [v[1:] for v in _values(serial.dir)] == [v[1:] for v in _values(par.dir)]


def _fake_execute(job_dir, notebook, params, fingerprint, preset, cell_timeout, attempt=""):
    """execute_job without papermill: sleeps, fails when asked, records the artefact later jobs read."""
    time.sleep(params.get("sleep_s", 0.0))
    status = {"notebook": notebook, "parameters": params, "fingerprint": fingerprint, "wall_s": 0.0,
              "state": "failed" if params.get("mode") == "raise" else "succeeded", "error": "boom"}
    runs.record_artifact(job_dir, "out", job_dir + "/metrics.json")
    atomic_write_json(status, Path(job_dir) / "status.json")
    return status


@pytest.fixture
def scheduled(tmp_path, monkeypatch):
    """A study of fake jobs on a 2-thread pool: a (slow, or failing) -> d, and b -> c, all quick."""
    import concurrent.futures as cf
    monkeypatch.setattr(study, "execute_job", _fake_execute)
    monkeypatch.setattr(study, "NOTEBOOKS_DIR", tmp_path)
    for name in "abcd":
        (tmp_path / f"{name}.ipynb").write_text("{}")
    params = {"a": {"sleep_s": 2.0, "mode": "ok"}, "b": {"sleep_s": 0.1}}
    monkeypatch.setattr(study, "plan", lambda preset: [
        Job("a", params=params["a"]), Job("b", params=params["b"]),
        Job("c", params={}, inputs={"source": ("b", "out")}), Job("d", params={}, inputs={"source": ("a", "out")})])

    def run():
        events = []
        with cf.ThreadPoolExecutor(2) as ex:
            try:
                study.Study(name="s", preset="smoke", root=tmp_path / "runs").run(
                    executor=ex, max_parallel=2, on_event=lambda e, job, st: events.append((e, job.id)))
            except study.StudyFailed as err:
                events.append(("failed", str(err)))
        return events
    return params, run


def test_a_job_starts_when_its_own_inputs_are_done_not_a_whole_stage(scheduled):
    _, run = scheduled
    events = run()
    # c reads only b, so it runs while slow a is still going; d waits for a
    assert events.index(("start", "c")) < events.index(("done", "a")) < events.index(("start", "d"))
    assert sorted(e for e in events if e[0] == "done") == [("done", j) for j in "abcd"]


def test_after_a_failure_running_jobs_finish_and_no_new_job_starts(scheduled):
    params, run = scheduled
    params["a"].update(sleep_s=0.0, mode="raise")
    params["b"]["sleep_s"] = 1.0
    events = run()
    assert ("done", "b") in events  # already running when a failed: finished and recorded
    assert ("start", "c") not in events and ("start", "d") not in events
    assert events[-1][0] == "failed" and "notebook a failed: boom" in events[-1][1]


def test_killed_study_resumes_from_first_unfinished_notebook(mini, tmp_path):
    root, jobs = mini
    ref = study.Study(name="ref", preset="smoke", root=root)
    ref.run()
    # A real kill: run the study in a child process and SIGKILL it while 11_b is running.
    script = tmp_path / "child.py"
    script.write_text(
        "import sys; from labkit.study import runner as study; from labkit.study.plan import Job\n"
        f"study.NOTEBOOKS_DIR = __import__('pathlib').Path({str(study.NOTEBOOKS_DIR)!r})\n"
        "study.plan = lambda p: [Job('10_a', params={'value': 1}), "
        "Job('11_b', params={'value': 2, 'mode': 'ok', 'sleep_s': 120.0}, inputs={'source': ('10_a', 'out')}), "
        "Job('12_c', 'x', params={'value': 3}, inputs={'source': ('10_a', 'out')})]\n"
        f"study.Study(name='killed', preset='smoke', root={str(root)!r}).run()\n")
    kill_child_when_running([sys.executable, str(script)], root / "killed/11_b/status.json", timeout_s=120)
    events = []
    study.Study(name="killed", preset="smoke", root=root).run(on_event=lambda e, job, st: events.append((e, job.id)))
    assert events[0] == ("skip", "10_a") and ("start", "11_b") in events
    assert [v[1:] for v in _values(root / "killed")] == [v[1:] for v in _values(ref.dir)]


@pytest.mark.parametrize("before, workers, after", [
    ({}, 2, "4"), ({"OMP_NUM_THREADS": ""}, 2, "4"), ({"OMP_NUM_THREADS": " "}, 8, "1"),
    ({"OMP_NUM_THREADS": "3"}, 2, "3"), ({}, 1, None)])
def test_parallel_kernels_share_the_cores(before, workers, after):
    from labkit.__main__ import share_cores
    env = dict(before)
    share_cores(workers, env, cpus=8)
    assert env.get("OMP_NUM_THREADS") == after
