"""Where jobs and sweep points run: this process, a local process pool, or a Dask cluster.

A scheduler is named by one string, so that the CLI, the study and the notebooks pass it on unchanged:

- `""`: no cluster (the caller's local pool, or this process);
- `"local:N"`: a `LocalCluster` of N worker processes, one task at a time each, no dashboard, every socket on
  127.0.0.1;
- `"tcp://HOST:PORT"` (or `tls://`): an existing Dask scheduler. Its workers must see the study folder at
  the same path (a shared filesystem) and run the same environment (labkit and its pinned dependencies).

A worker that dies mid-task must not have its task rerun behind the study's back: a `LocalCluster` gives up
on the first death (`allowed-failures` 0), so the task fails with `KilledWorker`, which the study reports as a
lost job. An external scheduler may retry such a task on another worker; the study's jobs refuse a retry
themselves (`labkit.study.runner.execute_job`), so two runs never share a job folder.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

LOCAL = re.compile(r"local:(\d+)")
REMOTE = re.compile(r"(tcp|tls)://[^\s/:]+:\d+")
USAGE = "tcp://HOST:PORT (an existing Dask scheduler) or local:N (N workers on this machine, N ≥ 1)"


@dataclass(frozen=True)
class Scheduler:
    """A parsed scheduler spec: `workers` of a local cluster, or the `address` of a remote one."""
    workers: int = 0
    address: str = ""

    @property
    def local(self) -> bool:
        return not self.address


def parse_scheduler(spec: str) -> Scheduler:
    """`local:N` or `tcp://HOST:PORT`; anything else raises ValueError saying what is accepted."""
    spec = spec.strip()
    if (m := LOCAL.fullmatch(spec)) and int(m.group(1)) >= 1:
        return Scheduler(workers=int(m.group(1)))
    if REMOTE.fullmatch(spec):
        return Scheduler(address=spec)
    raise ValueError(f"scheduler {spec!r} is not understood: give {USAGE}")


def core_share(workers: int, environ=os.environ, cpus: int | None = None) -> int:
    """Torch/OpenMP threads for each of `workers` processes side by side: OMP_NUM_THREADS when set (not
    empty), else an equal share of the cores."""
    value = environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else max(1, (cpus or os.cpu_count() or 1) // workers)


@dataclass
class Cluster:
    """A connected Dask client and what it runs on."""
    client: Any
    description: str

    @property
    def address(self) -> str:
        """The scheduler's address, which a job's notebook uses to send its own sweep points to the cluster."""
        return self.client.scheduler.address

    def slots(self) -> int:
        """Tasks the cluster runs at once (its workers' threads)."""
        return max(1, sum(self.client.nthreads().values()))

    def executor(self) -> cf.Executor:
        """A `concurrent.futures.Executor` on the cluster; every call is a new task (never a cached result)."""
        return self.client.get_executor(pure=False)


@contextlib.contextmanager
def connect(spec: str, *, threads: int | None = None, timeout_s: float = 60) -> Iterator[Cluster]:
    """Open the cluster named by `spec` (see the module doc); a local one is shut down on exit.

    Args:
        spec: `local:N` or `tcp://HOST:PORT`.
        threads: torch/OpenMP threads of each local worker (None: `core_share`); a remote cluster's workers
            are configured where they are started (e.g. `OMP_NUM_THREADS=4 dask worker --nthreads 1 ...`).
        timeout_s: how long to wait for the scheduler and its first worker.
    """
    import dask
    from distributed import Client, LocalCluster

    s = parse_scheduler(spec)
    if s.local:
        threads = threads or core_share(s.workers)
        env = {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            # no dashboard; the scheduler's own HTTP endpoints (health, metrics) on a free loopback port
            cluster = LocalCluster(n_workers=s.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                   silence_logs=logging.CRITICAL, env=env)
        with cluster, Client(cluster, timeout=timeout_s) as client:
            yield Cluster(client, f"a LocalCluster of {s.workers} worker{'s' * (s.workers > 1)} on 127.0.0.1, "
                                  f"{threads} thread{'s' * (threads > 1)} each")
        return
    try:
        client = Client(s.address, timeout=timeout_s)
    except OSError as e:
        raise ConnectionError(f"no Dask scheduler answers at {s.address} ({e}); start one with `dask scheduler` "
                              "and workers with `dask worker ADDRESS`, or use local:N") from e
    with client:
        client.wait_for_workers(1, timeout=timeout_s)
        n = len(client.nthreads())
        yield Cluster(client, f"the Dask cluster at {s.address}, {n} worker{'s' * (n > 1)} now")


@contextlib.contextmanager
def executor_for(spec: str) -> Iterator[cf.Executor | None]:
    """An executor on the cluster `spec` names, or None for an empty spec (the caller's own choice)."""
    if not spec:
        yield None
        return
    with connect(spec) as cluster:
        yield cluster.executor()


def worker_lost(e: BaseException) -> bool:
    """Whether a task's exception says that the process running it died (not that the task raised)."""
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(e, BrokenProcessPool) or type(e).__name__ in ("KilledWorker", "CommClosedError")


@contextlib.contextmanager
def slot_released():
    """On a Dask worker, give this task's slot back while it waits on tasks it sent to the same cluster, so a
    cluster whose slots all hold waiting jobs still runs their points (Dask's `secede`/`rejoin`)."""
    try:
        from distributed import get_worker, rejoin, secede

        get_worker()
    except (ImportError, ValueError):  # not on a Dask worker
        yield
        return
    secede()
    try:
        yield
    finally:
        rejoin()


def run_all(fn: Callable, calls: Iterable[tuple], executor: cf.Executor | None = None,
            max_in_flight: int = 16) -> Iterator[tuple[int, Any]]:
    """Yield (i, fn(*calls[i])) as each call finishes: in this process (in order) when `executor` is None, else
    on `executor` with at most `max_in_flight` calls submitted at once (their arguments are built lazily)."""
    calls = enumerate(calls)
    if executor is None:
        for i, args in calls:
            yield i, fn(*args)
        return
    pending: dict[cf.Future, int] = {}
    for i, args in calls:
        pending[executor.submit(fn, *args)] = i
        if len(pending) >= max_in_flight:
            yield from _take_finished(pending)
    while pending:
        yield from _take_finished(pending)


def _take_finished(pending: dict) -> Iterator[tuple[int, Any]]:
    finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
    for f in finished:
        yield pending.pop(f), f.result()
