"""The study console and its estimate of the time left: lines per job, [k/N], honest estimates, the summary."""
import pytest

from labkit.study import timings
from labkit.study.console import StudyConsole, clock
from labkit.study.plan import Job, plan

# a -> c, b -> d; a is long
A, B = Job("a"), Job("b")
C, D = Job("c", inputs={"x": ("a", "k")}), Job("d", inputs={"x": ("b", "k")})
EXPECTED = {"a": 10.0, "b": 1.0, "c": 5.0, "d": 1.0}


@pytest.mark.parametrize("seconds, text", [(None, "unknown"), (0, "0:00"), (59.6, "1:00"), (61, "1:01"),
                                           (3600 + 62, "1:01:02")])
def test_clock(seconds, text):
    assert clock(seconds) == text


def test_time_left_replays_the_schedule():
    assert timings.time_left([A, B, C, D], {}, EXPECTED, slots=2) == 15  # a then c; b and d beside
    assert timings.time_left([A, B, C, D], {}, EXPECTED, slots=1) == 17
    assert timings.time_left([A, B, C, D], {}, EXPECTED, slots=4) == 15  # the chain a -> c bounds it
    assert timings.time_left([C, D], {"a": 4.0, "b": 0.5}, EXPECTED, slots=2) == 11
    assert timings.time_left([C], {"a": 30.0}, EXPECTED, slots=2) == 5  # a overran: it ends now, not before
    assert timings.time_left([A, B, C, D], {}, EXPECTED, slots=2, scale=2.0) == 30
    assert timings.time_left([], {}, EXPECTED, slots=2) == 0


def test_time_left_is_unknown_when_a_job_to_run_has_no_timing():
    assert timings.time_left([A, C], {}, {"a": 10.0, "c": None}, slots=2) is None
    assert timings.time_left([C], {"a": 1.0}, {"a": None, "c": 5.0}, slots=2) is None
    assert timings.time_left([C], {}, {"a": None, "c": 5.0}, slots=2) == 5  # a is done: it does not matter


def test_observed_scale_compares_finished_jobs_with_their_timings():
    assert timings.observed_scale({}, EXPECTED) == 1.0
    assert timings.observed_scale({"a": 20.0, "b": 2.0, "new": 99.0}, {**EXPECTED, "new": None}) == 2.0


def test_jobs_to_run_include_what_reads_a_job_that_runs():
    done = {"a", "c", "d"}
    assert timings.jobs_to_run([A, B, C, D], lambda j: j.id in done) == {"b", "d"}
    assert timings.jobs_to_run([A, B, C, D], lambda j: True) == set()
    assert timings.jobs_to_run([A, B, C, D], lambda j: True, force=True) == {"a", "b", "c", "d"}


def test_expected_seconds_prefer_this_folders_own_last_run(tmp_path, monkeypatch):
    from labkit.core.runtime import atomic_write_json
    monkeypatch.setitem(timings.RECORDED, "smoke", {"a": 10.0, "b": 1.0})
    atomic_write_json({"state": "succeeded", "wall_s": 7.0}, tmp_path / "a/status.json")
    atomic_write_json({"state": "failed", "wall_s": 0.5}, tmp_path / "b/status.json")
    assert timings.expected_seconds("smoke", tmp_path, [A, B, C]) == {"a": 7.0, "b": 1.0, "c": None}


def test_recorded_timings_are_read_from_a_measured_study_folder(tmp_path):
    from labkit.core.runtime import atomic_write_json
    atomic_write_json({"state": "succeeded", "wall_s": 7.4}, tmp_path / "a/status.json")
    atomic_write_json({"state": "running"}, tmp_path / "b/status.json")
    assert timings.recorded_from(tmp_path) == {"a": 7}
    assert set(timings.RECORDED["smoke"]) == {j.id for j in plan("smoke")}  # every smoke job


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def _console(quiet=False, expected=EXPECTED, to_run=("a", "b", "c", "d")):
    lines, now = [], Clock()
    console = StudyConsole("smoke", [A, B, C, D], set(to_run), dict(expected), slots=2, write=lines.append,
                           quiet=quiet, now=now)
    return console, lines, now


def test_a_line_per_start_and_end_with_k_of_n_elapsed_and_time_left():
    console, lines, now = _console(to_run=("a", "c", "d"))
    console.header("2 local processes")
    console("start", A, None)
    console("skip", B, {"state": "succeeded", "wall_s": 1.0})
    now.t += 4
    console("start", D, None)
    now.t += 16  # a took twice its recorded 10 s: the estimate for c doubles
    console("done", A, {"state": "succeeded", "wall_s": 20.0})
    console("start", C, None)
    console("done", D, {"state": "succeeded", "wall_s": 1.0})
    now.t += 11
    console("done", C, {"state": "succeeded", "wall_s": 11.0})
    assert lines[0].startswith("[labkit] smoke: 4 jobs, 3 to run and 1 unchanged, on 2 local processes; about 0:15")
    assert lines[1].split() == ["[1/4]", "start", "a", "elapsed", "0:00", "left", "~0:15"]
    assert lines[2].startswith("[2/4] skip  b") and "unchanged" in lines[2]
    assert lines[3].endswith("elapsed 0:04  left ~0:11")
    assert lines[4].startswith("[1/4] done  a") and "in  0:20" in lines[4]
    # a took twice its time, so c is expected to as well; d has overrun its (doubled) 1 s: it counts as ending now
    assert lines[4].endswith("elapsed 0:20  left ~0:10")
    assert lines[-1].startswith("[4/4] done  c") and lines[-1].endswith("elapsed 0:31  left ~0:00")
    table = console.summary()
    assert table.splitlines()[0].split() == ["job", "state", "time", "expected"]
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[2:-1]}
    assert rows == {"a": ["succeeded", "0:20", "0:10"], "b": ["unchanged", "0:01"], "d": ["succeeded", "0:01", "0:01"],
                    "c": ["succeeded", "0:11", "0:05"]}
    assert table.splitlines()[-1].startswith("4 jobs: 3 succeeded, 1 unchanged; 0:31 on the clock, 0:32 of job time")


def test_unknown_timings_are_said_unknown_not_guessed():
    console, lines, _ = _console(expected={**EXPECTED, "c": None})
    console.header("this machine")
    console("start", A, None)
    assert "time left unknown" in lines[0] and lines[1].endswith("left unknown")


def test_failures_and_lost_jobs_are_printed_even_when_quiet_and_stop_the_estimate():
    console, lines, now = _console(quiet=True)
    console.header("x")
    console("start", A, None)
    console("start", B, None)
    now.t += 3
    console("done", B, {"state": "lost", "wall_s": None, "error": "the worker running it died mid-job"})
    assert lines == ["[2/4] LOST b after 0:03: the worker running it died mid-job"]
    assert console.left() == pytest.approx(7.0 * 1.0)  # only a, still running, is left; c and d never start
    assert "4 jobs: 1 lost, 3 not started" in console.summary()
