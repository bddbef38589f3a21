"""The study: run the numbered notebooks headless with papermill, each into its own run directory."""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths, runs
from .runtime import atomic_write_json

NOTEBOOKS_DIR = paths.PROJECT_ROOT / "notebooks"

# Preset -> notebook -> parameters. `smoke` runs in seconds (CI), `quick` is the default of `make study`
# (the papers' experiments at a size a 2-core CPU finishes in about 30 minutes), `paper` uses the papers' sizes.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "smoke": {"00_tour": {"SMOKE": True}, "01_train_classifier": {"SMOKE": True}},
    "quick": {"00_tour": {}, "01_train_classifier": {"epochs": 5}},
    "paper": {"00_tour": {}, "01_train_classifier": {"epochs": 20}},
}

# Notebook -> {its parameter: (earlier notebook, artefact key)}: inputs taken from earlier runs.
INPUTS: dict[str, dict[str, tuple[str, str]]] = {}


class StudyFailed(RuntimeError):
    """A notebook of the study raised or timed out; the message names the notebook, cell and error."""


@dataclass
class Study:
    name: str = "study"
    preset: str = "quick"
    root: Path = field(default_factory=paths.runs_dir)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    cell_timeout: int | None = None

    @property
    def dir(self) -> Path:
        return Path(self.root) / self.name

    def notebooks(self) -> list[str]:
        """The numbered notebooks this preset runs, in order."""
        return [n for n in sorted(p.stem for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")) if n in PRESETS[self.preset]]

    def parameters(self, notebook: str) -> dict[str, Any]:
        """Preset parameters, inputs from earlier notebooks, then overrides; plus `run_dir`."""
        out_dir = self.dir / notebook
        params = dict(PRESETS[self.preset][notebook])
        for param, (source, key) in INPUTS.get(notebook, {}).items():
            found = runs.artifacts(self.dir / source).get(key)
            if found is None:
                raise StudyFailed(f"{notebook} needs artefact {key!r} of {source}, which has not recorded it; "
                                  f"run {source} first")
            params[param] = found
        params.update(self.overrides.get(notebook, {}))
        params["run_dir"] = str(out_dir)
        return params

    def run_notebook(self, notebook: str) -> dict:
        """Execute one notebook with papermill into its run directory; write and return its status."""
        import papermill as pm

        out_dir = self.dir / notebook
        out_dir.mkdir(parents=True, exist_ok=True)
        params = self.parameters(notebook)
        status = {"notebook": notebook, "preset": self.preset, "parameters": params, "state": "running",
                  "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
        atomic_write_json(status, out_dir / "status.json")
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(str(NOTEBOOKS_DIR / f"{notebook}.ipynb"), str(out_dir / f"{notebook}.ipynb"),
                                parameters=params, kernel_name="python3", cwd=str(NOTEBOOKS_DIR),
                                execution_timeout=self.cell_timeout, progress_bar=False, log_output=False)
            status.update(state="succeeded")
        except Exception as e:  # papermill raises PapermillExecutionError or a timeout error
            status.update(state="failed", error=_describe_failure(e))
        status["wall_s"] = round(time.perf_counter() - t0, 2)
        atomic_write_json(status, out_dir / "status.json")
        if status["state"] == "failed":
            raise StudyFailed(f"notebook {notebook} failed: {status['error']}. Its executed copy and status are in {out_dir}")
        return status

    def run(self) -> list[dict]:
        """Run every notebook of the preset in order; stop at the first failure."""
        return [self.run_notebook(nb) for nb in self.notebooks()]


def _describe_failure(e: Exception) -> str:
    cell = getattr(e, "exec_count", None)
    ename, evalue = getattr(e, "ename", type(e).__name__), getattr(e, "evalue", str(e))
    where = f"cell {cell}" if cell is not None else "a cell"
    if "timeout" in type(e).__name__.lower() or "timed out" in str(e).lower():
        return f"{where} timed out ({str(e).splitlines()[0] if str(e) else ''})"
    return f"{where} raised {ename}: {evalue}" if evalue else "".join(traceback.format_exception_only(e)).strip()


def load_status(study_dir: str | Path) -> list[dict]:
    """The status.json of every notebook run in a study directory."""
    return [json.loads(p.read_text()) for p in sorted(Path(study_dir).glob("*/status.json"))]
