"""Command line (also `python -m labkit`):

- `labkit study [--preset quick] [--only NN] [--force] [--workers N | --scheduler S] [--quiet] ...`: the notebook
  sequence and its report;
- `labkit evaluate SAMPLES... --reference REF [--train TRAIN] [--out DIR] [--extractor NAME]`: any models or
  sample sets judged against a real set, with the four verdicts.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys


def share_cores(workers: int, environ=os.environ, cpus: int | None = None) -> None:
    """Give each of `workers` parallel kernels an equal share of the cores through OMP_NUM_THREADS, which they inherit.

    N jobs each running all-core torch threads would oversubscribe the machine. A value the user set is kept;
    an empty one counts as unset (OpenMP rejects it and falls back to every core).
    """
    from .core.cluster import core_share

    if workers > 1:
        environ["OMP_NUM_THREADS"] = str(core_share(workers, environ, cpus))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description="labkit command line")
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser("study", help="run the notebook sequence headless with papermill, then write the report")
    st.add_argument("--preset", default="quick", choices=["smoke", "quick", "paper"])
    st.add_argument("--name", default=None, help="study folder under the root (default: the preset's name)")
    st.add_argument("--root", default=None, help="parent folder of studies (default: runs/)")
    st.add_argument("--only", action="append", default=[], help="run only this job, notebook or number (repeatable)")
    st.add_argument("--force", action="store_true", help="rerun jobs even when nothing changed")
    st.add_argument("--workers", type=int, default=1, help="run independent jobs on N local processes")
    st.add_argument("--params", default=None, help="YAML file: {notebook or job id: {parameter: value}}")
    st.add_argument("-p", "--set", action="append", default=[], metavar="NB.PARAM=VALUE",
                    help="override one parameter, the value parsed as YAML (repeatable)")
    st.add_argument("--cell-timeout", type=int, default=None, help="seconds a cell may run before it counts as failed")
    st.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT | local:N",
                    help="run jobs, and the sweeps' points, on a Dask cluster: an existing scheduler, or N local "
                         "workers on 127.0.0.1 (its workers must share the study folder and the environment)")
    st.add_argument("-q", "--quiet", action="store_true", help="print only failures and where the study is written")
    ev = sub.add_parser("evaluate", help="judge models or sample sets against a real set: numbers and a diagnosis",
                        description="Judge models or sample sets against a real set: is each blurry, unrealistic, "
                                    "short of diversity, or copying its training set? Writes report.html, report.md "
                                    "and evaluation.json.")
    ev.add_argument("samples", nargs="+", metavar="SAMPLES",
                    help="[name=]PATH: a folder of images (flat or class sub-folders), an .npy/.npz array, a labkit "
                         "checkpoint (.pt), or package.module:factory returning a module with sample(n, generator=)")
    ev.add_argument("--reference", default="fashion-mnist:test",
                    help="real set NAME[:SPLIT], e.g. fashion-mnist:test or folder:PATH:test (default: %(default)s)")
    ev.add_argument("--train", default=None, help="what samples must not copy (default: the reference's train split)")
    ev.add_argument("--out", default="evaluation", help="folder of the reports (default: %(default)s)")
    ev.add_argument("--extractor", default="classifier", choices=["classifier", "inception", "clip", "pixels"],
                    help="feature space (default: a classifier trained on TRAIN, cached)")
    ev.add_argument("--extractor-weights", default=None, help="local weights file of inception or clip")
    ev.add_argument("--classifier", default=None, help="a labkit classifier checkpoint instead of the trained one")
    ev.add_argument("--n", type=int, default=2000, help="samples judged per model (default: %(default)s)")
    ev.add_argument("--n-train", type=int, default=None,
                    help="training images used: a class-balanced subset (default: all)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--bootstrap", type=int, default=200, help="bootstrap rounds of the intervals (0: none)")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--quiet", action="store_true", help="no progress bars (also off when stderr is not a terminal)")
    args = parser.parse_args(argv)
    if args.command == "evaluate":
        return evaluate(args, ev)
    return study(args, st)


def evaluate(args, parser) -> int:
    """`labkit evaluate`: read, judge, write the reports; a bad input exits with code 2 and says what to fix."""
    from .diagnosis.report import write_report
    from .diagnosis.run import EvaluateSettings, evaluate_models

    try:
        settings = EvaluateSettings(reference=args.reference, train=args.train, extractor=args.extractor,
                                    extractor_weights=args.extractor_weights, classifier=args.classifier, n=args.n,
                                    n_train=args.n_train, seed=args.seed, bootstrap=args.bootstrap, device=args.device,
                                    progress=None if sys.stderr.isatty() and not args.quiet else False)
        evaluation = evaluate_models(args.samples, settings)
    except (ValueError, TypeError, KeyError, FileNotFoundError, ImportError, AttributeError) as e:  # bad input
        parser.error(str(e))  # exit code 2
    paths = write_report(evaluation, args.out)
    width = max(len(m) for m in evaluation.models)
    for name, verdicts in evaluation.verdicts().items():
        print(f"{name:<{width}}  " + "  ".join(f"{k}: {v}" for k, v in verdicts.items()))
    print(f"[labkit] report: {paths['html']}")
    return 0


def study(args, st) -> int:
    """`labkit study`: validate every parameter, run the jobs, write the report."""
    if args.scheduler and args.workers > 1:
        st.error("give --workers N (a local process pool) or --scheduler (a Dask cluster), not both")
    if args.scheduler:
        from .core.cluster import parse_scheduler
        try:
            parse_scheduler(args.scheduler)
        except ValueError as e:
            st.error(str(e))

    from .core import paths
    from .study.params import ParameterError, merge_overrides, read_params_file
    from .study.runner import Study, StudyFailed

    try:  # every parameter is checked before any job starts
        overrides = merge_overrides(read_params_file(args.params) if args.params else {}, args.set)
        study = Study(name=args.name or args.preset, preset=args.preset, root=args.root or paths.runs_dir(),
                      overrides=overrides, cell_timeout=args.cell_timeout)
        study.validate(args.only)
    except (ParameterError, FileNotFoundError) as e:
        st.error(str(e))  # exit code 2, nothing run

    try:
        with _executor(args, study) as (executor, slots, where):
            console = _console(study, args, slots)
            console.header(where)
            try:
                study.run(only=args.only, force=args.force, executor=executor, on_event=console, max_parallel=slots)
            finally:
                args.quiet or print(console.summary(), flush=True)
    except (StudyFailed, ConnectionError) as e:
        print(f"[labkit] {e}", file=sys.stderr)
        return 1
    from .study.report import write_report
    html, _ = write_report(study.dir)
    print(f"[labkit] study written to {study.dir}; report: {html}")
    return 0


@contextlib.contextmanager
def _executor(args, study):
    """(executor or None, jobs at once, where they run) for --workers or --scheduler."""
    if args.scheduler:
        from .core.cluster import connect

        with connect(args.scheduler) as cluster:
            study.scheduler = cluster.address  # the sweep notebooks send their points there too
            yield cluster.executor(), cluster.slots(), cluster.description
        return
    share_cores(args.workers)
    if args.workers <= 1:
        yield None, 1, "this machine, one job at a time"
        return
    import concurrent.futures as cf

    with cf.ProcessPoolExecutor(args.workers) as pool:
        yield pool, args.workers, f"{args.workers} local processes"


def _console(study, args, slots):
    from functools import partial

    from .study.console import StudyConsole
    from .study.timings import expected_seconds, jobs_to_run

    jobs = study.jobs(args.only)
    return StudyConsole(study.preset, jobs, jobs_to_run(jobs, study.is_done, args.force),
                        expected_seconds(study.preset, study.dir, jobs), slots,
                        write=partial(print, flush=True), quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
