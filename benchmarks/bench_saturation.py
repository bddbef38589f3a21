"""Saturation curves on the CPU: wall time of one point and of a whole curve (serial vs a process pool).

Run: `.venv/bin/python -m benchmarks.bench_saturation [--steps 400] [--widths 8,16] [--workers 2] [--full]`.
Prints one JSON line per measurement. A point is one fixed-step classifier training on Fashion-MNIST plus
its scoring on the 10k real test images; its cost does not depend on the training-set size. `--full`
times the real curve of the full-size protocol (5 sizes × 3 seeds) instead of a 2 × 2 miniature.
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
    from labkit.metrics.saturation import SaturationSettings
    return SaturationSettings(steps=steps, batch_size=256, threads=threads, device="cpu",
                              cfg=labkit.ClassifierConfig(widths=widths))


def one_point(steps: int, widths: tuple[int, ...], n_per_class: int = 1000, threads: int = 1) -> dict:
    """Wall time of one saturation point (training + scoring), its accuracy and the per-step time."""
    from labkit import data
    from labkit.metrics.saturation import saturation_curves
    train, test = data.load("fashion-mnist", "train"), data.load("fashion-mnist", "test")
    t0 = time.perf_counter()
    df = saturation_curves({"real": train}, test, [n_per_class], seeds=1, settings=_settings(steps, widths, threads),
                           workers=1)
    wall = time.perf_counter() - t0
    return {"bench": "saturation_point", "steps": steps, "widths": list(widths), "n_per_class": n_per_class,
            "threads": threads, "wall_s": round(wall, 2), "s_per_step": round(wall / steps, 4),
            "accuracy": round(float(df["accuracy"].iloc[0]), 4)}


def curve(sizes: list[int], seeds: int, steps: int, widths: tuple[int, ...], workers: int) -> dict:
    """Wall time of the real curve: all points on `workers` processes, against the sum of their own times."""
    from labkit import data
    from labkit.metrics.saturation import saturation_curves
    train, test = data.load("fashion-mnist", "train"), data.load("fashion-mnist", "test")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        df = saturation_curves({"real": train}, test, sizes, seeds=seeds, settings=_settings(steps, widths, 1),
                               workers=workers, path=os.path.join(tmp, "points.jsonl"))
        wall = time.perf_counter() - t0
    return {"bench": "saturation_curve", "sizes": sizes, "seeds": seeds, "points": len(df), "steps": steps,
            "widths": list(widths), "workers": workers, "wall_s": round(wall, 1),
            "sum_point_s": round(float(df["wall_s"].sum()), 1), "speedup": round(float(df["wall_s"].sum()) / wall, 2),
            "load_avg": [round(x, 1) for x in os.getloadavg()]}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--widths", default="8,16", help="conv widths of the point classifier (the default model: 16,32)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--full", action="store_true", help="time the full-size real curve (5 sizes × 3 seeds)")
    args = p.parse_args(argv)
    widths = tuple(int(w) for w in args.widths.split(","))
    torch.set_num_threads(1)
    print(json.dumps({**one_point(args.steps, widths), "load_avg": [round(x, 1) for x in os.getloadavg()]}),
          flush=True)
    if args.full:
        print(json.dumps(curve([100, 300, 1000, 3000, 6000], 3, args.steps, widths, args.workers)), flush=True)
    else:
        print(json.dumps(curve([100, 1000], 2, max(20, args.steps // 4), widths, args.workers)), flush=True)


if __name__ == "__main__":
    main()
