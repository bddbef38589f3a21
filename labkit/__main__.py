"""Command line: `labkit study [--preset quick] [--only NN_name] ...` (also `python -m labkit`)."""
from __future__ import annotations

import argparse
import sys

import yaml


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser("study", help="run the notebook sequence headless with papermill")
    st.add_argument("--preset", default="quick", choices=["smoke", "quick", "paper"])
    st.add_argument("--name", default=None, help="study folder under runs/ (default: the preset's name)")
    st.add_argument("--root", default=None, help="parent folder of studies (default: runs/)")
    st.add_argument("--only", action="append", default=[], help="run only these notebooks (repeatable)")
    st.add_argument("--params", default=None, help="YAML file: {notebook: {parameter: value}}")
    st.add_argument("-p", "--set", action="append", default=[], metavar="NB.PARAM=VALUE",
                    help="override one parameter, value parsed as YAML (repeatable)")
    st.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell before it counts as failed")
    args = parser.parse_args(argv)

    from . import paths
    from .study import Study, StudyFailed

    overrides: dict = {}
    if args.params:
        with open(args.params) as f:
            overrides = yaml.safe_load(f) or {}
    for item in args.set:
        key, _, value = item.partition("=")
        nb, _, param = key.partition(".")
        if not param:
            parser.error(f"--set expects NB.PARAM=VALUE, got {item!r}")
        overrides.setdefault(nb, {})[param] = yaml.safe_load(value)
    study = Study(name=args.name or args.preset, preset=args.preset, root=args.root or paths.runs_dir(),
                  overrides=overrides, cell_timeout=args.cell_timeout)
    todo = [n for n in study.notebooks() if not args.only or n in args.only or n[:2] in args.only]
    try:
        for nb in todo:
            print(f"[labkit] running {nb} ...", flush=True)
            s = study.run_notebook(nb)
            print(f"[labkit] {nb}: {s['state']} in {s['wall_s']:.0f} s", flush=True)
    except StudyFailed as e:
        print(f"[labkit] {e}", file=sys.stderr)
        return 1
    print(f"[labkit] study written to {study.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
