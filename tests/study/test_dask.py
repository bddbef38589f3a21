"""The study on a Dask LocalCluster (loopback only): same records as a serial run, a worker killed mid-job by its pid
leaves that job lost and a rerun redoes only it, and a job the scheduler sends again after its worker died is
not run twice into one folder."""
import concurrent.futures as cf
import json
import logging
import os

import psutil
import pytest
from distributed import WorkerPlugin

from labkit.core import cluster
from labkit.study import runner as study
from tests.helpers import kill_worker, wait_until_running
from tests.study.test_runner import _values, mini  # noqa: F401  (mini: the 10_a -> 11_b, 12_c notebooks)

pytestmark = [pytest.mark.notebooks, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def local2():
    """`labkit study --scheduler local:2`'s cluster: 2 workers on 127.0.0.1, a dead worker's task not retried."""
    with cluster.connect("local:2", threads=1, timeout_s=300) as c:
        yield c


class _Notebooks(WorkerPlugin):
    """Worker plugin: point the study runner at the test's notebooks on every worker, restarted ones included."""
    name = "test-notebooks"

    def __init__(self, path):
        self.path = path

    def setup(self, worker):
        study.NOTEBOOKS_DIR = self.path


def _on(c):
    c.client.register_plugin(_Notebooks(study.NOTEBOOKS_DIR))
    return c.executor()


def test_jobs_on_a_local_cluster_give_the_records_of_a_serial_run(mini, local2):  # noqa: F811
    root, _ = mini
    study.Study(name="serial", preset="smoke", root=root).run()
    on_dask = study.Study(name="dask", preset="smoke", root=root)
    statuses = on_dask.run(executor=_on(local2), max_parallel=local2.slots())
    assert [st["state"] for st in statuses] == ["succeeded"] * 3
    assert [v[1:] for v in _values(root / "serial")] == [v[1:] for v in _values(on_dask.dir)]
    workers = set(local2.client.run(os.getpid).values())
    assert {st["pid"] for st in statuses} <= workers  # ran on the workers


def test_the_local_cluster_listens_on_loopback_only(local2):
    cluster_pids = {os.getpid(), *local2.client.run(os.getpid).values()} | {
        p.pid for p in psutil.Process().children(recursive=True)}  # this process holds the scheduler and nannies
    listening = [c.laddr for pid in cluster_pids for c in psutil.Process(pid).net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN]
    assert len(listening) >= 5 and {a.ip for a in listening} == {"127.0.0.1"}  # scheduler, 2 nannies, 2 workers


def test_a_worker_killed_mid_job_leaves_it_lost_and_the_rerun_redoes_only_it(mini, local2):  # noqa: F811
    root, jobs = mini
    ref = study.Study(name="ref", preset="smoke", root=root)
    ref.run()
    jobs["b_sleep"] = 300.0
    killed = study.Study(name="killed", preset="smoke", root=root)
    events = []
    with cf.ThreadPoolExecutor(1) as runner:
        run = runner.submit(killed.run, executor=_on(local2), max_parallel=2,
                            on_event=lambda e, job, st: events.append((e, job.id, (st or {}).get("state"))))
        running = wait_until_running(killed.dir / "11_b/status.json")
        kill_worker(running["pid"])
        with pytest.raises(study.StudyFailed, match=rf"notebook 11_b was lost: the worker running it \(host "
                                                    rf"\S+, pid {running['pid']}\) died mid-job .*KilledWorker.*"
                                                    "rerun the study to redo it"):
            run.result(timeout=300)
    assert ("done", "11_b", "lost") in events and ("done", "12_c-x", "succeeded") in events
    assert json.loads((killed.dir / "11_b/status.json").read_text())["state"] == "lost"
    jobs["b_sleep"] = 0.0
    rerun = []
    killed.run(executor=_on(local2), max_parallel=2, on_event=lambda e, job, st: rerun.append((e, job.id)))
    assert sorted(rerun) == [("done", "11_b"), ("skip", "10_a"), ("skip", "12_c-x"), ("start", "11_b")]
    assert [v[1:] for v in _values(killed.dir)] == [v[1:] for v in _values(ref.dir)]


def test_a_job_the_scheduler_sends_again_after_its_worker_died_is_not_run_twice(mini):  # noqa: F811
    """An external scheduler may retry a dead worker's task (Dask's default allows 3 deaths): the job refuses."""
    import dask
    from distributed import Client, LocalCluster

    root, jobs = mini
    jobs["b_sleep"] = 300.0
    with dask.config.set({"distributed.scheduler.allowed-failures": 3}):
        lc = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                          silence_logs=logging.CRITICAL)
    with lc, Client(lc) as client, cf.ThreadPoolExecutor(1) as runner:
        client.register_plugin(_Notebooks(study.NOTEBOOKS_DIR))
        s = study.Study(name="resent", preset="smoke", root=root)
        run = runner.submit(s.run, executor=client.get_executor(pure=False), max_parallel=2)
        first = wait_until_running(s.dir / "11_b/status.json")
        kill_worker(first["pid"])
        with pytest.raises(study.StudyFailed, match=r"11_b was lost: .*died mid-job \(the scheduler sent it again\)"):
            run.result(timeout=300)
    status = json.loads((s.dir / "11_b/status.json").read_text())
    assert status["state"] == "lost" and status["pid"] == first["pid"]  # the resent copy ran nothing


