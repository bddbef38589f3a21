"""What the study runs: the notebook jobs of each preset, their parameters, and which inputs they take.

A job is one execution of a numbered notebook; a notebook can run several times (one per model variant),
each an *instance* with its own run directory `runs/<study>/<notebook>-<instance>/`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PRESET_NAMES = ("smoke", "quick", "paper")

# Inputs: parameter -> (job id, artefact key), or parameter -> {name: (job id, artefact key)} for a dict of paths.
Inputs = dict[str, Any]


@dataclass(frozen=True)
class Job:
    notebook: str                      # e.g. "02_train_vae"
    instance: str = ""                 # e.g. "plain"; empty for a notebook that runs once
    params: dict = field(default_factory=dict)
    inputs: Inputs = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.notebook}-{self.instance}" if self.instance else self.notebook

    def upstream(self) -> set[str]:
        """Ids of the jobs whose artefacts this one reads."""
        out = set()
        for v in self.inputs.values():
            out |= {v[0]} if isinstance(v, tuple) else {src for src, _ in v.values()}
        return out


# Per preset: the sizes each notebook runs at. SMOKE=True makes a notebook shrink itself (labkit.presets).
SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "smoke": {"00_tour": {"SMOKE": True}, "01_train_classifier": {"SMOKE": True}},
    "quick": {"00_tour": {}, "01_train_classifier": {"epochs": 5}},
    "paper": {"00_tour": {}, "01_train_classifier": {"epochs": 20}},
}


def plan(preset: str) -> list[Job]:
    """The jobs of a preset in a valid order (every job after the jobs it reads)."""
    if preset not in SIZES:
        raise ValueError(f"unknown preset {preset!r}; choose one of {PRESET_NAMES}")
    s = SIZES[preset]
    jobs = [Job("00_tour", params=s["00_tour"]), Job("01_train_classifier", params=s["01_train_classifier"])]
    return jobs
