"""Saturation curves on the CPU: wall time of one point and of a whole curve, on one and on two threads.

Run: `.venv/bin/python -m benchmarks.bench_saturation [--steps 400] [--widths 8,16] [--threads 1,2]
[--workers 1,2] [--full | --sizes 100,1000 --seeds 2]`. Prints one JSON line per measurement.

- Point: one fixed-step classifier training on Fashion-MNIST plus its scoring on the 10k real test
  images, with `threads` torch threads inside it. Its cost does not depend on the training-set size.
- Curve: the real curve (`sizes` × `seeds` points) on `workers` processes of one thread each (1: in
  this process); `speedup` = sum of the points' own times / wall time. The default is a 2 × 2 miniature;
  `--full` times the real curve of notebook 05's full protocol (5 sizes up to 6000/class × 3 seeds).
On a shared machine the load average is printed beside each figure: compare only quiet runs.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import torch


def _settings(steps: int, widths: tuple[int, ...], threads: int):
    import labkit
    from labkit.experiments.saturation import SaturationSettings
    return SaturationSettings(steps=steps, batch_size=256, threads=threads, device="cpu",
                              cfg=labkit.ClassifierConfig(widths=widths))


def _data():
    from labkit import data
    return data.load("fashion-mnist", "train"), data.load("fashion-mnist", "test")


def _load() -> list[float]:
    return [round(x, 1) for x in os.getloadavg()]


def one_point(steps: int, widths: tuple[int, ...], n_per_class: int = 1000, threads: int = 1) -> dict:
    """Wall time of one saturation point (training + scoring) on `threads` threads, its accuracy, time per step."""
    from labkit.experiments.saturation import saturation_curves
    train, test = _data()
    t0 = time.perf_counter()
    df = saturation_curves({"real": train}, test, [n_per_class], seeds=1, settings=_settings(steps, widths, threads),
                           workers=1)
    wall = time.perf_counter() - t0
    return {"bench": "saturation_point", "steps": steps, "widths": list(widths), "n_per_class": n_per_class,
            "threads": threads, "wall_s": round(wall, 2), "s_per_step": round(wall / steps, 4),
            "accuracy": round(float(df["accuracy"].iloc[0]), 4), "load_avg": _load()}


def curve(sizes: list[int], seeds: int, steps: int, widths: tuple[int, ...], workers: int) -> dict:
    """Wall time of the real curve: all points on `workers` one-thread processes, against the sum of their times."""
    from labkit.experiments.saturation import saturation_curves
    train, test = _data()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        df = saturation_curves({"real": train}, test, sizes, seeds=seeds, settings=_settings(steps, widths, 1),
                               workers=workers, path=os.path.join(tmp, "points.jsonl"))
        wall = time.perf_counter() - t0
    return {"bench": "saturation_curve", "sizes": sizes, "seeds": seeds, "points": len(df), "steps": steps,
            "widths": list(widths), "workers": workers, "threads_per_worker": 1, "wall_s": round(wall, 1),
            "sum_point_s": round(float(df["wall_s"].sum()), 1), "speedup": round(float(df["wall_s"].sum()) / wall, 2),
            "load_avg": _load()}


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--widths", default="8,16", help="conv widths of the point classifier (the default model: 16,32)")
    p.add_argument("--threads", default="1,2", help="torch threads of the single-point measurements")
    p.add_argument("--workers", default="1,2", help="worker processes of the curve measurements (0: no curve)")
    p.add_argument("--sizes", default="100,1000", help="real images per class of the curve")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--full", action="store_true", help="the full real curve: sizes 100,300,1000,3000,6000, 3 seeds")
    args = p.parse_args(argv)
    if args.full:
        args.sizes, args.seeds = "100,300,1000,3000,6000", 3
    widths = tuple(_ints(args.widths))
    for threads in _ints(args.threads):
        print(json.dumps(one_point(args.steps, widths, threads=threads)), flush=True)
    torch.set_num_threads(1)
    for workers in (w for w in _ints(args.workers) if w > 0):
        print(json.dumps(curve(_ints(args.sizes), args.seeds, args.steps, widths, workers)), flush=True)


if __name__ == "__main__":
    main()