def test_sweep_points_on_the_cluster_give_the_records_of_a_serial_sweep(local2, digits_train, digits_test,
                                                                        digits_classifier):
    """Saturation points, sent to the cluster by its address (as the study's notebooks do), and the degraded sets
    of the degradation table, on its executor: bit for bit the serial numbers, in the serial order."""
    from labkit.experiments.saturation import SaturationSettings, saturation_curves, strip_timing
    from labkit.experiments.validation import degradation_study
    from labkit.metrics import EvalSettings, EvalSpace
    from labkit.train.classifier import ClassifierTraining
    from tests.helpers import TINY_CLASSIFIER

    settings = SaturationSettings(steps=15, batch_size=64, lr=3e-3, cfg=TINY_CLASSIFIER)
    pools = {"real": digits_train, "half": digits_train.subset(range(0, len(digits_train), 2))}
    serial = saturation_curves(pools, digits_test, [5, 20], seeds=2, settings=settings)
    on_dask = saturation_curves(pools, digits_test, [5, 20], seeds=2, settings=settings, scheduler=local2.address)
    assert [strip_timing(r) for r in serial.to_dict("records")] == [strip_timing(r) for r in on_dask.to_dict("records")]
    assert serial["accuracy"].nunique() > 1

    space = EvalSpace.resolve(digits_classifier, device="cpu", cache=False)
    protocol = EvalSettings(repeats=2, prd_runs=1, gan_train=ClassifierTraining(steps=15, batch_size=64, lr=3e-3),
                            gan_train_widths=TINY_CLASSIFIER.widths)

    def table(**where):
        return degradation_study(digits_train, digits_test, space, protocol, n_per_class=50,
                                 specs=[("subsample", 2), ("salt_pepper", 0.2)],
                                 metrics=("fid", "gan_test", "gan_train"), **where)

    with pytest.warns(UserWarning, match="only 20 samples") as serial_warnings:  # FID of "subsample 2/class"
        here = table()
    with pytest.warns(UserWarning, match="only 20 samples") as cluster_warnings:  # shown here, not in a worker's log
        there = table(executor=local2.executor())
    assert [repr(r) for r in here] == [repr(r) for r in there]  # repr: NaN == NaN
    assert {str(w.message) for w in serial_warnings} == {str(w.message) for w in cluster_warnings}
    assert [r.protocol["model"] for r in here if r.metric == "gan_train"] == [
        "clean", "subsample 2/class", "salt_pepper 20%"]
    assert len({r.value for r in here if r.metric == "gan_train"}) > 1
