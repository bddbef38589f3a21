"""The study: run the numbered notebooks headless with papermill, each job into its own run directory.

Reruns skip jobs whose notebook, parameters and inputs are unchanged and whose last run succeeded; a
failure stops the study with the notebook, the cell and the error, and keeps everything already done.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..core import paths, runs
from ..core.cluster import slot_released, worker_lost
from ..core.runtime import atomic_write_json
from .job_kernel import KERNEL_LOG, kernel_manager_for
from .params import check_name, validate_only, validate_overrides
from .plan import Job, plan

NOTEBOOKS_DIR = paths.PROJECT_ROOT / "notebooks"
STATUS_FILE = "status.json"
# Notebooks whose sweeps can send their points to the study's Dask cluster (their `scheduler` parameter).
SWEEP_NOTEBOOKS = ("05_diversity_saturation", "06_validate_metrics")
# Parameters that say where a job runs, not what it computes: left out of its fingerprint.
PLACEMENT_PARAMS = ("scheduler",)


class StudyFailed(RuntimeError):
    """A notebook of the study raised or timed out; the message names the notebook, cell and error."""


def read_status(job_dir: Path) -> dict | None:
    f = Path(job_dir) / STATUS_FILE
    return json.loads(f.read_text()) if f.exists() else None


def execute_job(job_dir: str, notebook: str, params: dict, fingerprint: str, preset: str,
                cell_timeout: int | None, attempt: str = "") -> dict:
    """Run one notebook with papermill into `job_dir`; write and return its status (never raises for the
    notebook's own errors). Top-level so that process-pool, Dask or submitit executors can pickle it.

    `attempt` names this submission. Finding it already in the folder's status means the worker that ran it
    died and the scheduler sent it again: the job is then reported lost instead of run twice into one folder.
    """
    import papermill as pm

    for name in params:  # papermill writes `name = value` into the notebook: only plain names may pass
        check_name(name)
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    previous = read_status(job_dir)
    if attempt and previous and previous.get("attempt") == attempt:
        status = {**previous, "state": "lost", "error": lost_message(previous, "the scheduler sent it again")}
        atomic_write_json(status, job_dir / STATUS_FILE)
        return status
    status = {"notebook": notebook, "preset": preset, "parameters": params, "fingerprint": fingerprint,
              "state": "running", "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "attempt": attempt,
              "host": socket.gethostname(), "pid": os.getpid()}
    atomic_write_json(status, job_dir / STATUS_FILE)
    (job_dir / KERNEL_LOG).unlink(missing_ok=True)
    t0 = time.perf_counter()
    try:
        # a notebook that sends its sweep to the cluster waits on it: its slot runs the sweep meanwhile
        with slot_released() if params.get("scheduler") else contextlib.nullcontext():
            pm.execute_notebook(str(NOTEBOOKS_DIR / f"{notebook}.ipynb"), str(job_dir / f"{notebook}.ipynb"),
                                parameters=params, kernel_name="python3", cwd=str(NOTEBOOKS_DIR),
                                execution_timeout=cell_timeout, progress_bar=False, log_output=False,
                                kernel_manager_class=kernel_manager_for(job_dir))
        status["state"] = "succeeded"
    except Exception as e:  # papermill's execution error, or nbclient's cell timeout
        status.update(state="failed", error=describe_failure(e, job_dir / f"{notebook}.ipynb"))
    status["wall_s"] = round(time.perf_counter() - t0, 2)
    atomic_write_json(status, job_dir / STATUS_FILE)
    return status


def lost_message(status: dict | None, detail: str) -> str:
    """Why a job is unfinished when its worker died: where it ran, and what to do."""
    where = f" (host {status['host']}, pid {status['pid']})" if status and "pid" in status else ""
    return (f"the worker running it{where} died mid-job ({detail}); it was not retried, so that no two runs share "
            "its folder: rerun the study to redo it")


def describe_failure(e: Exception, executed: Path | None = None) -> str:
    """'cell N (`first line`) raised Error: message' or '... timed out'."""
    where = _failed_cell(executed) or "a cell"
    text = str(e)
    if "timeout" in type(e).__name__.lower() or "timed out" in text.lower():
        first = next((ln for ln in text.splitlines() if "timed out" in ln.lower()), text.splitlines()[0] if text else "")
        return f"{where} timed out: {first.strip().rstrip('.')}"
    ename, evalue = getattr(e, "ename", type(e).__name__), getattr(e, "evalue", text)
    return f"{where} raised {ename}: {evalue}"


def _failed_cell(executed: Path | None) -> str | None:
    """The cell papermill marked failed or still running, numbered as in the source notebook, with its first line."""
    if executed is None or not Path(executed).exists():
        return None
    try:
        cells = json.loads(Path(executed).read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return None
    # Count cells as in the source notebook: skip what papermill inserted (parameters, error banners).
    inserted = {"injected-parameters", "papermill-error-cell-tag"}
    cells = [c for c in cells if not inserted & set(c.get("metadata", {}).get("tags", []))]
    meta = [c.get("metadata", {}).get("papermill", {}) for c in cells]
    marked = [i for i, m in enumerate(meta) if m.get("status") in ("failed", "running")]
    started = [i for i, m in enumerate(meta) if m.get("start_time")]  # a timeout leaves no mark: the last started
    for i in (marked or started[-1:]):
        src = "".join(cells[i].get("source", "")).strip().splitlines()
        return f"cell {i + 1} (`{src[0][:60]}`)" if src else f"cell {i + 1}"
    return None


@dataclass
class Study:
    """A preset's jobs under `root/name`, with parameter overrides ({notebook or job id: {param: value}}).

    `scheduler`: a Dask scheduler address that the sweep notebooks send their points to ("": their own pool).
    """
    name: str = "quick"
    preset: str = "quick"
    root: Path = field(default_factory=paths.runs_dir)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    cell_timeout: int | None = None
    scheduler: str = ""

    @property
    def dir(self) -> Path:
        return Path(self.root) / self.name

    def jobs(self, only: list[str] | None = None) -> list[Job]:
        """The preset's jobs; `only` keeps those whose id, notebook or number prefix is listed."""
        jobs = [j for j in plan(self.preset) if (NOTEBOOKS_DIR / f"{j.notebook}.ipynb").exists()]
        if only:
            jobs = [j for j in jobs if any(o in (j.id, j.notebook, j.notebook[:2]) for o in only)]
        return jobs

    def validate(self, only: list[str] | None = None) -> None:
        """Raise `ParameterError` (a ValueError) for overrides or `only` entries the plan does not know."""
        jobs = self.jobs()
        validate_overrides(self.overrides, jobs, NOTEBOOKS_DIR)
        validate_only(only or [], jobs)

    def parameters(self, job: Job) -> dict[str, Any]:
        """Preset parameters, input paths from earlier jobs' artefacts, overrides, and `run_dir`."""
        params = dict(job.params)
        if self.scheduler and job.notebook in SWEEP_NOTEBOOKS:
            params["scheduler"] = self.scheduler
        for param, src in job.inputs.items():
            params[param] = self._artefact(job, *src) if isinstance(src, tuple) else {
                name: self._artefact(job, *s) for name, s in src.items()}
        params.update(self.overrides.get(job.notebook, {}))
        params.update(self.overrides.get(job.id, {}) if job.id != job.notebook else {})
        params["run_dir"] = str(self.dir / job.id)
        return params

    def _artefact(self, job: Job, source: str, key: str) -> str:
        found = runs.artifacts(self.dir / source).get(key)
        if found is None:
            raise StudyFailed(f"{job.id} needs artefact {key!r} of {source}, which has not recorded it; "
                              f"run {source} first")
        return found

    def fingerprint(self, job: Job, params: dict) -> str:
        """Hash of the notebook file, the parameters (where it runs aside) and the fingerprints of the jobs it reads."""
        h = hashlib.sha256((NOTEBOOKS_DIR / f"{job.notebook}.ipynb").read_bytes())
        computed = {k: v for k, v in params.items() if k not in PLACEMENT_PARAMS}
        h.update(json.dumps(computed, sort_keys=True, default=str).encode())
        for up in sorted(job.upstream()):
            h.update(((read_status(self.dir / up) or {}).get("fingerprint", "missing")).encode())
        return h.hexdigest()[:16]

    def is_done(self, job: Job) -> bool:
        """True when the job's last run succeeded with the same fingerprint (nothing to redo)."""
        status = read_status(self.dir / job.id)
        if not status or status.get("state") != "succeeded":
            return False
        try:
            return status.get("fingerprint") == self.fingerprint(job, self.parameters(job))
        except StudyFailed:
            return False

    def run(self, only: list[str] | None = None, force: bool = False, executor: cf.Executor | None = None,
            on_event: Callable[[str, Job, dict | None], None] | None = None,
            max_parallel: int | None = None) -> list[dict]:
        """Start each job as soon as the jobs it reads have succeeded; stop at the first failure with `StudyFailed`.

        Among the jobs ready at a time, plan order decides which start first, so the plan lists the long
        chains early. After a failure no new job starts; the ones already running finish and are recorded.

        Args:
            only: run just these jobs (their inputs must exist already).
            force: rerun jobs even when unchanged.
            executor: runs jobs concurrently (`ProcessPoolExecutor`, Dask's or submitit's executor: anything whose
                futures have `done()` and `result()`); None runs them one after another in this process.
            on_event: called with ("start" | "skip" | "done", job, status) for progress messages; a job whose
                worker died ends "done" with state "lost" (reported like a failure; a rerun redoes it).
            max_parallel: jobs in flight at once (a local pool's size, so that plan order, not the pool's queue,
                picks the next job); None: every ready job is submitted.
        """
        self.validate(only)  # before anything runs
        pending = self.jobs(only)
        ids = {j.id for j in pending}
        limit = max_parallel or (len(pending) if executor else 1)
        statuses: list[dict] = []
        done: set[str] = set()
        failures: list[str] = []
        running: dict[Any, Job] = {}
        attempt = uuid.uuid4().hex[:12]  # this run's submissions; a job finding it already in its folder was resent
        while True:
            while not failures and len(running) < limit:
                job = next((j for j in pending if not (j.upstream() & ids) - done), None)
                if job is None:
                    break
                pending.remove(job)
                if not force and self.is_done(job):
                    statuses.append(read_status(self.dir / job.id))
                    done.add(job.id)
                    on_event and on_event("skip", job, statuses[-1])
                    continue
                params = self.parameters(job)
                args = (str(self.dir / job.id), job.notebook, params, self.fingerprint(job, params), self.preset,
                        self.cell_timeout, attempt)
                on_event and on_event("start", job, None)
                running[executor.submit(execute_job, *args) if executor else _Done(execute_job(*args))] = job
            if not running:
                break
            for fut in _finished(running):
                job = running.pop(fut)
                status = self._result(fut, job)
                statuses.append(status)
                on_event and on_event("done", job, status)
                if status["state"] == "succeeded":
                    done.add(job.id)
                else:
                    failures.append(f"notebook {job.id} {'was lost' if status['state'] == 'lost' else 'failed'}: "
                                    f"{status['error']}")
        if failures:
            raise StudyFailed("; ".join(failures) + f". Executed copies and status.json are under {self.dir}; "
                              "rerunning continues from the first unfinished notebook.")
        if pending:
            raise StudyFailed(f"jobs {[j.id for j in pending]} wait on inputs that never come")
        return statuses

    def _result(self, fut, job: Job) -> dict:
        """The job's status; when its worker died (the future raised), the folder's status marked lost."""
        try:
            return fut.result()
        except Exception as e:
            if not worker_lost(e):
                raise
            status = read_status(self.dir / job.id) or {"notebook": job.notebook}
            status.update(state="lost", error=lost_message(status, f"the executor raised {type(e).__name__}"))
            atomic_write_json(status, self.dir / job.id / STATUS_FILE)
            return status


def _finished(running: dict) -> list:
    """The finished futures among `running` (in submission order), waiting until there is at least one.
    Polls `done()`, which every executor's futures have; `concurrent.futures.wait` knows only its own."""
    while True:
        finished = [f for f in running if f.done()]
        if finished:
            return finished
        time.sleep(0.2)


class _Done:
    """A finished result with the `Future.result()` interface (serial runs)."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value

    def done(self) -> bool:
        return True


def load_status(study_dir: str | Path) -> list[dict]:
    """The status.json of every job run in a study directory."""
    return [json.loads(p.read_text()) for p in sorted(Path(study_dir).glob(f"*/{STATUS_FILE}"))]
