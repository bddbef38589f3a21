"""The study's console: a line per job start and end with [k/N], the time elapsed and an estimate of the time
left, then a summary table. What is printed is the CLI's choice (`write`); this module only formats.

    [labkit] smoke: 16 jobs to run, 0 unchanged, on a LocalCluster of 2 workers; about 3:20 (recorded timings)
    [ 1/16] start 00_tour                        elapsed 0:00  left ~3:20
    [ 1/16] done  00_tour                in 0:12 elapsed 0:13  left ~3:05
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

from tabulate import tabulate

from . import timings
from .plan import Job

WIDTH = 28  # job id column


def clock(seconds: float | None) -> str:
    """`m:ss` or `h:mm:ss`; `unknown` for None."""
    if seconds is None:
        return "unknown"
    s = int(round(seconds))
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


class StudyConsole:
    """Follows a study run through `Study.run`'s `on_event` and writes its progress.

    Args:
        preset: the preset (its recorded timings feed the estimate).
        jobs: the run's jobs in plan order; to_run: the ids expected to run (the rest are unchanged).
        expected: id -> expected seconds (`timings.expected_seconds`).
        slots: jobs run at once.
        write: where lines go (`print`); quiet: only failures, lost jobs and the final line.
        now: the clock (monotonic seconds).
    """

    def __init__(self, preset: str, jobs: Sequence[Job], to_run: set[str], expected: dict[str, float | None],
                 slots: int, write: Callable[[str], None] = print, quiet: bool = False,
                 now: Callable[[], float] = time.monotonic):
        self.preset, self.jobs, self.to_run, self.expected, self.slots = preset, list(jobs), to_run, expected, slots
        self.write, self.quiet, self.now = write, quiet, now
        self.t0 = now()
        self.number: dict[str, int] = {}         # job id -> k of [k/N], in the order jobs start or are skipped
        self.started: dict[str, float] = {}      # running job id -> clock at start
        self.finished: dict[str, float] = {}     # succeeded job id -> seconds it ran in this run
        self.rows: list[dict] = []
        self.stopping = False                    # a job failed or was lost: no new job starts

    def header(self, where: str) -> None:
        n, run = len(self.jobs), len(self.to_run)
        left = self.left()
        how = timings.RECORDED_HOW.get(self.preset)
        basis = f"from {how}" if how else ("from this folder's earlier runs" if left is not None
                                           else "no recorded timings of this preset")
        estimate = f"about {clock(left)}" if left is not None else "time left unknown"
        self._say(f"[labkit] {self.preset}: {n} jobs, {run} to run and {n - run} unchanged, on {where}; "
                  f"{estimate} ({basis})")

    def __call__(self, event: str, job: Job, status: dict | None) -> None:
        if event in ("start", "skip"):
            self.number[job.id] = len(self.number) + 1
        tag = f"[{self.number[job.id]:>{len(str(len(self.jobs)))}}/{len(self.jobs)}]"
        if event == "start":
            self.started[job.id] = self.now()
            self._say(f"{tag} start {job.id:<{WIDTH}}{'':>8} {self._progress()}")
            return
        if event == "skip":
            self.to_run.discard(job.id)
            self.rows.append({"job": job.id, "state": "unchanged", "wall_s": (status or {}).get("wall_s")})
            self._say(f"{tag} skip  {job.id:<{WIDTH}} unchanged since its last run")
            return
        started = self.started.pop(job.id, self.now())
        status = status or {}
        wall = status.get("wall_s")
        wall = wall if wall is not None else self.now() - started  # a lost job never wrote its time
        state = status.get("state", "failed")
        self.rows.append({"job": job.id, "state": state, "wall_s": wall, "expected_s": self.expected.get(job.id)})
        if state == "succeeded":
            self.finished[job.id] = wall
            self._say(f"{tag} done  {job.id:<{WIDTH}} in {clock(wall):>5} {self._progress()}")
            return
        self.stopping = True
        self.write(f"{tag} {state.upper()} {job.id} after {clock(wall)}: {status.get('error', '')}")

    def left(self) -> float | None:
        """Estimated seconds to the end of the run (None: unknown)."""
        running = {j: self.now() - t for j, t in self.started.items()}
        queued = [] if self.stopping else [j for j in self.jobs if j.id in self.to_run and j.id not in self.number]
        scale = timings.observed_scale(self.finished, self.expected)
        return timings.time_left(queued, running, self.expected, self.slots, scale)

    def summary(self) -> str:
        """A table of every job of the run: state, its time, the expected time; and the totals."""
        rows = [[r["job"], r["state"], clock(r["wall_s"]) if r["wall_s"] is not None else "",
                 clock(r.get("expected_s")) if r["state"] != "unchanged" else ""] for r in self.rows]
        table = tabulate(rows, headers=["job", "state", "time", "expected"], tablefmt="simple")
        ran = [r for r in self.rows if r["state"] != "unchanged"]
        busy = sum(r["wall_s"] or 0.0 for r in ran)
        wall = self.now() - self.t0
        states = [r["state"] for r in self.rows] + ["not started"] * (len(self.jobs) - len(self.rows))
        counts = ", ".join(f"{states.count(s)} {s}" for s in ("succeeded", "unchanged", "failed", "lost", "not started")
                           if s in states)
        return (f"{table}\n{len(self.jobs)} jobs: {counts}; {clock(wall)} on the clock, {clock(busy)} of job time "
                f"({busy / wall if wall > 0 else 0:.1f} jobs at a time on average)")

    def _progress(self) -> str:
        left = self.left()
        return f"elapsed {clock(self.now() - self.t0)}  left {'~' if left is not None else ''}{clock(left)}"

    def _say(self, line: str) -> None:
        if not self.quiet:
            self.write(line)
