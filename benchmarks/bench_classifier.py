"""Evaluation-classifier training on the CPU: throughput (images/s) and wall time to reach 91 % test accuracy.

Run: `.venv/bin/python -m benchmarks.bench_classifier [--threads N]`. Prints one JSON line per measurement.
"""
from __future__ import annotations

import argparse
import json
import time

import torch


def throughput(steps: int = 60, batch_size: int = 128) -> float:
    """Training images per second of the default classifier on Fashion-MNIST batches (after 5 warm-up steps)."""
    import labkit
    from labkit import data
    train = data.load("fashion-mnist", "fit", n_per_class=(steps + 5) * batch_size // 10 + 1)
    settings = labkit.ClassifierTraining(steps=steps + 5, batch_size=batch_size)
    marks = []
    labkit.train_classifier(train, settings=settings, device="cpu", progress=False,
                            on_step=lambda pos, m: marks.append(time.perf_counter()))
    return steps * batch_size / (marks[-1] - marks[4])


def time_to_accuracy(target: float = 0.91, max_epochs: int = 8) -> dict:
    """Wall time of the default training until the test accuracy first reaches `target` (checked per epoch)."""
    import labkit
    from labkit import data
    train, test = data.load("fashion-mnist", "fit"), data.load("fashion-mnist", "test")
    t0 = time.perf_counter()
    model, result = labkit.train_classifier(train, val=test, device="cpu", progress=False)
    hist = result.history
    hit = hist[hist["val_accuracy"] >= target]
    return {"target": target, "reached": not hit.empty,
            "seconds": float(hit["time_s"].iloc[0]) if not hit.empty else None,
            "epoch": int(hit["epoch"].iloc[0]) if not hit.empty else None,
            "final_test_accuracy": float(hist["val_accuracy"].iloc[-1]),
            "total_seconds": time.perf_counter() - t0}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--skip-accuracy", action="store_true", help="only the throughput (seconds instead of minutes)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(json.dumps({"bench": "classifier_train_throughput", "images_per_s": round(throughput(), 1),
                      "threads": args.threads}), flush=True)
    if not args.skip_accuracy:
        print(json.dumps({"bench": "classifier_time_to_91", **time_to_accuracy(), "threads": args.threads}), flush=True)


if __name__ == "__main__":
    main()
