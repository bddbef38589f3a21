"""How long a study's jobs take: each preset's recorded timings, and an honest estimate of the time left.

`RECORDED` holds the wall-clock seconds of each job (`status.json`'s `wall_s`) in a complete measured run of
the preset, with how it was run. A job's earlier successful run in the same study folder is better evidence
and wins. The estimate replays the runner's schedule (plan order, a job after its inputs, `slots` at once)
over those timings, scaled by how the jobs finished so far in this run compare with theirs; a job to run
with no timing makes the estimate unknown rather than a guess.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Mapping, Sequence

from .plan import Job

# preset -> job id -> seconds (`recorded_from` a measured study folder); `RECORDED_HOW` says how they were measured.
# paper has no complete measured run with per-job timings yet: its estimate starts unknown, and comes from the
# study folder's own earlier runs on a rerun.
RECORDED: dict[str, dict[str, float]] = {
    "smoke": {"00_tour": 13, "01_train_classifier": 17, "02_train_vae-plain": 13, "02_train_vae-conditional": 14,
              "02_train_vae-perceptual": 15, "03_train_gan-acgan": 14, "03_train_gan-wgan-clip": 16,
              "03_train_gan-wgan-gp": 18, "03_train_gan-wgan-sn": 12, "03_train_gan-wgan-sn-gp": 11,
              "03_train_gan-r3gan": 17, "03_train_gan-dcgan": 17, "03_train_gan-sngan-projection": 9,
              "03_train_gan-wgan-gp-acgan": 8, "04_evaluate-vaes": 59, "04_evaluate-gans": 54,
              "06_validate_metrics": 37, "05_diversity_saturation": 25, "07_latent_sliders": 14,
              "08_controlled_generation": 29, "09_evaluate_your_model": 60},
    "quick": {"00_tour": 11, "01_train_classifier": 91, "02_train_vae-plain": 89, "02_train_vae-conditional": 70,
              "02_train_vae-perceptual": 87, "04_evaluate-vaes": 211, "03_train_gan-acgan": 74,
              "03_train_gan-sngan-projection": 76, "03_train_gan-wgan-gp-acgan": 73, "05_diversity_saturation": 334,
              "03_train_gan-wgan-clip": 55, "03_train_gan-wgan-gp": 83, "03_train_gan-wgan-sn": 54,
              "03_train_gan-wgan-sn-gp": 87, "03_train_gan-r3gan": 121, "03_train_gan-dcgan": 79,
              "04_evaluate-gans": 211, "06_validate_metrics": 240, "07_latent_sliders": 22,
              "08_controlled_generation": 33, "09_evaluate_your_model": 70},
    "paper": {},
}
RECORDED_HOW: dict[str, str] = {
    "smoke": "the smoke preset's timings measured with 2 jobs side by side on a busy 2-core CPU (load about 5); "
             "09 measured alone; the SNGAN-projection and conditional WGAN-GP jobs one at a time (load about 2.5)",
    "quick": "a complete quick study (19:55 on the clock), 2 jobs side by side on a 2-core CPU "
             "(load about 2; one other single-core process in its first 5 minutes), bf16 training; 09 then diagnosed "
             "10 of the 12 models",
}


def recorded_from(study_dir: str | Path) -> dict[str, float]:
    """Job id -> seconds of every job that succeeded in a study folder: an entry of `RECORDED`."""
    statuses = {f.parent.name: json.loads(f.read_text()) for f in Path(study_dir).glob("*/status.json")}
    return {job: round(s["wall_s"]) for job, s in sorted(statuses.items()) if s.get("state") == "succeeded"}


def expected_seconds(preset: str, study_dir: str | Path, jobs: Sequence[Job]) -> dict[str, float | None]:
    """Per job id: its last successful run time in `study_dir`, else the preset's recorded time, else None."""
    recorded = RECORDED.get(preset, {})
    out = {}
    for job in jobs:
        f = Path(study_dir) / job.id / "status.json"
        status = json.loads(f.read_text()) if f.exists() else {}
        mine = status.get("wall_s") if status.get("state") == "succeeded" else None
        out[job.id] = mine if mine is not None else recorded.get(job.id)
    return out


def jobs_to_run(jobs: Sequence[Job], is_done: Callable[[Job], bool], force: bool = False) -> set[str]:
    """Ids of the jobs a run will execute: those not done, and those reading a job that runs (`jobs` in plan
    order, inputs first)."""
    run: set[str] = set()
    for job in jobs:
        if force or not is_done(job) or job.upstream() & run:
            run.add(job.id)
    return run


def time_left(queued: Sequence[Job], running: Mapping[str, float], expected: Mapping[str, float | None],
              slots: int, scale: float = 1.0) -> float | None:
    """Seconds until the study ends if jobs take `scale` × their expected time; None when one has no timing.

    Args:
        queued: jobs still to start, in plan order (a job waits for those of its inputs among queued or running).
        running: id -> seconds it has run so far.
        expected: id -> expected seconds (None: unknown).
        slots: jobs run at once.
        scale: observed / expected time of this run's finished jobs (1 before any finished).
    """
    if any(expected.get(j) is None for j in [*running, *(job.id for job in queued)]):
        return None
    # end time of each job in flight, replaying the runner: start the first ready queued job whenever a slot is free
    ends = {j: max(scale * expected[j] - elapsed, 0.0) for j, elapsed in running.items()}
    waiting, now = list(queued), 0.0
    while waiting:
        busy = {j for j, end in ends.items() if end > now}
        blocked = busy | {job.id for job in waiting}
        ready = next((job for job in waiting if not job.upstream() & blocked), None)
        if ready is not None and len(busy) < slots:
            waiting.remove(ready)
            ends[ready.id] = now + scale * expected[ready.id]
        elif busy:
            now = min(ends[j] for j in busy)
        else:  # nothing runs and nothing is ready (a cycle the runner would reject): count the rest one by one
            for job in waiting:
                now = ends[job.id] = now + scale * expected[job.id]
            break
    return max(ends.values(), default=0.0)


def observed_scale(finished: Mapping[str, float], expected: Mapping[str, float | None]) -> float:
    """Sum of the actual over the sum of the expected times of this run's finished jobs that have one (1 if none)."""
    known = [(actual, expected[j]) for j, actual in finished.items() if expected.get(j)]
    return sum(a for a, _ in known) / sum(e for _, e in known) if known else 1.0
