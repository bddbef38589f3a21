"""Scheduler specs, thread shares, bounded submission and lost-worker detection (no cluster started here)."""
import concurrent.futures as cf
import threading
from concurrent.futures.process import BrokenProcessPool
import time

import pytest

from labkit.core import cluster


@pytest.mark.parametrize("spec, parsed", [
    ("local:1", cluster.Scheduler(workers=1)), (" local:16 ", cluster.Scheduler(workers=16)),
    ("tcp://10.0.0.5:8786", cluster.Scheduler(address="tcp://10.0.0.5:8786")),
    ("tls://head.example.org:8786", cluster.Scheduler(address="tls://head.example.org:8786"))])
def test_scheduler_specs(spec, parsed):
    assert cluster.parse_scheduler(spec) == parsed


@pytest.mark.parametrize("spec", ["local:0", "local", "local:two", "10.0.0.5:8786", "http://10.0.0.5:8787",
                                  "tcp://10.0.0.5", ""])
def test_bad_scheduler_specs_say_what_is_accepted(spec):
    with pytest.raises(ValueError, match=r"not understood: give tcp://HOST:PORT .* or local:N"):
        cluster.parse_scheduler(spec)


@pytest.mark.parametrize("environ, workers, share", [({}, 2, 4), ({"OMP_NUM_THREADS": ""}, 3, 2),
                                                     ({"OMP_NUM_THREADS": "3"}, 2, 3), ({}, 16, 1),
                                                     ({"OMP_NUM_THREADS": "x"}, 1, 8)])
def test_core_share(environ, workers, share):
    assert cluster.core_share(workers, environ, cpus=8) == share


def _square(x, delay=0.0):
    time.sleep(delay)
    return x * x


def test_run_all_in_this_process_keeps_order():
    assert list(cluster.run_all(_square, [(3,), (1,), (2,)])) == [(0, 9), (1, 1), (2, 4)]


def test_run_all_on_an_executor_bounds_what_is_in_flight_and_builds_arguments_lazily():
    built, lock, state = [], threading.Lock(), {"now": 0, "most": 0}

    def tracked(x):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return x * x

    def calls():
        for i in range(12):
            built.append(i)
            yield (i,)

    with cf.ThreadPoolExecutor(8) as ex:
        results = dict(cluster.run_all(tracked, calls(), ex, max_in_flight=3))
    assert results == {i: i * i for i in range(12)} and state["most"] <= 3 and built == list(range(12))


def test_a_dead_worker_is_told_apart_from_a_raising_task():
    assert cluster.worker_lost(BrokenProcessPool("a child process terminated abruptly"))
    assert not cluster.worker_lost(ValueError("the task itself raised"))


def test_slot_released_outside_a_dask_worker_does_nothing():
    with cluster.slot_released():
        pass
